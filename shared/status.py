"""`wirepress status`: every stream's length, each group's lag and pending work, dead letters,
and the state of enrich's related-links index."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared import keys
from shared.broker import create_redis
from shared.settings import Settings
from shared.streams import ALL_STREAMS, dead_letter


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


async def collect_status(settings: Settings) -> dict[str, Any]:
    redis = create_redis(settings)
    try:
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
                    name = _text(group["name"])
                    oldest = await redis.xpending_range(stream, name, "-", "+", 1)
                    entry["groups"].append(
                        {
                            "group": name,
                            "consumers": group["consumers"],
                            "lag": group.get("lag"),
                            "pending": group["pending"],
                            "oldest_pending_idle_ms": (
                                oldest[0]["time_since_delivered"] if oldest else None
                            ),
                        }
                    )
            streams.append(entry)
        meta = await redis.hget(keys.SEMANTIC_MODEL, "meta")
        index = {
            "stories": await redis.hlen(keys.FEATURES),
            "semantic_model": json.loads(meta) if meta else None,
        }
        return {"streams": streams, "related_index": index}
    finally:
        await redis.aclose()


def format_status(report: dict[str, Any]) -> str:
    lines = [
        f"{'stream':<24} {'length':>8} {'dead':>6}  {'group':<8} {'lag':>6} {'pending':>8} "
        f"{'oldest idle':>12} {'consumers':>9}"
    ]
    for entry in report["streams"]:
        groups = entry["groups"] or [None]
        for i, group in enumerate(groups):
            head = (
                f"{entry['stream']:<24} {entry['length']:>8} {entry['dead_letters']:>6}"
                if i == 0
                else " " * 40
            )
            if group is None:
                lines.append(f"{head}  {'-':<8}")
                continue
            idle = group["oldest_pending_idle_ms"]
            lines.append(
                f"{head}  {group['group']:<8} {group['lag'] if group['lag'] is not None else '?':>6} "
                f"{group['pending']:>8} {(f'{idle / 1000:.1f}s' if idle is not None else '-'):>12} "
                f"{group['consumers']:>9}"
            )
    index = report.get("related_index")
    if index is not None:
        model = index["semantic_model"]
        lines.append("")
        lines.append(f"related-links index: {index['stories']} stories")
        if model is None:
            lines.append("semantic model: none yet (fitted once the archive is large enough)")
        else:
            fitted = datetime.fromtimestamp(model["fitted_at"], UTC).strftime("%Y-%m-%d %H:%M")
            lines.append(
                f"semantic model: fitted {fitted} UTC on {model['stories']} stories, "
                f"{model['dims']} dimensions, {model['terms']} terms"
            )
    return "\n".join(lines)
