"""Which service sends Valkey how many commands and bytes, per story.

Valkey's CLIENT LIST counts, for each connection, the commands it sent (`tot-cmds`) and its bytes
in and out (`tot-net-in`, `tot-net-out`), and names it (`shared.broker.client_name`:
`wirepress:<service>:<replica>`). Two snapshots around the measured part, differenced per
connection, give each service's share; a script (EVALSHA) counts as one command, and a connection
closed in between is not counted. Cheap enough to run in every bench.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from redis.asyncio import Redis

UNNAMED = "unnamed (the bench, tools)"
FIELDS = ("tot-cmds", "tot-net-in", "tot-net-out")

Snapshot = dict[str, tuple[str, tuple[int, ...]]]  # connection id -> (service, counters)


def service_of(name: str) -> str:
    return name.split(":")[1] if name.startswith("wirepress:") and name.count(":") >= 2 else UNNAMED


async def snapshot(redis: Redis) -> Snapshot | None:
    """Every connection's counters now; None if this server does not count per connection."""
    clients = await redis.client_list()
    if clients and "tot-cmds" not in clients[0]:
        return None
    return {
        c["id"]: (service_of(c.get("name") or ""), tuple(int(c[f]) for f in FIELDS))
        for c in clients
    }


def per_story(before: Snapshot, after: Snapshot, stories: int) -> dict[str, Any]:
    """Commands and KB in and out per story, by service."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for client_id, (service, counts) in after.items():
        earlier = before.get(client_id, (service, (0, 0, 0)))[1]
        for i, (now, then) in enumerate(zip(counts, earlier, strict=True)):
            totals[service][i] += now - then
    stories = max(stories, 1)
    return {
        service: {
            "commands": round(cmds / stories, 1),
            "kb_to_valkey": round(sent / 1024 / stories, 2),
            "kb_from_valkey": round(received / 1024 / stories, 2),
        }
        for service, (cmds, sent, received) in sorted(totals.items())
    }
