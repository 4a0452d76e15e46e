"""The desk's adapters, in Redis: its users and failed sign-ins, machine tokens, the story index,
the audit log and bulk republish jobs."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from faststream.redis.parser.binary import BinaryMessageFormatV1
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from services.desk import keys
from services.desk.ports import (
    AuditRecord,
    DeskStory,
    Job,
    LinkView,
    MachineToken,
    StoryList,
    StoryQuery,
    TagView,
    TimelineEntry,
    User,
)
from services.desk.stories import MAX_QUERY_WORDS, memberships, status_of, words
from shared.backlog import DeadLetter, dead_letters_after


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


# --- the story index ---------------------------------------------------------------------------

#: A search's result set is kept this long, so paging through it is cheap and stable.
QUERY_CACHE_S = 3
#: A prefix matches at most this many words of the vocabulary.
MAX_PREFIX_WORDS = 200
MAX_TIMELINE = 100


def encode_story(story: DeskStory) -> str:
    return json.dumps(asdict(story), separators=(",", ":"))


def decode_story(raw: bytes | str) -> DeskStory:
    fields = json.loads(raw)
    fields["tags"] = tuple(TagView(**t) for t in fields.get("tags", ()))
    fields["links"] = tuple(LinkView(**link) for link in fields.get("links", ()))
    fields["versions"] = tuple((v, float(at)) for v, at in fields.get("versions", ()))
    return DeskStory(**fields)


class RedisStoryIndex:
    """`ports.StoryIndex`: a JSON document per story and sorted sets of ids by time, one per
    status, section, tag and headline word; a search intersects the few sets it names."""

    def __init__(
        self,
        redis: Redis,
        clock: Callable[[], float] = time.time,
        *,
        cache_s: int = QUERY_CACHE_S,
    ) -> None:
        self.redis = redis
        self.clock = clock
        #: How long a search's result set is kept for the next page (0: not kept).
        self.cache_s = cache_s

    async def update(
        self,
        article_id: str,
        change: Callable[[DeskStory | None], DeskStory | None],
        *entries: TimelineEntry,
    ) -> DeskStory | None:
        key = keys.story_key(article_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    before = decode_story(raw) if raw else None
                    after = change(before)
                    pipe.multi()
                    if after is not None:
                        after = self._store(pipe, before, after)
                    if entries:
                        timeline = keys.timeline_key(article_id)
                        pipe.lpush(timeline, *(json.dumps(asdict(e)) for e in entries))
                        pipe.ltrim(timeline, 0, MAX_TIMELINE - 1)
                    await pipe.execute()
                    return after if after is not None else before
                except WatchError:
                    continue

    def _store(self, pipe: Pipeline, before: DeskStory | None, after: DeskStory) -> DeskStory:
        status = status_of(after, self.clock())
        after = replace(after, indexed_status=status)
        pipe.set(keys.story_key(after.article_id), encode_story(after))
        old = (
            memberships(before, before.indexed_status or status_of(before, self.clock()))
            if before is not None
            else set()
        )
        new = memberships(after, status)
        for gone in old - new:
            pipe.zrem(keys.member_key(gone), after.article_id)
        score = {after.article_id: after.sort_at}
        for member in new if before is None or before.sort_at != after.sort_at else new - old:
            pipe.zadd(keys.member_key(member), score)
        pipe.zadd(keys.ALL, score)
        fresh = [m.removeprefix("word:") for m in new - old if m.startswith("word:")]
        if fresh:
            pipe.zadd(keys.VOCABULARY, dict.fromkeys(fresh, 0))
        if after.section_slug and (before is None or before.section_slug != after.section_slug):
            pipe.hset(keys.SECTIONS, after.section_slug, after.section_name)
        return after

    async def get(self, article_id: str) -> DeskStory | None:
        raw = await self.redis.get(keys.story_key(article_id))
        return decode_story(raw) if raw else None

    async def timeline(self, article_id: str) -> list[TimelineEntry]:
        rows = await self.redis.lrange(keys.timeline_key(article_id), 0, -1)
        return [TimelineEntry(**json.loads(row)) for row in rows]

    async def search(self, query: StoryQuery) -> StoryList:
        """The sets a query names are intersected (a typed prefix first made the union of the
        words it starts) into a result set, kept `cache_s` for the next pages. A kept set is
        read in the same transaction that finds it, and a new one is built and read in one
        transaction: an expiry between two round trips can never give an empty page."""
        sets = [keys.member_key(f) for f in _filters(query)]
        typed = words(query.text)[:MAX_QUERY_WORDS]
        union: list[str] = []
        if typed:
            # Every word whole but the last, which may be the start of one (typing "kurs").
            whole = typed[:-1] if not query.text.endswith(" ") else typed
            sets += [keys.member_key(f"word:{w}") for w in whole]
            if len(whole) < len(typed):
                union = await self._starting_with(typed[-1])
                if not union:
                    return StoryList(0, [])
        low = "-inf" if query.since is None else query.since
        high = "+inf" if query.until is None else query.until
        page = (low, high, query.offset, query.limit)
        if len(sets) + (1 if union else 0) <= 1 and len(union) <= 1:
            # One set as it is (every story, a status, a word): nothing to build.
            total, ids = await self._read((sets + union or [keys.ALL])[0], *page)
        else:
            total, ids = await self._built(sets, union, page)
        return StoryList(total, await self.stories(ids))

    async def _read(
        self, key: str, low: object, high: object, offset: int, limit: int
    ) -> tuple[int, list[str]]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zcount(key, low, high)
            pipe.zrevrangebyscore(key, high, low, start=offset, num=limit)
            total, ids = await pipe.execute()
        return int(total), [i.decode() for i in ids]

    async def _built(
        self, sets: list[str], union: list[str], page: tuple[object, object, int, int]
    ) -> tuple[int, list[str]]:
        low, high, offset, limit = page
        named = "\0".join([*sorted(sets), "|", *sorted(union)]).encode()
        target = keys.QUERY_PREFIX + hashlib.sha1(named, usedforsecurity=False).hexdigest()
        if self.cache_s:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.exists(target)
                pipe.zcount(target, low, high)
                pipe.zrevrangebyscore(target, high, low, start=offset, num=limit)
                kept, total, ids = await pipe.execute()
            if kept:
                return int(total), [i.decode() for i in ids]
        else:
            target += ":" + secrets.token_hex(6)
        async with self.redis.pipeline(transaction=True) as pipe:
            inputs = list(sets)
            if len(union) > 1:
                pipe.zunionstore(target, union, aggregate="MAX")
                inputs.append(target)
            else:
                inputs += union
            if len(inputs) > 1:
                pipe.zinterstore(target, inputs, aggregate="MAX")
            pipe.zcount(target, low, high)
            pipe.zrevrangebyscore(target, high, low, start=offset, num=limit)
            if self.cache_s:
                pipe.expire(target, self.cache_s)
            else:
                pipe.delete(target)
            replies = await pipe.execute()
        total, ids = replies[-3], replies[-2]
        return int(total), [i.decode() for i in ids]

    async def _starting_with(self, prefix: str) -> list[str]:
        """The word sets of every word the vocabulary has that starts with `prefix`."""
        start = prefix.encode()
        found = await self.redis.zrangebylex(
            keys.VOCABULARY, b"[" + start, b"[" + start + b"\xff", start=0, num=MAX_PREFIX_WORDS
        )
        return [keys.member_key(f"word:{w.decode()}") for w in found]

    async def stories(self, ids: list[str]) -> list[DeskStory]:
        if not ids:
            return []
        rows = await self.redis.mget([keys.story_key(i) for i in ids])
        return [decode_story(row) for row in rows if row]

    async def ids(self, *, section: str = "", tag: str = "") -> list[str]:
        key = (
            keys.member_key(f"section:{section}")
            if section
            else keys.member_key(f"tag:{tag}")
            if tag
            else keys.ALL
        )
        return [i.decode() for i in await self.redis.zrevrange(key, 0, -1)]

    async def sections(self) -> dict[str, str]:
        sections = await self.redis.hgetall(keys.SECTIONS)
        return {k.decode(): v.decode() for k, v in sorted(sections.items())}

    async def remember_tag_ban(self, slug: str, article_ids: list[str]) -> None:
        if article_ids:
            await self.redis.sadd(keys.TAG_BAN_PREFIX + slug, *article_ids)

    async def tag_ban(self, slug: str) -> list[str]:
        return sorted(m.decode() for m in await self.redis.smembers(keys.TAG_BAN_PREFIX + slug))

    async def forget_tag_ban(self, slug: str) -> None:
        await self.redis.delete(keys.TAG_BAN_PREFIX + slug)

    async def backfilled(self) -> bool:
        return bool(await self.redis.exists(keys.BACKFILLED))

    async def mark_backfilled(self) -> None:
        await self.redis.set(keys.BACKFILLED, str(self.clock()))


def _filters(query: StoryQuery) -> list[str]:
    found = []
    if query.status:
        found.append(f"status:{query.status}")
    if query.section:
        found.append(f"section:{query.section}")
    if query.tag:
        found.append(f"tag:{query.tag}")
    return found


class RedisAuditLog:
    """`ports.AuditLog`: a stream, newest last, capped at AUDIT_MAXLEN entries."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def record(self, entry: AuditRecord) -> None:
        fields = {k: str(v) for k, v in asdict(entry).items()}
        await self.redis.xadd(keys.AUDIT, fields, maxlen=AUDIT_MAXLEN, approximate=True)

    async def latest(self, limit: int, before: str | None = None) -> list[tuple[str, AuditRecord]]:
        high = f"({before}" if before else "+"
        rows = await self.redis.xrevrange(keys.AUDIT, high, "-", count=limit)
        found = []
        for entry_id, fields in rows:
            text = {k.decode(): v.decode() for k, v in fields.items()}
            text["at"] = float(text["at"])
            found.append((entry_id.decode(), AuditRecord(**text)))
        return found


AUDIT_MAXLEN = 1_000_000

# Counts a job's story as done only while the job exists (an unknown id is a no-op).
_JOB_DONE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HINCRBY', KEYS[1], 'done', 1) end
return 0
"""
JOB_TTL_S = 7 * 86400


class RedisJobs:
    """`ports.Jobs`: a hash per job, kept a week, and a sorted set of them by start time."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._done = redis.register_script(_JOB_DONE)

    async def start(self, job: Job) -> None:
        key = keys.JOB_PREFIX + job.job_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={k: str(v) for k, v in asdict(job).items()})
            pipe.expire(key, JOB_TTL_S)
            pipe.zadd(keys.JOBS, {job.job_id: job.started_at})
            pipe.zremrangebyscore(keys.JOBS, "-inf", job.started_at - JOB_TTL_S)
            await pipe.execute()

    async def sent(self, job_id: str, count: int, *, finished: bool = False) -> None:
        key = keys.JOB_PREFIX + job_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "sent", count)
            if finished:
                pipe.hset(key, "finished", "True")
            await pipe.execute()

    async def done(self, job_id: str) -> None:
        await self._done(keys=[keys.JOB_PREFIX + job_id])

    async def failed(self, job_id: str, error: str) -> None:
        await self.redis.hset(keys.JOB_PREFIX + job_id, mapping={"error": error})

    async def get(self, job_id: str) -> Job | None:
        fields = await self.redis.hgetall(keys.JOB_PREFIX + job_id)
        if not fields:
            return None
        text = {k.decode(): v.decode() for k, v in fields.items()}
        return Job(
            job_id=text["job_id"],
            label=text["label"],
            total=int(text["total"]),
            sent=int(text["sent"]),
            done=int(text["done"]),
            started_at=float(text["started_at"]),
            user=text["user"],
            finished=text["finished"] == "True",
            error=text.get("error", ""),
        )

    async def recent(self, limit: int) -> list[Job]:
        ids = await self.redis.zrevrange(keys.JOBS, 0, limit - 1)
        jobs = [await self.get(i.decode()) for i in ids]
        return [job for job in jobs if job is not None]


class RedisSignOuts:
    """`ports.SignOuts`: a key per signed-out session, expiring when the session would have."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def sign_out(self, nonce: str, expires_at: float) -> None:
        seconds = max(1, int(expires_at - time.time()) + 1)
        await self.redis.set(keys.SIGNED_OUT_PREFIX + nonce, "1", ex=seconds)

    async def signed_out(self, nonce: str) -> bool:
        return bool(await self.redis.exists(keys.SIGNED_OUT_PREFIX + nonce))


class RedisTokens:
    """`ports.Tokens`: name -> JSON, and SHA-256 -> name to find a token by what is presented."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def put(self, token: MachineToken) -> bool:
        record = json.dumps(
            {"sha256": token.sha256, "role": token.role, "created_at": token.created_at}
        )
        if not await self.redis.hsetnx(keys.TOKENS, token.name, record):
            return False
        await self.redis.hset(keys.TOKEN_HASHES, token.sha256, token.name)
        return True

    async def by_hash(self, sha256: str) -> MachineToken | None:
        name = await self.redis.hget(keys.TOKEN_HASHES, sha256)
        if name is None:
            return None
        raw = await self.redis.hget(keys.TOKENS, name)
        if raw is None:
            return None
        fields = json.loads(raw)
        if fields["sha256"] != sha256:
            return None
        return MachineToken(name.decode(), sha256, fields["role"], float(fields["created_at"]))

    async def revoke(self, name: str) -> bool:
        raw = await self.redis.hget(keys.TOKENS, name)
        if raw is None:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.TOKENS, name)
            pipe.hdel(keys.TOKEN_HASHES, json.loads(raw)["sha256"])
            await pipe.execute()
        return True


@dataclass(frozen=True)
class Failure:
    """A dead letter about one story, as the desk's timeline shows it."""

    stream: str
    dead_id: str
    group: str
    reason: str
    failed_at: float
    article_id: str
    guid: str
    version: str
    correlation_id: str


class RedisDeadLetterFeed:
    """The dead letters written since the desk last looked, per dead-letter stream."""

    def __init__(self, redis: Redis, streams: list[str]) -> None:
        self.redis = redis
        self.streams = streams

    async def new_failures(self, limit: int = 200) -> list[Failure]:
        found: list[Failure] = []
        for stream in self.streams:
            seen_key = keys.DEAD_SEEN_PREFIX + stream
            seen = await self.redis.get(seen_key)
            dead = await dead_letters_after(
                self.redis, stream, seen.decode() if seen else None, limit
            )
            found += [f for d in dead if (f := _failure(d)) is not None]
            if dead:
                await self.redis.set(seen_key, dead[-1].dead_id)
        return found


def _failure(dead: DeadLetter) -> Failure | None:
    """A dead letter about one story (not a site page), as the story's timeline shows it."""
    event = _message(dead.data)
    article_id = str(event.get("article_id") or "")
    if (
        not article_id
        or article_id == "site"
        or str(event.get("event_type", "")).startswith("site.")
    ):
        return None
    return Failure(
        stream=dead.stream,
        dead_id=dead.dead_id,
        group=dead.group,
        reason=dead.reason,
        failed_at=dead.failed_at,
        article_id=article_id,
        guid=str(event.get("guid", "")),
        version=str(event.get("version", "")),
        correlation_id=str(event.get("correlation_id", "")),
    )


def _message(data: bytes) -> dict[str, Any]:
    """The event a dead letter holds, as JSON ({} when it cannot be read)."""
    try:
        body, _headers = BinaryMessageFormatV1.parse(data)
        event = json.loads(body)
    except (ValueError, TypeError):
        return {}
    return event if isinstance(event, dict) else {}


def payload_summary(data: bytes) -> dict[str, object]:
    """What a dead letter's message says about itself (event type, story), for the queue."""
    event = _message(data)
    if not event:
        return {}
    article = event.get("article") if isinstance(event.get("article"), dict) else {}
    return {
        "event_type": event.get("event_type"),
        "article_id": event.get("article_id"),
        "guid": event.get("guid"),
        "version": event.get("version"),
        "headline": (article or {}).get("headline") or event.get("headline"),
        "raw_key": event.get("raw_key"),
    }
