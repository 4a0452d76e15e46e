"""The editors' desk at newsroom scale: its story list and search with 100k stories, and how long
an editor's action takes to change the page in the bucket.

Part one (`index`): a Valkey of its own and the desk as a process. The desk's own consumers
read `--stories` stories' enriched and published events off the real streams (headlines,
sections and tags from Reuters-21578's titles and places, repeated with other dates to reach
the count), which also gives how fast the desk keeps its index; then the story list is asked
for, over HTTP with a machine token, the way editors use it: the first page, a page deep in,
one word, a typed prefix, two words, a status, a section with a tag, a date range, and the HTML
list page; p50/p95/max per query, first as the desk runs (a search's result set kept 3 s for
its next pages, so repeats are cheap) and then with nothing kept (`DESK_QUERY_CACHE_S=0`): the
uncached figures are the ones that count.

Part two (`actions`): a whole local stack (`wirepress stack up`) with the demo feed; an editor
bans and unbans a related link, and removes and restores a tag, on several stories through the
desk's API, timing from the request to (a) the desk's own record that the page was published and
(b) the page's bytes in the bucket having changed, read from S3.

    python -m bench.desk --stories 100000 --actions 40 --out bench/results/desk.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from cli import devstack
from cli.stack import read_env
from services.desk.actions import new_token
from services.desk.adapters import RedisTokens
from shared.broker import create_redis, publish_events
from shared.events import ArticleEnriched, ArticlePublished
from shared.models import Article, Section, Tag
from shared.settings import StorageSettings
from shared.storage import Storage
from shared.streams import CONSUMER_GROUPS, DESK, ENRICHED, PUBLISHED

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT.parent / "shared" / "datasets" / "reuters21578" / "articles.jsonl"
DEMO_FEED = ROOT / "demo" / "stories"
SECTIONS = ["world", "business", "politics", "markets", "technology", "sport", "culture", "science"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50_ms": round(pick(0.5) * 1000, 1),
        "p95_ms": round(pick(0.95) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def reuters() -> list[dict[str, Any]]:
    with DATASET.open() as lines:
        return [json.loads(line) for line in lines]


def synthetic(n: int, source: list[dict[str, Any]]) -> tuple[ArticleEnriched, ArticlePublished]:
    """Story `n`: a Reuters title and its places, a section, a date spread over a year."""
    doc = source[n % len(source)]
    when = T0 + timedelta(minutes=5 * n)
    headline = doc["title"].title() if doc["title"].isupper() else doc["title"]
    article = Article(
        guid=f"urn:bench:desk:{n}",
        version="1",
        headline=headline or f"Story {n}",
        body_html="<p>.</p>",
        versioncreated=when,
    )
    places = doc.get("tags", {}).get("places", [])[:4]
    tags = [Tag(type="place", name=p, slug=f"place-{p}") for p in places]
    tags.append(Tag(type="topic", name=doc["category"], slug=f"topic-{doc['category']}"))
    section = SECTIONS[n % len(SECTIONS)]
    ordering = f"{article.ordering}|0000000001"
    enriched = ArticleEnriched.about(
        article, article=article, ordering=ordering, revision=1,
        page_path=f"bench/{article.article_id}/index.html", tags=tags,
        section=Section(slug=section, name=section.title()), occurred_at=when,
    )  # fmt: skip
    published = ArticlePublished.about(
        article, ordering=ordering, page_path=enriched.page_path,
        url=f"https://news.example/bench/{article.article_id}/", outcome="written",
        occurred_at=when,
    )  # fmt: skip
    return enriched, published


async def load(redis: Redis, stories: int, batch: int = 1000) -> dict[str, Any]:
    source = reuters()
    started = time.perf_counter()
    for start in range(0, stories, batch):
        pairs = [synthetic(n, source) for n in range(start, min(stories, start + batch))]
        await publish_events(redis, ENRICHED, [e for e, _ in pairs], 10**7)
        await publish_events(redis, PUBLISHED, [p for _, p in pairs], 10**7)
        # Keep the streams short: wait while the desk is more than two batches behind.
        await _desk_within(redis, 2 * batch)
    await _desk_within(redis, 0)
    elapsed = time.perf_counter() - started
    return {
        "stories": stories,
        "events": 2 * stories,
        "seconds": round(elapsed, 1),
        "events_per_s": round(2 * stories / elapsed, 1),
    }


async def _desk_within(redis: Redis, entries: int) -> None:
    while True:
        if await _desk_behind(redis) <= entries:
            return
        await asyncio.sleep(0.2)


async def _desk_behind(redis: Redis) -> int:
    total = 0
    for stream in (ENRICHED, PUBLISHED):
        for group in await redis.xinfo_groups(stream):
            if group["name"].decode() == DESK:
                total += int(group.get("lag") or 0) + int(group.get("pending") or 0)
    return total


QUERIES: dict[str, str] = {
    "first page": "api/v1/stories",
    "page 200": "api/v1/stories?page=200",
    "one word (common)": "api/v1/stories?q=oil",
    "one word (rare)": "api/v1/stories?q=cocoa",
    "typed prefix": "api/v1/stories?q=ban",
    "two words": "api/v1/stories?q=trade+deficit",
    "status": "api/v1/stories?status=live&page=3",
    "section and tag": "api/v1/stories?section=business&tag=place-usa",
    "word, section, dates": "api/v1/stories?q=bank&section=markets&since=2026-03-01&until=2026-06-30",
    "HTML list page, a search": "?q=oil+prices",
}


async def measure_queries(base: str, token: str, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for name, path in QUERIES.items():
            times: list[float] = []
            total = None
            for _ in range(rounds):
                started = time.perf_counter()
                answer = await client.get(path)
                times.append(time.perf_counter() - started)
                answer.raise_for_status()
                if path.startswith("api/"):
                    total = answer.json()["total"]
            results[name] = {**percentiles(times), "matches": total}
    return results


def index_part(stories: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        port = devstack.free_port()
        valkey = devstack.start_valkey(port, root / "valkey", root / "valkey.log")
        redis_url = f"redis://127.0.0.1:{port}/0"
        try:
            with _desk(root, redis_url, cache_s=3) as base:
                token = asyncio.run(_prepare(redis_url))
                loaded = asyncio.run(_load(redis_url, stories))
                cached = asyncio.run(measure_queries(base, token, rounds))
            # The same queries with no result set kept: every request intersects afresh.
            with _desk(root, redis_url, cache_s=0) as base:
                uncached = asyncio.run(measure_queries(base, token, rounds))
            return {**loaded, "queries_uncached": uncached, "queries_cached_3s": cached}
        finally:
            devstack.stop(valkey)


@contextlib.contextmanager
def _desk(root: Path, redis_url: str, *, cache_s: int) -> Iterator[str]:
    desk_port = devstack.free_port()
    env = {
        "WIREPRESS_ENV": "dev",
        "REDIS_URL": redis_url,
        "DESK_PORT": str(desk_port),
        "DESK_QUERY_CACHE_S": str(cache_s),
        "ENRICH_URL": f"http://127.0.0.1:{devstack.free_port()}",
        "STREAM_RETAIN_S": "0",
        "STREAM_TRIM_EVERY_S": "2",
        "LOG_LEVEL": "WARNING",
    }
    desk = devstack.start_service("desk", env, root / f"desk-{cache_s}.log")
    try:
        devstack.wait_until(lambda: devstack.healthy(desk_port), 60, "desk", desk)
        yield f"http://127.0.0.1:{desk_port}/"
    finally:
        devstack.stop(desk)


async def _prepare(redis_url: str) -> str:
    """A machine token; and only the desk's groups, as the other groups would keep every entry
    from being trimmed."""
    redis = create_redis(redis_url)
    try:
        for stream, groups in CONSUMER_GROUPS.items():
            for group in groups:
                if group != DESK:
                    await redis.xgroup_destroy(stream, group)
        token, record = new_token("bench", "editor", time.time())
        await RedisTokens(redis).put(record)
        return token
    finally:
        await redis.aclose()


async def _load(redis_url: str, stories: int) -> dict[str, Any]:
    redis = create_redis(redis_url)
    try:
        loaded = await load(redis, stories)
        memory = await redis.info("memory")
        return {"load": loaded, "valkey_used_mb": round(int(memory["used_memory"]) / 2**20, 1)}
    finally:
        await redis.aclose()


def wirepress(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, **(env or {})}, timeout=600, check=False,
    )  # fmt: skip


def actions_part(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        up = wirepress("stack", "up", "--root", str(root))
        if up.returncode:
            raise SystemExit(up.stdout + up.stderr)
        try:
            env = read_env(root / "var" / "stack.env")
            pushed = wirepress("push", str(DEMO_FEED), "--wait", "--timeout", "300", env=env)
            if pushed.returncode:
                raise SystemExit(pushed.stdout + pushed.stderr)
            token = wirepress("desk", "add-token", "bench", env=env).stdout.strip()
            time.sleep(10)  # the first link refreshes and listing builds settle
            return asyncio.run(_actions(env, token, count))
        finally:
            wirepress("stack", "down", "--root", str(root))


async def _actions(env: dict[str, str], token: str, count: int) -> dict[str, Any]:
    storage = Storage(StorageSettings(**{k.lower(): v for k, v in env.items()}))
    base = env["DESK_URL"].rstrip("/") + "/"
    on_desk: list[float] = []
    in_bucket: list[float] = []
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        listed = (await client.get("api/v1/stories?limit=200")).json()["stories"]
        candidates = [s for s in listed if s["links"] and s["tags"]]
        for i in range(count):
            story = candidates[i % len(candidates)]
            link, tag = story["links"][0]["article_id"], story["tags"][0]["slug"]
            # Ban, then unban; remove a tag, then restore it: every action changes the page.
            action = [("ban", link), ("unban", link), ("remove-tag", tag), ("restore-tag", tag)][
                (i // len(candidates)) % 4
            ]
            before = await asyncio.to_thread(storage.get_page, story["page_path"])
            started = time.time()
            answer = await client.post(
                f"api/v1/stories/{story['article_id']}/actions",
                json={"action": action[0], "value": action[1]},
            )
            answer.raise_for_status()
            cid = answer.json()["correlation_id"]
            seen_desk = seen_bucket = None
            for _ in range(1500):  # 30 s at most
                if seen_desk is not None and seen_bucket is not None:
                    break
                if seen_bucket is None:
                    page = await asyncio.to_thread(storage.get_page, story["page_path"])
                    if page != before:
                        seen_bucket = time.time() - started
                if seen_desk is None:
                    state = (
                        await client.get(f"api/v1/stories/{story['article_id']}/actions/{cid}")
                    ).json()
                    if state["on_site"]:
                        seen_desk = state["on_site_at"] - state["requested_at"]
                await asyncio.sleep(0.02)
            if seen_desk is not None:
                on_desk.append(seen_desk)
            if seen_bucket is not None:
                in_bucket.append(seen_bucket)
    storage.close()
    return {
        "actions": count,
        "page_changed_in_bucket": percentiles(in_bucket) if in_bucket else None,
        "desk_shows_on_site": percentiles(on_desk) if on_desk else None,
        "missed": count - len(in_bucket),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100, help="requests per query")
    parser.add_argument("--actions", type=int, default=40)
    parser.add_argument("--skip", choices=["index", "actions"], action="append", default=[])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "desk.json")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": os.getloadavg(),
        },
        "command": " ".join(["python -m bench.desk", *sys.argv[1:]]),
    }
    if "index" not in args.skip:
        report["index"] = index_part(args.stories, args.rounds)
        print(json.dumps(report["index"], indent=2))
    if "actions" not in args.skip:
        report["actions"] = actions_part(args.actions)
        print(json.dumps(report["actions"], indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
