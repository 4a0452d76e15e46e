"""Building the site's listing pages that are due: for each listing, exactly the pages its
changes call for (`site.plan_listing`), from one generation of the listing; and the site pages
beside them (home, feeds, sitemaps, robots.txt, 404). Pure: the listing is a port.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.render.pages import STATIC_ASSETS, PageRenderer
from services.render.ports import Emit, PagesDue, SiteChange, SiteListing
from services.render.site import (
    FEED_ITEMS,
    HOME,
    NEWS_MAX_STORIES,
    NEWS_SITEMAP_PATH,
    NEWS_WINDOW_S,
    NOT_FOUND_PATH,
    ROBOTS_PATH,
    SITEMAP_INDEX_PATH,
    SITEMAP_MAX_URLS,
    FeedView,
    HomeView,
    ListingRef,
    ListingView,
    RenderedPage,
    SitemapShard,
    SitemapUrl,
    author_listing,
    listings_of,
    month_listing,
    month_sitemap_path,
    older_page_from_index,
    plan_listing,
    section_listing,
    tag_listing,
)
from shared.events import ArticlePublished, SitePageRendered, pack_page
from shared.models import ListingEntry, Section, utc
from shared.streams import RENDERED

logger = logging.getLogger(__name__)

#: Site pages that are not listings, due like them.
SITEMAP_INDEX = "sitemap-index"
NEWS_SITEMAP = "news-sitemap"
ROBOTS = "robots"
NOT_FOUND = "not-found"
ASSETS = "assets"
#: Built once as render starts (publish skips them when their bytes are the same).
STATIC_PAGES = (ROBOTS, NOT_FOUND, ASSETS)

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json; charset=utf-8"
XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

#: Schedules site pages due at a time (the news sitemap, when its oldest story ages out).
Schedule = Callable[[Sequence[str], float], Awaitable[None]]


@dataclass(frozen=True)
class BuildConfig:
    page_size: int = 20
    # Stories per section block on the home page.
    section_block: int = 4


@dataclass(frozen=True)
class Withdrawn:
    """A site page to take down."""

    path: str


# --- keeping the listings ----------------------------------------------------------------------


def site_change(event: ArticlePublished) -> SiteChange | None:
    """What a publish outcome changes: a page up lists the story, a page taken down delists it;
    a stale outcome changes nothing."""
    if event.outcome == "withdrawn":
        return SiteChange("delist", event.article_id, event.ordering)
    if event.outcome in ("written", "unchanged") and event.listing is not None:
        return SiteChange("list", event.article_id, event.ordering, event.listing)
    return None


async def keep_listings(
    event: ArticlePublished, site: SiteListing, *, now: datetime, debounce_s: float
) -> float | None:
    """Keep every listing by what publish did; the pages it touches are built `debounce_s`
    after the first change (one build for a burst). When it changed anything: when they come
    due at the latest."""
    change = site_change(event)
    if change is None:
        if event.outcome in ("written", "unchanged"):
            logger.warning(
                "v%s is up but carries no listing entry: not listed until republished",
                event.version,
                extra={"article_id": event.article_id},
            )
        return None
    listings = [ref.key for ref in listings_of(change.entry)] if change.entry else []
    extra = [SITEMAP_INDEX]
    published = change.entry.published_at if change.entry else None
    if published is None or utc(published).timestamp() >= now.timestamp() - NEWS_WINDOW_S:
        extra.append(NEWS_SITEMAP)
    due_at = now.timestamp() + debounce_s
    changed = await site.apply(change, listings, extra, due_at)
    return due_at if changed else None


# --- building what is due ---------------------------------------------------------------------


@dataclass
class _Build:
    site: SiteListing
    renderer: PageRenderer
    config: BuildConfig
    now: datetime
    schedule: Schedule
    pages: list[RenderedPage | Withdrawn]
    built: list[tuple[str, str, int]]
    # The entries read so far, by story, and whether with their content: a story is in some
    # 30 listings, and a burst's stories are in most of the listings built.
    entries: dict[str, tuple[ListingEntry | None, bool]] = field(default_factory=dict)
    # The editors' curated fronts, read once a build.
    fronts: dict[str, list[str]] | None = None

    async def front(
        self, key: str, newest: Sequence[ListingEntry], size: int
    ) -> list[ListingEntry]:
        """A listing's first page: the stories editors pinned to lead it (those still listed),
        in their order, then the newest `size`, without repeating them. The pins come on top of
        the newest rather than in their place: a story that is on no archive page yet is never
        pushed off the front by them."""
        if self.fronts is None:
            self.fronts = await self.site.front_pins()
        pinned = await self.entries_of(self.fronts.get(key, []), with_content=True)
        ids = {entry.article_id for entry in pinned}
        return [*pinned, *(e for e in newest[:size] if e.article_id not in ids)]

    async def entries_of(self, ids: Sequence[str], *, with_content: bool) -> list[ListingEntry]:
        """`site.entries`, each story read at most once a build."""
        wanted = [
            i for i in ids if i not in self.entries or (with_content and not self.entries[i][1])
        ]
        if wanted:
            found = {
                e.article_id: e for e in await self.site.entries(wanted, with_content=with_content)
            }
            for story in wanted:
                self.entries[story] = (found.get(story), with_content)
        return [entry for i in ids if (entry := self.entries[i][0]) is not None]


async def build_due(
    site: SiteListing,
    due: PagesDue,
    renderer: PageRenderer,
    emit: Emit,
    schedule: Schedule,
    *,
    now: datetime,
    config: BuildConfig,
) -> list[str]:
    """Build every listing and site page due now, from what the listing holds, and put them on
    the stream for publish; what was built. Taken on a lease: if this fails half-way it all
    comes due again, and a listing's changes are forgotten only once its pages are out."""
    due_keys, lease = await due.take()
    if not due_keys:
        return []
    # Read before any data: a page is never ordered after the data it was built from.
    generation = await site.generation()
    build = _Build(site, renderer, config, now, schedule, [], [])
    for key in due_keys:
        await _build_key(build, key)
    await emit(RENDERED, [_event(page, generation) for page in build.pages])
    for listing, version, pages in build.built:
        await site.built(listing, version, pages)
    await due.done(lease)
    logger.info(
        "built %s site pages for %s at generation %s", len(build.pages), due_keys, generation
    )
    return due_keys


def _event(page: RenderedPage | Withdrawn, generation: int) -> SitePageRendered:
    common = {
        "article_id": f"site:{page.path}",
        "guid": f"site:{page.path}",
        "version": str(generation),
        "ordering": f"{generation:020d}",
        "page_path": page.path,
    }
    if isinstance(page, Withdrawn):
        return SitePageRendered(**common, withdrawn=True)
    return SitePageRendered(
        **common,
        html_gzip=pack_page(page.text),
        content_type=page.content_type,
        lists=list(page.lists),
    )


async def _build_key(build: _Build, key: str) -> None:
    renderer = build.renderer
    if key == ROBOTS:
        build.pages.append(RenderedPage(ROBOTS_PATH, renderer.render_robots(), TEXT))
    elif key == ASSETS:
        for path, (source, media_type) in STATIC_ASSETS.items():
            build.pages.append(RenderedPage(path, source.read_text(encoding="utf-8"), media_type))
    elif key == NOT_FOUND:
        build.pages.append(RenderedPage(NOT_FOUND_PATH, renderer.render_not_found()))
    elif key == SITEMAP_INDEX:
        await _build_sitemap_index(build)
    elif key == NEWS_SITEMAP:
        await _build_news_sitemap(build)
    else:
        await _build_listing(build, key)


async def _build_listing(build: _Build, key: str) -> None:
    site, size = build.site, build.config.page_size
    stories = await site.size(key)
    from_rank, version, previous = await site.dirt(key)
    newest = await build.entries_of(
        await site.ids(key, 0, max(size, FEED_ITEMS) - 1, newest_first=True), with_content=True
    )
    standing = _standing_ref(key, build.renderer.site.sections)
    ref = standing or _ref_of(key, newest)
    if ref is None or (stories == 0 and standing is None):
        # Nothing left in it (its last story killed, its tag gone): take its pages down.
        build.pages += [Withdrawn(p) for p in _all_paths(_where(key), previous)]
        build.built.append((key, version, 0))
        return
    plan = plan_listing(stories, previous, from_rank, size)
    if plan.index_and_feeds:
        await _build_index(build, ref, stories, newest)
    for number in plan.pages:
        await _build_archive_page(build, ref, stories, number)
    build.pages += [Withdrawn(ref.page_path(number)) for number in plan.removed]
    if ref.sitemap_path is not None:
        await _build_month_sitemap(build, ref, stories)
    build.built.append((key, version, stories // size if stories > size else 0))


async def _build_index(
    build: _Build, ref: ListingRef, stories: int, newest: Sequence[ListingEntry]
) -> None:
    renderer, size = build.renderer, build.config.page_size
    older = older_page_from_index(stories, size)
    older_path = ref.page_path(older) if older else None
    first = await build.front(ref.key, newest, size)
    if ref.kind == "home":
        view = await _home_view(build, first, older_path)
        shown = _ids([view.top] if view.top else [], *(e for _, e in view.sections), view.latest)
        build.pages.append(RenderedPage(ref.index_path, renderer.render_home(view), lists=shown))
    else:
        listing = ListingView(
            ref, first, None, stories // size if stories > size else 0, stories,
            None, older_path, build.now,
        )  # fmt: skip
        html = renderer.render_listing(listing)
        build.pages.append(RenderedPage(ref.index_path, html, lists=_ids(first)))
    if ref.has_feeds:
        feed = FeedView(ref, newest[:FEED_ITEMS], build.now)
        items = _ids(feed.entries)
        rss, atom = renderer.render_feeds(feed)
        build.pages.append(RenderedPage(ref.rss_path, rss, RSS, items))
        build.pages.append(RenderedPage(ref.atom_path, atom, ATOM, items))
        if ref.json_feed_path is not None:
            json_feed = renderer.render_json_feed(feed)
            build.pages.append(RenderedPage(ref.json_feed_path, json_feed, JSON_FEED, items))


async def _home_view(
    build: _Build, latest: Sequence[ListingEntry], older_path: str | None
) -> HomeView:
    site = build.site
    blocks = []
    for section in build.renderer.site.sections:
        key = section_listing(section).key
        ids = await site.ids(key, 0, build.config.section_block - 1, newest_first=True)
        entries = await build.entries_of(ids, with_content=False)
        if entries:
            blocks.append((section, entries))
    top = latest[0] if latest else None
    return HomeView(top, blocks, list(latest[1:]), older_path, build.now)


async def _build_archive_page(build: _Build, ref: ListingRef, stories: int, number: int) -> None:
    site, size = build.site, build.config.page_size
    pages = stories // size
    oldest_first = await site.ids(
        ref.key, (number - 1) * size, number * size - 1, newest_first=False
    )
    entries = list(reversed(await build.entries_of(oldest_first, with_content=False)))
    newer = ref.page_path(number + 1) if number < pages else ref.index_path
    older = ref.page_path(number - 1) if number > 1 else None
    view = ListingView(ref, entries, number, pages, stories, newer, older, build.now)
    build.pages.append(RenderedPage(ref.page_path(number), build.renderer.render_listing(view)))


async def _build_month_sitemap(build: _Build, ref: ListingRef, stories: int) -> None:
    """A month's sitemap shard: every story it has, oldest first, in files of at most the
    protocol's 50,000 URLs (the first named for the month, the rest `-2`, `-3`, ...)."""
    assert ref.sitemap_path is not None
    site = build.site
    for part, start in enumerate(range(0, stories, SITEMAP_MAX_URLS), 1):
        ids = await site.ids(ref.key, start, start + SITEMAP_MAX_URLS - 1, newest_first=False)
        urls = [
            SitemapUrl(entry.path, entry.updated_at or entry.published_at)
            for entry in await site.entries(ids, with_content=False)
        ]
        text = build.renderer.render_sitemap(urls)
        build.pages.append(RenderedPage(shard_path(ref.sitemap_path, part), text, XML))


def shard_path(month_path: str, part: int) -> str:
    return month_path if part == 1 else month_path.replace(".xml", f"-{part}.xml")


async def _build_sitemap_index(build: _Build) -> None:
    """The index of every month's shards, and of the news sitemap; gone while the site has no
    story (an empty index is not a valid sitemap)."""
    shards: list[SitemapShard] = []
    for key, lastmod in sorted((await build.site.month_lastmods()).items()):
        stories = await build.site.size(key)
        path = month_sitemap_path(key)
        when = datetime.fromtimestamp(lastmod, tz=UTC)
        for part in range(1, -(-stories // SITEMAP_MAX_URLS) + 1):
            shards.append(SitemapShard(shard_path(path, part), when))
    if not shards:
        build.pages.append(Withdrawn(SITEMAP_INDEX_PATH))
        return
    if await build.site.since(HOME.key, build.now.timestamp() - NEWS_WINDOW_S, 1):
        shards.append(SitemapShard(NEWS_SITEMAP_PATH, max(s.lastmod for s in shards if s.lastmod)))
    text = build.renderer.render_sitemap_index(shards, build.now)
    build.pages.append(RenderedPage(SITEMAP_INDEX_PATH, text, XML))


async def _build_news_sitemap(build: _Build) -> None:
    """The stories first published in the last 48 hours, newest first; due again when the
    oldest of them ages out."""
    since = build.now.timestamp() - NEWS_WINDOW_S
    ids = await build.site.since(HOME.key, since, NEWS_MAX_STORIES)
    entries = await build.entries_of(ids, with_content=False)
    if not entries:
        # Nothing new in two days: no news sitemap (an empty one is not a valid sitemap).
        build.pages.append(Withdrawn(NEWS_SITEMAP_PATH))
        return
    text = build.renderer.render_news_sitemap(entries)
    build.pages.append(RenderedPage(NEWS_SITEMAP_PATH, text, XML, _ids(entries)))
    dated = [utc(e.published_at) for e in entries if e.published_at is not None]
    if dated:
        ages_out = min(dated) + timedelta(seconds=NEWS_WINDOW_S)
        await build.schedule([NEWS_SITEMAP], ages_out.timestamp() + 1)


def _ids(*groups: Sequence[ListingEntry]) -> tuple[str, ...]:
    """The stories a page shows, each once, in the order it shows them."""
    return tuple(dict.fromkeys(entry.article_id for group in groups for entry in group))


def standing_listings(sections: Sequence[Section]) -> list[str]:
    """The listings the site always has, stories or not: home and each configured section
    (every page's navigation links them)."""
    return [HOME.key, *(section_listing(section).key for section in sections)]


def _standing_ref(key: str, sections: Sequence[Section]) -> ListingRef | None:
    if key == HOME.key:
        return HOME
    for section in sections:
        ref = section_listing(section)
        if ref.key == key:
            return ref
    return None


def _ref_of(key: str, entries: Sequence[ListingEntry]) -> ListingRef | None:
    """The listing a key names, titled from its stories (a tag's name, an author's)."""
    kind, _, rest = key.partition("/")
    if kind in (HOME.kind, "month"):
        return _where(key)
    for entry in entries:
        if kind == "section" and entry.section is not None and entry.section.slug == rest:
            return section_listing(entry.section)
        for tag in entry.tags:
            if kind == "tag" and tag.slug == rest:
                return tag_listing(tag)
        for author in entry.authors:
            if kind == "author" and author.slug == rest:
                return author_listing(author.name, author.slug)
    return None


def _where(key: str) -> ListingRef:
    """Where a listing's pages are, from its key alone (to take them down once it is empty)."""
    kind, _, rest = key.partition("/")
    if key == HOME.key:
        return HOME
    if kind == "month":
        year, month = rest.split("/")
        return month_listing(datetime(int(year), int(month), 1, tzinfo=UTC))
    prefixes = {"section": "section/", "tag": "tags/", "author": "authors/"}
    return ListingRef(kind, key, rest, f"{prefixes[kind]}{rest}/")  # type: ignore[arg-type]


def _all_paths(ref: ListingRef, pages: int) -> list[str]:
    paths = [ref.index_path, *(ref.page_path(n) for n in range(1, pages + 1))]
    if ref.has_feeds:
        paths += [ref.rss_path, ref.atom_path]
    return paths
