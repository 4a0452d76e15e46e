"""Publish's decisions, with in-memory stand-ins for the bucket and the ledger."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from services.publish.handlers import (
    PageState,
    SiteEntry,
    StaleView,
    handle_article,
    handle_site_page,
    sha256_hex,
)
from shared.events import ArticlePublished, ArticleRendered, SitePageRendered
from shared.models import version_ordering
from shared.streams import PUBLISHED

pytestmark = pytest.mark.unit

SITE = "https://news.example"


@dataclass
class MemoryBucket:
    pages: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    writes: int = 0
    forgotten: list[str] = field(default_factory=list)

    async def head(self, path: str) -> PageState | None:
        if path not in self.pages:
            return None
        body, ordering = self.pages[path]
        return PageState(etag=sha256_hex(body)[:8], ordering=ordering, sha256=sha256_hex(body))

    async def put(self, path: str, html: bytes, ordering: str, expected: PageState | None) -> None:
        assert (await self.head(path)) == expected, "compare-and-set must name what it read"
        self.pages[path] = (html, ordering)
        self.writes += 1

    async def delete(self, path: str) -> None:
        self.pages.pop(path, None)

    async def forget(self, path: str) -> None:
        self.forgotten.append(path)


@dataclass
class MemoryLedger:
    tombstones: dict[str, str] = field(default_factory=dict)
    site: dict[str, SiteEntry] = field(default_factory=dict)
    locked: list[str] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        self.locked.append(name)
        yield

    async def tombstone(self, article_id: str) -> str | None:
        return self.tombstones.get(article_id)

    async def set_tombstone(self, article_id: str, ordering: str) -> None:
        self.tombstones[article_id] = ordering

    async def list_on_site(self, entry: SiteEntry) -> None:
        self.site[entry.article_id] = entry

    async def take_off_site(self, article_id: str) -> None:
        self.site.pop(article_id, None)


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
    )


async def publish(event: ArticleRendered, bucket: MemoryBucket, ledger: MemoryLedger) -> str:
    [(stream, outcome)] = await handle_article(event, bucket, ledger, SITE)
    assert stream == PUBLISHED and isinstance(outcome, ArticlePublished)
    assert outcome.url == f"{SITE}/2026/08/story-a1/index.html"
    return outcome.outcome


async def test_first_version_is_written_and_listed_on_the_site() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    assert await publish(rendered("1"), bucket, ledger) == "written"
    assert bucket.pages["2026/08/story-a1/index.html"][0] == b"<p>page</p>"
    assert "a1" in ledger.site
    assert ledger.locked == ["a1"]


async def test_the_same_page_again_is_not_rewritten() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    await publish(rendered("1"), bucket, ledger)
    assert await publish(rendered("1"), bucket, ledger) == "unchanged"
    assert bucket.writes == 1


async def test_same_version_with_new_links_is_rewritten() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    await publish(rendered("1"), bucket, ledger)
    assert await publish(rendered("1", "<p>page with a new link</p>"), bucket, ledger) == "written"


async def test_an_older_version_never_overwrites_a_newer_one() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    await publish(rendered("3", "<p>v3</p>"), bucket, ledger)
    assert await publish(rendered("2", "<p>v2</p>"), bucket, ledger) == "stale"
    assert bucket.pages["2026/08/story-a1/index.html"][0] == b"<p>v3</p>"


async def test_a_kill_deletes_the_page_and_a_late_older_version_cannot_bring_it_back() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()
    await publish(rendered("1"), bucket, ledger)
    assert await publish(rendered("2", None, withdrawn=True), bucket, ledger) == "withdrawn"
    assert bucket.pages == {}
    assert "a1" not in ledger.site
    assert await publish(rendered("1"), bucket, ledger) == "stale"
    assert bucket.pages == {}
    # A later version may bring the story back (a withheld story released, say).
    assert await publish(rendered("3"), bucket, ledger) == "written"


async def test_front_page_renders_are_ordered() -> None:
    bucket, ledger = MemoryBucket(), MemoryLedger()

    def front(ordering: str, html: str) -> SitePageRendered:
        return SitePageRendered(
            article_id="site:index", guid="site:index", version=ordering, ordering=ordering,
            page_path="index.html", html=html,
        )  # fmt: skip

    assert await handle_site_page(front("00002", "<p>new</p>"), bucket, ledger) == []
    await handle_site_page(front("00001", "<p>old</p>"), bucket, ledger)
    assert bucket.pages["index.html"][0] == b"<p>new</p>"


@dataclass
class BucketWithStaleBelief(MemoryBucket):
    """A bucket someone else wrote to: what we believe of a page is out of date until forgotten."""

    believed_absent: set[str] = field(default_factory=set)

    async def head(self, path: str) -> PageState | None:
        if path in self.believed_absent and path not in self.forgotten:
            return None
        return await super().head(path)

    async def put(self, path: str, html: bytes, ordering: str, expected: PageState | None) -> None:
        if expected != await MemoryBucket.head(self, path):
            raise StaleView(path)
        await super().put(path, html, ordering, expected)


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
