"""Render's pages: the Jinja2 environment, every page kind's template, and the small view
helpers they share. Pure: no streams, no Redis, no S3.

`PageRenderer` is built once per process (it holds the environment and its compiled templates).
Bodies from the wire are untrusted: `shared.html.body_blocks` runs them through an allow-list
before they reach a template, and every other value is autoescaped by Jinja2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from shared.events import ArticleEnriched
from shared.html import body_blocks, excerpt_of, is_heading, make_excerpt
from shared.models import ListingEntry, RelatedLink, Tag, utc
from shared.site import page_url

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
