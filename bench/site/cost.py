"""What one new story costs the site, at two archive sizes, measured side by side.

Two sites share one Valkey (a database each) and one SeaweedFS (a bucket each); one is loaded
with a small archive, the other with a large one, through render's own listing code. Then the
same new stories go to both, batch by batch, alternating, so the machine's drift in speed
touches both alike: each story's article page is rendered and published, its outcome kept in
the listings, and every `batch` stories (the stories a burst brings within render's debounce)
the due site pages are built and published, all with the services' own handlers and adapters,
in this process. Counted per new story: site pages built and written, bytes written, and CPU
(this process, Valkey and SeaweedFS).

What it leaves out: ingest and enrich (their cost per story is `make bench`'s; enrich's
related-links index is `make bench-enrich`'s, flat from 1k to 100k) and the related-link
refreshes that republish older stories (the same few pages per story at any size).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.pipeline.stack import cpu_seconds
from bench.site.archive import archive_stories, enriched, listing_entries, new_stories
from cli import devstack
from services.publish.adapters import RedisLedger, S3PageStore
from services.publish.handlers import handle_article, handle_site_page
from services.publish.ports import PublishConfig
from services.render.adapters import RedisSite, site_due
from services.render.builder import BuildConfig, build_due, keep_listings
from services.render.handlers import handle_enriched
from services.render.pages import PageRenderer
from services.render.site import SiteInfo, full_pages
from shared.broker import create_redis
from shared.duequeue import DueQueue
from shared.events import ArticlePublished, Event, SitePageRendered
from shared.models import ListingEntry
from shared.sections import load_sections
from shared.settings import StorageSettings
from shared.storage import Storage

SITE_URL = "https://news.example.com/"
CONFIG = PublishConfig(SITE_URL, "max-age=60", "max-age=30")


@dataclass
class Servers:
    redis_url: str
    s3_url: str
    valkey_pid: int
    seaweed_pid: int

    def cpu(self) -> float:
        return (cpu_seconds(self.valkey_pid) or 0.0) + (cpu_seconds(self.seaweed_pid) or 0.0)


@contextlib.contextmanager
def servers() -> Iterator[Servers]:
    """Valkey and SeaweedFS of their own, on free ports, under a temp dir removed after."""
    root = Path(tempfile.mkdtemp(prefix="wirepress-bench-site-"))
    procs = []
    try:
        valkey_port, s3_port = devstack.free_port(), devstack.free_port()
        valkey = devstack.start_valkey(valkey_port, root / "valkey", root / "valkey.log")
        procs.append(valkey)
        devstack.wait_until(lambda: devstack.port_open(valkey_port), 30, "valkey", valkey)
        seaweed = devstack.start_seaweed(s3_port, root / "seaweed", root / "seaweed.log")
        procs.append(seaweed)
        devstack.wait_until(lambda: devstack.s3_ready(s3_port), 90, "seaweedfs", seaweed)
        yield Servers(
            f"redis://127.0.0.1:{valkey_port}",
            f"http://127.0.0.1:{s3_port}",
            valkey.pid,
            seaweed.pid,
        )
    finally:
        for proc in reversed(procs):
            devstack.stop(proc)
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Totals:
    stories: int = 0
    cpu_own_s: float = 0.0
    cpu_servers_s: float = 0.0
    wall_s: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    site_pages_built: int = 0
    bytes_written: int = 0
    kinds_written: Counter[str] = field(default_factory=Counter)

    def per_story(self) -> dict[str, Any]:
        n = max(1, self.stories)
        return {
            "stories": self.stories,
            "site_pages_built": round(self.site_pages_built / n, 2),
            "site_pages_written": round(self.outcomes["site:written"] / n, 2),
            "article_pages_written": round(self.outcomes["article:written"] / n, 2),
            "kb_written": round(self.bytes_written / n / 1024, 1),
            "cpu_ms": round((self.cpu_own_s + self.cpu_servers_s) * 1000 / n, 2),
            "cpu_ms_render_and_publish": round(self.cpu_own_s * 1000 / n, 2),
            "cpu_ms_valkey_and_seaweedfs": round(self.cpu_servers_s * 1000 / n, 2),
            "written_by_kind": {k: round(v / n, 2) for k, v in sorted(self.kinds_written.items())},
        }


def page_kind(path: str) -> str:
    if path.endswith((".xml", ".json")) and path.startswith("sitemap"):
        return "sitemap"
    if path.endswith((".xml", ".json")):
        return "feed"
    if "/page/" in path or path.startswith("page/"):
        return "archive page"
    return "index"


class Site:
    """One site: its listings (a Valkey database) and its bucket, and render's and publish's
    code working on them in this process."""

    def __init__(
        self, name: str, redis: Redis, storage: Storage, page_size: int, servers: Servers
    ) -> None:
        self.name = name
        self.servers = servers
        self.redis = redis
        self.storage = storage
        self.site = RedisSite(redis)
        self.due: DueQueue = site_due(redis)
        self.store = S3PageStore(storage, redis)
        self.ledger = RedisLedger(redis)
        self.renderer = PageRenderer(
            SiteInfo(url=SITE_URL, name="Wirepress", sections=load_sections().in_order)
        )
        self.config = BuildConfig(page_size=page_size)
        self.totals = Totals()

    async def load(self, entries: Sequence[ListingEntry]) -> None:
        """The archive as render keeps it, every listing marked built (as after a rebuild)."""
        now = datetime.now(UTC)
        for entry in entries:
            published = ArticlePublished(
                article_id=entry.article_id, guid=entry.article_id, version="1",
                ordering=f"{1:020d}", page_path=entry.path, url=SITE_URL + entry.path,
                outcome="written", listing=entry,
            )  # fmt: skip
            await keep_listings(published, self.site, now=now, debounce_s=0)
        for key in await self.site.listings():
            _, version, _ = await self.site.dirt(key)
            size = await self.site.size(key)
            await self.site.built(key, version, full_pages(size, self.config.page_size))
        await self.due.confirm(await self.due.lease(limit=10_000_000))

    async def _publish(self, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, SitePageRendered):
                [(_, outcome)] = await handle_site_page(event, self.store, self.ledger, CONFIG)
                self.totals.outcomes[f"site:{outcome.outcome}"] += 1
                if outcome.outcome == "written":
                    self.totals.bytes_written += len(event.page())
                    self.totals.kinds_written[page_kind(event.page_path)] += 1

    async def _emit(self, stream: str, events: Sequence[Event]) -> None:
        self.totals.site_pages_built += len(events)
        await self._publish(events)

    async def _schedule(self, keys: Sequence[str], when: float) -> None:
        await self.due.schedule_at(keys, when)

    async def take(self, stories: Sequence[dict[str, Any]], count: bool) -> None:
        """The stories' pages, then the site pages they make due, as render and publish do."""
        own, others, wall = time.process_time(), self.servers.cpu(), time.monotonic()
        for story in stories:
            rendered = handle_enriched(enriched(story), self.renderer)
            [(_, outcome)] = await handle_article(rendered, self.store, self.ledger, CONFIG)
            self.totals.bytes_written += len(rendered.page() or b"")
            self.totals.outcomes[f"article:{outcome.outcome}"] += 1
            await keep_listings(outcome, self.site, now=datetime.now(UTC), debounce_s=0)
        while await build_due(
            self.site, self.due, self.renderer, self._emit, self._schedule,
            now=datetime.now(UTC), config=self.config,
        ):  # fmt: skip
            pass
        if count:
            self.totals.stories += len(stories)
            self.totals.cpu_own_s += time.process_time() - own
            self.totals.cpu_servers_s += self.servers.cpu() - others
            self.totals.wall_s += time.monotonic() - wall
        else:
            self.totals = Totals()


async def _open_site(name: str, number: int, servers: Servers, page_size: int) -> Site:
    settings = StorageSettings(
        s3_endpoint_url=servers.s3_url,
        aws_access_key_id="wirepress",
        aws_secret_access_key="wirepress",
        site_bucket=f"site-{name}",
        archive_bucket=f"archive-{name}",
    )
    storage = Storage(settings)
    await asyncio.to_thread(storage.ensure_buckets)
    return Site(name, create_redis(f"{servers.redis_url}/{number}"), storage, page_size, servers)


async def measure_cost(
    sizes: Sequence[int], stories: int, batch: int, warmup: int, seed: int, page_size: int
) -> dict[str, Any]:
    """Per new story at each archive size (see the module's docstring)."""
    now = datetime.now(UTC)
    archive = archive_stories(max(sizes), seed, now)
    t = time.monotonic()
    print(f"  tagging {len(archive)} archive stories ...", flush=True)
    entries = listing_entries(archive)
    print(f"  tagged in {time.monotonic() - t:.0f}s", flush=True)
    fresh = new_stories(warmup + stories, seed, now)
    with servers() as running:
        sites = [
            await _open_site(f"a{size}", number, running, page_size)
            for number, size in enumerate(sizes, 1)
        ]
        try:
            for site, size in zip(sites, sizes, strict=True):
                t = time.monotonic()
                await site.load(entries[-size:])
                print(f"  loaded {size} stories into {site.name} in {time.monotonic() - t:.0f}s")
            batches = [fresh[i : i + batch] for i in range(0, len(fresh), batch)]
            warm = warmup // batch
            for number, stories_now in enumerate(batches):
                # Alternate which site goes first, so neither always runs on a warmer cache.
                order = sites if number % 2 == 0 else list(reversed(sites))
                for site in order:
                    await site.take(stories_now, count=number >= warm)
            return {
                f"{size}": site.totals.per_story() for site, size in zip(sites, sizes, strict=True)
            }
        finally:
            for site in sites:
                await site.redis.aclose()
                site.storage.close()
