"""Freshness and rebuild on the running stack: how long after ingest's 202 a story is on every
page it belongs on, and how fast `wirepress site rebuild` builds the whole site again.

The stack is the pipeline benchmark's (`bench.pipeline.stack.fresh_stack`). An archive is pushed
first (dated in the past, one story every seven minutes) and left to settle. Then, for each rate,
new stories are pushed open loop, each dated the moment it is sent, while the benchmark follows
`wirepress:published` (when each story's page was written, and the listing entry that says which
listings it is in) and `wirepress:site-published` (each site page published, with the stories it
shows). Afterwards, for every story and every page it belongs on (home, its section, each of its
tags, its authors, their RSS/Atom feeds, home's JSON Feed, the Google News sitemap), the time it
took is from the 202 to the first publication of that page that shows the story, or that shows
a full page of stories newer than it (a burst can push a story off a listing's first page before
that page is next built: the page is then current for it all the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from faststream.redis.parser.binary import BinaryMessageFormatV1
from redis.asyncio import Redis

from bench.pipeline.measure import Run, Snapshot, _busy_groups, _post, push_all
from bench.pipeline.stack import REPO, BenchStack
from bench.site.archive import archive_stories, new_stories
from services.render.site import FEED_ITEMS, NEWS_MAX_STORIES, NEWS_SITEMAP_PATH, listings_of
from shared.broker import DATA_FIELD, create_redis
from shared.events import ArticlePublished, SitePagePublished
from shared.models import article_id_for
from shared.streams import PUBLISHED, SITE_PUBLISHED

#: The page kinds the issue's freshness figure covers (authors and months are reported apart).
HEADLINE_KINDS = ("home", "section", "tag", "feed", "news sitemap")


# --- following the two outcome streams --------------------------------------------------------


@dataclass
class Followed:
    """Raw entries of the outcome streams since a position, parsed when the run is over (the
    benchmark shares the machine with the stack it measures)."""

    published: list[bytes] = field(default_factory=list)
    site: list[bytes] = field(default_factory=list)
    last_activity: float = 0.0


async def last_id(redis: Redis, stream: str) -> str:
    newest = await redis.xrevrange(stream, count=1)
    return newest[0][0].decode() if newest else "0-0"


async def follow(
    redis: Redis, positions: dict[str, str], into: Followed, done: asyncio.Event
) -> None:
    while not done.is_set():
        reply = await redis.xread(positions, count=2000, block=300)
        for stream, entries in reply or []:
            name = stream.decode()
            for entry_id, fields in entries:
                positions[name] = entry_id.decode()
                (into.published if name == PUBLISHED else into.site).append(fields[DATA_FIELD])
            if entries:
                into.last_activity = time.monotonic()


def _body(data: bytes) -> bytes:
    body, _ = BinaryMessageFormatV1.parse(data)
    return body


async def _work_queued(client: httpx.AsyncClient, env: dict[str, str]) -> int:
    """What the services hold outside the streams, asked of them: listing pages render has
    queued (debounced or in a build) and link refreshes enrich has queued (due or not)."""
    listing = (await client.get(f"{env['RENDER_URL']}/v1/listing")).json()
    index = (await client.get(f"{env['ENRICH_URL']}/v1/index")).json()
    return int(listing["pages_due"]) + int(index["refreshes_waiting"])


async def settle(
    redis: Redis, env: dict[str, str], followed: Followed, quiet: float, limit: float
) -> bool:
    """Until no consumer group has lag or pending entries, render has no listing page and enrich
    no link refresh queued, and nothing new was published for `quiet` seconds; False on
    `limit`."""
    start = time.monotonic()
    followed.last_activity = max(followed.last_activity, start)
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() - start < limit:
            await asyncio.sleep(0.5)
            if await _busy_groups(redis) or await _work_queued(client, env):
                followed.last_activity = time.monotonic()
            elif time.monotonic() - followed.last_activity >= quiet:
                return True
    return False


# --- sending ----------------------------------------------------------------------------------


async def push_open_loop(
    client: httpx.AsyncClient, token: str, stories: Sequence[dict[str, Any]], rate: float, run: Run
) -> dict[str, float]:
    """Each story dated as it is sent (so it heads its listings), at `rate` a second whatever
    came before. Returns each story's date (epoch seconds)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    dated: dict[str, float] = {}
    start = time.monotonic()
    run.first_sent = time.time()
    tasks = []
    for index, story in enumerate(stories):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.time()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        story = {**story, "firstcreated": stamp, "versioncreated": stamp}
        article_id = article_id_for(story["uri"])
        dated[article_id] = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        body = json.dumps(story, ensure_ascii=False).encode()
        tasks.append(asyncio.create_task(_post(client, headers, article_id, body, run)))
    await asyncio.gather(*tasks)
    return dated


# --- working out the figures ------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    path: str
    kind: str
    capacity: int


def pages_of(event: ArticlePublished, page_size: int) -> list[Wanted]:
    """Every page a story belongs on, by the listing entry publish sent."""
    assert event.listing is not None
    wanted = [Wanted(NEWS_SITEMAP_PATH, "news sitemap", NEWS_MAX_STORIES)]
    for ref in listings_of(event.listing):
        wanted.append(Wanted(ref.index_path, ref.kind, page_size))
        if ref.has_feeds:
            feed_kind = "feed" if ref.kind in ("home", "section", "tag") else f"{ref.kind} feed"
            wanted += [Wanted(ref.rss_path, feed_kind, FEED_ITEMS)]
            wanted += [Wanted(ref.atom_path, feed_kind, FEED_ITEMS)]
            if ref.json_feed_path:
                wanted.append(Wanted(ref.json_feed_path, feed_kind, FEED_ITEMS))
    return wanted


def _summary(values: list[float]) -> dict[str, Any]:
    """Percentiles of the stories that got there; a page never reached counts as infinitely
    late (so a percentile it reaches is None) and in `not_reached`."""
    ordered = sorted(values)

    def at(q: float) -> float | None:
        if not ordered:
            return None
        value = ordered[min(len(ordered) - 1, round((len(ordered) - 1) * q))]
        return None if value == float("inf") else round(value, 3)

    return {
        "n": len(ordered),
        "not_reached": sum(1 for v in ordered if v == float("inf")),
        "p50_s": at(0.50),
        "p95_s": at(0.95),
        "p99_s": at(0.99),
        "max_s": at(1.0),
    }


def _outcomes(
    followed: Followed, dated: dict[str, float], page_size: int
) -> tuple[dict[str, float], dict[str, list[Wanted]], dict[str, list[tuple[float, list[str]]]]]:
    """When each story's page was first written and the pages it belongs on; each site page's
    publications (when, and the stories it showed)."""
    written: dict[str, float] = {}
    belongs: dict[str, list[Wanted]] = {}
    for data in followed.published:
        event = ArticlePublished.model_validate_json(_body(data))
        story = event.article_id
        if story in dated and event.outcome == "written" and story not in written:
            written[story] = event.occurred_at.timestamp()
            if event.listing is not None:
                belongs[story] = pages_of(event, page_size)
    by_path: dict[str, list[tuple[float, list[str]]]] = defaultdict(list)
    for data in followed.site:
        page = SitePagePublished.model_validate_json(_body(data))
        if page.outcome in ("written", "unchanged"):
            by_path[page.page_path].append((page.occurred_at.timestamp(), page.lists))
    return written, belongs, by_path


def freshness(
    followed: Followed, run: Run, dated: dict[str, float], page_size: int
) -> dict[str, Any]:
    """Per story, seconds from the 202 to being on each of its pages (see the module)."""
    written, belongs, by_path = _outcomes(followed, dated, page_size)
    per_kind: dict[str, list[float]] = defaultdict(list)
    headline: list[float] = []
    everything: list[float] = []
    missing: dict[str, int] = defaultdict(int)
    examples: list[dict[str, Any]] = []
    article = []
    for story, accepted in run.accepted_at.items():
        if story not in written:
            missing["article page"] += 1
            continue
        article.append(written[story] - accepted)
        worst = worst_all = written[story] - accepted
        for want in belongs.get(story, []):
            seen = _reflected(by_path.get(want.path, []), story, dated, accepted, want.capacity)
            if seen is None:
                missing[want.kind] += 1
                if len(examples) < 10:
                    examples.append(_why_missing(by_path.get(want.path, []), story, dated, want))
                worst_all = float("inf")
                if want.kind in HEADLINE_KINDS:
                    worst = float("inf")
                continue
            per_kind[want.kind].append(seen - accepted)
            worst_all = max(worst_all, seen - accepted)
            if want.kind in HEADLINE_KINDS:
                worst = max(worst, seen - accepted)
        headline.append(worst)
        everything.append(worst_all)
    return {
        "stories_accepted": len(run.accepted_at),
        "stories_written": len(written),
        "pages_per_story": round(sum(len(v) for v in belongs.values()) / max(1, len(belongs)), 1),
        "missing_by_kind": dict(missing),
        "missing_examples": examples,
        "article_page": _summary(article),
        "all_of_home_section_tags_feeds_news_sitemap": _summary(headline),
        "all_pages_with_authors_and_month": _summary(everything),
        "by_kind": {kind: _summary(values) for kind, values in sorted(per_kind.items())},
    }


def _why_missing(
    publications: list[tuple[float, list[str]]], story: str, dated: dict[str, float], want: Wanted
) -> dict[str, Any]:
    last = publications[-1] if publications else None
    return {
        "story": story,
        "page": want.path,
        "publications": len(publications),
        "last_shows": len(last[1]) if last else None,
        "last_newer": sum(1 for s in last[1] if dated.get(s, 0.0) > dated[story]) if last else None,
        "last_at_minus_dated": round(last[0] - dated[story], 1) if last else None,
    }


def _reflected(
    publications: list[tuple[float, list[str]]],
    story: str,
    dated: dict[str, float],
    accepted: float,
    capacity: int,
) -> float | None:
    """When a page first showed the story, or a full page of stories newer than it."""
    date = dated[story]
    for when, shown in publications:
        if when < accepted:
            continue
        if story in shown or sum(1 for s in shown if dated.get(s, 0.0) > date) >= capacity:
            return when
    return None


# --- the run ------------------------------------------------------------------------------------


def _cpu(before: Snapshot, after: Snapshot, stories: int) -> dict[str, Any]:
    per = {}
    for name, start in before.processes.items():
        end = after.processes.get(name)
        if start is not None and end is not None:
            per[name] = round((end - start) * 1000 / max(1, stories), 2)
    return {
        "ms_per_story_by_process": per,
        "ms_per_story_total": round(sum(per.values()), 2),
        "loadavg_after": after.loadavg,
    }


@dataclass
class Session:
    bench: BenchStack
    redis: Redis
    client: httpx.AsyncClient
    page_size: int

    @property
    def token(self) -> str:
        return self.bench.env["INGEST_TOKEN"]

    async def positions(self) -> dict[str, str]:
        return {s: await last_id(self.redis, s) for s in (PUBLISHED, SITE_PUBLISHED)}


async def preload(session: Session, count: int, seed: int) -> dict[str, Any]:
    """The archive, pushed as fast as the stack takes it, then left to settle."""
    stories = archive_stories(count, seed, datetime.now(UTC))
    bodies = [(article_id_for(s["uri"]), json.dumps(s).encode()) for s in stories]
    followed, done = Followed(), asyncio.Event()
    reader = asyncio.create_task(follow(session.redis, await session.positions(), followed, done))
    run, t0 = Run(), time.monotonic()
    print(f"  preloading {count} archive stories ...", flush=True)
    await push_all(session.client, session.token, bodies, 8, 0, run)
    pushed = time.monotonic() - t0
    settled = await settle(session.redis, session.bench.env, followed, quiet=5, limit=1800)
    done.set()
    await reader
    took = time.monotonic() - t0 - 5
    print(f"  archive pushed in {pushed:.0f}s, settled after {took:.0f}s", flush=True)
    return {
        "stories": len(run.accepted_at),
        "push_s": round(pushed, 1),
        "until_settled_s": round(took, 1),
        "settled": settled,
        "errors": run.errors[:5],
    }


async def measure_rate(session: Session, rate: float, seconds: float, seed: int) -> dict[str, Any]:
    """New stories at `rate` a second for `seconds`, and how fresh the site stayed."""
    stories = new_stories(int(rate * seconds), seed, datetime.now(UTC))
    followed, done = Followed(), asyncio.Event()
    reader = asyncio.create_task(follow(session.redis, await session.positions(), followed, done))
    run = Run()
    before = Snapshot.take(session.bench.pids)
    print(f"  {len(stories)} new stories at {rate}/s ...", flush=True)
    t0 = time.monotonic()
    dated = await push_open_loop(session.client, session.token, stories, rate, run)
    sent_s = time.monotonic() - t0
    settled = await settle(session.redis, session.bench.env, followed, quiet=5, limit=600)
    after = Snapshot.take(session.bench.pids)
    done.set()
    await reader
    figures = freshness(followed, run, dated, session.page_size)
    print(
        f"  at {rate}/s: everything but authors p50 "
        f"{figures['all_of_home_section_tags_feeds_news_sitemap']['p50_s']}s p99 "
        f"{figures['all_of_home_section_tags_feeds_news_sitemap']['p99_s']}s",
        flush=True,
    )
    return {
        "offered_per_s": rate,
        "seconds": seconds,
        "achieved_per_s": round(len(run.accepted_at) / max(1e-9, sent_s), 1),
        "statuses": dict(run.statuses),
        "settled": settled,
        "site_pages_published": len(followed.site),
        "site_pages_published_per_story": round(len(followed.site) / max(1, len(stories)), 1),
        "cpu": _cpu(before, after, len(stories)),
        **figures,
    }


async def measure_rebuild(session: Session) -> dict[str, Any]:
    """`wirepress site rebuild`, from the command to the last page it publishes."""
    followed, done = Followed(), asyncio.Event()
    reader = asyncio.create_task(follow(session.redis, await session.positions(), followed, done))
    before = Snapshot.take(session.bench.pids)
    print("  wirepress site rebuild ...", flush=True)
    t0 = time.time()
    command = [sys.executable, "-m", "cli.main", "site", "rebuild", "--no-progress"]
    proc = await asyncio.create_subprocess_exec(
        *command, cwd=REPO, env={**os.environ, **session.bench.env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    settled = await settle(session.redis, session.bench.env, followed, quiet=5, limit=3600)
    after = Snapshot.take(session.bench.pids)
    done.set()
    await reader
    outcomes: dict[str, int] = defaultdict(int)
    last = t0
    for data in followed.published:
        article = ArticlePublished.model_validate_json(_body(data))
        outcomes[f"article {article.outcome}"] += 1
        last = max(last, article.occurred_at.timestamp())
    for data in followed.site:
        page = SitePagePublished.model_validate_json(_body(data))
        outcomes[f"site page {page.outcome}"] += 1
        last = max(last, page.occurred_at.timestamp())
    pages = len(followed.published) + len(followed.site)
    seconds = last - t0
    print(
        f"  rebuilt {pages} pages in {seconds:.0f}s: {pages / max(seconds, 1e-9):.0f}/s", flush=True
    )
    return {
        "command_output": out.decode(errors="replace").strip().splitlines()[-1:],
        "command_rc": proc.returncode,
        "settled": settled,
        "pages": pages,
        "seconds": round(seconds, 1),
        "pages_per_s": round(pages / max(seconds, 1e-9), 1),
        "outcomes": dict(sorted(outcomes.items())),
        "cpu_s_by_process": {
            name: round(end - start, 1)
            for name, start in before.processes.items()
            if start is not None and (end := after.processes.get(name)) is not None
        },
    }


async def measure_stack(
    bench: BenchStack, archive: int, rates: Sequence[float], seconds: float, seed: int,
    page_size: int, rebuild: bool,
) -> dict[str, Any]:  # fmt: skip
    redis = create_redis(bench.env["REDIS_URL"])
    client = httpx.AsyncClient(base_url=bench.env["INGEST_URL"], timeout=60)
    session = Session(bench, redis, client, page_size)
    try:
        result: dict[str, Any] = {"archive": await preload(session, archive, seed)}
        result["rates"] = [
            await measure_rate(session, rate, seconds, seed + number)
            for number, rate in enumerate(rates, 1)
        ]
        if rebuild:
            result["rebuild"] = await measure_rebuild(session)
        return result
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
        await redis.aclose()
