"""`wirepress`, the command line: one module per audience, beside the services.

`serve` (run a service, set up storage and streams), `feed` (push stories as a feed does),
`ops` (status, dead letters, replay), `editors` (republish, pins and bans), `inspect` (read a wire
file, its tags, related links for a corpus, as the services would), `stack` (the whole stack on
one machine without Docker). The services never import this package; it talks to them as anyone
else does: over HTTP, through the streams, and through their public entry points.
"""
