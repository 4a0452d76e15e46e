"""How far behind the pipeline is: for every consumed stream, what its group has not finished.

Streams are trimmed at `STREAM_MAXLEN`, so an entry must be read and acknowledged before that many
newer ones arrive behind it. Whatever adds work (ingest, republishing, link refreshes) holds back
while any stage's backlog is over `INGEST_MAX_LAG` (well under `STREAM_MAXLEN`): a stopped or slow
stage slows the feeds down instead of letting trimming drop its unread stories.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.streams import CONSUMER_GROUPS


@dataclass(frozen=True)
class Backlog:
    entries: int  # unread plus pending, for the stage that is furthest behind
    stream: str
    group: str

    def __str__(self) -> str:
        return f"{self.group} is {self.entries} entries behind on {self.stream}"


def _name(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def stream_backlogs(redis: Redis) -> list[Backlog]:
    """Unread plus pending entries of every consumer group. When the server cannot tell a group's
    lag (it reports none once entries were trimmed or deleted), the whole stream counts as unread:
    uncertainty slows work down rather than risking a trim of unread entries."""
    out = []
    for stream, groups in CONSUMER_GROUPS.items():
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


async def worst_backlog(redis: Redis) -> Backlog | None:
    backlogs = await stream_backlogs(redis)
    return max(backlogs, key=lambda b: b.entries) if backlogs else None


async def wait_for_capacity(
    redis: Redis,
    limit: int,
    *,
    poll_s: float = 1.0,
    on_wait: Callable[[Backlog], None] | None = None,
) -> None:
    """Return once no stage is more than ``limit`` entries behind (for bulk senders, which can
    wait, unlike a feed's HTTP request). ``on_wait(backlog)`` is called before each wait."""
    while True:
        worst = await worst_backlog(redis)
        if worst is None or worst.entries <= limit:
            return
        if on_wait is not None:
            on_wait(worst)
        await asyncio.sleep(poll_s)
