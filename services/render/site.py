"""The site's shape: which listings a story is in, where each listing's pages and feeds live in
the bucket, how listings are paginated, and what each page kind is rendered from. Pure.

Listings: `home` (every story), `section/<slug>`, `tag/<tag slug>`, `author/<slug>` and
`month/<YYYY>/<MM>` (the date archive, and the month's sitemap shard). Every listing has an index
page showing its newest stories and, past one page, numbered archive pages. Archive pages count
from the oldest story and hold exactly `page_size` stories each, so a full page never changes
again (a kill aside) and a new story changes only its listings' index pages and feeds, whatever
the archive's size; the newest stories not yet making a full page are on the index only. The
index's "older" link goes to the newest full page, which may repeat some of the index's stories
but never skips one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.models import ListingEntry, Section, Tag, utc

ListingKind = Literal["home", "section", "tag", "author", "month"]

#: Tag types that get a listing (wire subjects are kept as tags, but their Media Topics are
#: the readers' topics).
LISTED_TAG_TYPES = frozenset({"person", "organisation", "place", "topic", "keyword"})

#: Stories in a feed, newest first: WordPress's default. Every item carries the whole story,
#: so a feed is ~5 KB a story; ten keep a tag's feed to ~45 KB, and a story is in ~30 feeds.
FEED_ITEMS = 10
#: The Google News sitemap: stories first published this recently, at most this many.
NEWS_WINDOW_S = 48 * 3600
NEWS_MAX_STORIES = 1000
#: The sitemap protocol's limit of URLs in one file.
SITEMAP_MAX_URLS = 50_000

SITEMAP_INDEX_PATH = "sitemap.xml"
NEWS_SITEMAP_PATH = "sitemap-news.xml"
ROBOTS_PATH = "robots.txt"
NOT_FOUND_PATH = "404.html"
HOME_JSON_FEED_PATH = "feed.json"


@dataclass(frozen=True)
class ListingRef:
    """One listing: what it is, what readers call it, and where its pages live."""

    kind: ListingKind
    key: str  # "home", "section/politics", "tag/place-kursk", "author/jane-doe", "month/2026/08"
    title: str
    prefix: str  # bucket path the listing's pages live under: "", "section/politics/", ...

    @property
    def index_path(self) -> str:
        return f"{self.prefix}index.html"

    def page_path(self, number: int) -> str:
        """Archive page `number` (1 is the oldest)."""
        return f"{self.prefix}page/{number}/index.html"

    @property
    def has_feeds(self) -> bool:
        return self.kind != "month"

    @property
    def rss_path(self) -> str:
        return f"{self.prefix}feed.xml"

    @property
    def atom_path(self) -> str:
        return f"{self.prefix}atom.xml"

    @property
    def json_feed_path(self) -> str | None:
        return HOME_JSON_FEED_PATH if self.kind == "home" else None

    @property
    def sitemap_path(self) -> str | None:
        """The month's sitemap shard (months only)."""
        return month_sitemap_path(self.key) if self.kind == "month" else None


def month_sitemap_path(month_key: str) -> str:
    """A month listing's sitemap shard. At the site's root: the protocol lets a sitemap list
    only URLs at or below its own folder."""
    _, year, month = month_key.split("/")
    return f"sitemap-{year}-{month}.xml"


HOME = ListingRef("home", "home", "Latest news", "")


def section_listing(section: Section) -> ListingRef:
    return ListingRef(
        "section", f"section/{section.slug}", section.name, f"section/{section.slug}/"
    )


def tag_listing(tag: Tag) -> ListingRef:
    return ListingRef("tag", f"tag/{tag.slug}", tag.name, f"tags/{tag.slug}/")


def author_listing(name: str, slug: str) -> ListingRef:
    return ListingRef("author", f"author/{slug}", name, f"authors/{slug}/")


def month_listing(when: datetime) -> ListingRef:
    when = utc(when)
    return ListingRef(
        "month", f"month/{when:%Y}/{when:%m}", f"{when:%B %Y}", f"{when:%Y}/{when:%m}/"
    )


def listings_of(entry: ListingEntry) -> list[ListingRef]:
    """Every listing a story is in."""
    refs = [HOME]
    if entry.section is not None:
        refs.append(section_listing(entry.section))
    seen: set[str] = set()
    for tag in entry.tags:
        if tag.type in LISTED_TAG_TYPES and tag.slug not in seen:
            seen.add(tag.slug)
            refs.append(tag_listing(tag))
    refs += [author_listing(author.name, author.slug) for author in entry.authors]
    if entry.published_at is not None:
        refs.append(month_listing(entry.published_at))
    return refs


# --- pagination ------------------------------------------------------------------------------


def full_pages(stories: int, page_size: int) -> int:
    """How many archive pages a listing of `stories` has: only full ones, and none while the
    index holds them all."""
    return stories // page_size if stories > page_size else 0


def page_of(rank: int, page_size: int) -> int:
    """The archive page a story at `rank` (0 = the oldest) is on, if that page is full."""
    return rank // page_size + 1


def older_page_from_index(stories: int, page_size: int) -> int | None:
    """Where the index's "older" link goes: the newest full page not identical to the index."""
    pages = full_pages(stories, page_size)
    if pages == 0:
        return None
    if stories - pages * page_size == 0:  # the newest full page is exactly the index
        return pages - 1 or None
    return pages


@dataclass(frozen=True)
class PagePlan:
    """What to render of one listing after changes at or above `from_rank`."""

    index_and_feeds: bool
    pages: tuple[int, ...]  # archive pages to render
    removed: tuple[int, ...]  # archive pages to take down


#: The rank `dirt` reports for a listing nothing changed in since its pages were built.
UNCHANGED_RANK = 1 << 60


def plan_listing(
    stories: int,
    previous_pages: int,
    from_rank: int | None,
    page_size: int,
) -> PagePlan:
    """Which of a listing's pages a change (the lowest rank it touched, 0 = the oldest; None:
    everything) calls for, given how many archive pages were published before."""
    pages = full_pages(stories, page_size)
    if from_rank is None:
        render = set(range(1, pages + 1))
        index = True
    else:
        # Pages from the one the change is on are re-rendered (a kill shifts every later one).
        render = set(range(page_of(from_rank, page_size), pages + 1))
        # Only the lowest rank changed is kept: a correction deep in the archive and a new story
        # at the top in one build look like the first alone, so any change rebuilds the index
        # and feeds (publish skips them if their bytes did not change).
        index = from_rank < UNCHANGED_RANK
    if pages != previous_pages:
        # A page added or gone changes its neighbour's links, and the index's.
        index = True
        if min(pages, previous_pages) > 0:
            render.add(min(pages, previous_pages))
        render |= set(range(previous_pages + 1, pages + 1))
    removed = tuple(range(pages + 1, previous_pages + 1))
    return PagePlan(index, tuple(sorted(p for p in render if 1 <= p <= pages)), removed)


# --- what the pages are rendered from --------------------------------------------------------


@dataclass(frozen=True)
class SiteInfo:
    """The site as every page names it."""

    url: str
    name: str
    language: str = "en"
    description: str = ""
    #: The sections in menu order (shared/sections.py).
    sections: tuple[Section, ...] = ()


@dataclass(frozen=True)
class ListingView:
    """A listing's index (`page` None) or one of its archive pages, newest story first."""

    ref: ListingRef
    entries: Sequence[ListingEntry]
    page: int | None
    pages: int  # archive pages the listing has
    stories: int  # stories the listing has
    newer_path: str | None  # rel=prev: the index or the next newer page
    older_path: str | None  # rel=next
    generated_at: datetime


@dataclass(frozen=True)
class HomeView:
    """The front page: the top story, a block per section, then the latest."""

    top: ListingEntry | None
    sections: Sequence[tuple[Section, Sequence[ListingEntry]]]
    latest: Sequence[ListingEntry]
    older_path: str | None
    generated_at: datetime


@dataclass(frozen=True)
class FeedView:
    """A listing's feed: its newest stories, each with its sanitised body."""

    ref: ListingRef
    entries: Sequence[ListingEntry]
    generated_at: datetime


@dataclass(frozen=True)
class SitemapUrl:
    path: str
    lastmod: datetime | None


@dataclass(frozen=True)
class SitemapShard:
    path: str
    lastmod: datetime | None


@dataclass(frozen=True)
class RenderedPage:
    """A page ready for publish: where it goes, its text and its media type."""

    path: str
    text: str
    content_type: str = "text/html; charset=utf-8"
    #: The stories it shows, where they are a bounded few (an index, a feed, the news sitemap).
    lists: tuple[str, ...] = ()
