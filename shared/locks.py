"""A short per-name Redis lock, for work that must not interleave across replicas (one story's page)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from shared.errors import RetryLater

#: Lock names are namespaced by their owner ("publish:<article id>"), under this prefix.
LOCK_PREFIX = "wirepress:lock:"

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@contextlib.asynccontextmanager
async def redis_lock(
    client: Redis, name: str, *, ttl_ms: int = 120_000, wait_s: float = 10.0
) -> AsyncIterator[None]:
    """Hold `name` while the block runs; if another replica holds it past `wait_s`, retry later.

    The TTL bounds how long a crashed holder can block others; it is longer than the slowest
    S3 call with all its retries (5 attempts x 13 s), so a live holder never loses the lock.
    """
    key = f"{LOCK_PREFIX}{name}"
    token = uuid.uuid4().hex
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    delay = 0.005
    while not await client.set(key, token, nx=True, px=ttl_ms):
        if loop.time() > deadline:
            raise RetryLater(f"lock {name} is held elsewhere")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)
    try:
        yield
    finally:
        await client.eval(_RELEASE, 1, key, token)
