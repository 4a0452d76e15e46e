"""Accepting a payload: the one path every story takes into the pipeline.

The HTTP endpoint (`services.ingest.app`) and `wirepress replay` both go through `Acceptor`:
check capacity, archive the raw bytes (HTTP only: a replay reuses its archived copy), parse,
and emit each story once per guid+version. `wirepress import` uses the HTTP endpoint, so it
takes this path too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from faststream.redis.parser.binary import BinaryMessageFormatV1
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.ingest.handlers import (
    Problem,
    PushOutcome,
    StoryOutcome,
    ingested_event,
    metadata_value,
    parse_payload,
    push_outcome,
    raw_key_for,
    unavailable,
)
from shared import keys
from shared.backlog import STORY_STREAMS, Backlog, worst_backlog
from shared.events import ArticleIngested
from shared.settings import FeedConfig, Settings
from shared.storage import Storage
from shared.streams import INGESTED

logger = logging.getLogger(__name__)

LAG_CACHE_S = 1.0
# Signatures seen inside the clock-skew window; only ingest reads these keys.
SEEN_SIGNATURE_PREFIX = "wirepress:ingest:signature:"

# Object metadata on every archived payload: enough to replay it as it was received.
META_FEED = "feed"
META_CONTENT_TYPE = "content-type"
META_DEFAULT_TZ = "default-tz"
META_RECEIVED_AT = "received-at"
META_CORRELATION_ID = "correlation-id"


class RedisReplayCache:
    """`auth.ReplayCache` on Redis: SET NX with a TTL, so every replica sees every signature."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def first_seen(self, key: str, ttl_s: int) -> bool:
        return bool(await self.redis.set(SEEN_SIGNATURE_PREFIX + key, b"1", nx=True, ex=ttl_s))


# KEYS: the ingested stream, then one versions hash per story; ARGV: the stream's bound, then
# version, raw key and encoded message per story. Emits the stories not seen before.
_EMIT_NEW_VERSIONS = """
local emitted = {}
for i = 2, #KEYS do
  local at = 2 + (i - 2) * 3
  local version = ARGV[at]
  if redis.call('HSETNX', KEYS[i], version, ARGV[at + 1]) == 1 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', '__data__', ARGV[at + 2])
    emitted[#emitted + 1] = 1
  else
    emitted[#emitted + 1] = 0
  end
end
return emitted
"""


class Emitter:
    """Puts accepted stories on the ingested stream, once per guid+version."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        self._emit_script = redis.register_script(_EMIT_NEW_VERSIONS)
        self._backlog: Backlog | None = None
        self._backlog_read_at = float("-inf")

    async def backlog(self) -> Backlog | None:
        """The stage furthest behind (unread plus pending entries) on the streams stories pass
        through — enrich, render, publish — read at most once a second (shared/backlog.py)."""
        now = time.monotonic()
        if now - self._backlog_read_at > LAG_CACHE_S:
            self._backlog = await worst_backlog(self.redis, STORY_STREAMS)
            self._backlog_read_at = now
        return self._backlog

    async def emit(self, events: list[ArticleIngested]) -> list[bool]:
        """Emit each event unless its guid+version was accepted before; True where emitted.

        The duplicate checks and the emits of one payload run as one script in Redis: a payload
        is never half-accepted, so a failure leaves nothing emitted and the push can be repeated,
        and the whole decision costs one round trip.
        """
        args: list[Any] = [self.settings.stream_maxlen]
        for event in events:
            encoded = await BinaryMessageFormatV1.encode(
                message=event.model_dump_json().encode(),
                reply_to=None,
                headers={"content-type": "application/json"},
                correlation_id=event.correlation_id,
            )
            args += [event.version, event.raw_key or "", encoded]
        emitted = await self._emit_script(
            keys=[INGESTED, *(keys.versions_key(e.article_id) for e in events)], args=args
        )
        return [bool(flag) for flag in emitted]


@dataclass(frozen=True)
class Archived:
    """A payload as archived: the bytes and what is needed to read them again."""

    raw_key: str
    body: bytes
    content_type: str | None
    feed: str
    default_tz: str


class Acceptor:
    """Archive, parse and emit pushed payloads; shared by the HTTP endpoint and replay."""

    def __init__(self, settings: Settings, storage: Storage, emitter: Emitter) -> None:
        self.settings = settings
        self.storage = storage
        self.emitter = emitter
        self._feeds = {f.name: f for f in settings.feeds()}

    async def check_capacity(self) -> None:
        """Refuse work (503) while Redis is unreachable or any stage lags too far behind."""
        try:
            backlog = await self.emitter.backlog()
        except (RedisError, OSError) as exc:
            logger.warning("event store unreachable, answering 503: %s", exc)
            raise unavailable("the event store does not answer; retry shortly") from exc
        if backlog is not None and backlog.entries > self.settings.ingest_max_lag:
            logger.warning("%s: answering 503", backlog)
            raise unavailable("the pipeline is behind; retry shortly", "Pipeline busy", "busy")

    async def archive(
        self, body: bytes, content_type: str | None, feed: FeedConfig, correlation_id: str
    ) -> Archived:
        """Archive the raw payload (before it is parsed: rejected payloads are kept too)."""
        received_at = datetime.now(UTC)
        raw_key = raw_key_for(received_at, body)
        metadata = {
            META_FEED: feed.name,
            META_CONTENT_TYPE: metadata_value(content_type or ""),
            META_DEFAULT_TZ: feed.default_tz,
            META_RECEIVED_AT: received_at.isoformat(),
            META_CORRELATION_ID: correlation_id,
        }
        try:
            await asyncio.to_thread(
                self.storage.archive_raw,
                raw_key,
                body,
                metadata_value(content_type or "", 200),
                metadata,
            )
        except Exception as exc:
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
        """Run an archived payload through `accept` again, as the feed it came from."""
        await self.check_capacity()
        body, stored_type, metadata = await asyncio.to_thread(self.storage.get_raw, raw_key)
        name = metadata.get(META_FEED, "default")
        feed = self._feeds.get(name)
        if feed is None:
            logger.warning(
                "feed %s is no longer configured: replaying with its archived zone", name
            )
        content_type = metadata.get(META_CONTENT_TYPE, stored_type) or None
        default_tz = feed.default_tz if feed else metadata.get(META_DEFAULT_TZ, "UTC")
        return await self.accept(
            Archived(raw_key, body, content_type, name, default_tz), correlation_id
        )

    async def accept(self, archived: Archived, correlation_id: str) -> PushOutcome:
        """Parse and emit an archived payload; a Problem (naming the archive key) if refused."""
        try:
            stories = parse_payload(archived.body, archived.content_type, archived.default_tz)
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
        except (RedisError, OSError) as exc:
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
