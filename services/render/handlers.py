"""Render: article pages and the front page, from enriched stories. Pure: no streams, no S3.

`PageRenderer` is built once per process (it holds the Jinja2 environment and its compiled
templates); `handle_enriched` and `render_site_index` turn events / front-page entries into the
events the publish service writes out.

Bodies from the wire are untrusted: `sanitize_body` runs them through an allow-list before they
reach a template, and every other value is autoescaped by Jinja2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field

from shared.events import ArticleEnriched, ArticleRendered, SitePageRendered
from shared.html import make_excerpt, plain_text, sanitize_body, split_blocks
from shared.keys import FRONT_PAGE
from shared.models import Article, RelatedLink, Tag, utc

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

EXCERPT_CHARS = 200
_HEADING = re.compile(r"\s*<(h[1-6])\b", re.IGNORECASE)
FRONT_PAGE_LIMIT = 60


def _is_heading(block: str) -> bool:
    return _HEADING.match(block) is not None


def article_excerpt(article: Article, blocks: Sequence[str] | None = None) -> str:
    """A ~200-character plain-text summary: the description, else the first real paragraph."""
    if article.description and article.description.strip():
        return make_excerpt(plain_text(article.description))
    if blocks is None:
        blocks = split_blocks(sanitize_body(article.body_html))
    for block in blocks:
        if _is_heading(block):
            continue
        text = plain_text(block)
        if text:
            return make_excerpt(text)
    return ""


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


class FrontPageEntry(BaseModel):
    """One story on the front page, as publish lists it on the site."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    headline: str
    path: str
    excerpt: str = ""
    published_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)


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
        self.env.globals["front_url"] = self.url("index.html")
        self._article = self.env.get_template("article.html")
        self._index = self.env.get_template("index.html")

    def url(self, path: str) -> str:
        """Absolute URL of a site page."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.site_url}/{path.lstrip('/')}"

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
            while index < last and _is_heading(blocks[index]):
                index += 1
            after.setdefault(index, []).append(self._link_view(link))
        return [
            {"html": Markup(block), "read_also": after.get(i, [])} for i, block in enumerate(blocks)
        ]

    def _link_view(self, link: RelatedLink) -> dict[str, Any]:
        return {
            "headline": link.headline,
            "url": self.url(link.path),
            "excerpt": make_excerpt(plain_text(link.excerpt)) if link.excerpt else "",
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

    def render_article(self, event: ArticleEnriched) -> str:
        """The full HTML page of one story."""
        article = event.article
        blocks = split_blocks(sanitize_body(article.body_html))
        description = article_excerpt(article, blocks)
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

    def render_front_page(self, entries: Sequence[FrontPageEntry], generated_at: datetime) -> str:
        """The front page: the newest story as the lead, then the next few, then a list."""
        ordered = sorted(
            entries,
            key=lambda e: utc(e.published_at).timestamp() if e.published_at else float("-inf"),
            reverse=True,
        )[:FRONT_PAGE_LIMIT]
        views = [
            {
                "headline": entry.headline,
                "url": self.url(entry.path),
                "excerpt": make_excerpt(entry.excerpt) if entry.excerpt else "",
                "published_at": entry.published_at,
                "tags": entry.tags[:3],
            }
            for entry in ordered
        ]
        return self._index.render(
            lead=views[0] if views else None,
            top=views[1:5],
            latest=views[5:],
            generated_at=utc(generated_at),
            canonical=self.url("index.html"),
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
    blocks = split_blocks(sanitize_body(article.body_html))
    return ArticleRendered(
        **common,
        html=renderer.render_article(event),
        withdrawn=False,
        excerpt=article_excerpt(article, blocks),
    )


def render_site_index(
    entries: Sequence[FrontPageEntry],
    generation: int,
    generated_at: datetime,
    renderer: PageRenderer,
) -> SitePageRendered:
    """The front page as an event for publish. It is ordered by the site generation it was
    rendered from (publish bumps it on every change to the list), so an older render never
    replaces a newer one."""
    return SitePageRendered(
        article_id="site:index",
        guid="site:index",
        version=str(generation),
        ordering=f"{generation:020d}",
        page_path=FRONT_PAGE,
        html=renderer.render_front_page(entries, utc(generated_at)),
    )
