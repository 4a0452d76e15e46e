"""What ingest's decisions need from the outside world, and the types that cross over: the
answers ingest gives on HTTP (the OpenAPI document is generated from them) and its ports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.events import ArticleIngested
from shared.streams import Backlog

PROBLEM_BASE = "https://wirepress.dev/problems/"
MAX_DETAIL_CHARS = 1000


@dataclass(frozen=True)
class Problem(Exception):
    """An RFC 9457 problem: what is wrong with a request, said so a feed's developer can fix it.

    `headers` go on the response (WWW-Authenticate, Retry-After); `raw_key` names the archived
    payload once there is one, so a rejected story can be found, fixed and replayed.
    """

    status: int
    slug: str
    title: str
    detail: str
    field: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    raw_key: str | None = None

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            # Details can quote the payload (an unknown item type, say): never echo megabytes.
            "detail": self.detail[:MAX_DETAIL_CHARS],
        }
        if self.field:
            body["field"] = self.field
        if instance:
            body["instance"] = instance
        if self.raw_key:
            body["raw_key"] = self.raw_key
        return body

    def __reduce__(self) -> tuple[type[Problem], tuple[Any, ...]]:
        # A frozen dataclass exception cannot be unpickled field by field; a worker process
        # that parsed a payload sends its Problem back whole.
        return Problem, tuple(getattr(self, f.name) for f in fields(self))


# --- responses ---------------------------------------------------------------------------------
# The models below are what ingest answers; the OpenAPI document is generated from them.


class ProblemDocument(BaseModel):
    """An RFC 9457 problem detail, as served with `application/problem+json`."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(description="a URI naming the kind of problem")
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="the field that is missing or wrong")
    instance: str | None = None
    raw_key: str | None = Field(
        default=None, description="where the payload is archived (for `wirepress replay`)"
    )


class StoryOutcome(BaseModel):
    """What became of one story in a pushed payload."""

    status: Literal["accepted", "duplicate"]
    article_id: str
    guid: str
    version: str
    pubstatus: Literal["usable", "withheld", "canceled"]
    format: str


class PushOutcome(StoryOutcome):
    """The answer to a push: the first story's outcome at the top level, every story in `stories`.

    202 when any story was accepted, 200 when every one was a duplicate.
    """

    stories: list[StoryOutcome]
    raw_key: str
    correlation_id: str
    feed: str

    @property
    def http_status(self) -> int:
        return 202 if any(s.status == "accepted" for s in self.stories) else 200


@dataclass(frozen=True)
class Archived:
    """A payload as archived: the bytes and what is needed to read them again."""

    raw_key: str
    body: bytes
    content_type: str | None
    feed: str
    default_tz: str


@dataclass(frozen=True)
class RawPayload:
    """An archived payload read back: its bytes, stored content type and metadata."""

    body: bytes
    content_type: str
    metadata: dict[str, str]


class Unavailable(Exception):
    """A store ingest needs (Redis, the raw archive) did not answer: answer 503, retry later."""


class RawArchive(Protocol):
    """The private bucket every pushed payload is kept in, as received."""

    async def put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> None:
        """Raises Unavailable when the archive does not answer."""

    async def get(self, key: str) -> RawPayload:
        """Raises KeyError when there is no such payload."""


class StoryEmitter(Protocol):
    async def emit(self, events: Sequence[ArticleIngested]) -> list[bool]:
        """Emit each event unless its guid+version was accepted before; True where emitted.
        All or none: a failure (Unavailable) leaves nothing emitted."""

    async def backlog(self) -> Backlog | None:
        """The stage furthest behind on the streams stories pass through (Unavailable when
        Redis does not answer)."""

    async def memory_use(self) -> float | None:
        """How full the event store is, as a share of its `maxmemory` (None: no limit set)."""


class ReplayCache(Protocol):
    """Remembers signatures already accepted (Redis SET NX EX in the app)."""

    async def first_seen(self, key: str, ttl_s: int) -> bool:
        """True the first time `key` is offered within `ttl_s` seconds, False after."""
        ...
