"""The leased queue of due work in a real Valkey: nothing scheduled is ever confirmed away."""

from __future__ import annotations

import pytest

from shared.broker import create_redis
from shared.duequeue import DueQueue
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration


async def test_a_member_scheduled_again_while_leased_gets_a_run_of_its_own(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    queue = DueQueue(redis, "wirepress:test:due", lease_s=60)
    await queue.schedule_at(["page"], 100.0)
    lease = await queue.lease(now=100.0)
    assert lease.members == ["page"]
    # Due again long after this lease would end: the work under way cannot have seen it.
    await queue.schedule_at(["page"], 1_000.0)
    await queue.confirm(lease)
    assert await queue.waiting() == 1
    assert await queue.next_due() == 1_000.0
    assert (await queue.lease(now=999.0)).members == []
    assert (await queue.lease(now=1_000.0)).members == ["page"]
    await redis.aclose()


async def test_an_unconfirmed_lease_comes_back_and_a_late_confirm_keeps_the_new_lease(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    queue = DueQueue(redis, "wirepress:test:due", lease_s=10)
    await queue.schedule_at(["a", "b"], 100.0)
    first = await queue.lease(now=100.0)
    assert sorted(first.members) == ["a", "b"]
    assert (await queue.lease(now=105.0)).members == [], "leased: not handed out twice"
    assert await queue.due(now=105.0) == 0 and await queue.next_due() == 110.0
    # Its worker died: after the lease, the members are due again, and another takes them.
    assert await queue.due(now=111.0) == 2
    second = await queue.lease(now=111.0)
    assert sorted(second.members) == ["a", "b"]
    # The first worker wakes up and confirms: the second's lease is not cut short.
    await queue.confirm(first)
    assert await queue.waiting() == 2
    await queue.confirm(second)
    assert await queue.waiting() == 0 and await queue.next_due() is None
    await redis.aclose()


async def test_scheduling_keeps_the_earlier_time(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    queue = DueQueue(redis, "wirepress:test:due")
    await queue.schedule_at(["x"], 50.0)
    await queue.schedule_at(["x"], 80.0)
    await queue.schedule_at(["y"], 70.0)
    assert await queue.next_due() == 50.0
    await queue.schedule_at(["x"], 10.0)
    assert await queue.next_due() == 10.0
    assert await queue.due(now=60.0) == 1
    await redis.aclose()
