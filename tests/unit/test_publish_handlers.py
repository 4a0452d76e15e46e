"""Publish's decisions, with in-memory stand-ins for the bucket and the ledger."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from services.publish.adapters import compressed
from services.publish.handlers import handle_article, handle_site_page
from services.publish.ports import PageState, PublishConfig, StaleView
from shared.events import ArticlePublished, ArticleRendered, SitePageRendered
from shared.hashing import sha256_hex
from shared.models import ListingEntry, decision_ordering, version_ordering
from shared.streams import PUBLISHED, SITE_PUBLISHED

pytestmark = pytest.mark.unit

SITE = "https://news.example"
CONFIG = PublishConfig(site_url=SITE, page_cache_control="pages", site_cache_control="listings")


@dataclass
class MemoryBucket:
    pages: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    writes: int = 0
    forgotten: list[str] = field(default_factory=list)
    cache_control: dict[str, str] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)

    async def head(self, path: str) -> PageState | None:
        if path not in self.pages:
            return None
        body, ordering = self.pages[path]
        return PageState(etag=sha256_hex(body)[:8], ordering=ordering, sha256=sha256_hex(body))

    async def put(
        self,
        path: str,
        html: bytes,
        ordering: str,
        expected: PageState | None,
        cache_control: str,
        content_type: str = "text/html; charset=utf-8",
        *,
        gzipped: bytes | None = None,
    ) -> None:
        assert gzipped is None or gzip.decompress(gzipped) == html
        assert (await self.head(path)) == expected, "compare-and-set must name what it read"
        self.pages[path] = (html, ordering)
        self.cache_control[path] = cache_control
        self.content_types[path] = content_type
        self.writes += 1

    async def delete(self, path: str) -> None:
        self.pages.pop(path, None)

    async def forget(self, path: str) -> None:
        self.forgotten.append(path)


@dataclass
class MemoryLedger:
    tombstones: dict[str, str] = field(default_factory=dict)
    locked: list[str] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        self.locked.append(name)
        yield

    async def tombstone(self, article_id: str) -> str | None:
        return self.tombstones.get(article_id)

    async def set_tombstone(self, article_id: str, ordering: str) -> None:
        self.tombstones[article_id] = ordering


def rendered(
    version: str, html: str | None = "<p>page</p>", withdrawn: bool = False
) -> ArticleRendered:
    return ArticleRendered(
        article_id="a1",
        guid="urn:test:a1",
        version=version,
        ordering=version_ordering(version, datetime(2026, 8, 1, tzinfo=UTC)),
        page_path="2026/08/story-a1/index.html",
        html=html,
        withdrawn=withdrawn,
        headline="Story",
        listing=None if withdrawn else LISTING,
    )


LISTING = ListingEntry(article_id="a1", headline="Story", path="2026/08/story-a1/index.html")


async def published(
    event: ArticleRendered, bucket: MemoryBucket, ledger: MemoryLedger
) -> ArticlePublished:
    [(stream, outcome)] = await handle_article(event, bucket, ledger, CONFIG)
    assert stream == PUBLISHED and isinstance(outcome, ArticlePublished)
    assert outcome.url == f"{SITE}/2026/08/story-a1/index.html"
    return outcome


async def publish(event: ArticleRendered, bucket: MemoryBucket, ledger: MemoryLedger) -> str:
    return (await published(event, bucket, ledger)).outcome


async def test_first_version_is_written_and_its_listing_passed_on() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    outcome = await published(rendered("1"), bucket, ledger)
    assert outcome.outcome == "written" and outcome.listing == LISTING
    assert bucket.pages["2026/08/story-a1/index.html"][0] == b"<p>page</p>"
    assert bucket.cache_control["2026/08/story-a1/index.html"] == "pages"
    assert ledger.locked == ["a1"]


async def test_the_same_page_again_is_not_rewritten_but_still_listed() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    await publish(rendered("1"), bucket, ledger)
    # A retry after a crash between the write and its ack: the listing must still follow.
    again = await published(rendered("1"), bucket, ledger)
    assert again.outcome == "unchanged" and again.listing == LISTING
    assert bucket.writes == 1


async def test_same_version_with_new_links_is_rewritten() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    await publish(rendered("1"), bucket, ledger)
    assert await publish(rendered("1", "<p>page with a new link</p>"), bucket, ledger) == "written"


def revised(revision: int, html: str) -> ArticleRendered:
    """Version 1 rendered from enrichment `revision` (a link refresh is a later revision)."""
    event = rendered("1", html)
    return event.model_copy(update={"ordering": decision_ordering(event.ordering, revision)})


async def test_an_older_render_of_the_same_version_never_overwrites_a_newer_one() -> None:
    """A retried render from an earlier link decision of the same version (20 of 21,267 pages
    kept older links than enrich decided when only the version was compared)."""
    bucket, ledger = MemoryBucket(), MemoryLedger()
    await publish(revised(2, "<p>links of revision 2</p>"), bucket, ledger)
    assert await publish(revised(1, "<p>links of revision 1</p>"), bucket, ledger) == "stale"
    assert bucket.pages["2026/08/story-a1/index.html"][0] == b"<p>links of revision 2</p>"
    assert await publish(revised(3, "<p>links of revision 3</p>"), bucket, ledger) == "written"
    # A page written before revisions existed is replaced by any revision of its version.
    assert decision_ordering(rendered("1").ordering, 0) > rendered("1").ordering
    assert decision_ordering(rendered("1").ordering, 10**6) < rendered("2").ordering


async def test_an_older_version_never_overwrites_a_newer_one() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    await publish(rendered("3", "<p>v3</p>"), bucket, ledger)
    assert await publish(rendered("2", "<p>v2</p>"), bucket, ledger) == "stale"
    assert bucket.pages["2026/08/story-a1/index.html"][0] == b"<p>v3</p>"


async def test_a_kill_deletes_the_page_and_a_late_older_version_cannot_bring_it_back() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    await publish(rendered("1"), bucket, ledger)
    withdrawn = await published(rendered("2", None, withdrawn=True), bucket, ledger)
    assert withdrawn.outcome == "withdrawn" and withdrawn.listing is None
    assert bucket.pages == {}
    stale = await published(rendered("1"), bucket, ledger)
    assert stale.outcome == "stale" and stale.listing is None
    assert bucket.pages == {}
    # A later version may bring the story back (a withheld story released, say).
    assert await publish(rendered("3"), bucket, ledger) == "written"


async def test_front_page_renders_are_ordered() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()

    def front(ordering: str, html: str) -> SitePageRendered:
        return SitePageRendered(
            article_id="site:index", guid="site:index", version=ordering, ordering=ordering,
            page_path="index.html", html=html, lists=["a1", "a2"],
        )  # fmt: skip

    [(stream, written)] = await handle_site_page(
        front("00002", "<p>new</p>"), bucket, ledger, CONFIG
    )
    [(_, stale)] = await handle_site_page(front("00001", "<p>old</p>"), bucket, ledger, CONFIG)
    assert bucket.pages["index.html"][0] == b"<p>new</p>"
    assert bucket.cache_control["index.html"] == "listings"
    # What each did goes on a stream of its own, with the stories the page shows.
    assert stream == SITE_PUBLISHED
    assert (written.outcome, written.lists, written.page_path) == (
        "written",
        ["a1", "a2"],
        "index.html",
    )
    assert written.url.endswith("/index.html")
    assert (stale.outcome, stale.lists) == ("stale", [])


@dataclass
class BucketWithStaleBelief(MemoryBucket):
    """A bucket someone else wrote to: what we believe of a page is out of date until forgotten."""

    believed_absent: set[str] = field(default_factory=set)

    async def head(self, path: str) -> PageState | None:
        if path in self.believed_absent and path not in self.forgotten:
            return None
        return await super().head(path)

    async def put(
        self,
        path: str,
        html: bytes,
        ordering: str,
        expected: PageState | None,
        cache_control: str,
        content_type: str = "text/html; charset=utf-8",
        *,
        gzipped: bytes | None = None,
    ) -> None:
        if expected != await MemoryBucket.head(self, path):
            raise StaleView(path)
        await super().put(
            path, html, ordering, expected, cache_control, content_type, gzipped=gzipped
        )


async def test_a_stale_view_of_the_bucket_is_corrected_and_never_overwrites_a_newer_page() -> None:
    bucket, ledger = BucketWithStaleBelief(), MemoryLedger()
    await publish(rendered("3", "<p>v3</p>"), bucket, ledger)
    bucket.believed_absent.add("2026/08/story-a1/index.html")
    assert await publish(rendered("2", "<p>v2</p>"), bucket, ledger) == "stale"
    assert bucket.forgotten == ["2026/08/story-a1/index.html"]
    assert bucket.pages["2026/08/story-a1/index.html"][0] == b"<p>v3</p>"


@dataclass
class FlakyDeleteBucket(MemoryBucket):
    fail_deletes: int = 1

    async def delete(self, path: str) -> None:
        if self.fail_deletes:
            self.fail_deletes -= 1
            raise ConnectionError("S3 went away")
        await super().delete(path)


async def test_a_kill_whose_delete_failed_is_completed_by_the_retry() -> None:
    bucket, ledger = FlakyDeleteBucket(), MemoryLedger()
    await publish(rendered("1"), bucket, ledger)
    with pytest.raises(ConnectionError):
        await publish(rendered("2", None, withdrawn=True), bucket, ledger)
    assert await publish(rendered("2", None, withdrawn=True), bucket, ledger) == "withdrawn"
    assert bucket.pages == {}
    assert ledger.tombstones["a1"] == rendered("2").ordering


async def test_site_pages_carry_their_media_type_and_a_take_down_stands() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()

    def page(ordering: str, html: str = "", withdrawn: bool = False) -> SitePageRendered:
        return SitePageRendered(
            article_id="site:tags/place-kursk/feed.xml", guid="site:tags/place-kursk/feed.xml",
            version=ordering, ordering=ordering, page_path="tags/place-kursk/feed.xml",
            html=html, content_type="application/rss+xml; charset=utf-8", withdrawn=withdrawn,
        )  # fmt: skip

    await handle_site_page(page("00002", "<rss/>"), bucket, ledger, CONFIG)
    assert bucket.content_types["tags/place-kursk/feed.xml"].startswith("application/rss+xml")
    # The tag's last story killed: its feed comes down, and a late older render stays out.
    await handle_site_page(page("00003", withdrawn=True), bucket, ledger, CONFIG)
    assert "tags/place-kursk/feed.xml" not in bucket.pages
    await handle_site_page(page("00002", "<rss/>"), bucket, ledger, CONFIG)
    assert "tags/place-kursk/feed.xml" not in bucket.pages
    # A story tagged so again later: the feed is back.
    await handle_site_page(page("00004", "<rss>again</rss>"), bucket, ledger, CONFIG)
    assert bucket.pages["tags/place-kursk/feed.xml"][0] == b"<rss>again</rss>"


def test_pages_are_stored_gzipped_only_where_that_saves_bytes() -> None:
    page = ("<p>" + "A story about the Kursk region. " * 200 + "</p>").encode()
    packed, encoding = compressed(page)
    assert encoding == "gzip" and len(packed) < len(page) / 4
    assert gzip.decompress(packed) == page
    assert compressed(page) == (packed, encoding), "the same page, the same bytes"
    assert compressed(b"User-agent: *\n") == (b"User-agent: *\n", None)
