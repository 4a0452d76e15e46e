"""A per-name Redis lock on a short lease its holder renews, for work that must not interleave
across replicas (one story's page).

The lease is short (5 s) so a holder killed with kill -9 blocks nobody for longer than that,
and a live holder renews it every third of its length for as long as its work takes (an S3
call with all its retries can take a minute). A holder that loses its lease anyway (Redis
unreachable past the lease) carries on: what it guards is also fenced where it is written
(publish's writes are conditional on the ETag it read, and ordered by what was rendered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.errors import RetryLater

logger = logging.getLogger(__name__)

#: Lock names are namespaced by their owner ("publish:<article id>"), under this prefix.
LOCK_PREFIX = "wirepress:lock:"
#: How long a lock outlives its holder's last renewal.
LEASE_MS = 5_000

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@contextlib.asynccontextmanager
async def redis_lock(
    client: Redis, name: str, *, lease_ms: int = LEASE_MS, wait_s: float = 10.0
) -> AsyncIterator[None]:
    """Hold `name` while the block runs; if another replica holds it past `wait_s`, retry later.

    `wait_s` is longer than the lease, so a waiter outlasts a dead holder's lease and takes it.
    """
    key = f"{LOCK_PREFIX}{name}"
    token = uuid.uuid4().hex
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    delay = 0.005
    while not await client.set(key, token, nx=True, px=lease_ms):
        if loop.time() > deadline:
            raise RetryLater(f"lock {name} is held elsewhere")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)
    renewal = asyncio.create_task(_renew(client, key, token, lease_ms))
    try:
        yield
    finally:
        renewal.cancel()
        # Only the renewal's own end is waited for: a cancellation of the holder itself goes on.
        await asyncio.wait([renewal])
        await client.eval(_RELEASE, 1, key, token)


async def _renew(client: Redis, key: str, token: str, lease_ms: int) -> None:
    while True:
        await asyncio.sleep(lease_ms / 3000)
        try:
            held = await client.eval(_RENEW, 1, key, token, lease_ms)
        except (RedisError, OSError) as exc:
            logger.warning("could not renew lock %s (will try again): %s", key, exc)
            continue
        if not held:
            logger.warning("lock %s was lost (its lease ran out): carrying on, fenced", key)
            return
