"""The Redis connection, the FastStream broker, the consumer groups, and the one way an event is
put on a stream (`encode_event`, `publish_events`), built from settings."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from faststream.redis import RedisBroker
from faststream.redis.parser.binary import BinaryMessageFormatV1
from faststream.redis.prometheus import RedisPrometheusMiddleware
from pydantic import BaseModel
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.metrics import Metrics
from shared.settings import DEFAULT_REDIS_CONNECTIONS, ServiceSettings
from shared.streams import CONSUMER_GROUPS

logger = logging.getLogger(__name__)

#: The stream entry field FastStream's consumers read a message from.
DATA_FIELD = b"__data__"


def client_name(service: str, settings: ServiceSettings) -> str:
    """What a replica's connections are called in Valkey's CLIENT LIST: its service and
    consumer name, so ops can tell who holds a connection or runs a slow command."""
    return re.sub(r"[^A-Za-z0-9._:-]", "_", f"wirepress:{service}:{settings.consumer_name}")[:120]


def create_broker(
    settings: ServiceSettings, metrics: Metrics | None = None, name: str | None = None
) -> RedisBroker:
    """The service's FastStream broker; `name` is its connections' client name."""
    middlewares = (
        ()
        if metrics is None
        else (RedisPrometheusMiddleware(registry=metrics.registry, app_name=metrics.service),)
    )
    return RedisBroker(
        settings.redis_url,
        middlewares=middlewares,
        # In-flight handlers get this long to finish when the service stops.
        graceful_timeout=settings.shutdown_grace_s,
        message_format=BinaryMessageFormatV1,
        logger=logging.getLogger("faststream"),
        # FastStream's per-message access log costs 15-35% CPU at our volumes: debug only.
        log_level=logging.DEBUG,
        client_name=name,
    )


def create_redis(
    redis_url: str,
    *,
    max_connections: int = DEFAULT_REDIS_CONNECTIONS,
    pool_timeout_s: float = 5.0,
    name: str | None = None,
) -> Redis:
    """A client on a bounded, blocking pool: at `max_connections` a command waits up to
    `pool_timeout_s` for a connection rather than failing at once (redis-py's default pool
    answered 200 concurrent feeds with "Too many connections" at 100). A connection broken by
    a Redis restart is retried on a fresh one with backoff, and idle ones are checked before
    use, so the first commands after a restart do not fail for nothing."""
    pool = BlockingConnectionPool.from_url(
        redis_url,
        max_connections=max_connections,
        timeout=pool_timeout_s,
        socket_timeout=10,
        socket_connect_timeout=3,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=4),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        client_name=name,
    )
    return Redis.from_pool(pool)


async def ensure_groups(client: Redis) -> None:
    """Create every consumer group that does not exist yet, before anything writes to its stream:
    `wirepress init`, every service as it starts, and every tool before it emits call this, so
    a group on a new stream starts at its beginning and nothing published before its consumer
    first runs is skipped.

    A group new to a stream that already holds entries (an upgrade that adds a consumer) starts
    from now instead: those entries were written for the consumers of the time, and reading them
    all would put the new group that far behind at once. What it needs of the past it gets by
    a republish (`wirepress republish --all`)."""
    for stream, groups in CONSUMER_GROUPS.items():
        for group in groups:
            existing = int(await client.xlen(stream))
            start = "$" if existing else "0"
            try:
                await client.xgroup_create(stream, group, id=start, mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
                continue
            if existing:
                logger.warning(
                    "new consumer group %s on %s starts after its %s existing entries "
                    "(republish what it should see of them)",
                    group,
                    stream,
                    existing,
                )
            else:
                logger.info("created consumer group %s on %s", group, stream)


async def encode_event(event: BaseModel) -> bytes:
    """An event as FastStream's consumers expect it on the wire: JSON in its binary envelope."""
    return await BinaryMessageFormatV1.encode(
        message=event.model_dump_json().encode(),
        reply_to=None,
        headers={"content-type": "application/json"},
        correlation_id=str(getattr(event, "correlation_id", "")),
    )


async def publish_events(
    redis: Redis, stream: str, events: Iterable[BaseModel], maxlen: int
) -> list[bytes]:
    """Append events to a stream (trimmed at about `maxlen`) in one round trip; their entry ids.

    Outside a consumer's handler (whose outputs the delivery layer settles with its ack), this
    is how an event goes on a stream: tools, and a service's own background work.
    """
    encoded = [await encode_event(event) for event in events]
    if not encoded:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for data in encoded:
            pipe.xadd(stream, {DATA_FIELD: data}, maxlen=maxlen, approximate=True)
        return [bytes(entry_id) for entry_id in await pipe.execute()]
