"""Ingest's decisions: who is pushing, what they pushed, whether to accept it, what we answer.

Nothing here touches the network: `Acceptor` archives, parses and emits through ports, and the
HTTP app and `wirepress replay` both call it, so every story takes one path into the pipeline.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from services.ingest.formats import (
    MalformedPayload,
    MissingField,
    NotATextStory,
    ParsedStory,
    ParseError,
    TooComplex,
    UnknownFormat,
    UnsafeXml,
    parse_stories,
)
from services.ingest.ports import (
    Archived,
    Problem,
    PushOutcome,
    RawArchive,
    StoryEmitter,
    StoryOutcome,
    Unavailable,
)
from services.ingest.settings import FeedConfig
from shared.cpu import CpuRunner
from shared.events import ArticleIngested
from shared.hashing import sha256_hex

logger = logging.getLogger(__name__)

# Object metadata on every archived payload: enough to replay it as it was received.
META_FEED = "feed"
META_CONTENT_TYPE = "content-type"
META_DEFAULT_TZ = "default-tz"
META_RECEIVED_AT = "received-at"
META_CORRELATION_ID = "correlation-id"


def too_large(limit: int) -> Problem:
    return Problem(413, "too-large", "Payload too large", f"the limit is {limit} bytes")


RETRY_AFTER_S = 5


def unavailable(
    detail: str, title: str = "Pipeline unavailable", slug: str = "unavailable"
) -> Problem:
    """A 503: nothing was accepted, and the same request can be sent again shortly."""
    return Problem(503, slug, title, detail, headers=(("Retry-After", str(RETRY_AFTER_S)),))


def push_outcome(
    stories: list[StoryOutcome], *, raw_key: str, correlation_id: str, feed: str
) -> PushOutcome:
    # Most pushes carry exactly one story: its fields at the top level keep clients simple.
    return PushOutcome(
        **stories[0].model_dump(),
        stories=stories,
        raw_key=raw_key,
        correlation_id=correlation_id,
        feed=feed,
    )


_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def correlation_id_from(header: str | None) -> str:
    """The caller's correlation id if it is a sane token, else a new one.

    It is written to logs, events and S3 metadata, so arbitrary client text is not taken.
    """
    if header and _CORRELATION_ID.match(header):
        return header
    return uuid.uuid4().hex


def metadata_value(value: str, limit: int = 256) -> str:
    """A value S3 accepts as user metadata (ASCII header text), whatever a client sent."""
    return value.encode("ascii", "backslashreplace").decode("ascii")[:limit]


def raw_key_for(received_at: datetime, payload: bytes, feed: str, content_type: str) -> str:
    """Where a pushed payload is archived: by day, feed and a hash of its bytes and declared
    type (a replay reads the type back, and it can decide how the bytes are read). The same
    push from the same feed on the same day is one object, however often it comes (a feed that
    re-sends, a replayed Superdesk push, which carries no timestamp to refuse it by); the
    first push's receipt time and correlation id are the ones kept with it."""
    digest = sha256_hex(content_type.encode("utf-8") + b"\n" + payload)[:32]
    return f"raw/{received_at:%Y/%m/%d}/{feed}/{digest}"


def archive_metadata(
    feed: FeedConfig, content_type: str | None, received_at: datetime, correlation_id: str
) -> dict[str, str]:
    """What is kept beside an archived payload: enough to replay it as it was received."""
    return {
        META_FEED: feed.name,
        META_CONTENT_TYPE: metadata_value(content_type or ""),
        META_DEFAULT_TZ: feed.default_tz,
        META_RECEIVED_AT: received_at.isoformat(),
        META_CORRELATION_ID: correlation_id,
    }


# Media types that may carry a wire story. Anything else (image/png, text/html, a PDF) is still
# read when the payload itself is unambiguously JSON or XML in a format we know — feeds do send
# wrong content types — but when it is not, the answer is 415 rather than "malformed".
_JSON_OR_XML = (
    "json", "xml", "nitf", "newsml", "text/plain", "application/octet-stream", "multipart/",
)  # fmt: skip

ACCEPTED_MEDIA_TYPES = (
    "application/json",
    "application/ninjs+json",
    "application/vnd.superdesk.ninjs+json",
    "application/xml",
    "text/xml",
    "application/nitf+xml",
    "application/vnd.iptc.g2.newsmessage+xml",
    "application/vnd.iptc.g2.newsitem+xml",
    # ANPA 1312 and IPTC 7901 have no registered media type: their control characters say.
    "text/plain",
    # An AP Media API item with its NITF rendition.
    "multipart/related",
    "multipart/mixed",
)


def declared_media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse_payload(
    payload: bytes, content_type: str | None, default_tz: str = "UTC"
) -> list[ParsedStory]:
    """Parse a pushed payload (one story, or several in a G2 newsMessage), turning each way it
    can be wrong into a problem that says how."""
    try:
        return parse_stories(payload, content_type, default_tz=default_tz)
    except (UnknownFormat, MalformedPayload) as exc:
        declared = declared_media_type(content_type)
        if declared and not any(kind in declared for kind in _JSON_OR_XML):
            raise Problem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                f"{declared} is not a wire format we read: send ninjs or AP Media API (JSON), "
                "NITF, NewsML-G2 or NewsML 1.2 (XML), ANPA 1312 or IPTC 7901 (text)",
            ) from exc
        if isinstance(exc, UnknownFormat):
            raise Problem(400, "unknown-format", "Unknown format", exc.reason, exc.field) from exc
        raise Problem(400, "malformed", "Malformed payload", exc.reason, exc.field) from exc
    except UnsafeXml as exc:
        raise Problem(400, "unsafe-xml", "XML refused", exc.reason, exc.field) from exc
    except TooComplex as exc:
        raise too_complex(exc.reason, exc.field) from exc
    except NotATextStory as exc:
        raise Problem(422, "not-a-text-story", "Not a text story", exc.reason, exc.field) from exc
    except MissingField as exc:
        raise Problem(422, "missing-field", "Missing field", exc.reason, exc.field) from exc
    except ParseError as exc:
        raise Problem(422, "invalid-story", "Invalid story", exc.reason, exc.field) from exc


def too_complex(detail: str, field: str | None = None) -> Problem:
    """A story past the limits every story is held to, or one that takes too long to read."""
    return Problem(422, "too-complex", "Story too complex", detail, field)


def parse_or_problem(
    payload: bytes, content_type: str | None, default_tz: str
) -> list[ParsedStory] | Problem:
    """`parse_payload` as a worker process runs it: the Problem is returned, not raised, so it
    crosses back whole."""
    try:
        return parse_payload(payload, content_type, default_tz)
    except Problem as problem:
        return problem


def ingested_event(
    parsed: ParsedStory, *, feed: str, raw_key: str | None, correlation_id: str
) -> ArticleIngested:
    article = parsed.article
    return ArticleIngested.about(
        article,
        correlation_id=correlation_id,
        article=article,
        feed=feed,
        raw_key=raw_key,
    )


class Acceptor:
    """Archive, parse and emit pushed payloads; shared by the HTTP endpoint and replay."""

    def __init__(
        self,
        feeds: Sequence[FeedConfig],
        archive: RawArchive,
        emitter: StoryEmitter,
        *,
        max_lag: int,
        cpu: CpuRunner,
        max_memory_use: float,
    ) -> None:
        self.archive_store = archive
        self.emitter = emitter
        self.cpu = cpu
        self.max_lag = max_lag
        self.max_memory_use = max_memory_use
        self._feeds = {f.name: f for f in feeds}

    async def check_capacity(self) -> None:
        """Refuse work (503) while Redis is unreachable, any stage lags too far behind, or the
        event store is nearly full (past `max_memory_use` of its maxmemory: at the limit it
        would refuse writes mid-pipeline, so feeds are slowed down before that)."""
        try:
            backlog = await self.emitter.backlog()
            memory = await self.emitter.memory_use()
        except Unavailable as exc:
            logger.warning("event store unreachable, answering 503: %s", exc)
            raise unavailable("the event store does not answer; retry shortly") from exc
        if backlog is not None and backlog.entries > self.max_lag:
            logger.warning("%s: answering 503", backlog)
            raise unavailable("the pipeline is behind; retry shortly", "Pipeline busy", "busy")
        if memory is not None and memory > self.max_memory_use:
            logger.warning("event store %.0f%% full: answering 503", 100 * memory)
            raise unavailable(
                f"the event store is {100 * memory:.0f}% full; retry shortly",
                "Event store nearly full",
                "busy",
            )

    async def archive(
        self, body: bytes, content_type: str | None, feed: FeedConfig, correlation_id: str
    ) -> Archived:
        """Archive the raw payload (before it is parsed: rejected payloads are kept too)."""
        received_at = datetime.now(UTC)
        raw_key = raw_key_for(received_at, body, feed.name, content_type or "")
        metadata = archive_metadata(feed, content_type, received_at, correlation_id)
        try:
            await self.archive_store.put(
                raw_key, body, metadata_value(content_type or "", 200), metadata
            )
        except Unavailable as exc:
            logger.warning("raw archive failed, refusing the push: %s", exc)
            raise unavailable(
                "the story could not be archived; retry shortly", "Archive unavailable"
            ) from exc
        return Archived(raw_key, body, content_type, feed.name, feed.default_tz)

    async def receive(
        self, body: bytes, content_type: str | None, feed: FeedConfig, correlation_id: str
    ) -> PushOutcome:
        """An authenticated push: capacity, archive, then accept."""
        await self.check_capacity()
        archived = await self.archive(body, content_type, feed, correlation_id)
        return await self.accept(archived, correlation_id)

    async def replay(self, raw_key: str, correlation_id: str) -> PushOutcome:
        """Run an archived payload through `accept` again, as the feed it came from. KeyError
        when the archive has no such payload."""
        await self.check_capacity()
        raw = await self.archive_store.get(raw_key)
        name = raw.metadata.get(META_FEED, "default")
        feed = self._feeds.get(name)
        if feed is None:
            logger.warning(
                "feed %s is no longer configured: replaying with its archived zone", name
            )
        content_type = raw.metadata.get(META_CONTENT_TYPE, raw.content_type) or None
        default_tz = feed.default_tz if feed else raw.metadata.get(META_DEFAULT_TZ, "UTC")
        return await self.accept(
            Archived(raw_key, raw.body, content_type, name, default_tz), correlation_id
        )

    async def parse(self, archived: Archived) -> list[ParsedStory]:
        """The stories in a payload, or the Problem that says why there are none. A large
        payload is read in a worker process, and refused if it cannot be read in time."""
        try:
            parsed = await self.cpu.run(
                len(archived.body),
                parse_or_problem,
                archived.body,
                archived.content_type,
                archived.default_tz,
            )
        except TimeoutError as exc:
            raise too_complex(f"it could not be read in time: {exc}") from exc
        if isinstance(parsed, Problem):
            raise parsed
        return parsed

    async def accept(self, archived: Archived, correlation_id: str) -> PushOutcome:
        """Parse and emit an archived payload; a Problem (naming the archive key) if refused."""
        try:
            stories = await self.parse(archived)
        except Problem as problem:
            logger.info(
                "refused %s from feed %s (%s): %s",
                archived.raw_key,
                archived.feed,
                problem.status,
                problem.detail[:300],
            )
            raise replace(problem, raw_key=archived.raw_key) from problem
        events = [
            ingested_event(
                parsed, feed=archived.feed, raw_key=archived.raw_key, correlation_id=correlation_id
            )
            for parsed in stories
        ]
        try:
            emitted = await self.emitter.emit(events)
        except Unavailable as exc:
            # Archived but not emitted: the push can be repeated, or replayed from the archive.
            raise unavailable(
                f"archived as {archived.raw_key} but not accepted; retry shortly"
            ) from exc
        outcomes: list[StoryOutcome] = []
        for parsed, event, fresh in zip(stories, events, emitted, strict=True):
            status = "accepted" if fresh else "duplicate"
            logger.info(
                "v%s %s (%s, feed %s): %s",
                event.version,
                event.guid,
                parsed.format,
                archived.feed,
                status,
                extra={"article_id": event.article_id},
            )
            outcomes.append(
                StoryOutcome(
                    status=status,
                    article_id=event.article_id,
                    guid=event.guid,
                    version=event.version,
                    pubstatus=event.article.pubstatus,
                    format=parsed.format,
                )
            )
        return push_outcome(
            outcomes, raw_key=archived.raw_key, correlation_id=correlation_id, feed=archived.feed
        )
