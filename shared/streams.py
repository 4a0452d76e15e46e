"""Streams, who writes and who reads them, and consumer-group names: the one place they are spelled.

A group is named after the service that consumes the stream; a consumer inside it is one replica.
Every consumed stream has a dead-letter stream beside it, named by `dead_letter`. `TOPOLOGY` says
which events travel on each stream, who emits them and which groups read them; the services wire
themselves by it and the AsyncAPI document is generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass

INGESTED = "wirepress:ingested"
REPUBLISH = "wirepress:republish"
ENRICHED = "wirepress:enriched"
RENDERED = "wirepress:rendered"
PUBLISHED = "wirepress:published"
SITE = "wirepress:site"
SITE_PUBLISHED = "wirepress:site-published"

INGEST = "ingest"
ENRICH = "enrich"
RENDER = "render"
PUBLISH = "publish"
#: The editors' desk: it follows what happens to every story (an observer, see StreamSpec) and
#: emits editors' commands.
DESK = "desk"
#: Tools (the command line: editors' republish) that emit onto streams without consuming any.
TOOLS = "wirepress"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    description: str
    #: The `event_type` values that travel on it.
    events: tuple[str, ...]
    producers: tuple[str, ...]
    #: Consumer groups, one per consuming service, named after it.
    groups: tuple[str, ...]
    #: Of those, the groups that only watch (the desk): they never hold the pipeline back, so
    #: their lag does not count as backlog and, stopped, they keep entries from being trimmed
    #: for `stream_observer_retain_s` only.
    observers: tuple[str, ...] = ()


TOPOLOGY: tuple[StreamSpec, ...] = (
    StreamSpec(
        INGESTED,
        "Every story version accepted by ingest, once per guid and version.",
        ("article.ingested",),
        (INGEST,),
        (ENRICH, DESK),
        (DESK,),
    ),
    StreamSpec(
        REPUBLISH,
        "Requests to publish a stored story again: editors', and enrich's own link refreshes.",
        ("article.republish_requested",),
        (TOOLS, ENRICH, DESK),
        (ENRICH,),
    ),
    StreamSpec(
        ENRICHED,
        "Stories with their tags and related links, ready to render.",
        ("article.enriched",),
        (ENRICH,),
        (RENDER, DESK),
        (DESK,),
    ),
    StreamSpec(
        RENDERED,
        "Pages ready to write to the site bucket, or to take down.",
        ("article.rendered", "site.rendered"),
        (RENDER,),
        (PUBLISH,),
    ),
    StreamSpec(
        PUBLISHED,
        "What publishing each article page did; render keeps the site's listings by it.",
        ("article.published",),
        (PUBLISH,),
        (RENDER, DESK),
        (DESK,),
    ),
    StreamSpec(
        SITE_PUBLISHED,
        "What publishing each site page (listing, feed, sitemap) did and the stories it shows, "
        "for dashboards and benchmarks: no service reads it.",
        ("site.published",),
        (PUBLISH,),
        (),
    ),
    StreamSpec(
        SITE,
        "Commands about the whole site: build every listing page again; set the stories that "
        "lead a front.",
        ("site.rebuild_requested", "site.front_change_requested"),
        (TOOLS, DESK),
        (RENDER,),
    ),
)

# Which groups read which stream. `wirepress init`, and every service as it starts, creates each
# of them at id 0, so a story pushed before its consumer first ran is still read.
CONSUMER_GROUPS: dict[str, tuple[str, ...]] = {s.name: s.groups for s in TOPOLOGY if s.groups}
#: The groups on each stream that only watch (StreamSpec.observers).
OBSERVERS: dict[str, tuple[str, ...]] = {s.name: s.observers for s in TOPOLOGY if s.observers}

ALL_STREAMS: tuple[str, ...] = tuple(s.name for s in TOPOLOGY)


@dataclass(frozen=True)
class Backlog:
    """How far one consumer group is behind on its stream."""

    entries: int  # unread plus pending, for the stage that is furthest behind
    stream: str
    group: str

    def __str__(self) -> str:
        return f"{self.group} is {self.entries} entries behind on {self.stream}"


def dead_letter(stream: str) -> str:
    return f"{stream}:dead"


def failures_key(stream: str, group: str) -> str:
    """Hash of message id -> last error, kept so a dead letter can say why it died."""
    return f"{stream}:failures:{group}"
