"""Stream and consumer-group names: the one place they are spelled.

A group is named after the service that consumes the stream; a consumer inside it is one replica.
Every consumed stream has a dead-letter stream beside it, named by `dead_letter`.
"""

from __future__ import annotations

INGESTED = "wirepress:ingested"
REPUBLISH = "wirepress:republish"
ENRICHED = "wirepress:enriched"
RENDERED = "wirepress:rendered"
# Outcomes of publishing, for tools and audits; no service consumes it.
PUBLISHED = "wirepress:published"

ENRICH = "enrich"
RENDER = "render"
PUBLISH = "publish"

# Which groups read which stream. `wirepress init` creates every one of them at id 0 before any
# service starts, so a story pushed before its consumer first ran is still read.
CONSUMER_GROUPS: dict[str, tuple[str, ...]] = {
    INGESTED: (ENRICH,),
    REPUBLISH: (ENRICH,),
    ENRICHED: (RENDER,),
    RENDERED: (PUBLISH,),
}

ALL_STREAMS: tuple[str, ...] = (INGESTED, REPUBLISH, ENRICHED, RENDERED, PUBLISHED)


def dead_letter(stream: str) -> str:
    return f"{stream}:dead"


def failures_key(stream: str, group: str) -> str:
    """Hash of message id -> last error, kept so a dead letter can say why it died."""
    return f"{stream}:failures:{group}"
