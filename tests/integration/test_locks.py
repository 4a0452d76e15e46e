"""shared.locks against a real Valkey: a short lease a live holder renews, a dead one drops."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from shared.broker import create_redis
from shared.errors import RetryLater
from shared.locks import LOCK_PREFIX, redis_lock
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration

HOLD_AND_DIE = """
import asyncio, os, signal, sys
from shared.broker import create_redis
from shared.locks import redis_lock

async def main() -> None:
    client = create_redis(sys.argv[1])
    async with redis_lock(client, "test:story"):
        print("held", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


def test_a_holder_killed_with_sigkill_blocks_the_lock_for_its_lease_not_minutes(
    settings: StackSettings,
) -> None:
    """A killed publish held its per-story locks for their full 120 s TTL (stories ~105 s late,
    a kill in that window left on the site for two minutes)."""
    holder = subprocess.run(
        [sys.executable, "-c", HOLD_AND_DIE, settings.redis_url],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        check=False,
    )
    assert holder.stdout.strip() == "held" and holder.returncode == -signal.SIGKILL

    async def take_it() -> None:
        client = create_redis(settings.redis_url)
        assert await client.exists(f"{LOCK_PREFIX}test:story"), "the dead holder's lock is left"
        # Taken well before a 120 s TTL would have let it go: within the 5 s lease.
        async with redis_lock(client, "test:story", wait_s=8):
            pass
        await client.aclose()

    asyncio.run(take_it())


async def test_a_live_holder_keeps_its_lock_past_the_lease_for_as_long_as_it_works(
    settings: StackSettings,
) -> None:
    client = create_redis(settings.redis_url)
    async with redis_lock(client, "test:slow", lease_ms=300):
        await asyncio.sleep(1.2)  # four leases
        with pytest.raises(RetryLater):
            async with redis_lock(client, "test:slow", lease_ms=300, wait_s=0.3):
                pass
    # Released on the way out: free at once.
    async with redis_lock(client, "test:slow", wait_s=0):
        pass
    await client.aclose()
