"""Render's decisions: article pages from enriched stories, and the site's listing kept from
what publish did. Pure: no streams, no S3, no Redis (the listing is a port).

`handle_enriched` turns an enriched story into its page, `handle_published` keeps the listing by
what publish did, and `rebuild_due_pages` renders the listing pages that are due (with
`services.render.pages`, where every template lives).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.render.pages import FRONT_PAGE_PATH, PageRenderer
from services.render.ports import (
    FRONT_PAGE,
    Emit,
    Listing,
    ListingChange,
    ListingSnapshot,
    PagesDue,
)
from shared.events import (
    ArticleEnriched,
    ArticlePublished,
    ArticleRendered,
    SitePageRendered,
)
from shared.html import body_blocks, excerpt_of
from shared.models import ListingEntry, utc
from shared.streams import RENDERED

logger = logging.getLogger(__name__)


# --- handlers ------------------------------------------------------------------------------


def handle_enriched(event: ArticleEnriched, renderer: PageRenderer) -> ArticleRendered:
    """Render a story's page, or (killed / withheld) say its page is to be taken down."""
    article = event.article
    common: dict[str, Any] = {
        "article_id": event.article_id,
        "guid": event.guid,
        "version": event.version,
        "correlation_id": event.correlation_id,
        "ordering": event.ordering,
        "page_path": event.page_path,
        "headline": article.headline,
        "published_at": article.published_at,
    }
    if article.pubstatus != "usable":
        return ArticleRendered(**common, html=None, withdrawn=True)
    blocks = body_blocks(article.body_html)
    excerpt = excerpt_of(article.description, blocks)
    listing = ListingEntry(
        article_id=event.article_id,
        headline=article.headline,
        path=event.page_path,
        excerpt=excerpt,
        published_at=article.published_at,
        updated_at=article.versioncreated if event.corrected else None,
        byline=article.byline,
        tags=list(event.tags),
    )
    return ArticleRendered(
        **common,
        html=renderer.render_article(event, blocks),
        withdrawn=False,
        excerpt=excerpt,
        listing=listing,
    )


def listing_change(event: ArticlePublished) -> ListingChange | None:
    """What a publish outcome changes in the listing: a page up lists the story, a page taken
    down delists it; a stale outcome changes nothing."""
    if event.outcome == "withdrawn":
        return ListingChange("delist", event.article_id, event.ordering)
    if event.outcome in ("written", "unchanged"):
        if event.listing is None:
            # Rendered before listing entries existed (an upgrade in flight): the one-off
            # `wirepress republish --all` of the upgrade lists it.
            logger.warning(
                "v%s is up but carries no listing entry: not listed until republished",
                event.version,
                extra={"article_id": event.article_id},
            )
            return None
        return ListingChange("list", event.article_id, event.ordering, event.listing)
    return None


#: Every listing page render keeps.
LISTING_PAGES = frozenset({FRONT_PAGE})


def pages_touched(change: ListingChange) -> list[str]:
    """The listing pages a change shows on."""
    return [FRONT_PAGE]


async def handle_published(
    event: ArticlePublished, listing: Listing, *, now: float, debounce_s: float
) -> float | None:
    """Keep the listing by what publish did; the pages it touches are rebuilt `debounce_s`
    after the first change (one rebuild for a burst of stories). When it changed the listing:
    the time the pages it touched come due at the latest."""
    change = listing_change(event)
    if change is None:
        return None
    due_at = now + debounce_s
    return due_at if await listing.apply(change, pages_touched(change), due_at) else None


def render_site_index(
    entries: Sequence[ListingEntry],
    generation: int,
    generated_at: datetime,
    renderer: PageRenderer,
) -> SitePageRendered:
    """The front page as an event for publish. It is ordered by the listing generation it was
    rendered from, so an older render never replaces a newer one."""
    return SitePageRendered(
        article_id="site:index",
        guid="site:index",
        version=str(generation),
        ordering=f"{generation:020d}",
        page_path=FRONT_PAGE_PATH,
        html=renderer.render_front_page(entries, utc(generated_at)),
    )


def render_listing_page(
    page: str, snapshot: ListingSnapshot, generated_at: datetime, renderer: PageRenderer
) -> SitePageRendered:
    """One listing page, rendered from a snapshot of the listing."""
    if page not in LISTING_PAGES:
        raise ValueError(f"no listing page {page!r}")
    return render_site_index(snapshot.entries, snapshot.generation, generated_at, renderer)


async def rebuild_due_pages(
    listing: Listing,
    pages_due: PagesDue,
    renderer: PageRenderer,
    emit: Emit,
    *,
    now: datetime,
    front_page_stories: int,
) -> list[str]:
    """Rebuild the listing pages due now from one snapshot of the listing; the pages rebuilt.
    What is taken is leased: if this fails half-way it comes due again."""
    pages, lease = await pages_due.take()
    if not pages:
        return []
    known = [page for page in pages if page in LISTING_PAGES]
    for page in set(pages) - set(known):
        # Queued by another version of render: no page of ours, so nothing to rebuild.
        logger.warning("no listing page %r: dropped from the queue", page)
    snapshot = await listing.newest(front_page_stories)
    await emit(RENDERED, [render_listing_page(page, snapshot, now, renderer) for page in known])
    await pages_due.done(lease)
    logger.info("listing pages rebuilt at generation %s: %s", snapshot.generation, pages)
    return known
