"""End-to-end benchmark of the pipeline: ingest HTTP -> enrich -> render -> publish (S3).

Starts a fresh local stack of its own (Valkey, SeaweedFS and the four services as processes, via
`wirepress stack up --root <temp dir>`), pushes N synthetic ninjs stories to ingest with an async
httpx client, reads `wirepress:published` until every story has an ArticlePublished "written", and
reports throughput, latency and CPU seconds per story of every process. The stack is stopped at the
end, also on error, Ctrl-C or SIGTERM.

Load model: CLOSED loop by default -- `--concurrency` senders each push their next story as soon as
the previous one is answered, so ingest runs as fast as it can accept and the rest of the pipeline
works through a backlog at its own top speed: the end-to-end figure is the pipeline's capacity.
With `--rate R` it is an OPEN loop instead: stories are due on a fixed R/s schedule (the senders
only carry it out), so latency is the latency at that offered load, not queueing behind a backlog.

From the repository root:

    python -m bench.pipeline --stories 2000 --out bench/results/pipeline.json
    python -m bench.pipeline --stories 2000 --rate 60 --out /tmp/open.json
    python -m bench.pipeline --stories 2000 --replicas enrich=2 --out /tmp/r.json
    python -m bench.pipeline --stories 1000 --profile /tmp/prof  # py-spy every service

The parts: `stories` (the synthetic stories), `stack` (the stack, its processes' CPU counters and
profilers), `measure` (pushing, following the published stream, settling), `report` (the results
JSON and the printed summary); `__main__` parses the command line.
"""
