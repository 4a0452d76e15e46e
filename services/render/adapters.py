"""Render's adapters: the site's listing and the listing pages due a rebuild, in Redis."""

from __future__ import annotations

import json
from collections.abc import Sequence

from redis.asyncio import Redis

from services.render import keys
from services.render.ports import ListingChange, ListingSnapshot
from shared.duequeue import DueQueue
from shared.models import ListingEntry
from shared.queries import ListingState

# Applies one change unless a newer one about the story came first, bumps the generation and
# marks the pages it touches due, all in one step. KEYS: entries, order, withdrawn, generation,
# pages due. ARGV: op, article id, ordering, entry JSON, score, due at, then the pages.
_APPLY = """
local id, ordering = ARGV[2], ARGV[3]
local tomb = redis.call('HGET', KEYS[3], id)
local current = redis.call('HGET', KEYS[1], id)
local current_ordering = nil
if current then current_ordering = cjson.decode(current)['ordering'] end
if current_ordering and current_ordering > ordering then return 0 end
if ARGV[1] == 'list' then
  if tomb and tomb >= ordering then return 0 end
  local value = '{"ordering":"' .. ordering .. '","entry":' .. ARGV[4] .. '}'
  if current == value then return 0 end
  redis.call('HSET', KEYS[1], id, value)
  redis.call('ZADD', KEYS[2], ARGV[5], id)
else
  if not tomb or tomb < ordering then redis.call('HSET', KEYS[3], id, ordering) end
  if not current then return 0 end
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
-- Microseconds, never going back: a generation is newer than any counted before.
local t = redis.call('TIME')
local generation = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[4]) or '0')
if generation <= last then generation = last + 1 end
redis.call('SET', KEYS[4], string.format('%d', generation))
for i = 7, #ARGV do redis.call('ZADD', KEYS[5], 'LT', ARGV[6], ARGV[i]) end
return 1
"""

# The newest entries and the generation they are as of, read in one step.
_NEWEST = """
local ids = redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)
local out = {redis.call('GET', KEYS[3]) or '0'}
if #ids > 0 then
  for _, value in ipairs(redis.call('HMGET', KEYS[1], unpack(ids))) do
    if value then out[#out + 1] = value end
  end
end
return out
"""


class RedisListing:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._apply = redis.register_script(_APPLY)
        self._newest = redis.register_script(_NEWEST)

    async def apply(self, change: ListingChange, pages: Sequence[str], due_at: float) -> bool:
        entry = change.entry
        score = entry.published_at.timestamp() if entry and entry.published_at else 0.0
        changed = await self._apply(
            keys=[
                keys.LISTING_ENTRIES,
                keys.LISTING_ORDER,
                keys.LISTING_WITHDRAWN,
                keys.LISTING_GENERATION,
                keys.PAGES_DUE,
            ],
            args=[
                change.op,
                change.article_id,
                change.ordering,
                entry.model_dump_json() if entry else "",
                score,
                due_at,
                *pages,
            ],
        )
        return bool(changed)

    async def newest(self, limit: int) -> ListingSnapshot:
        generation, *values = await self._newest(
            keys=[keys.LISTING_ENTRIES, keys.LISTING_ORDER, keys.LISTING_GENERATION], args=[limit]
        )
        entries = [ListingEntry.model_validate(json.loads(v)["entry"]) for v in values]
        return ListingSnapshot(int(generation), entries)

    async def states(self, article_ids: Sequence[str]) -> list[ListingState]:
        """Whether each story is listed, or withdrawn, and at which ordering."""
        if not article_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.LISTING_ENTRIES, list(article_ids))
            pipe.hmget(keys.LISTING_WITHDRAWN, list(article_ids))
            listed, withdrawn = await pipe.execute()
        return [
            ListingState(
                article_id=article_id,
                listed_ordering=json.loads(value)["ordering"] if value else None,
                withdrawn_ordering=tomb.decode() if tomb else None,
            )
            for article_id, value, tomb in zip(article_ids, listed, withdrawn, strict=True)
        ]

    async def size(self) -> int:
        return int(await self.redis.zcard(keys.LISTING_ORDER))

    async def generation(self) -> int:
        return int(await self.redis.get(keys.LISTING_GENERATION) or 0)


def pages_due(redis: Redis) -> DueQueue:
    """Listing pages due a rebuild (`ports.PagesDue`), leased so a replica that dies
    mid-rebuild loses none."""
    return DueQueue(redis, keys.PAGES_DUE, lease_s=60.0)
