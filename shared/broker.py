"""The Redis connection, the FastStream broker and the consumer groups, built from settings."""

from __future__ import annotations

import logging

from faststream.redis import RedisBroker
from faststream.redis.parser.binary import BinaryMessageFormatV1
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.settings import Settings
from shared.streams import CONSUMER_GROUPS

logger = logging.getLogger(__name__)


def create_broker(settings: Settings) -> RedisBroker:
    return RedisBroker(
        settings.redis_url,
        # In-flight handlers get this long to finish when the service stops.
        graceful_timeout=settings.shutdown_grace_s,
        message_format=BinaryMessageFormatV1,
        logger=logging.getLogger("faststream"),
        # FastStream's per-message access log costs 15-35% CPU at our volumes: debug only.
        log_level=logging.DEBUG,
    )


def create_redis(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=3)


async def ensure_groups(client: Redis) -> None:
    """Create every consumer group at id 0, so nothing published before a consumer starts is skipped."""
    for stream, groups in CONSUMER_GROUPS.items():
        for group in groups:
            try:
                await client.xgroup_create(stream, group, id="0", mkstream=True)
                logger.info("created consumer group %s on %s", group, stream)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
