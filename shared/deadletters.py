"""Dead letters for ops: list what died and why, and put it back once the cause is fixed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from shared.streams import CONSUMER_GROUPS, dead_letter


@dataclass(frozen=True)
class DeadLetter:
    dead_id: str
    stream: str
    group: str
    entry_id: str
    reason: str
    deliveries: int
    failed_at: float


def _text(value: bytes | None) -> str:
    return value.decode(errors="replace") if value else ""


async def list_dead(
    redis: Redis, streams: Sequence[str] | None = None, limit: int = 100
) -> list[DeadLetter]:
    found: list[DeadLetter] = []
    for stream in streams or list(CONSUMER_GROUPS):
        for dead_id, fields in await redis.xrange(dead_letter(stream), count=limit):
            found.append(
                DeadLetter(
                    dead_id=_text(dead_id),
                    stream=_text(fields.get(b"stream")) or stream,
                    group=_text(fields.get(b"group")),
                    entry_id=_text(fields.get(b"entry_id")),
                    reason=_text(fields.get(b"reason")),
                    deliveries=int(fields.get(b"deliveries") or 0),
                    failed_at=float(fields.get(b"failed_at") or 0),
                )
            )
    return found


async def requeue(redis: Redis, stream: str, dead_ids: Sequence[str] | None, maxlen: int) -> int:
    """Append dead messages to their stream again, as new entries, and drop them from the dead
    letters in the same transaction; every group reads them again (handlers are idempotent)."""
    entries = await redis.xrange(dead_letter(stream))
    wanted = set(dead_ids) if dead_ids is not None else None
    moved = 0
    for dead_id, fields in entries:
        if wanted is not None and _text(dead_id) not in wanted:
            continue
        async with redis.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, {"__data__": fields[b"data"]}, maxlen=maxlen, approximate=True)
            pipe.xdel(dead_letter(stream), dead_id)
            await pipe.execute()
        moved += 1
    return moved
