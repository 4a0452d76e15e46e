"""Publishing decisions: write, skip, or take down a page, never letting an older version win.

Decisions are made from publish's record of each page (its ETag, the version it holds and a hash
of its bytes); every write is conditional on that ETag, so the bucket has the last word and a
stale record is corrected from the object's own metadata. A kill leaves a tombstone so a late,
older version cannot bring a killed story back. All of it runs under a per-article lock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

from services.publish.ports import Ledger, PageStore, PublishConfig, StaleView
from shared.events import ArticlePublished, ArticleRendered, SitePagePublished, SitePageRendered
from shared.hashing import sha256_hex
from shared.site import page_url
from shared.streams import PUBLISHED, SITE_PUBLISHED

logger = logging.getLogger(__name__)

T = TypeVar("T")
Outcome = Literal["written", "unchanged", "withdrawn", "stale"]


async def handle_article(
    event: ArticleRendered, store: PageStore, ledger: Ledger, config: PublishConfig
) -> Sequence[tuple[str, ArticlePublished]]:
    async with ledger.lock(event.article_id):
        outcome = await _with_fresh_view(
            event.page_path, store, lambda: _apply(event, store, ledger, config)
        )
    logger.info(
        "v%s %s: %s",
        event.version,
        event.page_path,
        outcome,
        extra={"article_id": event.article_id},
    )
    published = ArticlePublished(
        **_outcome(event, outcome, config),
        listing=event.listing if outcome in ("written", "unchanged") else None,
        rendered_at=event.occurred_at,
        pushed_at=event.pushed_at,
    )
    return [(PUBLISHED, published)]


async def _with_fresh_view(path: str, store: PageStore, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run a decide-and-write step; if the page was not what we believed, read it from the
    bucket itself and decide once more."""
    try:
        return await attempt()
    except StaleView:
        await store.forget(path)
        return await attempt()


async def _apply(
    event: ArticleRendered, store: PageStore, ledger: Ledger, config: PublishConfig
) -> Outcome:
    html = event.page()
    tombstone = await ledger.tombstone(event.article_id)
    # A take-down at the tombstone's own ordering is a retry of one that may have failed half-way:
    # it is done again, not skipped.
    if tombstone is not None and (
        tombstone > event.ordering or (tombstone == event.ordering and html is not None)
    ):
        return "stale"
    current = await store.head(event.page_path)
    if current is not None and current.ordering > event.ordering:
        return "stale"
    if html is None:
        # Delete whatever our record says: deleting a missing object is harmless, and a record
        # that missed a write must not keep a killed page up. The tombstone goes last, so a
        # failure before it leaves the whole take-down to the retry.
        await store.delete(event.page_path)
        await ledger.set_tombstone(event.article_id, event.ordering)
        return "withdrawn"
    if current is not None and current.sha256 == sha256_hex(html):
        return "unchanged"
    await store.put(
        event.page_path,
        html,
        event.ordering,
        current,
        config.page_cache_control,
        gzipped=event.gzipped(),
    )
    return "written"


def _outcome(
    event: ArticleRendered | SitePageRendered, outcome: Outcome, config: PublishConfig
) -> dict[str, Any]:
    """What every publish outcome says: which page, where readers find it, what was done."""
    return {
        "article_id": event.article_id,
        "guid": event.guid,
        "version": event.version,
        "correlation_id": event.correlation_id,
        "ordering": event.ordering,
        "page_path": event.page_path,
        "url": page_url(config.site_url, event.page_path),
        "outcome": outcome,
    }


async def handle_site_page(
    event: SitePageRendered, store: PageStore, ledger: Ledger, config: PublishConfig
) -> Sequence[tuple[str, SitePagePublished]]:
    """A listing page, feed or sitemap: written when it is newer than what is there and its
    bytes changed, or taken down (a listing that shrank by a page). A take-down leaves a
    tombstone, so an older render arriving late cannot bring the page back."""
    async with ledger.lock(event.article_id):
        outcome = await _with_fresh_view(
            event.page_path, store, lambda: _apply_site_page(event, store, ledger, config)
        )
    if outcome in ("written", "withdrawn"):
        logger.info(
            "site page %s %s", event.page_path, outcome, extra={"article_id": event.article_id}
        )
    published = SitePagePublished(
        **_outcome(event, outcome, config),
        lists=event.lists if outcome in ("written", "unchanged") else [],
    )
    return [(SITE_PUBLISHED, published)]


async def _apply_site_page(
    event: SitePageRendered, store: PageStore, ledger: Ledger, config: PublishConfig
) -> Outcome:
    tombstone = await ledger.tombstone(event.article_id)
    if tombstone is not None and (
        tombstone > event.ordering or (tombstone == event.ordering and not event.withdrawn)
    ):
        return "stale"
    current = await store.head(event.page_path)
    if current is not None and current.ordering > event.ordering:
        return "stale"
    if event.withdrawn:
        await store.delete(event.page_path)
        await ledger.set_tombstone(event.article_id, event.ordering)
        return "withdrawn"
    html = event.page()
    if current is not None and current.sha256 == sha256_hex(html):
        return "unchanged"
    await store.put(
        event.page_path,
        html,
        event.ordering,
        current,
        config.site_cache_control,
        event.content_type,
        gzipped=event.gzipped(),
    )
    return "written"
