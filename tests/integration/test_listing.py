"""Render's site listings in a real Valkey: the ordering rules of its script, pagination and
feeds built from it, take-downs, and the queue of what is due."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from services.render.adapters import RedisSite, site_due
from services.render.app import BuildAlarm, _build_loop
from services.render.builder import (
    NEWS_SITEMAP,
    SITEMAP_INDEX,
    BuildConfig,
    Withdrawn,
    build_due,
    keep_listings,
)
from services.render.handlers import front_pins_after
from services.render.pages import PageRenderer
from services.render.ports import SiteChange
from services.render.site import SiteInfo, listings_of
from shared.broker import create_redis
from shared.events import ArticlePublished, Event, FrontChangeRequested, SitePageRendered
from shared.models import Author, ListingEntry, Section, Tag
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration

SITE = "https://news.example"
FIRST_RAN = datetime(2026, 8, 1, 6, tzinfo=UTC)
NOW = FIRST_RAN + timedelta(days=1)
WORLD = Section(slug="world", name="World")
KURSK = Tag(type="place", name="Kursk", slug="place-kursk")
RENDERER = PageRenderer(SiteInfo(url=SITE, name="Wirepress", sections=(WORLD,)))
SMALL = BuildConfig(page_size=3)


def entry(n: int, headline: str | None = None, tags: Sequence[Tag] = (KURSK,)) -> ListingEntry:
    return ListingEntry(
        article_id=f"a{n:03d}",
        headline=headline or f"Story {n}",
        path=f"2026/08/story-{n}-a{n:03d}/index.html",
        excerpt=f"Excerpt {n}.",
        published_at=FIRST_RAN + timedelta(minutes=n),
        section=WORLD,
        authors=[Author(name="Jane Doe", slug="jane-doe")],
        tags=list(tags),
        content_html=f"<p>Body {n}.</p>",
    )


def published(
    listing: ListingEntry | None, ordering: str, outcome: str = "written", article_id: str = ""
) -> ArticlePublished:
    return ArticlePublished(
        article_id=listing.article_id if listing else article_id,
        guid="g",
        version="1",
        ordering=ordering,
        page_path=listing.path if listing else "x/index.html",
        url="u",
        outcome=outcome,  # type: ignore[arg-type]
        listing=listing,
    )


class Built:
    def __init__(self) -> None:
        self.events: list[SitePageRendered] = []

    async def emit(self, stream: str, events: Sequence[Event]) -> None:
        self.events += [e for e in events if isinstance(e, SitePageRendered)]

    def paths(self) -> set[str]:
        return {e.page_path for e in self.events if not e.withdrawn}

    def withdrawn(self) -> set[str]:
        return {e.page_path for e in self.events if e.withdrawn}

    def page(self, path: str) -> str:
        return self.event(path).page().decode()

    def event(self, path: str) -> SitePageRendered:
        return next(e for e in reversed(self.events) if e.page_path == path)


async def build(site: RedisSite, built: Built) -> list[str]:
    due = site_due(site.redis)

    async def schedule(keys: Sequence[str], when: float) -> None:
        await due.schedule_at(keys, when)

    return await build_due(site, due, RENDERER, built.emit, schedule, now=NOW, config=SMALL)


async def test_the_listing_keeps_the_newest_change_of_each_story(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    site = RedisSite(redis)
    v1, v2 = entry(1, "First version"), entry(1, "Second version")
    keys = [ref.key for ref in listings_of(v1)]

    async def apply(change: SiteChange, listed: Sequence[str] = keys) -> bool:
        return await site.apply(change, listed, [SITEMAP_INDEX], 0.0)

    assert await apply(SiteChange("list", v1.article_id, "0001", v1))
    assert not await apply(SiteChange("list", v1.article_id, "0001", v1)), "a retry changes nothing"
    assert await apply(SiteChange("list", v1.article_id, "0002", v2))
    assert not await apply(SiteChange("list", v1.article_id, "0001", v1)), "older never wins"
    [state] = await site.states([v1.article_id])
    assert (state.listed_ordering, state.withdrawn_ordering) == ("0002", None)
    assert [e.headline for e in await site.entries([v1.article_id], with_content=True)] == [
        "Second version"
    ]
    assert (await site.entries([v1.article_id], with_content=True))[0].content_html == (
        "<p>Body 1.</p>"
    )
    # Taken down: out of every listing; a late outcome of an earlier version cannot return it.
    assert await apply(SiteChange("delist", v1.article_id, "0003"), [])
    assert not await apply(SiteChange("list", v1.article_id, "0002", v2))
    assert all([await site.size(key) == 0 for key in keys])
    [state] = await site.states([v1.article_id])
    assert (state.listed_ordering, state.withdrawn_ordering) == (None, "0003")
    await redis.aclose()


async def test_listings_paginate_feed_and_follow_a_kill(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    site = RedisSite(redis)
    built = Built()
    for n in range(1, 8):
        await keep_listings(published(entry(n), "0001"), site, now=NOW, debounce_s=0)
    await build(site, built)
    paths = built.paths()
    # Seven stories, three a page: the index shows the newest three, pages 1-2 the oldest six.
    for prefix in ("", "section/world/", "tags/place-kursk/", "authors/jane-doe/", "2026/08/"):
        assert f"{prefix}index.html" in paths
        assert f"{prefix}page/1/index.html" in paths and f"{prefix}page/2/index.html" in paths
        assert f"{prefix}page/3/index.html" not in paths
    assert {"feed.xml", "atom.xml", "feed.json", "tags/place-kursk/feed.xml"} <= paths
    assert {"sitemap.xml", "sitemap-2026-08.xml", "sitemap-news.xml"} <= paths
    assert "Story 7" in built.page("tags/place-kursk/index.html")
    assert "Story 1" in built.page("tags/place-kursk/page/1/index.html")
    assert "Story 4" not in built.page("tags/place-kursk/page/1/index.html")
    # Each index, feed and the news sitemap says which stories it shows; older pages do not.
    newest_first = [entry(n).article_id for n in range(7, 0, -1)]
    assert built.event("tags/place-kursk/index.html").lists == newest_first[:3]
    assert built.event("tags/place-kursk/feed.xml").lists == newest_first
    assert built.event("sitemap-news.xml").lists == newest_first
    home = built.event("index.html").lists
    assert home[:3] == newest_first[:3] and set(home) <= set(newest_first)
    assert built.event("tags/place-kursk/page/1/index.html").lists == []

    # A new story: only the indexes and feeds (and the sitemaps), no archive page.
    built.events.clear()
    await keep_listings(published(entry(8), "0001"), site, now=NOW, debounce_s=0)
    await build(site, built)
    assert not [p for p in built.paths() if "/page/" in p or p.startswith("page/")]
    assert "tags/place-kursk/index.html" in built.paths()

    # Kill three of the oldest: the pages from theirs on shift, and the last one goes.
    built.events.clear()
    for killed in ("a002", "a003", "a004"):
        withdrawn = published(None, "0009", "withdrawn", article_id=killed)
        await keep_listings(withdrawn, site, now=NOW, debounce_s=0)
    await build(site, built)
    assert await site.size("tag/place-kursk") == 5
    assert "tags/place-kursk/page/1/index.html" in built.paths()
    first_page = built.page("tags/place-kursk/page/1/index.html")
    assert "Story 2" not in first_page and "Story 5" in first_page
    assert "tags/place-kursk/page/2/index.html" in built.withdrawn()
    await redis.aclose()


async def test_a_tag_nobody_carries_any_more_loses_its_pages(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    site = RedisSite(redis)
    built = Built()
    lone = Tag(type="person", name="Jane Roe", slug="person-jane-roe")
    await keep_listings(published(entry(1, tags=[lone]), "0001"), site, now=NOW, debounce_s=0)
    await build(site, built)
    assert "tags/person-jane-roe/index.html" in built.paths()
    built.events.clear()
    # A correction drops the tag: its index and feeds come down.
    await keep_listings(published(entry(1, tags=[]), "0002"), site, now=NOW, debounce_s=0)
    await build(site, built)
    assert {
        "tags/person-jane-roe/index.html",
        "tags/person-jane-roe/feed.xml",
        "tags/person-jane-roe/atom.xml",
    } <= built.withdrawn()
    await redis.aclose()


async def test_what_is_due_is_leased_and_a_change_meanwhile_is_built_again(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    site, due = RedisSite(redis), site_due(redis)
    await keep_listings(published(entry(1), "0001"), site, now=NOW, debounce_s=0)
    keys, lease = await due.take()
    assert "home" in keys and NEWS_SITEMAP in keys
    assert (await due.take())[0] == [], "leased: not handed out twice"
    await keep_listings(published(entry(2), "0001"), site, now=NOW, debounce_s=0)
    await due.done(lease)
    assert "home" in (await due.take())[0]
    await redis.aclose()


def test_withdrawn_is_a_page_path() -> None:
    assert Withdrawn("x").path == "x"


class BuildRuntime:
    """What the build loop uses of a running service: its stop signal and its emit."""

    def __init__(self, built: Built) -> None:
        self.stopping = asyncio.Event()
        self.emit = built.emit


async def test_site_pages_wait_while_publish_is_behind_and_are_then_built_together(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    site, due = RedisSite(redis), site_due(redis)
    built, behind = Built(), {"entries": 500}
    runtime, alarm = BuildRuntime(built), BuildAlarm()

    async def publish_behind() -> int:
        return behind["entries"]

    loop = asyncio.create_task(
        _build_loop(
            runtime, site, due, RENDERER, alarm, SMALL,
            publish_behind, 300,
        )
    )  # fmt: skip
    try:
        alarm.due_at(await keep_listings(published(entry(1), "0001"), site, now=NOW, debounce_s=0))
        await asyncio.sleep(0.6)
        assert built.events == [], "publish is 500 behind: nothing built"
        alarm.due_at(await keep_listings(published(entry(2), "0001"), site, now=NOW, debounce_s=0))
        behind["entries"] = 0
        for _ in range(50):
            if "index.html" in built.paths():
                break
            await asyncio.sleep(0.1)
        home = built.event("index.html")
        assert [e.page_path for e in built.events].count("index.html") == 1, "one build"
        assert set(home.lists) >= {entry(1).article_id, entry(2).article_id}
    finally:
        runtime.stopping.set()
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        await redis.aclose()


async def test_a_new_story_reaches_the_index_when_an_old_one_changed_in_the_same_build(
    settings: StackSettings,
) -> None:
    """Only the lowest rank a change touched is kept: a correction deep in a tag's archive and
    a new story at its top, between two builds, must still rebuild the index and feeds."""
    redis = create_redis(settings.redis_url)
    site, built = RedisSite(redis), Built()
    for n in range(1, 31):
        await keep_listings(published(entry(n), "0001"), site, now=NOW, debounce_s=0)
    await build(site, built)
    await keep_listings(
        published(entry(2, "Story 2, corrected"), "0002"), site, now=NOW, debounce_s=0
    )
    await keep_listings(published(entry(31), "0001"), site, now=NOW, debounce_s=0)
    built.events.clear()
    await build(site, built)
    tag_index = built.event("tags/place-kursk/index.html")
    assert tag_index.lists[0] == entry(31).article_id
    assert entry(31).article_id in built.event("tags/place-kursk/feed.xml").lists
    await redis.aclose()


def front(
    name: str, op: str, story: str = "", pinned: Sequence[str] = ()
) -> Callable[[list[str]], list[str]]:
    event = FrontChangeRequested(
        article_id="site", guid="site", version="1", front=name, op=op,  # type: ignore[arg-type]
        story=story or None, pinned=list(pinned),
    )  # fmt: skip
    return partial(front_pins_after, event=event)


async def test_editors_pinned_stories_lead_a_front_and_the_rest_fills_itself(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    site, built = RedisSite(redis), Built()
    for n in range(1, 8):
        await keep_listings(published(entry(n), "0001"), site, now=NOW, debounce_s=0)
    await build(site, built)
    assert built.event("index.html").lists[0] == "a007"
    # Pinned on a front built already: only its index page is built again, as a newer page.
    before = built.event("section/world/index.html")
    built.events.clear()
    await site.change_front("home", front("home", "lead", "a002"), 0.0)
    assert await site.change_front(
        "section/world", front("x", "set", pinned=["a001", "a003"]), 0.0
    ) == ["a001", "a003"]
    assert await site.change_front("section/world", front("x", "pin", "a005"), 0.0) == [
        "a001",
        "a003",
        "a005",
    ]
    assert await site.change_front("section/world", front("x", "up", "a005"), 0.0) == [
        "a001",
        "a005",
        "a003",
    ]
    await build(site, built)
    rebuilt = built.paths()
    assert {"index.html", "section/world/index.html"} <= rebuilt
    assert not [p for p in rebuilt if "page/" in p], "no archive page is built again"
    home = built.event("index.html")
    assert home.lists[0] == "a002", "the pinned story is the home page's top story"
    assert home.lists.count("a002") == 1, "and is not repeated below"
    world = built.event("section/world/index.html")
    assert int(world.ordering) > int(before.ordering), "a newer page than the one it replaces"
    # Pins in order, then the newest page's worth (7 stories, 3 a page: 7 is on no archive
    # page yet, so must stay on the front), none repeated and none pushed off.
    assert world.lists == ["a001", "a005", "a003", "a007", "a006"]
    # The feeds stay newest first.
    assert built.event("section/world/feed.xml").lists[:2] == ["a007", "a006"]
    assert headlines(built, "section/world/feed.xml")[0] == "Story 7"
    # A pinned story taken down drops out by itself; unpinned, the newest lead again.
    await keep_listings(published(None, "0002", "withdrawn", "a001"), site, now=NOW, debounce_s=0)
    await build(site, built)
    assert built.event("section/world/index.html").lists[:2] == ["a005", "a003"]
    await site.change_front("home", front("home", "unpin", "a002"), 0.0)
    await build(site, built)
    assert built.event("index.html").lists[0] == "a007"
    assert await site.front_pins() == {"section/world": ["a001", "a005", "a003"]}
    await redis.aclose()


def headlines(built: Built, path: str) -> list[str]:
    return re.findall(r"Story \d+", built.page(path))
