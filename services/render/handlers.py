"""Render: article pages from enriched stories, and listing pages from the site's listing.
Pure: no streams, no S3, no Redis (the listing is a port).

`PageRenderer` is built once per process (it holds the Jinja2 environment and its compiled
templates); `handle_enriched` turns an enriched story into its page, `handle_published` keeps the
listing by what publish did, and `render_site_index` turns a listing snapshot into the front page.

Bodies from the wire are untrusted: `sanitize_body` runs them through an allow-list before they
reach a template, and every other value is autoescaped by Jinja2.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

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
from shared.html import body_blocks, excerpt_of, is_heading, make_excerpt
from shared.models import ListingEntry, RelatedLink, Tag, utc
from shared.site import page_url
from shared.streams import RENDERED

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

#: The front page's file in the site bucket.
FRONT_PAGE_PATH = "index.html"


# --- view helpers ----------------------------------------------------------------------------

TAG_TYPE_LABELS: dict[str, str] = {
    "person": "People",
    "organisation": "Organisations",
    "place": "Places",
    "topic": "Topics",
    "subject": "Subjects",
    "keyword": "Keywords",
}


def format_date(value: datetime | None) -> str:
    """'3 March 2026, 14:05 UTC'."""
    if value is None:
        return ""
    value = utc(value)
    return f"{value.day} {value.strftime('%B %Y, %H:%M')} UTC"


def format_short_date(value: datetime | None) -> str:
    """'3 Mar, 14:05'."""
    if value is None:
        return ""
    value = utc(value)
    return f"{value.day} {value.strftime('%b, %H:%M')}"


def iso(value: datetime | None) -> str:
    return utc(value).isoformat().replace("+00:00", "Z") if value is not None else ""


def display_byline(byline: str | None) -> str:
    """'By Jane Doe' from 'Jane Doe' or 'by Jane Doe'."""
    if not byline or not byline.strip():
        return ""
    byline = " ".join(byline.split())
    if byline.lower().startswith("by "):
        return "By " + byline[3:]
    return "By " + byline


def author_names(byline: str | None) -> list[str]:
    """Author names for JSON-LD: 'By A and B, Reuters'-style bylines split into names."""
    if not byline or not byline.strip():
        return []
    text = " ".join(byline.split())
    if text.lower().startswith("by "):
        text = text[3:]
    # drop a trailing place / desk ("Jane Doe in Kyiv")
    text = re.split(r"\s+in\s+", text, maxsplit=1)[0]
    names = re.split(r"\s*(?:,|\band\b|&)\s*", text)
    return [n for n in (name.strip() for name in names) if n]


class PageRenderer:
    """Renders article pages and the front page. Build once; templates are compiled once."""

    def __init__(self, site_url: str, site_name: str = "Wirepress") -> None:
        self.site_url = site_url.rstrip("/")
        self.site_name = site_name
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES_DIR)),
            autoescape=select_autoescape(["html"], default_for_string=True, default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.filters["long_date"] = format_date
        self.env.filters["short_date"] = format_short_date
        self.env.filters["iso"] = iso
        self.env.globals["site_name"] = self.site_name
        self.env.globals["front_url"] = self.url(FRONT_PAGE_PATH)
        self._article = self.env.get_template("article.html")
        self._index = self.env.get_template("index.html")

    def url(self, path: str) -> str:
        """Absolute URL of a site page."""
        return page_url(self.site_url, path)

    # -- article pages

    def _segments(
        self, blocks: list[str], read_also: Iterable[RelatedLink]
    ) -> list[dict[str, Any]]:
        """Blocks as Markup, each with the READ ALSO links that follow it."""
        after: dict[int, list[dict[str, str]]] = {}
        last = len(blocks) - 1
        for link in read_also:
            if last < 0:
                break
            index = link.after_paragraph if link.after_paragraph is not None else 0
            index = min(max(index, 0), last)
            # never between a subheading and the text it introduces
            while index < last and is_heading(blocks[index]):
                index += 1
            after.setdefault(index, []).append(self._link_view(link))
        return [
            {"html": Markup(block), "read_also": after.get(i, [])} for i, block in enumerate(blocks)
        ]

    def _link_view(self, link: RelatedLink) -> dict[str, Any]:
        return {
            "headline": link.headline,
            "url": self.url(link.path),
            "excerpt": make_excerpt(link.excerpt) if link.excerpt else "",
            "published_at": link.published_at,
        }

    @staticmethod
    def _tag_groups(tags: Iterable[Tag]) -> list[dict[str, Any]]:
        groups: dict[str, list[Tag]] = {}
        seen: set[tuple[str, str]] = set()
        for tag in tags:
            key = (tag.type, tag.slug)
            if key in seen:
                continue
            seen.add(key)
            groups.setdefault(tag.type, []).append(tag)
        return [
            {"type": kind, "label": label, "tags": groups[kind]}
            for kind, label in TAG_TYPE_LABELS.items()
            if kind in groups
        ]

    def _json_ld(
        self, event: ArticleEnriched, canonical: str, description: str, tags: Sequence[Tag]
    ) -> dict[str, Any]:
        article = event.article
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": article.headline,
            "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
            "url": canonical,
            "inLanguage": article.language,
            "publisher": {"@type": "Organization", "name": self.site_name, "url": self.site_url},
        }
        if description:
            data["description"] = description
        if article.published_at:
            data["datePublished"] = iso(article.published_at)
        if article.versioncreated:
            data["dateModified"] = iso(article.versioncreated)
        authors = author_names(article.byline)
        if authors:
            data["author"] = [{"@type": "Person", "name": name} for name in authors]
        if article.located:
            data["contentLocation"] = {"@type": "Place", "name": article.located}
        keywords = [tag.name for tag in tags] or list(article.keywords)
        if keywords:
            data["keywords"] = keywords
        if article.images:
            data["image"] = [image.href for image in article.images]
        return data

    def render_article(self, event: ArticleEnriched, blocks: Sequence[str] | None = None) -> str:
        """The full HTML page of one story (`blocks`: its body's, if already split)."""
        article = event.article
        blocks = list(blocks) if blocks is not None else body_blocks(article.body_html)
        description = excerpt_of(article.description, blocks)
        canonical = self.url(event.page_path)
        read_also = [link for link in event.read_also if link.path]
        related = [self._link_view(link) for link in event.related if link.path]
        updated_at = article.versioncreated if event.corrected else None
        return self._article.render(
            article=article,
            byline=display_byline(article.byline),
            published_at=article.published_at,
            updated_at=updated_at,
            corrected=event.corrected,
            description=description,
            canonical=canonical,
            segments=self._segments(blocks, read_also),
            tag_groups=self._tag_groups(event.tags),
            related=related,
            lead_image=article.images[0] if article.images else None,
            json_ld=self._json_ld(event, canonical, description, event.tags),
        )

    # -- the front page

    def render_front_page(self, entries: Sequence[ListingEntry], generated_at: datetime) -> str:
        """The front page: the newest story as the lead, then the next few, then a list."""
        ordered = sorted(
            entries,
            key=lambda e: utc(e.published_at).timestamp() if e.published_at else float("-inf"),
            reverse=True,
        )
        views = [
            {
                "headline": entry.headline,
                "url": self.url(entry.path),
                "excerpt": make_excerpt(entry.excerpt) if entry.excerpt else "",
                "published_at": entry.published_at,
                "label": next((t.name for t in entry.tags if t.type == "topic"), ""),
            }
            for entry in ordered
        ]
        return self._index.render(
            lead=views[0] if views else None,
            top=views[1:5],
            latest=views[5:],
            generated_at=utc(generated_at),
            canonical=self.url(FRONT_PAGE_PATH),
            description=f"The latest news from {self.site_name}.",
        )


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
