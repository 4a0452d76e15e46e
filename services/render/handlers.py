"""Render's decisions. Pure: no streams, no S3, no Redis (the listing is a port).

`handle_enriched` turns an enriched story into its page; the site's listings are kept from what
publish did and their pages built as they come due by `services.render.builder`; every template
lives in `services.render.pages`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from services.render.pages import PageRenderer, authors_of
from shared.cpu import CpuRunner
from shared.events import ArticleEnriched, ArticleRendered, FrontChangeRequested, pack_page
from shared.html import body_blocks, excerpt_of
from shared.models import ListingEntry

logger = logging.getLogger(__name__)


# --- handlers ------------------------------------------------------------------------------


async def render_enriched(
    event: ArticleEnriched, renderer: PageRenderer, cpu: CpuRunner
) -> ArticleRendered:
    """`handle_enriched`, with a large body sanitised and split in a worker process within a
    time budget (shared.cpu) rather than on the loop every other message waits on."""
    body = event.article.body_html
    blocks = await cpu.run(len(body), body_blocks, body) if event.article.on_site else None
    return handle_enriched(event, renderer, blocks)


def handle_enriched(
    event: ArticleEnriched, renderer: PageRenderer, blocks: list[str] | None = None
) -> ArticleRendered:
    """Render a story's page, or (killed / withheld) say its page is to be taken down.
    `blocks`: its body as `body_blocks` made it, when the caller has it already."""
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
        "pushed_at": event.pushed_at,
    }
    if article.pubstatus != "usable":
        return ArticleRendered(**common, html=None, withdrawn=True)
    blocks = body_blocks(article.body_html) if blocks is None else blocks
    listing = listing_entry(event, blocks)
    return ArticleRendered(
        **common,
        html_gzip=pack_page(renderer.render_article(event, blocks)),
        withdrawn=False,
        excerpt=listing.excerpt,
        listing=listing,
    )


def listing_entry(event: ArticleEnriched, blocks: list[str] | None = None) -> ListingEntry:
    """What the site's listings, feeds and sitemaps show of a story (`blocks`: its body as
    `body_blocks` made it, when the caller has it already)."""
    article = event.article
    blocks = body_blocks(article.body_html) if blocks is None else blocks
    return ListingEntry(
        article_id=event.article_id,
        headline=article.headline,
        path=event.page_path,
        excerpt=excerpt_of(article.description, blocks),
        published_at=article.published_at,
        updated_at=article.versioncreated if event.corrected else None,
        byline=article.byline,
        tags=list(event.tags),
        section=event.section,
        authors=authors_of(article.byline),
        language=article.language,
        image=article.images[0] if article.images else None,
        content_html="".join(blocks),
    )


# --- fronts ------------------------------------------------------------------------------------

#: Stories one front may have pinned.
MAX_FRONT_PINS = 20


def front_pins_after(current: Sequence[str], event: FrontChangeRequested) -> list[str]:
    """A front's pins once an editor's operation is applied (an operation that does not apply,
    like moving up a story that is not pinned, leaves them as they are)."""
    if event.op == "set":
        return list(dict.fromkeys(event.pinned))[:MAX_FRONT_PINS]
    story = event.story or ""
    pins = [p for p in current if p != story]
    if event.op == "lead":
        pins.insert(0, story)
    elif event.op == "pin":
        pins.append(story)
    elif event.op == "up":
        if story not in current:
            return list(current)
        pins.insert(max(0, list(current).index(story) - 1), story)
    return pins[:MAX_FRONT_PINS]
