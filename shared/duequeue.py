"""A queue of work that comes due at a time, taken on a lease so a crash loses none of it.

Members are scheduled with the time they come due; scheduling a member already waiting keeps the
earlier time, so a burst of reasons to do one piece of work costs one run of it. A worker leases
what is due (the lease moves the member's time to the lease's end), does the work, then confirms:
a member whose lease ran out before it was confirmed (its worker died) comes due again, and one
scheduled again while leased stays queued for another run. Enrich queues link refreshes on it,
render the listing pages to rebuild.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis

_LEASE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id) end
return due
"""
# Removes a member unless it was scheduled again (earlier) while it was leased.
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
    """A Redis sorted set of member -> due time (epoch seconds)."""

    def __init__(self, redis: Redis, key: str, *, lease_s: float = 60.0) -> None:
        self.redis = redis
        self.key = key
        self.lease_s = lease_s
        self._lease_due = redis.register_script(_LEASE_DUE)
        self._confirm = redis.register_script(_CONFIRM)

    async def schedule_at(self, members: Iterable[str], due_at: float) -> None:
        """Due at `due_at`; a member already waiting keeps the earlier of its two times."""
        mapping = dict.fromkeys(members, due_at)
        if mapping:
            await self.redis.zadd(self.key, mapping, lt=True)

    async def due(self, now: float | None = None) -> int:
        """How many members are due now (one cheap call, before anything heavier)."""
        return int(await self.redis.zcount(self.key, "-inf", time.time() if now is None else now))

    async def next_due(self) -> float | None:
        """When the earliest member comes due (a leased one: when its lease ends); None if empty."""
        first = await self.redis.zrange(self.key, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def waiting(self) -> int:
        """Every member queued, due or not (leased ones included)."""
        return int(await self.redis.zcard(self.key))

    async def lease(self, limit: int = 100, now: float | None = None) -> Lease:
        """Members due now, leased to the caller for `lease_s`; `confirm` them once done."""
        now = time.time() if now is None else now
        until = repr(round(now + self.lease_s, 3))
        due = await self._lease_due(keys=[self.key], args=[now, limit, until])
        return Lease([d.decode() for d in due], until)

    async def confirm(self, lease: Lease, members: Iterable[str] | None = None) -> None:
        """Done with these members of the lease (all of them by default)."""
        done = lease.members if members is None else list(members)
        if done:
            await self._confirm(keys=[self.key], args=[lease.until, *done])

    # The shape the services' ports give a queue: take what is due, say when it is done.

    async def take(self) -> tuple[list[str], object]:
        lease = await self.lease()
        return lease.members, lease

    async def done(self, lease: object) -> None:
        assert isinstance(lease, Lease)
        await self.confirm(lease)
