"""Render's pages: the Jinja2 environment, every page kind's template, the feeds and sitemaps, and
the small view helpers they share. Pure: no streams, no Redis, no S3, no clock.

`PageRenderer` is built once per process (it holds the environment and its compiled templates).
Bodies from the wire are untrusted: `shared.html.body_blocks` runs them through an allow-list
before they reach a template (and `ListingEntry.content_html` is already sanitised), and every
other value is autoescaped by Jinja2 (HTML) or escaped by lxml (feeds and sitemaps).

Everything is deterministic: the same input renders the same bytes (publish compares hashes to
skip unchanged pages). Nothing reads the clock: a feed's `lastBuildDate` / `updated` is its newest
item's date (so a feed whose stories did not change keeps its bytes), and pages compare dates
with the time they are given.

Dates: listing pages and the front page show a date's year when it differs from the year of the
page's `generated_at`. Article pages always show the full date with its year: a story's page is
rendered once and read for years, so there is no "this year" to leave it out against.

Identifiers: a story's feed item id (RSS `guid isPermaLink="false"`, Atom `id`, JSON Feed `id`)
is `urn:wirepress:article:<article_id>`. The article id is fixed by the wire's guid, so the id is
the same for every version of the story, and stays the same if the site moves to another URL.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from lxml import etree
from markupsafe import Markup
from slugify import slugify

from services.render.site import (
    HOME,
    LISTED_TAG_TYPES,
    NEWS_MAX_STORIES,
    NOT_FOUND_PATH,
    SITEMAP_INDEX_PATH,
    FeedView,
    HomeView,
    ListingRef,
    ListingView,
    SiteInfo,
    SitemapShard,
    SitemapUrl,
    author_listing,
    month_listing,
    section_listing,
    tag_listing,
)
from shared.events import ArticleEnriched
from shared.html import body_blocks, excerpt_of, is_heading, make_excerpt
from shared.models import Author, Image, ListingEntry, RelatedLink, Section, Tag, utc
from shared.site import page_url

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: The front page's file in the site bucket.
FRONT_PAGE_PATH = HOME.index_path

#: The site's logo (the publisher logo of the JSON-LD, the feeds' icon) in the site bucket.
LOGO_PATH = "static/logo.svg"
#: Files the site ships as they are: bucket path -> (local file, media type). Publish them once.
STATIC_ASSETS: dict[str, tuple[Path, str]] = {
    LOGO_PATH: (STATIC_DIR / "logo.svg", "image/svg+xml"),
}
LOGO_SIZE = 512

#: Feed item ids: `ARTICLE_URN_PREFIX + article_id`.
ARTICLE_URN_PREFIX = "urn:wirepress:article:"

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"

RSS_TYPE = "application/rss+xml"
#: Feed items kept made (see `_feed_item`): a few thousand stories' worth, a few tens of MB.
FEED_ITEM_CACHE = 4096
ATOM_TYPE = "application/atom+xml"
JSON_FEED_TYPE = "application/feed+json"


# --- view helpers ----------------------------------------------------------------------------

TAG_TYPE_LABELS: dict[str, str] = {
    "person": "People",
    "organisation": "Organisations",
    "place": "Places",
    "topic": "Topics",
    "subject": "Subjects",
    "keyword": "Keywords",
}
_TAG_RANK = {kind: rank for rank, kind in enumerate(TAG_TYPE_LABELS)}

#: og:locale for a bare language tag: the region a reader of this site most likely has.
_LOCALES: dict[str, str] = {
    "en": "en_GB",
    "de": "de_DE",
    "fr": "fr_FR",
    "es": "es_ES",
    "it": "it_IT",
    "pt": "pt_PT",
    "nl": "nl_NL",
    "pl": "pl_PL",
    "uk": "uk_UA",
    "ru": "ru_RU",
    "sv": "sv_SE",
    "da": "da_DK",
    "nb": "nb_NO",
    "fi": "fi_FI",
    "cs": "cs_CZ",
    "ja": "ja_JP",
    "zh": "zh_CN",
}
_LANGUAGE_SPLIT = re.compile(r"[-_]")


def _seconds(value: datetime) -> datetime:
    return utc(value).replace(microsecond=0)


def iso(value: datetime | None) -> str:
    """W3C / RFC 3339 datetime in UTC to the second: '2026-06-27T12:30:05Z' (HTML `datetime`
    attributes, JSON-LD, sitemaps, JSON Feed)."""
    return _seconds(value).isoformat().replace("+00:00", "Z") if value is not None else ""


def format_date(value: datetime | None) -> str:
    """'3 March 2026, 14:05 UTC'."""
    if value is None:
        return ""
    value = utc(value)
    return f"{value.day} {value.strftime('%B %Y, %H:%M')} UTC"


def format_short_date(value: datetime | None, reference: datetime | None = None) -> str:
    """'3 Mar, 14:05'; '3 Mar 2025, 14:05' when the year is not `reference`'s."""
    if value is None:
        return ""
    value = utc(value)
    if reference is not None and utc(reference).year != value.year:
        return f"{value.day} {value.strftime('%b %Y, %H:%M')}"
    return f"{value.day} {value.strftime('%b, %H:%M')}"


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


def authors_of(byline: str | None) -> list[Author]:
    """The authors a byline names, each once, with the slug of their author page. Render's
    handlers build listing entries with this, so article pages and author listings agree."""
    authors: list[Author] = []
    seen: set[str] = set()
    for name in author_names(byline):
        slug = slugify(name)
        if slug and slug not in seen:
            seen.add(slug)
            authors.append(Author(name=name, slug=slug))
    return authors


def og_locale(language: str) -> str:
    """og:locale (`language_TERRITORY`) for a BCP 47 tag: 'en-US' -> 'en_US', 'en' -> 'en_GB';
    a language with no usual region here is given bare ('cy')."""
    parts = _LANGUAGE_SPLIT.split(language.strip())
    lang = parts[0].lower() or "en"
    region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    if region:
        return f"{lang}_{region}"
    return _LOCALES.get(lang, lang)


def news_language(language: str) -> str:
    """The Google News sitemap's language: the ISO 639 code, except zh-cn / zh-tw."""
    parts = [p.lower() for p in _LANGUAGE_SPLIT.split(language.strip())]
    if parts[0] == "zh":
        traditional = any(p in ("tw", "hk", "mo", "hant") for p in parts[1:])
        return "zh-tw" if traditional else "zh-cn"
    return parts[0] or "en"


def article_urn(article_id: str) -> str:
    """A story's feed item id: the same for every version of it, wherever the site lives."""
    return ARTICLE_URN_PREFIX + article_id


def unique_names(names: Iterable[str]) -> list[str]:
    """Names each once, compared case-insensitively (the first spelling is kept)."""
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        name = " ".join(name.split())
        key = name.casefold()
        if key and key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


def distinct_tags(tags: Iterable[Tag]) -> list[Tag]:
    """Each tag name once (case-insensitively), as the most specific type it is tagged with
    (a name that is both a place and a keyword is the place), in the order names first come."""
    best: dict[str, Tag] = {}
    for tag in tags:
        key = " ".join(tag.name.split()).casefold()
        if not key:
            continue
        kept = best.get(key)
        if kept is None or _TAG_RANK[tag.type] < _TAG_RANK[kept.type]:
            best[key] = tag
    return list(best.values())


def tag_of(ref: ListingRef, entries: Iterable[ListingEntry]) -> Tag | None:
    """The tag a tag listing is of, found on its stories (a listing names only its slug)."""
    if ref.kind != "tag":
        return None
    for entry in entries:
        for tag in entry.tags:
            if tag_listing(tag).key == ref.key:
                return tag
    return None


def listing_title(ref: ListingRef) -> str:
    """What a listing is called: 'Politics', 'Stories tagged Kursk', 'Stories by Jane Doe',
    'August 2026', 'Latest news'."""
    if ref.kind == "tag":
        return f"Stories tagged {ref.title}"
    if ref.kind == "author":
        return f"Stories by {ref.title}"
    return ref.title


def _xml(root: etree._Element) -> str:
    text = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return text.decode("utf-8")


def _svg_data_uri(path: Path) -> str:
    return "data:image/svg+xml," + quote(" ".join(path.read_text("utf-8").split()), safe="")


class PageRenderer:
    """Renders every page kind of the site. Build once; templates are compiled once."""

    def __init__(self, site: SiteInfo) -> None:
        self.site = site
        self.site_url = site.url.rstrip("/")
        self.site_name = site.name
        self._feed_items: OrderedDict[tuple[str, datetime | None], Any] = OrderedDict()
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
        self.env.globals.update(
            site=site,
            site_name=site.name,
            front_url=self.url(FRONT_PAGE_PATH),
            home_rss_url=self.url(HOME.rss_path),
            favicon=_svg_data_uri(STATIC_ASSETS[LOGO_PATH][0]),
            nav=[
                {"slug": s.slug, "name": s.name, "url": self.url(section_listing(s).index_path)}
                for s in site.sections
            ],
        )
        self._article = self.env.get_template("article.html")
        self._home = self.env.get_template("index.html")
        self._listing = self.env.get_template("listing.html")
        self._not_found = self.env.get_template("404.html")

    def url(self, path: str) -> str:
        """Absolute URL of a bucket path."""
        return page_url(self.site_url, path)

    # -- what every page has

    def _page(
        self,
        *,
        title: str,
        description: str,
        path: str,
        language: str | None = None,
        feeds: Sequence[dict[str, str]] = (),
        og_title: str | None = None,
        og_type: str = "website",
        image: Image | None = None,
        json_ld: Sequence[dict[str, Any]] = (),
        robots: str | None = None,
        newer: str | None = None,
        older: str | None = None,
        current_section: str | None = None,
    ) -> dict[str, Any]:
        """The head and chrome of a page: title, canonical, Open Graph, cards, feeds, links."""
        language = language or self.site.language
        return {
            "title": title,
            "description": description,
            "canonical": self.url(path),
            "lang": language,
            "locale": og_locale(language),
            "feeds": list(feeds),
            "og_title": og_title or title,
            "og_type": og_type,
            "image": image,
            "twitter_card": "summary_large_image" if image else "summary",
            "json_ld": list(json_ld),
            "robots": robots,
            "prev_url": self.url(newer) if newer else None,
            "next_url": self.url(older) if older else None,
            "current_section": current_section,
        }

    def _feed_title(self, ref: ListingRef) -> str:
        return self.site_name if ref.kind == "home" else f"{listing_title(ref)} | {self.site_name}"

    def _feed_links(self, ref: ListingRef) -> list[dict[str, str]]:
        """The `<link rel="alternate">`s of a listing's feeds (none for a month)."""
        if not ref.has_feeds:
            return []
        title = self._feed_title(ref)
        links = [
            {"type": RSS_TYPE, "title": f"{title} (RSS)", "href": self.url(ref.rss_path)},
            {"type": ATOM_TYPE, "title": f"{title} (Atom)", "href": self.url(ref.atom_path)},
        ]
        if ref.json_feed_path:
            links.append(
                {
                    "type": JSON_FEED_TYPE,
                    "title": f"{title} (JSON Feed)",
                    "href": self.url(ref.json_feed_path),
                }
            )
        return links

    def _organization(self) -> dict[str, Any]:
        return {
            "@type": "Organization",
            "@id": f"{self.url(FRONT_PAGE_PATH)}#organization",
            "name": self.site_name,
            "url": self.url(FRONT_PAGE_PATH),
            "logo": {
                "@type": "ImageObject",
                "url": self.url(LOGO_PATH),
                "width": LOGO_SIZE,
                "height": LOGO_SIZE,
            },
        }

    def _section_view(self, section: Section | None) -> dict[str, str] | None:
        if section is None:
            return None
        return {
            "slug": section.slug,
            "name": section.name,
            "url": self.url(section_listing(section).index_path),
        }

    def _author_views(self, authors: Sequence[Author]) -> list[dict[str, str]]:
        """Authors with their pages and what follows each name: 'A, B and C'."""
        last = len(authors) - 1
        return [
            {
                "name": author.name,
                "url": self.url(author_listing(author.name, author.slug).index_path),
                "sep": ", " if i < last - 1 else (" and " if i == last - 1 else ""),
            }
            for i, author in enumerate(authors)
        ]

    def _entry_view(self, entry: ListingEntry) -> dict[str, Any]:
        return {
            "headline": entry.headline,
            "url": self.url(entry.path),
            "excerpt": make_excerpt(entry.excerpt) if entry.excerpt else "",
            "published_at": entry.published_at,
            "updated_at": entry.updated_at,
            "section": self._section_view(entry.section),
            "image": entry.image,
            "lang": entry.language,
        }

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

    def _tag_groups(self, tags: Sequence[Tag]) -> list[dict[str, Any]]:
        """Tags by type, each name once; listed types link to their tag pages."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for tag in tags:
            url = self.url(tag_listing(tag).index_path) if tag.type in LISTED_TAG_TYPES else None
            groups.setdefault(tag.type, []).append({"tag": tag, "url": url})
        return [
            {"type": kind, "label": label, "tags": groups[kind]}
            for kind, label in TAG_TYPE_LABELS.items()
            if kind in groups
        ]

    def _json_ld(
        self,
        event: ArticleEnriched,
        canonical: str,
        description: str,
        keywords: Sequence[str],
        authors: Sequence[dict[str, str]],
    ) -> dict[str, Any]:
        article = event.article
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": article.headline,
            "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
            "url": canonical,
            "inLanguage": article.language,
            "publisher": self._organization(),
        }
        if description:
            data["description"] = description
        if article.published_at:
            data["datePublished"] = iso(article.published_at)
        if article.versioncreated:
            # The version's own time: a correction is a new version, so this moves with it.
            data["dateModified"] = iso(article.versioncreated)
        if authors:
            data["author"] = [
                {"@type": "Person", "name": a["name"], "url": a["url"]} for a in authors
            ]
        if event.section is not None:
            data["articleSection"] = event.section.name
        if article.located:
            data["contentLocation"] = {"@type": "Place", "name": article.located}
        if keywords:
            data["keywords"] = list(keywords)
        if article.images:
            data["image"] = [image.href for image in article.images]
        return data

    def _breadcrumbs(self, section: dict[str, str] | None) -> dict[str, Any] | None:
        if section is None:
            return None
        return {
            "@context": "https://schema.org",
            "@type": "BreadcrumbList",
            "itemListElement": [
                {
                    "@type": "ListItem",
                    "position": 1,
                    "name": "Home",
                    "item": self.url("index.html"),
                },
                {
                    "@type": "ListItem",
                    "position": 2,
                    "name": section["name"],
                    "item": section["url"],
                },
            ],
        }

    def render_article(self, event: ArticleEnriched, blocks: Sequence[str] | None = None) -> str:
        """The full HTML page of one story (`blocks`: its body's, if already split)."""
        article = event.article
        blocks = list(blocks) if blocks is not None else body_blocks(article.body_html)
        description = excerpt_of(article.description, blocks)
        canonical = self.url(event.page_path)
        tags = distinct_tags(event.tags)
        keywords = unique_names([tag.name for tag in tags] or article.keywords)
        authors = self._author_views(authors_of(article.byline))
        section = self._section_view(event.section)
        feeds = self._feed_links(HOME)
        if event.section is not None:
            feeds += self._feed_links(section_listing(event.section))
        breadcrumbs = self._breadcrumbs(section)
        json_ld = [self._json_ld(event, canonical, description, keywords, authors)]
        lead_image = article.images[0] if article.images else None
        page = self._page(
            title=f"{article.headline} | {self.site_name}",
            og_title=article.headline,
            description=description,
            path=event.page_path,
            language=article.language,
            feeds=feeds,
            og_type="article",
            image=lead_image,
            json_ld=json_ld + ([breadcrumbs] if breadcrumbs else []),
            current_section=section["slug"] if section else None,
        )
        return self._article.render(
            page=page,
            article=article,
            byline=display_byline(article.byline),
            authors=authors,
            section=section,
            published_at=article.published_at,
            # The day a story was published links to everything else that month.
            archive_url=(
                self.url(month_listing(article.published_at).index_path)
                if article.published_at
                else None
            ),
            updated_at=article.versioncreated if event.corrected else None,
            segments=self._segments(blocks, [link for link in event.read_also if link.path]),
            tag_groups=self._tag_groups(tags),
            keywords=keywords,
            related=[self._link_view(link) for link in event.related if link.path],
            lead_image=lead_image,
        )

    # -- the front page

    def render_home(self, view: HomeView) -> str:
        """The front page: the top story, a block per section with stories (in the site's
        section order), the latest, and a link to older stories."""
        order = {section.slug: i for i, section in enumerate(self.site.sections)}
        blocks = sorted(
            ((section, stories) for section, stories in view.sections if stories),
            key=lambda block: order.get(block[0].slug, len(order)),
        )
        page = self._page(
            title=f"{self.site_name} \N{EN DASH} Latest news",
            description=self.site.description or f"The latest news from {self.site_name}.",
            path=FRONT_PAGE_PATH,
            feeds=self._feed_links(HOME),
            json_ld=[self._website(), {"@context": "https://schema.org", **self._organization()}],
            older=view.older_path,
        )
        return self._home.render(
            page=page,
            top=self._entry_view(view.top) if view.top else None,
            blocks=[
                {"section": self._section_view(s), "stories": [self._entry_view(e) for e in es]}
                for s, es in blocks
            ],
            latest=[self._entry_view(entry) for entry in view.latest],
            older_url=self.url(view.older_path) if view.older_path else None,
            generated_at=utc(view.generated_at),
        )

    def _website(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "WebSite",
            "name": self.site_name,
            "url": self.url(FRONT_PAGE_PATH),
            "inLanguage": self.site.language,
            "publisher": {"@id": f"{self.url(FRONT_PAGE_PATH)}#organization"},
        }
        if self.site.description:
            data["description"] = self.site.description
        return data

    # -- listings

    def _listing_description(self, ref: ListingRef, page: int | None) -> str:
        site = self.site_name
        text = {
            "home": self.site.description or f"The latest news from {site}.",
            "section": f"The latest {ref.title} news from {site}.",
            "tag": f"The latest stories about {ref.title} from {site}.",
            "author": f"The latest stories by {ref.title} on {site}.",
            "month": f"The stories {site} published in {ref.title}.",
        }[ref.kind]
        return f"{text} Page {page}." if page is not None else text

    def _collection(self, view: ListingView, title: str, canonical: str) -> dict[str, Any]:
        return {
            "@context": "https://schema.org",
            "@type": "CollectionPage",
            "name": title,
            "url": canonical,
            "isPartOf": {"@type": "WebSite", "name": self.site_name, "url": self.url("index.html")},
            "mainEntity": {
                "@type": "ItemList",
                "itemListElement": [
                    {
                        "@type": "ListItem",
                        "position": i,
                        "url": self.url(entry.path),
                        "name": entry.headline,
                    }
                    for i, entry in enumerate(view.entries, start=1)
                ],
            },
        }

    def render_listing(self, view: ListingView) -> str:
        """A listing's index (`view.page` None) or one of its archive pages."""
        ref = view.ref
        heading = listing_title(ref)
        title = heading if view.page is None else f"{heading} — page {view.page}"
        path = ref.index_path if view.page is None else ref.page_path(view.page)
        tag = tag_of(ref, view.entries)
        kicker = {"tag": TAG_TYPE_LABELS[tag.type] if tag else "", "month": "Archive"}
        page = self._page(
            title=f"{title} | {self.site_name}",
            og_title=title,
            description=self._listing_description(ref, view.page),
            path=path,
            feeds=self._feed_links(ref),
            json_ld=[self._collection(view, title, self.url(path))],
            newer=view.newer_path,
            older=view.older_path,
            current_section=ref.key.split("/", 1)[1] if ref.kind == "section" else None,
            robots=_listing_robots(ref, view.stories),
        )
        return self._listing.render(
            page=page,
            heading=heading,
            kicker=kicker.get(ref.kind, ""),
            page_number=view.page,
            entries=[self._entry_view(entry) for entry in view.entries],
            newer_url=page["prev_url"],
            older_url=page["next_url"],
            show_section=ref.kind != "section",
            generated_at=utc(view.generated_at),
        )

    def render_not_found(self) -> str:
        """404.html: the site's nav and a way home; not for search engines."""
        page = self._page(
            title=f"Page not found | {self.site_name}",
            description="The page you asked for is not here: it may have moved or been taken down.",
            path=NOT_FOUND_PATH,
            feeds=self._feed_links(HOME),
            robots="noindex",
        )
        return self._not_found.render(page=page)

    def render_robots(self) -> str:
        """robots.txt: everything may be crawled; the sitemap index says what there is (the
        months' shards and, while there is one, the Google News sitemap). Crawlers read
        robots.txt only at the root of a host: on a site under a path prefix it is published but
        not read."""
        sitemaps = (SITEMAP_INDEX_PATH,)
        lines = ["User-agent: *", "Allow: /", ""] + [f"Sitemap: {self.url(p)}" for p in sitemaps]
        return "\n".join(lines) + "\n"

    # -- feeds

    @staticmethod
    def _feed_updated(view: FeedView) -> datetime:
        """When the feed last changed: its newest item's date (not the clock, so a feed whose
        stories did not change keeps its bytes); `generated_at` for an empty feed."""
        dates = [e.updated_at or e.published_at for e in view.entries]
        known = [utc(d) for d in dates if d is not None]
        return _seconds(max(known) if known else view.generated_at)

    def _feed(self, view: FeedView) -> Any:
        """The feedgen feed of a listing, serialised once per format (`_feed_str`)."""
        ref = view.ref
        feed = FeedGenerator()
        feed.load_extension("dc", atom=False, rss=True)
        feed.id(self.url(ref.index_path))
        feed.title(self._feed_title(ref))
        feed.description(self._listing_description(ref, None))
        feed.language(self.site.language)
        feed.author({"name": self.site_name, "uri": self.url(FRONT_PAGE_PATH)})
        feed.generator(self.site_name)
        feed.icon(self.url(LOGO_PATH))
        updated = self._feed_updated(view)
        feed.updated(updated)  # Atom <updated> and RSS <lastBuildDate>
        for entry in view.entries:
            feed.add_entry(self._feed_item(entry, updated), order="append")
        return feed

    def _feed_str(self, feed: Any, view: FeedView, self_path: str, self_type: str) -> str:
        links = [
            {"href": self.url(self_path), "rel": "self", "type": self_type},
            # RSS <link>: the last one
            {"href": self.url(view.ref.index_path), "rel": "alternate", "type": "text/html"},
        ]
        feed.link(links, replace=True)
        if self_type == RSS_TYPE:
            return bytes(feed.rss_str(pretty=True)).decode("utf-8")
        return bytes(feed.atom_str(pretty=True)).decode("utf-8")

    def _feed_item(self, entry: ListingEntry, fallback: datetime) -> Any:
        """A story's feed item, made once and shared by every feed that lists it: a story is in
        some 30 feeds (its section's, its tags', its authors'), and making an item costs more
        than writing it out. Keyed by everything the item is made from."""
        # The feed's own time stands in only for a story with no date of its own.
        dated = entry.updated_at or entry.published_at
        key = (entry.model_dump_json(), None if dated is not None else fallback)
        item = self._feed_items.get(key)
        if item is not None:
            self._feed_items.move_to_end(key)
            return item
        item = FeedEntry()
        item.load_extension("dc", atom=False, rss=True)
        item.id(article_urn(entry.article_id))  # RSS: <guid isPermaLink="false">
        item.title(entry.headline)
        item.link(href=self.url(entry.path), rel="alternate", type="text/html")
        if entry.published_at is not None:
            item.published(_seconds(entry.published_at))
        modified = entry.updated_at or entry.published_at
        item.updated(_seconds(modified) if modified is not None else fallback)
        for author in entry.authors or authors_of(entry.byline):
            url = self.url(author_listing(author.name, author.slug).index_path)
            item.author({"name": author.name, "uri": url})
            item.dc.dc_creator(author.name)  # RSS only
        terms = unique_names(
            ([entry.section.name] if entry.section else [])
            + [tag.name for tag in distinct_tags(entry.tags)]
        )
        if terms:
            item.category([{"term": term} for term in terms])
        if entry.excerpt:
            item.summary(entry.excerpt)  # RSS <description>, Atom <summary>
        if entry.content_html:
            # RSS <content:encoded>, Atom <content type="html">: escaped HTML, already clean
            item.content(entry.content_html, type="html")
        self._feed_items[key] = item
        if len(self._feed_items) > FEED_ITEM_CACHE:
            self._feed_items.popitem(last=False)
        return item

    def render_feeds(self, view: FeedView) -> tuple[str, str]:
        """RSS 2.0 and Atom 1.0 of one listing, from one set of items, with the whole stories
        (RSS `content:encoded`, Atom `content type="html"`)."""
        feed = self._feed(view)
        rss = self._feed_str(feed, view, view.ref.rss_path, RSS_TYPE)
        return rss, self._feed_str(feed, view, view.ref.atom_path, ATOM_TYPE)

    def render_rss(self, view: FeedView) -> str:
        """RSS 2.0, with the whole stories in `content:encoded`."""
        return self._feed_str(self._feed(view), view, view.ref.rss_path, RSS_TYPE)

    def render_atom(self, view: FeedView) -> str:
        """Atom 1.0, with the whole stories in `content type="html"`."""
        return self._feed_str(self._feed(view), view, view.ref.atom_path, ATOM_TYPE)

    def _json_item(self, entry: ListingEntry) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": article_urn(entry.article_id),
            "url": self.url(entry.path),
            "title": entry.headline,
        }
        if entry.content_html:
            item["content_html"] = entry.content_html
        else:
            item["content_text"] = entry.excerpt or entry.headline
        if entry.excerpt:
            item["summary"] = entry.excerpt
        if entry.image is not None:
            item["image"] = entry.image.href
        if entry.published_at is not None:
            item["date_published"] = iso(entry.published_at)
        if entry.updated_at is not None or entry.published_at is not None:
            item["date_modified"] = iso(entry.updated_at or entry.published_at)
        authors = self._author_views(entry.authors or authors_of(entry.byline))
        if authors:
            item["authors"] = [{"name": a["name"], "url": a["url"]} for a in authors]
        tags = unique_names(
            ([entry.section.name] if entry.section else [])
            + [tag.name for tag in distinct_tags(entry.tags)]
        )
        if tags:
            item["tags"] = tags
        item["language"] = entry.language
        return item

    def render_json_feed(self, view: FeedView) -> str:
        """JSON Feed 1.1 (the home listing's)."""
        ref = view.ref
        if ref.json_feed_path is None:
            raise ValueError(f"listing {ref.key!r} has no JSON feed")
        data = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": self._feed_title(ref),
            "home_page_url": self.url(ref.index_path),
            "feed_url": self.url(ref.json_feed_path),
            "description": self._listing_description(ref, None),
            "icon": self.url(LOGO_PATH),
            "favicon": self.url(LOGO_PATH),
            "language": self.site.language,
            "authors": [{"name": self.site_name, "url": self.url(FRONT_PAGE_PATH)}],
            "items": [self._json_item(entry) for entry in view.entries],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    # -- sitemaps

    def _urls(
        self, tag: str, items: Iterable[SitemapUrl | SitemapShard], default: datetime | None
    ) -> str:
        root = etree.Element(f"{{{SITEMAP_NS}}}{tag}", nsmap={None: SITEMAP_NS})
        child = "url" if tag == "urlset" else "sitemap"
        for item in items:
            element = etree.SubElement(root, f"{{{SITEMAP_NS}}}{child}")
            etree.SubElement(element, f"{{{SITEMAP_NS}}}loc").text = self.url(item.path)
            lastmod = item.lastmod or default
            if lastmod is not None:
                etree.SubElement(element, f"{{{SITEMAP_NS}}}lastmod").text = iso(lastmod)
        return _xml(root)

    def render_sitemap(self, urls: Sequence[SitemapUrl]) -> str:
        """A `<urlset>` (a month's shard): absolute locations, each with its lastmod if known."""
        return self._urls("urlset", urls, None)

    def render_sitemap_index(self, shards: Sequence[SitemapShard], generated_at: datetime) -> str:
        """The `<sitemapindex>`: a shard whose lastmod is not known is given `generated_at`."""
        return self._urls("sitemapindex", shards, generated_at)

    def render_news_sitemap(self, entries: Sequence[ListingEntry]) -> str:
        """The Google News sitemap of the stories given (the caller picks the recent ones; at
        most NEWS_MAX_STORIES are written; a story with no publication date is left out). With
        no stories it is an empty `<urlset/>`, which Google accepts but the XSD does not."""
        root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS, "news": NEWS_NS})
        dated = [entry for entry in entries if entry.published_at is not None]
        for entry in dated[:NEWS_MAX_STORIES]:
            url = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
            etree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = self.url(entry.path)
            news = etree.SubElement(url, f"{{{NEWS_NS}}}news")
            publication = etree.SubElement(news, f"{{{NEWS_NS}}}publication")
            etree.SubElement(publication, f"{{{NEWS_NS}}}name").text = self.site_name
            language = etree.SubElement(publication, f"{{{NEWS_NS}}}language")
            language.text = news_language(entry.language)
            date = etree.SubElement(news, f"{{{NEWS_NS}}}publication_date")
            date.text = iso(entry.published_at)
            etree.SubElement(news, f"{{{NEWS_NS}}}title").text = entry.headline
        return _xml(root)


#: A tag page with fewer stories than this says nothing its one story does not.
MIN_INDEXED_TAG_STORIES = 2


def _listing_robots(ref: ListingRef, stories: int) -> str | None:
    """Thin listings (a tag of one story, a section with none yet) stay out of search
    indexes, as Yoast advises for thin archives; readers still reach them from the tag chips
    and the menu, and crawlers still follow their links."""
    if stories == 0 or (ref.kind == "tag" and stories < MIN_INDEXED_TAG_STORIES):
        return "noindex, follow"
    return None
