"""What a durable 202 costs: ingest's emit of a story with and without WAITAOF, side by side.

Against a real Valkey with the stack's persistence (`appendonly yes`, `appendfsync everysec`),
the same ninjs stories go through ingest's own `RedisEmitter.emit` (the duplicate check and
the XADD in one script), one at a time and `--concurrency` at once, first as ingest did before
(answer once the entry is written) and then waiting for the entry to be fsynced to the
append-only file (WAITAOF 1 0). Reports latency percentiles, stories per second and the
client's CPU per story, to `--out`.

    python -m bench.durability --stories 400 --out bench/results/durability.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from cli import devstack
from services.ingest.adapters import RedisEmitter
from shared.broker import create_redis
from shared.events import ArticleIngested
from shared.models import Article


def events(count: int, tag: str) -> list[ArticleIngested]:
    made = []
    for i in range(count):
        article = Article(
            guid=f"urn:bench:durability:{tag}:{i}",
            headline=f"Story {i}",
            body_html="<p>" + "A paragraph of an ordinary story. " * 60 + "</p>",
        )
        made.append(ArticleIngested.about(article, article=article, feed="bench"))
    return made


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(
    emitter: RedisEmitter, batch: list[ArticleIngested], concurrency: int
) -> dict[str, Any]:
    latencies: list[float] = []
    limit = asyncio.Semaphore(concurrency)

    async def one(event: ArticleIngested) -> None:
        async with limit:
            started = time.perf_counter()
            [fresh] = await emitter.emit([event])
            assert fresh
            latencies.append(time.perf_counter() - started)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(e) for e in batch))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "stories": len(batch),
        "concurrency": concurrency,
        "latency_ms": {
            "p50": round(1000 * statistics.median(latencies), 2),
            "p99": round(1000 * percentile(latencies, 0.99), 2),
            "max": round(1000 * max(latencies), 2),
        },
        "stories_per_s": round(len(batch) / wall, 1),
        "client_cpu_ms_per_story": round(1000 * cpu / len(batch), 3),
    }


async def measure(port: int, stories: int, concurrency: int) -> dict[str, Any]:
    redis = create_redis(f"redis://127.0.0.1:{port}/0")
    results: dict[str, Any] = {}
    try:
        modes = (
            ("everysec, answered once written", "everysec", None),
            ("everysec, answered once fsynced (WAITAOF)", "everysec", 1500),
            ("always, answered once written (so fsynced)", "always", None),
            ("always, and WAITAOF (what the stack runs)", "always", 1500),
        )
        for mode, fsync, wait in modes:
            await redis.config_set("appendfsync", fsync)
            emitter = RedisEmitter(redis, stream_maxlen=1_000_000, wait_aof_ms=wait)
            results[mode] = {
                "one at a time": await run(emitter, events(stories, f"{mode}-1"), 1),
                f"{concurrency} at once": await run(
                    emitter, events(stories, f"{mode}-n"), concurrency
                ),
            }
    finally:
        await redis.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stories", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path("bench/results/durability.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wirepress-durability-") as tmp:
        root = Path(tmp)
        port = devstack.free_port()
        valkey = devstack.start_valkey(port, root / "valkey", root / "valkey.log")
        try:
            results = asyncio.run(measure(port, args.stories, args.concurrency))
        finally:
            devstack.stop(valkey)
    report = {
        "what": "ingest's emit of one story (duplicate check + XADD): answered once written, "
        "once fsynced to the append-only file by WAITAOF, or with every write fsynced "
        "(appendfsync always)",
        "command": f"python -m bench.durability --stories {args.stories} "
        f"--concurrency {args.concurrency}",
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
