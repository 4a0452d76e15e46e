"""Render's adapters: the site's listing and the listing pages due a rebuild, in Redis."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Sequence

from redis.asyncio import Redis
from redis.exceptions import WatchError

from services.render import keys
from services.render.ports import SiteChange
from services.render.site import UNCHANGED_RANK
from shared.duequeue import DueQueue
from shared.models import ListingEntry
from shared.queries import ListingState

# --- the whole site's listings -----------------------------------------------------------------

# Applies one change to every listing the story is or was in, unless a newer change about it came
# first; per listing, the lowest rank it touched is kept (its pages from there on are due) and
# its change counter bumped; the listings and extra pages touched are due at `due at`, in the same
# step. KEYS: entries, content, ordering, withdrawn, memberships, dirty, versions, month lastmod,
# generation, due. ARGV: op, id, ordering, entry JSON, content, score, due at, lastmod, listing
# key prefix, memberships JSON, n, the n listings, then the extra keys to mark due.
_SITE_APPLY = """
local op, id, ordering = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('HGET', KEYS[3], id)
if current and current > ordering then return 0 end
local tomb = redis.call('HGET', KEYS[4], id)
local prefix, due_at, lastmod = ARGV[9], ARGV[7], tonumber(ARGV[8])
local n = tonumber(ARGV[11])
if op == 'list' then
  if tomb and tomb >= ordering then return 0 end
  if current == ordering and redis.call('HGET', KEYS[1], id) == ARGV[4]
     and (redis.call('HGET', KEYS[2], id) or '') == ARGV[5] then return 0 end
elseif not tomb or tomb < ordering then
  redis.call('HSET', KEYS[4], id, ordering)
end
local function touch(listing, rank)
  if rank then
    local dirty = redis.call('HGET', KEYS[6], listing)
    if not dirty or tonumber(dirty) > rank then redis.call('HSET', KEYS[6], listing, rank) end
  end
  redis.call('HINCRBY', KEYS[7], listing, 1)
  redis.call('ZADD', KEYS[10], 'LT', due_at, listing)
  if string.sub(listing, 1, 6) == 'month/' then
    local known = tonumber(redis.call('HGET', KEYS[8], listing) or '0')
    if lastmod > known then redis.call('HSET', KEYS[8], listing, ARGV[8]) end
  end
end
local new = {}
if op == 'list' then for i = 12, 11 + n do new[ARGV[i]] = true end end
local old = redis.call('HGET', KEYS[5], id)
if old then
  for _, listing in ipairs(cjson.decode(old)) do
    if not new[listing] then
      local rank = redis.call('ZRANK', prefix .. listing, id)
      redis.call('ZREM', prefix .. listing, id)
      touch(listing, rank)
    end
  end
end
if op == 'list' then
  for i = 12, 11 + n do
    local key = prefix .. ARGV[i]
    local before = redis.call('ZRANK', key, id)
    redis.call('ZADD', key, ARGV[6], id)
    local rank = redis.call('ZRANK', key, id)
    if before and before < rank then rank = before end
    touch(ARGV[i], rank)
  end
  redis.call('HSET', KEYS[1], id, ARGV[4])
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], id, ARGV[5]) else redis.call('HDEL', KEYS[2], id) end
  redis.call('HSET', KEYS[3], id, ordering)
  redis.call('HSET', KEYS[5], id, ARGV[10])
else
  if not current then return 0 end
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[5], id)
end
for i = 12 + n, #ARGV do redis.call('ZADD', KEYS[10], 'LT', due_at, ARGV[i]) end
local t = redis.call('TIME')
local generation = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[9]) or '0')
if generation <= last then generation = last + 1 end
redis.call('SET', KEYS[9], string.format('%d', generation))
return 1
"""

# Forgets what was dirty in a listing once its pages are built, unless it changed meanwhile.
_SITE_BUILT = """
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
"""


# A front's pins changed: its index page is dirty (the newest rank, so no archive page is
# rebuilt), its change counter and the site's generation move on (the page is newer than the one
# built before), and it is due. KEYS: dirty, versions, generation, due, the listing's sorted set.
# ARGV: listing, due at.
_FRONT_TOUCH = """
local newest = math.max(redis.call('ZCARD', KEYS[5]) - 1, 0)
local dirty = redis.call('HGET', KEYS[1], ARGV[1])
if not dirty or tonumber(dirty) > newest then redis.call('HSET', KEYS[1], ARGV[1], newest) end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
local t = redis.call('TIME')
local generation = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if generation <= last then generation = last + 1 end
redis.call('SET', KEYS[3], string.format('%d', generation))
redis.call('ZADD', KEYS[4], 'LT', ARGV[2], ARGV[1])
return 1
"""
_FRONT_TOUCH_KEYS = (keys.SITE_DIRTY, keys.SITE_VERSIONS, keys.SITE_GENERATION, keys.SITE_DUE)


class RedisSite:
    """The site's listings (`ports.SiteListing`): entries, bodies, one sorted set per listing,
    and what each listing has had changed since its pages were last built."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._apply = redis.register_script(_SITE_APPLY)
        self._built = redis.register_script(_SITE_BUILT)
        self._front_sha: str | None = None

    async def apply(
        self,
        change: SiteChange,
        listings: Sequence[str],
        extra_due: Sequence[str],
        due_at: float,
    ) -> bool:
        entry = change.entry
        stored, content, score, lastmod = "", b"", 0.0, time.time()
        if entry is not None:
            stored = entry.model_dump_json(exclude={"content_html"})
            content = zlib.compress(entry.content_html.encode()) if entry.content_html else b""
            score = entry.published_at.timestamp() if entry.published_at else 0.0
            moment = entry.updated_at or entry.published_at
            lastmod = moment.timestamp() if moment else lastmod
        changed = await self._apply(
            keys=[
                keys.SITE_ENTRIES,
                keys.SITE_CONTENT,
                keys.SITE_ORDERING,
                keys.SITE_WITHDRAWN,
                keys.SITE_MEMBERSHIPS,
                keys.SITE_DIRTY,
                keys.SITE_VERSIONS,
                keys.SITE_MONTH_LASTMOD,
                keys.SITE_GENERATION,
                keys.SITE_DUE,
            ],
            args=[
                change.op,
                change.article_id,
                change.ordering,
                stored,
                content,
                score,
                due_at,
                repr(lastmod),
                keys.SITE_LISTING_PREFIX,
                json.dumps(list(listings)),
                len(listings),
                *listings,
                *extra_due,
            ],
        )
        return bool(changed)

    async def generation(self) -> int:
        return int(await self.redis.get(keys.SITE_GENERATION) or 0)

    async def size(self, listing: str) -> int:
        return int(await self.redis.zcard(keys.listing_key(listing)))

    async def ids(self, listing: str, start: int, stop: int, *, newest_first: bool) -> list[str]:
        """Stories `start` to `stop` (inclusive, 0-based) from the newest or the oldest."""
        found = await self.redis.zrange(keys.listing_key(listing), start, stop, desc=newest_first)
        return [member.decode() for member in found]

    async def since(self, listing: str, epoch_s: float, limit: int) -> list[str]:
        """The newest stories first published at or after `epoch_s`, newest first."""
        found = await self.redis.zrevrangebyscore(
            keys.listing_key(listing), "+inf", epoch_s, start=0, num=limit
        )
        return [member.decode() for member in found]

    async def entries(self, ids: Sequence[str], *, with_content: bool) -> list[ListingEntry]:
        """The entries of these stories (those still listed), in the order given."""
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.SITE_ENTRIES, list(ids))
            if with_content:
                pipe.hmget(keys.SITE_CONTENT, list(ids))
            rows = await pipe.execute()
        bodies = rows[1] if with_content else [None] * len(ids)
        found = []
        for raw, body in zip(rows[0], bodies, strict=True):
            if raw is None:
                continue
            entry = ListingEntry.model_validate_json(raw)
            if body:
                entry = entry.model_copy(update={"content_html": zlib.decompress(body).decode()})
            found.append(entry)
        return found

    async def dirt(self, listing: str) -> tuple[int | None, str, int]:
        """The lowest rank changed since the listing's pages were built (None: unknown, build
        them all), its change counter, and how many archive pages were last published."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.SITE_DIRTY, listing)
            pipe.hget(keys.SITE_VERSIONS, listing)
            pipe.hget(keys.SITE_PAGES, listing)
            dirty, version, pages = await pipe.execute()
        rank = int(dirty) if dirty is not None else None
        if rank is None and pages is not None:
            rank = UNCHANGED_RANK  # nothing changed since the last build: no page is dirty
        return rank, (version or b"0").decode(), int(pages or 0)

    async def built(self, listing: str, version: str, pages: int) -> None:
        await self._built(
            keys=[keys.SITE_DIRTY, keys.SITE_VERSIONS, keys.SITE_PAGES],
            args=[listing, version, pages],
        )

    async def forget_built(self) -> None:
        """Every listing to be built in full next time (a rebuild of the site)."""
        await self.redis.delete(keys.SITE_DIRTY, keys.SITE_PAGES)

    async def listings(self) -> list[str]:
        """Every listing that has stories."""
        found = []
        async for key in self.redis.scan_iter(match=f"{keys.SITE_LISTING_PREFIX}*", count=1000):
            found.append(key.decode().removeprefix(keys.SITE_LISTING_PREFIX))
        return sorted(found)

    async def month_lastmods(self) -> dict[str, float]:
        raw = await self.redis.hgetall(keys.SITE_MONTH_LASTMOD)
        return {k.decode(): float(v) for k, v in raw.items()}

    async def front_pins(self) -> dict[str, list[str]]:
        found = await self.redis.hgetall(keys.SITE_FRONT_PINS)
        return {k.decode(): json.loads(v) for k, v in found.items()}

    async def change_front(
        self, front: str, change: Callable[[list[str]], list[str]], due_at: float
    ) -> list[str]:
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(keys.SITE_FRONT_PINS)
                    raw = await pipe.hget(keys.SITE_FRONT_PINS, front)
                    pins = change(json.loads(raw) if raw else [])
                    pipe.multi()
                    if pins:
                        pipe.hset(keys.SITE_FRONT_PINS, front, json.dumps(pins))
                    else:
                        pipe.hdel(keys.SITE_FRONT_PINS, front)
                    pipe.evalsha(
                        await self._front_touch_sha(),
                        len(_FRONT_TOUCH_KEYS) + 1,
                        *_FRONT_TOUCH_KEYS,
                        keys.listing_key(front),
                        front,
                        due_at,
                    )
                    await pipe.execute()
                    return pins
                except WatchError:
                    continue

    async def _front_touch_sha(self) -> str:
        if self._front_sha is None:
            self._front_sha = str(await self.redis.script_load(_FRONT_TOUCH))
        return self._front_sha

    async def states(self, article_ids: Sequence[str]) -> list[ListingState]:
        """Whether each story is listed, or withdrawn, and at which ordering."""
        if not article_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.SITE_ORDERING, list(article_ids))
            pipe.hmget(keys.SITE_WITHDRAWN, list(article_ids))
            listed, withdrawn = await pipe.execute()
        return [
            ListingState(
                article_id=article_id,
                listed_ordering=value.decode() if value else None,
                withdrawn_ordering=tomb.decode() if tomb else None,
            )
            for article_id, value, tomb in zip(article_ids, listed, withdrawn, strict=True)
        ]


def site_due(redis: Redis) -> DueQueue:
    """Listings and site pages due a build (`ports.PagesDue`), leased so a replica that dies
    mid-build loses none."""
    return DueQueue(redis, keys.SITE_DUE, lease_s=60.0)
