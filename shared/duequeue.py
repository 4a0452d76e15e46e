"""A queue of work that comes due at a time, taken on a lease so a crash loses none of it.

Members are scheduled with the time they come due; scheduling a member already waiting keeps the
earlier time, so a burst of reasons to do one piece of work costs one run of it. A worker leases
what is due: the members move to a second sorted set, scored by when the lease ends. It does the
work, then confirms, which drops them from the leased set. A member scheduled again while it is
leased waits in the queue as a new member, so the change that came during the work gets a run of
its own, whatever its due time; a lease that ends unconfirmed (its worker died) puts its members
back in the queue. Enrich queues link refreshes on it, render the listing pages to rebuild.

Scheduling is a plain `ZADD ... LT` on the queue's key, so a Lua script of the owning service may
schedule in the same step as a change of its own (render's listing does).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS: the queue, the leased set. ARGV: now, limit, lease end. Members whose lease ended go
# back to the queue first (due now, unless scheduled earlier meanwhile).
_LEASE_DUE = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, id in ipairs(expired) do
  redis.call('ZADD', KEYS[1], 'LT', ARGV[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[3], id)
end
return due
"""
# Drops a member from the leased set unless another worker leased it since (its lease ended).
_CONFIRM = """
local removed = 0
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[1]) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
"""


@dataclass(frozen=True)
class Lease:
    members: list[str]
    #: The time the lease ends, as stored (members confirmed against it).
    until: str


class DueQueue:
    """A Redis sorted set of member -> due time (epoch seconds), and one of leased members."""

    def __init__(self, redis: Redis, key: str, *, lease_s: float = 60.0) -> None:
        self.redis = redis
        self.key = key
        self.leased_key = f"{key}:leased"
        self.lease_s = lease_s
        self._lease_due = redis.register_script(_LEASE_DUE)
        self._confirm = redis.register_script(_CONFIRM)

    async def schedule_at(self, members: Iterable[str], due_at: float) -> None:
        """Due at `due_at`; a member already waiting keeps the earlier of its two times."""
        mapping = dict.fromkeys(members, due_at)
        if mapping:
            await self.redis.zadd(self.key, mapping, lt=True)

    async def due(self, now: float | None = None) -> int:
        """How many members are due now (one cheap call, before anything heavier); a lease
        that has ended counts."""
        now = time.time() if now is None else now
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcount(self.key, "-inf", now)
            pipe.zcount(self.leased_key, "-inf", now)
            waiting, expired = await pipe.execute()
        return int(waiting) + int(expired)

    async def waiting(self) -> int:
        """Every member queued or leased, due or not."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.key)
            pipe.zcard(self.leased_key)
            queued, leased = await pipe.execute()
        return int(queued) + int(leased)

    async def next_due(self) -> float | None:
        """When there is next something to do: the earliest member's due time, or the end of the
        earliest lease (its members come back then unless confirmed); None if both are empty."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrange(self.key, 0, 0, withscores=True)
            pipe.zrange(self.leased_key, 0, 0, withscores=True)
            firsts = await pipe.execute()
        times = [float(first[0][1]) for first in firsts if first]
        return min(times) if times else None

    async def lease(self, limit: int = 100, now: float | None = None) -> Lease:
        """Members due now, leased to the caller for `lease_s`; `confirm` them once done."""
        now = time.time() if now is None else now
        until = repr(round(now + self.lease_s, 3))
        due = await self._lease_due(keys=[self.key, self.leased_key], args=[now, limit, until])
        return Lease([d.decode() for d in due], until)

    async def confirm(self, lease: Lease, members: Iterable[str] | None = None) -> None:
        """Done with these members of the lease (all of them by default)."""
        done = lease.members if members is None else list(members)
        if done:
            await self._confirm(keys=[self.leased_key], args=[lease.until, *done])

    # The shape the services' ports give a queue: take what is due, say when it is done.

    async def take(self) -> tuple[list[str], object]:
        lease = await self.lease()
        return lease.members, lease

    async def done(self, lease: object) -> None:
        assert isinstance(lease, Lease)
        await self.confirm(lease)
