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

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.streams import CONSUMER_GROUPS, ENRICHED, INGESTED, PUBLISHED, RENDERED, Backlog

#: The streams every pushed story passes through (republish requests join at ENRICHED); a story
#: is listed on the site from PUBLISHED, so a stage behind there must slow feeds down too.
STORY_STREAMS = (INGESTED, ENRICHED, RENDERED, PUBLISHED)
#: Share of the backlog limit bulk work may fill.
BULK_SHARE = 0.5


def _name(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def stream_backlogs(redis: Redis, streams: Sequence[str] | None = None) -> list[Backlog]:
    """Unread plus pending entries of every consumer group. When the server cannot tell a group's
    lag (it reports none once entries were trimmed or deleted), the whole stream counts as unread:
    uncertainty slows work down rather than risking a trim of unread entries."""
    out = []
    for stream, groups in CONSUMER_GROUPS.items():
        if streams is not None and stream not in streams:
            continue
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
    redis: Redis, stream: str, *, retain_s: float, now: float | None = None
) -> int:
    """Drop the entries of `stream` that every one of its groups has acknowledged and that are
    older than `retain_s` (kept that long for the tools that read what just happened); how many
    went. An entry still unread or pending in any group is never dropped, whatever the stream's
    length: trimming at a fixed length alone either drops unread entries or keeps gigabytes of
    page HTML no one will read again. A stream with no group is left alone."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return 0
    if not groups:
        return 0
    floors = []
    for group in groups:
        oldest = None
        if int(group.get("pending") or 0):
            oldest = (await redis.xpending(stream, _name(group["name"])))["min"]
        if oldest is not None:
            floors.append(_entry_id(oldest))
        else:  # nothing pending (or all of it acknowledged since XINFO answered)
            ms, seq = _entry_id(group["last-delivered-id"])
            floors.append((ms, seq + 1))
    moment = time.time() if now is None else now
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
