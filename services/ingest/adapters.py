"""Ingest's adapters: the raw archive in S3, accepted versions and replay signatures in Redis.

Each translates its store's failures into `ports.Unavailable`, so the decisions never see a
Redis or boto3 exception.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.ingest import keys
from services.ingest.ports import RawPayload, Unavailable
from shared.backlog import STORY_STREAMS, worst_backlog
from shared.broker import encode_event
from shared.events import ArticleIngested
from shared.storage import Storage
from shared.streams import INGESTED, Backlog

LAG_CACHE_S = 1.0
_MISSING = ("404", "NoSuchKey", "NotFound")


class RedisReplayCache:
    """`ports.ReplayCache` on Redis: SET NX with a TTL, so every replica sees every signature."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def first_seen(self, key: str, ttl_s: int) -> bool:
        try:
            return bool(
                await self.redis.set(keys.SEEN_SIGNATURE_PREFIX + key, b"1", nx=True, ex=ttl_s)
            )
        except (RedisError, OSError) as exc:
            raise Unavailable(str(exc)) from exc


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


class RedisEmitter:
    """Puts accepted stories on the ingested stream, once per guid+version."""

    def __init__(self, redis: Redis, *, stream_maxlen: int, wait_aof_ms: int | None = None) -> None:
        self.redis = redis
        self.stream_maxlen = stream_maxlen
        self.wait_aof_ms = wait_aof_ms
        self._emit_script = redis.register_script(_EMIT_NEW_VERSIONS)
        self._backlog: Backlog | None = None
        self._backlog_read_at = float("-inf")
        self._memory: float | None = None
        self._memory_read_at = float("-inf")

    async def backlog(self) -> Backlog | None:
        """The stage furthest behind (unread plus pending entries) on the streams stories pass
        through — enrich, render, publish — read at most once a second (shared/backlog.py)."""
        now = time.monotonic()
        if now - self._backlog_read_at > LAG_CACHE_S:
            try:
                self._backlog = await worst_backlog(self.redis, STORY_STREAMS)
            except (RedisError, OSError) as exc:
                raise Unavailable(str(exc)) from exc
            self._backlog_read_at = now
        return self._backlog

    async def check_durable(self) -> None:
        """Refuse to start when a 202 is to wait for an fsync Redis will never make."""
        if self.wait_aof_ms is None:
            return
        info = await self.redis.info("persistence")
        if not int(info.get("aof_enabled") or 0):
            raise RuntimeError(
                "Redis keeps no append-only file, so no story could be made durable: turn it on "
                "(appendonly yes), or set INGEST_WAIT_AOF_MS=0 to answer 202 without the fsync"
            )

    async def memory_use(self) -> float | None:
        """used_memory / maxmemory from INFO, read at most once a second."""
        now = time.monotonic()
        if now - self._memory_read_at > LAG_CACHE_S:
            try:
                info = await self.redis.info("memory")
            except (RedisError, OSError) as exc:
                raise Unavailable(str(exc)) from exc
            limit = int(info.get("maxmemory") or 0)
            self._memory = int(info["used_memory"]) / limit if limit else None
            self._memory_read_at = now
        return self._memory

    async def emit(self, events: Sequence[ArticleIngested]) -> list[bool]:
        """The duplicate checks and the emits of one payload run as one script in Redis: a
        payload is never half-accepted, so a failure leaves nothing emitted and the push can be
        repeated, and the whole decision costs one round trip."""
        args: list[Any] = [self.stream_maxlen]
        for event in events:
            args += [event.version, event.raw_key or "", await encode_event(event)]
        script_keys = [INGESTED, *(keys.versions_key(e.article_id) for e in events)]
        try:
            if self.wait_aof_ms is None:
                emitted = await self._emit_script(keys=script_keys, args=args)
            else:
                emitted = await self._emit_durably(script_keys, args, self.wait_aof_ms)
        except (RedisError, OSError) as exc:
            raise Unavailable(str(exc)) from exc
        return [bool(flag) for flag in emitted]

    async def _emit_durably(self, script_keys: list[str], args: list[Any], wait_ms: int) -> Any:
        # WAITAOF answers for the writes of its own connection: one pipeline, one connection.
        async with self.redis.pipeline(transaction=False) as pipe:
            await self._emit_script(keys=script_keys, args=args, client=pipe)
            pipe.execute_command("WAITAOF", 1, 0, wait_ms)
            emitted, (fsynced_locally, _replicas) = await pipe.execute()
        if not fsynced_locally:
            raise Unavailable(
                f"the event store did not write the story to its append-only file within "
                f"{wait_ms} ms"
            )
        return emitted


class S3RawArchive:
    """Payloads as received, in the archive bucket (boto3 runs in a worker thread)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> None:
        try:
            await asyncio.to_thread(self.storage.archive_raw, key, body, content_type, metadata)
        except Exception as exc:
            # Whatever keeps the payload from the archive, the push is refused (503) and can be
            # repeated: nothing is accepted that is not archived.
            raise Unavailable(str(exc)) from exc

    async def get(self, key: str) -> RawPayload:
        try:
            body, content_type, metadata = await asyncio.to_thread(self.storage.get_raw, key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise KeyError(key) from exc
            raise Unavailable(str(exc)) from exc
        except (BotoCoreError, OSError) as exc:
            raise Unavailable(str(exc)) from exc
        return RawPayload(body, content_type, metadata)

    async def ping(self) -> None:
        await asyncio.to_thread(self.storage.ping, self.storage.settings.archive_bucket)
