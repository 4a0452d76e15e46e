"""How far behind the pipeline is: for every consumed stream, what its group has not finished.

Streams are trimmed at `STREAM_MAXLEN`, so an entry must be read and acknowledged before that many
newer ones arrive behind it. Whatever adds work holds back while a stage it feeds is too far
behind, so a stopped or slow stage slows the work down instead of letting trimming drop its unread
entries:

* ingest answers 503 while enrich, render or publish is more than `INGEST_MAX_LAG` behind on a
  stream stories pass through (STORY_STREAMS, render's listing of what publish did included);
* link refreshes wait while any stage is more than `INGEST_MAX_LAG` behind;
* render builds site pages only while publish is at most `SITE_BUILD_MAX_BACKLOG` behind on
  the rendered stream (what arrives meanwhile is built together);
* bulk republishing waits until every stage is under half of it (BULK_SHARE), leaving the other
  half to live stories, so a long `republish --all` never makes ingest turn feeds away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.broker import DATA_FIELD
from shared.streams import (
    ALL_STREAMS,
    CONSUMER_GROUPS,
    ENRICHED,
    INGESTED,
    OBSERVERS,
    PUBLISHED,
    RENDERED,
    Backlog,
    dead_letter,
)

#: The streams every pushed story passes through (republish requests join at ENRICHED); a story
#: is listed on the site from PUBLISHED, so a stage behind there must slow feeds down too.
STORY_STREAMS = (INGESTED, ENRICHED, RENDERED, PUBLISHED)
#: Share of the backlog limit bulk work may fill.
BULK_SHARE = 0.5


def _name(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def stream_backlogs(redis: Redis, streams: Sequence[str] | None = None) -> list[Backlog]:
    """Unread plus pending entries of every consumer group but the observers (the desk never
    holds feeds back). When the server cannot tell a group's lag (it reports none once entries
    were trimmed or deleted), the whole stream counts as unread: uncertainty slows work down
    rather than risking a trim of unread entries."""
    out = []
    for stream, every_group in CONSUMER_GROUPS.items():
        if streams is not None and stream not in streams:
            continue
        groups = [g for g in every_group if g not in OBSERVERS.get(stream, ())]
        try:
            info = await redis.xinfo_groups(stream)
        except ResponseError:  # the stream does not exist yet: nothing behind
            continue
        for group in info:
            name = _name(group["name"])
            if name not in groups:
                continue
            lag = group.get("lag")
            unread = int(lag) if lag is not None else int(await redis.xlen(stream))
            out.append(Backlog(unread + int(group.get("pending") or 0), stream, name))
    return out


def _entry_id(value: object) -> tuple[int, int]:
    ms, _, seq = _name(value).partition("-")
    return int(ms), int(seq or 0)


async def trim_acknowledged(
    redis: Redis,
    stream: str,
    *,
    retain_s: float,
    now: float | None = None,
    observer_retain_s: float = 600.0,
) -> int:
    """Drop the entries of `stream` that every one of its groups has acknowledged and that are
    older than `retain_s` (kept that long for the tools that read what just happened); how many
    went. An entry still unread or pending in any group is never dropped, whatever the stream's
    length: trimming at a fixed length alone either drops unread entries or keeps gigabytes of
    page HTML no one will read again. A stream with no group is left alone. An observer group
    (the desk) keeps entries for `observer_retain_s` at most: a stopped desk must not fill the
    server; it catches up from enrich's archive instead."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return 0
    if not groups:
        return 0
    moment = time.time() if now is None else now
    observer_floor = (int((moment - observer_retain_s) * 1000), 0)
    floors = []
    for group in groups:
        observer = _name(group["name"]) in OBSERVERS.get(stream, ())
        oldest = None
        if int(group.get("pending") or 0):
            oldest = (await redis.xpending(stream, _name(group["name"])))["min"]
        if oldest is not None:
            floor = _entry_id(oldest)
        else:  # nothing pending (or all of it acknowledged since XINFO answered)
            ms, seq = _entry_id(group["last-delivered-id"])
            floor = (ms, seq + 1)
        floors.append(max(floor, observer_floor) if observer else floor)
    floors.append((int((moment - retain_s) * 1000), 0))
    ms, seq = min(floors)
    return int(await redis.xtrim(stream, minid=f"{ms}-{seq}", approximate=False))


async def group_backlog(redis: Redis, stream: str, group: str) -> int:
    """Unread plus pending entries of one consumer group (0 if the stream has none yet)."""
    for backlog in await stream_backlogs(redis, [stream]):
        if backlog.group == group:
            return backlog.entries
    return 0


async def worst_backlog(redis: Redis, streams: Sequence[str] | None = None) -> Backlog | None:
    backlogs = await stream_backlogs(redis, streams)
    return max(backlogs, key=lambda b: b.entries) if backlogs else None


async def wait_for_capacity(
    redis: Redis,
    limit: int,
    *,
    poll_s: float = 1.0,
    timeout_s: float | None = None,
    on_wait: Callable[[Backlog], None] | None = None,
) -> None:
    """Return once no stage is more than ``limit`` entries behind (for bulk senders, which can
    wait, unlike a feed's HTTP request). ``on_wait(backlog)`` is called before each wait; after
    ``timeout_s`` without room, TimeoutError (a stage is probably stopped)."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    while True:
        worst = await worst_backlog(redis)
        if worst is None or worst.entries <= limit:
            return
        if deadline is not None and loop.time() >= deadline:
            raise TimeoutError(f"{worst} and has not caught up in {timeout_s:.0f} s")
        if on_wait is not None:
            on_wait(worst)
        await asyncio.sleep(poll_s)


async def missed_entries(redis: Redis, stream: str, group: str) -> bool:
    """Whether entries of `stream` were trimmed before `group` read them (an observer stopped
    past its retention): more entries were added since its last read than the stream still
    holds after it. When the server cannot tell how many it read, it is taken as missed (a
    catch-up costs little; a gap left open costs stories)."""
    try:
        groups = await redis.xinfo_groups(stream)
        info = await redis.xinfo_stream(stream)
    except ResponseError:
        return False
    found = next((g for g in groups if _name(g["name"]) == group), None)
    if found is None:
        return False
    length = int(info["length"])
    if length and _entry_id(info["first-entry"][0]) <= _entry_id(found["last-delivered-id"]):
        return False  # streams are trimmed from the oldest: all it has not read is there
    read = found.get("entries-read")
    if read is None:
        return True
    # Everything still in the stream is after its last read: were more added than that?
    return int(info["entries-added"]) - int(read) > length


# --- what ops and editors see of the queue -------------------------------------------------------


async def stream_status(redis: Redis) -> list[dict[str, Any]]:
    """Every stream: its length and dead letters, and per group its consumers, lag, pending,
    its oldest pending entry (id, idle time since its last delivery, how often it was
    delivered). `wirepress status` shows it; every service's /metrics is set from it."""
    streams: list[dict[str, Any]] = []
    for stream in ALL_STREAMS:
        entry: dict[str, Any] = {
            "stream": stream,
            "length": await redis.xlen(stream),
            "dead_letters": await redis.xlen(dead_letter(stream)),
            "groups": [],
        }
        if await redis.exists(stream):
            for group in await redis.xinfo_groups(stream):
                name = _name(group["name"])
                oldest = await redis.xpending_range(stream, name, "-", "+", 1)
                entry["groups"].append(
                    {
                        "group": name,
                        "observer": name in OBSERVERS.get(stream, ()),
                        "consumers": group["consumers"],
                        "lag": group.get("lag"),
                        "pending": group["pending"],
                        "oldest_pending_idle_ms": (
                            oldest[0]["time_since_delivered"] if oldest else None
                        ),
                        "oldest_pending_deliveries": (
                            oldest[0]["times_delivered"] if oldest else None
                        ),
                        "oldest_pending_id": _name(oldest[0]["message_id"]) if oldest else None,
                    }
                )
        streams.append(entry)
    return streams


@dataclass(frozen=True)
class DeadLetter:
    """A message a stage gave up on, and why."""

    dead_id: str
    stream: str
    group: str
    entry_id: str
    reason: str
    deliveries: int
    failed_at: float
    #: The message as it travelled (FastStream's binary format), to show or requeue.
    data: bytes = field(default=b"", repr=False, compare=False)


async def list_dead(
    redis: Redis, streams: Sequence[str] | None = None, limit: int = 100
) -> list[DeadLetter]:
    """The oldest `limit` dead letters of each stream (every consumed stream by default)."""
    found: list[DeadLetter] = []
    for stream in streams or list(CONSUMER_GROUPS):
        for dead_id, fields in await redis.xrange(dead_letter(stream), count=limit):
            found.append(_dead_letter(stream, dead_id, fields))
    return found


async def dead_letters_after(
    redis: Redis, stream: str, after: str | None, limit: int
) -> list[DeadLetter]:
    """The dead letters of `stream` written after the one with id `after` (all, if None)."""
    low = f"({after}" if after else "-"
    rows = await redis.xrange(dead_letter(stream), low, "+", count=limit)
    return [_dead_letter(stream, dead_id, fields) for dead_id, fields in rows]


async def dead_letter_by_id(redis: Redis, stream: str, dead_id: str) -> DeadLetter | None:
    entries = await redis.xrange(dead_letter(stream), dead_id, dead_id)
    return _dead_letter(stream, *entries[0]) if entries else None


def _dead_letter(stream: str, dead_id: object, fields: dict[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        dead_id=_name(dead_id),
        stream=_name(fields.get(b"stream", b"")) or stream,
        group=_name(fields.get(b"group", b"")),
        entry_id=_name(fields.get(b"entry_id", b"")),
        reason=_name(fields.get(b"reason", b"")),
        deliveries=int(fields.get(b"deliveries") or 0),
        failed_at=float(fields.get(b"failed_at") or 0),
        data=fields.get(b"data", b""),
    )


async def requeue(redis: Redis, stream: str, dead_ids: Sequence[str] | None, maxlen: int) -> int:
    """Append dead messages to their stream again, as new entries, and drop them from the dead
    letters in the same transaction; every group reads them again (handlers are idempotent)."""
    entries = await redis.xrange(dead_letter(stream))
    wanted = set(dead_ids) if dead_ids is not None else None
    moved = 0
    for dead_id, fields in entries:
        if wanted is not None and _name(dead_id) not in wanted:
            continue
        async with redis.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, {DATA_FIELD: fields[b"data"]}, maxlen=maxlen, approximate=True)
            pipe.xdel(dead_letter(stream), dead_id)
            await pipe.execute()
        moved += 1
    return moved


async def discard(redis: Redis, stream: str, dead_ids: Sequence[str]) -> int:
    """Drop dead letters for good (their raw payloads stay in the archive)."""
    if not dead_ids:
        return 0
    return int(await redis.xdel(dead_letter(stream), *dead_ids))
