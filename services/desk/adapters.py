"""The desk's adapters: its users and the failed sign-in counters, in Redis."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from services.desk import keys
from services.desk.ports import User


class RedisUsers:
    """`ports.Users`: one hash of user name -> JSON."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, name: str) -> User | None:
        raw = await self.redis.hget(keys.USERS, name)
        if raw is None:
            return None
        fields = json.loads(raw)
        return User(name, fields["password_hash"], fields["role"], float(fields["created_at"]))

    async def put(self, user: User) -> bool:
        return bool(await self.redis.hsetnx(keys.USERS, user.name, _encode(user)))

    async def set_password_hash(self, name: str, password_hash: str) -> None:
        user = await self.get(name)
        if user is not None:
            updated = User(user.name, password_hash, user.role, user.created_at)
            await self.redis.hset(keys.USERS, name, _encode(updated))


def _encode(user: User) -> str:
    return json.dumps(
        {"password_hash": user.password_hash, "role": user.role, "created_at": user.created_at}
    )


# Counts a failure; the window starts with the first one and is not extended by later ones.
_RECORD_FAILURE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisAttempts:
    """`ports.Attempts`: a counter per user name and per address, expiring with its window."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._record = redis.register_script(_RECORD_FAILURE)

    async def failures(self, kind: str, who: str) -> tuple[int, int]:
        key = keys.failures_key(kind, who)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = await pipe.execute()
        return int(count or 0), max(int(ttl), 1)

    async def record_failure(self, kind: str, who: str, window_s: int) -> None:
        await self._record(keys=[keys.failures_key(kind, who)], args=[window_s])

    async def clear(self, kind: str, who: str) -> None:
        await self.redis.delete(keys.failures_key(kind, who))
