"""Every page kind of the site, rendered from small views: HTML pages (article, home, listings,
404), robots.txt, the feeds (RSS 2.0, Atom 1.0, JSON Feed 1.1) and the sitemaps."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree
from lxml import html as lxml_html

from services.render.pages import (
    LOGO_PATH,
    STATIC_ASSETS,
    PageRenderer,
    authors_of,
    news_language,
    og_locale,
)
from services.render.site import (
    HOME,
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
from shared.models import Article, Author, Image, ListingEntry, RelatedLink, Section, Tag

pytestmark = pytest.mark.unit

SITE = "https://news.example.com"
SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "sitemaps"
NOW = datetime(2026, 8, 14, 9, 30, 15, 987654, tzinfo=UTC)

WORLD = Section(slug="world", name="World")
POLITICS = Section(slug="politics", name="Politics")
BUSINESS = Section(slug="business", name="Business")
SECTIONS = (WORLD, POLITICS, BUSINESS)

KURSK = Tag(type="place", name="Kursk", slug="place-kursk")
KURSK_KEYWORD = Tag(type="keyword", name="kursk", slug="keyword-kursk")
ZELENSKY = Tag(type="person", name="Volodymyr Zelensky", slug="person-volodymyr-zelensky")
CONFLICT = Tag(type="subject", name="Armed conflict", slug="subject-armed-conflict")
JANE = Author(name="Jane Doe", slug="jane-doe")
JOHN = Author(name="John Smith", slug="john-smith")
IMAGE = Image(href="https://cdn.example.com/kursk.jpg", caption="Troops", width=1200, height=800)


@pytest.fixture(scope="module")
def renderer() -> PageRenderer:
    return PageRenderer(SiteInfo(url=SITE + "/", name="Wirepress", sections=SECTIONS))


def entry(number: int, **fields: Any) -> ListingEntry:
    values: dict[str, Any] = {
        "article_id": f"{number:016x}",
        "headline": f"Story {number} & <co>",
        "path": f"2026/08/story-{number}-{number:08x}/index.html",
        "excerpt": f"What happened in story {number}.",
        "published_at": NOW - timedelta(hours=number),
        "byline": "By Jane Doe",
        "tags": [KURSK, KURSK_KEYWORD, ZELENSKY, CONFLICT],
        "section": POLITICS,
        "authors": [JANE],
        "content_html": f"<p>The whole of story {number} &amp; more.</p><p>Second.</p>",
    }
    values.update(fields)
    return ListingEntry(**values)


def stories() -> list[ListingEntry]:
    """Newest first: one with an image, one corrected, one from last year, one in German."""
    return [
        entry(1, image=IMAGE),
        entry(2, section=WORLD, updated_at=NOW - timedelta(minutes=5), authors=[JANE, JOHN]),
        entry(3, published_at=datetime(2025, 12, 30, 18, 0, tzinfo=UTC), section=BUSINESS),
        entry(4, language="de", section=None, tags=[], authors=[], byline=None, content_html=""),
    ]


def doc(page: str) -> Any:
    return lxml_html.document_fromstring(page)


def meta(tree: Any, key: str) -> list[str]:
    found = tree.xpath(f'//meta[@property="{key}" or @name="{key}"]/@content')
    return [str(value) for value in found]


def json_ld(tree: Any) -> list[dict[str, Any]]:
    return [json.loads(s.text) for s in tree.cssselect('script[type="application/ld+json"]')]


def alternates(tree: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for link in tree.cssselect('link[rel="alternate"]'):
        found.setdefault(link.get("type"), []).append(link.get("href"))
    return found


def accessible_name(tree: Any, element: Any) -> str:
    if element.get("aria-label"):
        return str(element.get("aria-label"))
    ids = (element.get("aria-labelledby") or "").split()
    return " ".join(tree.get_element_by_id(i).text_content().strip() for i in ids)


def check_html_page(page: str, canonical: str, lang: str = "en") -> Any:
    """What every HTML page has; the parsed page."""
    assert page.startswith("<!doctype html>")
    tree = doc(page)
    assert tree.get("lang") == lang
    assert tree.cssselect('link[rel="canonical"]')[0].get("href") == canonical
    assert meta(tree, "og:url") == [canonical]
    assert meta(tree, "og:site_name") == ["Wirepress"]
    for key in ("og:title", "og:description", "og:type", "og:locale", "twitter:card"):
        assert len(meta(tree, key)) == 1, key
    assert meta(tree, "og:locale")[0] == og_locale(lang)
    card = "summary_large_image" if meta(tree, "og:image") else "summary"
    assert meta(tree, "twitter:card") == [card]
    (icon,) = tree.cssselect('link[rel="icon"]')
    assert icon.get("href").startswith("data:image/svg+xml,")
    # header: the site name home, and a nav of the sections
    (header,) = tree.xpath("/html/body/header")
    assert header.cssselect("a.masthead__name")[0].get("href") == f"{SITE}/index.html"
    nav = header.cssselect('nav[aria-label="Sections"] a')
    assert [(a.text_content(), a.get("href")) for a in nav] == [
        (s.name, f"{SITE}/section/{s.slug}/index.html") for s in SECTIONS
    ]
    assert tree.xpath("/html/body/footer[@class='site-footer']")
    assert len(tree.xpath("//main")) == 1 and len(tree.xpath("//h1")) == 1
    # explicit index.html paths: plain S3 serves no directory index
    for href in tree.xpath("//a[@class!='skip']/@href | //link[@rel!='icon']/@href"):
        assert href.startswith(SITE + "/"), href
        assert re.search(r"\.(html|xml|json)$", href), href
    # <time datetime> to the second (the HTML spec takes at most three fraction digits)
    for value in tree.xpath("//time/@datetime"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value), value
    ids = tree.xpath("//@id")
    assert len(ids) == len(set(ids)), "ids are unique"
    # every landmark of a kind has its own accessible name
    for kind in ("aside", "nav", "section"):
        names = [accessible_name(tree, e) for e in tree.iter(kind)]
        assert all(names) and len(names) == len(set(names)), (kind, names)
    return tree


# --- article pages ---------------------------------------------------------------------------

BODY = "<p>One.</p><p>Two.</p><h2>Sub</h2><p>Three.</p><p>Four.</p>"
FIRST = datetime(2026, 8, 14, 6, 0, 0, 250000, tzinfo=UTC)


def article_event(**fields: Any) -> ArticleEnriched:
    article = Article(
        guid="urn:test:kursk",
        version=str(fields.pop("version", "1")),
        headline="Ukraine pushes into Kursk",
        byline="By Jane Doe and John Smith in Kyiv",
        body_html=BODY,
        firstcreated=FIRST,
        versioncreated=fields.pop("versioncreated", FIRST),
        located="Kyiv",
        keywords=["Kursk", "kursk", "KURSK", "War"],
        images=fields.pop("images", [IMAGE]),
    )
    values: dict[str, Any] = {
        "article_id": article.article_id,
        "guid": article.guid,
        "version": article.version,
        "article": article,
        "ordering": article.ordering,
        "page_path": "2026/08/ukraine-pushes-into-kursk-5d41402a/index.html",
        "tags": [KURSK, KURSK_KEYWORD, ZELENSKY, CONFLICT, KURSK],
        "section": POLITICS,
        "read_also": [
            RelatedLink(
                article_id="a", headline="Drone strikes", path="a/index.html", after_paragraph=0
            ),
            RelatedLink(
                article_id="b", headline="Prisoner swap", path="b/index.html", after_paragraph=3
            ),
        ],
        "related": [RelatedLink(article_id="c", headline="EU sanctions", path="c/index.html")],
    }
    values.update(fields)
    return ArticleEnriched(**values)


def news_article(tree: Any) -> dict[str, Any]:
    (data,) = [d for d in json_ld(tree) if d["@type"] == "NewsArticle"]
    return data


def test_article_page_has_what_every_page_has(renderer: PageRenderer) -> None:
    event = article_event()
    tree = check_html_page(renderer.render_article(event), f"{SITE}/{event.page_path}")
    assert meta(tree, "og:type") == ["article"]
    assert meta(tree, "og:image") == [IMAGE.href]
    assert meta(tree, "twitter:card") == ["summary_large_image"]
    assert alternates(tree) == {
        "application/rss+xml": [f"{SITE}/feed.xml", f"{SITE}/section/politics/feed.xml"],
        "application/atom+xml": [f"{SITE}/atom.xml", f"{SITE}/section/politics/atom.xml"],
        "application/feed+json": [f"{SITE}/feed.json"],
    }
    current = tree.cssselect('nav[aria-label="Sections"] a[aria-current="page"]')
    assert [a.text_content() for a in current] == ["Politics"]


def test_article_without_image_or_section(renderer: PageRenderer) -> None:
    event = article_event(images=[], section=None)
    tree = check_html_page(renderer.render_article(event), f"{SITE}/{event.page_path}")
    assert meta(tree, "twitter:card") == ["summary"] and not meta(tree, "og:image")
    assert not tree.cssselect('nav[aria-label="Breadcrumb"]')
    assert [d["@type"] for d in json_ld(tree)] == ["NewsArticle"]
    assert "image" not in news_article(tree) and "articleSection" not in news_article(tree)
    assert list(alternates(tree)["application/rss+xml"]) == [f"{SITE}/feed.xml"]


def test_article_json_ld(renderer: PageRenderer) -> None:
    event = article_event()
    data = news_article(doc(renderer.render_article(event)))
    assert data["headline"] == "Ukraine pushes into Kursk"
    assert data["image"] == [IMAGE.href]
    assert data["datePublished"] == "2026-08-14T06:00:00Z"
    assert data["dateModified"] == "2026-08-14T06:00:00Z"
    assert data["articleSection"] == "Politics"
    assert data["author"] == [
        {"@type": "Person", "name": "Jane Doe", "url": f"{SITE}/authors/jane-doe/index.html"},
        {"@type": "Person", "name": "John Smith", "url": f"{SITE}/authors/john-smith/index.html"},
    ]
    publisher = data["publisher"]
    assert publisher["@type"] == "Organization" and publisher["name"] == "Wirepress"
    assert publisher["url"] == f"{SITE}/index.html"
    assert publisher["logo"]["url"] == f"{SITE}/{LOGO_PATH}"
    # each term once, whatever its case or tag type
    assert data["keywords"] == ["Kursk", "Volodymyr Zelensky", "Armed conflict"]


def test_a_correction_moves_date_modified_only(renderer: PageRenderer) -> None:
    fixed = FIRST + timedelta(hours=2)
    event = article_event(version="2", versioncreated=fixed, corrected=True)
    tree = doc(renderer.render_article(event))
    data = news_article(tree)
    assert data["datePublished"] == "2026-08-14T06:00:00Z"
    assert data["dateModified"] == "2026-08-14T08:00:00Z"
    assert meta(tree, "article:published_time") == ["2026-08-14T06:00:00Z"]
    assert meta(tree, "article:modified_time") == ["2026-08-14T08:00:00Z"]
    assert tree.cssselect(".story__updated time")[0].get("datetime") == "2026-08-14T08:00:00Z"


def test_article_meta_tags_and_chips_name_each_tag_once(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_article(article_event()))
    assert meta(tree, "article:section") == ["Politics"]
    assert meta(tree, "article:tag") == ["Kursk", "Volodymyr Zelensky", "Armed conflict"]
    chips = tree.cssselect(".tags .tag")
    assert [c.text_content() for c in chips] == ["Volodymyr Zelensky", "Kursk", "Armed conflict"]
    linked = {c.text_content(): c.get("href") for c in chips if c.tag == "a"}
    assert linked == {
        "Volodymyr Zelensky": f"{SITE}/{tag_listing(ZELENSKY).index_path}",
        "Kursk": f"{SITE}/{tag_listing(KURSK).index_path}",
    }
    # subjects get no page: plain text
    assert [c.tag for c in chips if c.text_content() == "Armed conflict"] == ["span"]


def test_article_breadcrumbs_and_author_links(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_article(article_event()))
    (crumbs,) = tree.cssselect('nav[aria-label="Breadcrumb"]')
    assert [(a.text_content(), a.get("href")) for a in crumbs.cssselect("a")] == [
        ("Home", f"{SITE}/index.html"),
        ("Politics", f"{SITE}/section/politics/index.html"),
    ]
    (trail,) = [d for d in json_ld(tree) if d["@type"] == "BreadcrumbList"]
    assert [(i["position"], i["name"], i["item"]) for i in trail["itemListElement"]] == [
        (1, "Home", f"{SITE}/index.html"),
        (2, "Politics", f"{SITE}/section/politics/index.html"),
    ]
    (byline,) = tree.cssselect(".story__byline")
    assert byline.text_content() == "By Jane Doe and John Smith"
    assert [a.get("href") for a in byline.cssselect("a")] == [
        f"{SITE}/{author_listing('Jane Doe', 'jane-doe').index_path}",
        f"{SITE}/{author_listing('John Smith', 'john-smith').index_path}",
    ]


def test_each_read_also_has_its_own_accessible_name(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_article(article_event()))
    names = [aside.get("aria-label") for aside in tree.cssselect("aside.read-also")]
    assert names == ["Read also: Drone strikes", "Read also: Prisoner swap"]


def test_article_dates_always_carry_the_year(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_article(article_event()))
    assert tree.cssselect(".story__meta time")[0].text_content() == "14 August 2026, 06:00 UTC"


def test_authors_of_a_byline() -> None:
    assert authors_of("By Jane Doe, John Smith and Jane Doe in Kyiv") == [JANE, JOHN]
    assert authors_of("by José Ñúñez") == [Author(name="José Ñúñez", slug="jose-nunez")]
    assert authors_of(None) == [] and authors_of("  ") == []


def test_locales() -> None:
    assert og_locale("en") == "en_GB" and og_locale("en-US") == "en_US"
    assert og_locale("uk") == "uk_UA" and og_locale("cy") == "cy"
    assert news_language("en-GB") == "en" and news_language("zh-Hant-TW") == "zh-tw"
    assert news_language("zh") == "zh-cn"


# --- the front page --------------------------------------------------------------------------


def home_view(**fields: Any) -> HomeView:
    listed = stories()
    values: dict[str, Any] = {
        "top": listed[0],
        # out of the site's order, and one without stories
        "sections": [(BUSINESS, [listed[2]]), (WORLD, []), (POLITICS, [listed[0], listed[1]])],
        "latest": listed[1:],
        "older_path": HOME.page_path(7),
        "generated_at": NOW,
    }
    values.update(fields)
    return HomeView(**values)


def test_home_page(renderer: PageRenderer) -> None:
    tree = check_html_page(renderer.render_home(home_view()), f"{SITE}/index.html")
    (lead,) = tree.cssselect("main .lead")
    kicker = lead.cssselect(".label")[0]
    assert (kicker.text_content(), kicker.get("href")) == (
        "Politics",
        f"{SITE}/section/politics/index.html",
    )
    assert lead.cssselect("h2 a")[0].text_content() == "Story 1 & <co>"
    assert "What happened in story 1." in lead.text_content()
    blocks = tree.cssselect("main section.block")
    assert [b.cssselect("h2 a")[0].get("href") for b in blocks] == [
        f"{SITE}/section/politics/index.html",
        f"{SITE}/section/business/index.html",
    ]
    assert [len(b.cssselect("li")) for b in blocks] == [2, 1]
    latest = tree.cssselect("ul.latest a")
    assert [a.text_content() for a in latest] == [f"Story {i} & <co>" for i in (2, 3, 4)]
    (older,) = tree.cssselect("main .pager a")
    assert older.text_content().startswith("Older stories")
    assert older.get("href") == f"{SITE}/page/7/index.html"
    assert tree.cssselect('link[rel="next"]')[0].get("href") == f"{SITE}/page/7/index.html"
    kinds = {d["@type"]: d for d in json_ld(tree)}
    assert kinds["WebSite"]["url"] == f"{SITE}/index.html"
    assert kinds["Organization"]["logo"]["url"] == f"{SITE}/{LOGO_PATH}"
    assert alternates(tree)["application/feed+json"] == [f"{SITE}/feed.json"]


def test_home_dates_show_the_year_only_when_it_is_not_this_one(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_home(home_view()))
    shown = {t.get("datetime"): t.text_content() for t in tree.cssselect("ul.latest time")}
    assert shown["2025-12-30T18:00:00Z"] == "30 Dec 2025, 18:00"
    assert shown["2026-08-14T07:30:15Z"] == "14 Aug, 07:30"


def test_a_story_in_another_language_says_so(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_home(home_view()))
    (german,) = tree.cssselect('ul.latest li[lang="de"]')
    assert "Story 4" in german.text_content()


def test_empty_home_page(renderer: PageRenderer) -> None:
    view = home_view(top=None, sections=[], latest=[], older_path=None)
    tree = check_html_page(renderer.render_home(view), f"{SITE}/index.html")
    assert "No stories yet" in tree.text_content()
    assert not tree.cssselect('link[rel="next"]') and not tree.cssselect(".pager")


# --- listing pages ---------------------------------------------------------------------------


def listing_view(ref: ListingRef, page: int | None = None, **fields: Any) -> ListingView:
    values: dict[str, Any] = {
        "ref": ref,
        "entries": stories(),
        "page": page,
        "pages": 5,
        "stories": 120,
        "newer_path": None if page is None else ref.page_path(page + 1),
        "older_path": ref.page_path(5) if page is None else ref.page_path(page - 1),
        "generated_at": NOW,
    }
    values.update(fields)
    return ListingView(**values)


@pytest.mark.parametrize(
    ("ref", "heading"),
    [
        (section_listing(POLITICS), "Politics"),
        (tag_listing(KURSK), "Stories tagged Kursk"),
        (author_listing("Jane Doe", "jane-doe"), "Stories by Jane Doe"),
        (month_listing(NOW), "August 2026"),
        (HOME, "Latest news"),
    ],
)
def test_listing_titles(renderer: PageRenderer, ref: ListingRef, heading: str) -> None:
    tree = check_html_page(renderer.render_listing(listing_view(ref)), f"{SITE}/{ref.index_path}")
    assert tree.findtext(".//title") == f"{heading} | Wirepress"
    assert tree.cssselect("h1")[0].text_content() == heading
    archive = doc(renderer.render_listing(listing_view(ref, page=3)))
    assert archive.findtext(".//title") == f"{heading} — page 3 | Wirepress"
    assert "page 3" in archive.cssselect("h1")[0].text_content()


def test_a_tag_listing_says_what_kind_of_tag(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_listing(listing_view(tag_listing(ZELENSKY))))
    assert tree.cssselect(".listing__header .label")[0].text_content() == "People"


def test_listing_archive_page(renderer: PageRenderer) -> None:
    ref = section_listing(POLITICS)
    canonical = f"{SITE}/section/politics/page/3/index.html"
    tree = check_html_page(renderer.render_listing(listing_view(ref, page=3)), canonical)
    assert tree.cssselect('link[rel="prev"]')[0].get("href") == f"{SITE}/{ref.page_path(4)}"
    assert tree.cssselect('link[rel="next"]')[0].get("href") == f"{SITE}/{ref.page_path(2)}"
    newer, older = tree.cssselect('nav[aria-label="Pagination"] a')
    assert newer.text_content().startswith("← Newer") and newer.get("rel") == "prev"
    assert older.text_content().startswith("Older") and older.get("rel") == "next"
    headlines = [a.text_content() for a in tree.cssselect("ul.listing h2 a")]
    assert headlines == [f"Story {i} & <co>" for i in (1, 2, 3, 4)]
    assert "What happened in story 2." in tree.cssselect("ul.listing")[0].text_content()
    assert alternates(tree) == {
        "application/rss+xml": [f"{SITE}/section/politics/feed.xml"],
        "application/atom+xml": [f"{SITE}/section/politics/atom.xml"],
    }
    (collection,) = json_ld(tree)
    assert collection["@type"] == "CollectionPage" and collection["url"] == canonical
    items = collection["mainEntity"]["itemListElement"]
    assert [i["position"] for i in items] == [1, 2, 3, 4]


def test_listing_entries_carry_their_section(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_listing(listing_view(tag_listing(KURSK))))
    first = tree.cssselect("ul.listing article")[0]
    label = first.cssselect("a.label")[0]
    assert (label.text_content(), label.get("href")) == (
        "Politics",
        f"{SITE}/section/politics/index.html",
    )
    assert first.cssselect("time")[0].get("datetime") == "2026-08-14T08:30:15Z"


def test_month_listing_has_no_feeds(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_listing(listing_view(month_listing(NOW))))
    assert alternates(tree) == {}


def test_empty_listing(renderer: PageRenderer) -> None:
    ref = tag_listing(KURSK)
    view = listing_view(ref, entries=[], pages=0, stories=0, older_path=None)
    tree = check_html_page(renderer.render_listing(view), f"{SITE}/{ref.index_path}")
    assert "No stories here yet" in tree.text_content()
    assert not tree.cssselect(".pager")


@pytest.mark.parametrize(
    ("ref", "stories", "robots"),
    [
        (tag_listing(KURSK), 1, ["noindex, follow"]),
        (tag_listing(KURSK), 2, []),
        (author_listing("Jane Doe", "jane-doe"), 1, []),
        (section_listing(POLITICS), 0, ["noindex, follow"]),
        (section_listing(POLITICS), 1, []),
    ],
)
def test_thin_listings_stay_out_of_search_indexes(
    renderer: PageRenderer, ref: ListingRef, stories: int, robots: list[str]
) -> None:
    view = listing_view(ref, entries=[entry(n) for n in range(stories)], pages=0, stories=stories)
    tree = doc(renderer.render_listing(view))
    assert [m.get("content") for m in tree.cssselect('meta[name="robots"]')] == robots


def test_an_article_links_its_month(renderer: PageRenderer) -> None:
    tree = doc(renderer.render_article(article_event()))
    (link,) = [a for a in tree.cssselect(".story__meta a") if a.cssselect("time")]
    assert link.get("href") == f"{SITE}/2026/08/index.html"


# --- 404 and robots.txt ----------------------------------------------------------------------


def test_not_found_page(renderer: PageRenderer) -> None:
    tree = check_html_page(renderer.render_not_found(), f"{SITE}/404.html")
    assert meta(tree, "robots") == ["noindex"]
    assert tree.cssselect("h1")[0].text_content() == "Page not found"
    assert f"{SITE}/index.html" in tree.xpath("//main//a/@href")
    assert f"{SITE}/section/world/index.html" in tree.xpath("//main//a/@href")


def test_robots_txt(renderer: PageRenderer) -> None:
    text = renderer.render_robots()
    assert text.splitlines()[:2] == ["User-agent: *", "Allow: /"]
    assert f"Sitemap: {SITE}/sitemap.xml" in text.splitlines()
    # The news sitemap is named in the index while there is one: never a link to nothing.
    assert "news.xml" not in text
    assert text.endswith("\n")


# --- feeds -----------------------------------------------------------------------------------


def feed_view(ref: ListingRef = HOME, **fields: Any) -> FeedView:
    values: dict[str, Any] = {"ref": ref, "entries": stories(), "generated_at": NOW}
    values.update(fields)
    return FeedView(**values)


def test_rss_feed(renderer: PageRenderer) -> None:
    ref = section_listing(POLITICS)
    text = renderer.render_rss(feed_view(ref))
    parsed = feedparser.parse(text)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    channel = parsed.feed
    assert channel.title == "Politics | Wirepress"
    assert channel.link == f"{SITE}/section/politics/index.html"
    assert channel.language == "en"
    selves = [link.href for link in channel.links if link.rel == "self"]
    assert selves == [f"{SITE}/section/politics/feed.xml"]
    # the newest item's date, not the clock
    assert channel.updated_parsed[:6] == (2026, 8, 14, 9, 25, 15)
    items = parsed.entries
    assert [e.title for e in items] == [f"Story {i} & <co>" for i in (1, 2, 3, 4)]
    first = items[0]
    assert first.id == "urn:wirepress:article:0000000000000001" and not first.guidislink
    assert first.link == f"{SITE}/{stories()[0].path}"
    assert first.summary == "What happened in story 1."
    assert first.content[0].value == stories()[0].content_html
    assert first.author == "Jane Doe"
    assert [t.term for t in first.tags] == [
        "Politics",
        "Kursk",
        "Volodymyr Zelensky",
        "Armed conflict",
    ]
    assert first.published_parsed[:6] == (2026, 8, 14, 8, 30, 15)
    assert [a.name for a in items[1].authors] == ["Jane Doe", "John Smith"]
    # no body: the excerpt is the description
    assert "content" not in items[3] and items[3].summary == "What happened in story 4."


def test_atom_feed(renderer: PageRenderer) -> None:
    text = renderer.render_atom(feed_view())
    parsed = feedparser.parse(text)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Wirepress"
    assert parsed.feed.id == f"{SITE}/index.html"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links == {"self": f"{SITE}/atom.xml", "alternate": f"{SITE}/index.html"}
    assert parsed.feed.updated_parsed[:6] == (2026, 8, 14, 9, 25, 15)
    items = parsed.entries
    assert [e.id for e in items] == [f"urn:wirepress:article:{i:016x}" for i in (1, 2, 3, 4)]
    first, corrected = items[0], items[1]
    assert first.link == f"{SITE}/{stories()[0].path}"
    assert first.content[0].type == "text/html"
    assert first.content[0].value == stories()[0].content_html
    assert first.summary == "What happened in story 1."
    assert first.author_detail.href == f"{SITE}/authors/jane-doe/index.html"
    assert first.updated_parsed == first.published_parsed
    # a corrected story is updated, and keeps its id and its first publication date
    assert corrected.updated_parsed[:6] == (2026, 8, 14, 9, 25, 15)
    assert corrected.published_parsed[:6] == (2026, 8, 14, 7, 30, 15)
    assert {t.term for t in first.tags} >= {"Kursk", "Politics"}


def test_feed_ids_are_stable_across_corrections(renderer: PageRenderer) -> None:
    before = stories()[:2]
    fixed = before[1].model_copy(update={"updated_at": NOW, "headline": "Corrected"})
    after = [before[0], fixed]
    for render in (renderer.render_rss, renderer.render_atom):
        ids = [
            [e.id for e in feedparser.parse(render(feed_view(entries=listed))).entries]
            for listed in (before, after)
        ]
        assert ids[0] == ids[1]
    atom = feedparser.parse(renderer.render_atom(feed_view(entries=after)))
    assert atom.entries[1].updated_parsed[:6] == (2026, 8, 14, 9, 30, 15)


def test_feeds_do_not_read_the_clock(renderer: PageRenderer) -> None:
    later = feed_view(generated_at=NOW + timedelta(days=3))
    assert renderer.render_rss(feed_view()) == renderer.render_rss(later)
    assert renderer.render_atom(feed_view()) == renderer.render_atom(later)
    empty = feedparser.parse(renderer.render_rss(feed_view(entries=[])))
    assert empty.bozo == 0 and empty.feed.updated_parsed[:6] == (2026, 8, 14, 9, 30, 15)


def test_json_feed(renderer: PageRenderer) -> None:
    data = json.loads(renderer.render_json_feed(feed_view()))
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["title"] == "Wirepress"
    assert data["home_page_url"] == f"{SITE}/index.html"
    assert data["feed_url"] == f"{SITE}/feed.json"
    assert data["language"] == "en"
    items = data["items"]
    assert [i["id"] for i in items] == [f"urn:wirepress:article:{i:016x}" for i in (1, 2, 3, 4)]
    for item in items:
        assert isinstance(item["id"], str) and item["url"].startswith(SITE)
        assert "content_html" in item or "content_text" in item
    first, corrected = items[0], items[1]
    assert first["content_html"] == stories()[0].content_html
    assert first["summary"] == "What happened in story 1."
    assert first["image"] == IMAGE.href
    assert first["date_published"] == first["date_modified"] == "2026-08-14T08:30:15Z"
    assert first["authors"] == [{"name": "Jane Doe", "url": f"{SITE}/authors/jane-doe/index.html"}]
    assert first["tags"] == ["Politics", "Kursk", "Volodymyr Zelensky", "Armed conflict"]
    assert corrected["date_modified"] == "2026-08-14T09:25:15Z"
    assert items[3]["language"] == "de" and items[3]["content_text"]


def test_only_home_has_a_json_feed(renderer: PageRenderer) -> None:
    with pytest.raises(ValueError):
        renderer.render_json_feed(feed_view(section_listing(POLITICS)))


# --- sitemaps --------------------------------------------------------------------------------

NEWS_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://www.google.com/schemas/sitemap-news/0.9"
  xmlns="http://www.google.com/schemas/sitemap-news/0.9" elementFormDefault="qualified">
  <!-- What Google's documentation requires of news:news; written for this test. -->
  <xsd:simpleType name="text"><xsd:restriction base="xsd:string">
    <xsd:minLength value="1"/></xsd:restriction></xsd:simpleType>
  <xsd:simpleType name="language"><xsd:restriction base="xsd:string">
    <xsd:pattern value="[a-z]{2,3}|zh-cn|zh-tw"/></xsd:restriction></xsd:simpleType>
  <xsd:simpleType name="date"><xsd:union memberTypes="xsd:date xsd:dateTime"/></xsd:simpleType>
  <xsd:element name="news"><xsd:complexType><xsd:sequence>
    <xsd:element name="publication"><xsd:complexType><xsd:sequence>
      <xsd:element name="name" type="text"/>
      <xsd:element name="language" type="language"/>
    </xsd:sequence></xsd:complexType></xsd:element>
    <xsd:element name="publication_date" type="date"/>
    <xsd:element name="title" type="text"/>
  </xsd:sequence></xsd:complexType></xsd:element>
</xsd:schema>
"""


def schema(name: str) -> etree.XMLSchema:
    if not SCHEMAS.is_dir():
        pytest.skip(f"no sitemap schemas at {SCHEMAS}")
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def validate(xsd: etree.XMLSchema, text: str) -> etree._Element:
    root = etree.fromstring(text.encode("utf-8"))
    assert xsd.validate(root), xsd.error_log
    return root


SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def test_sitemap_shard(renderer: PageRenderer) -> None:
    urls = [SitemapUrl(e.path, e.updated_at or e.published_at) for e in stories()]
    urls.append(SitemapUrl("section/politics/index.html", None))
    root = validate(schema("sitemap.xsd"), renderer.render_sitemap(urls))
    locs = [u.findtext(f"{SM}loc") for u in root.iter(f"{SM}url")]
    assert locs == [f"{SITE}/{u.path}" for u in urls]
    lastmods = [u.findtext(f"{SM}lastmod") for u in root.iter(f"{SM}url")]
    assert lastmods[:2] == ["2026-08-14T08:30:15Z", "2026-08-14T09:25:15Z"]
    assert lastmods[-1] is None


def test_sitemap_index(renderer: PageRenderer) -> None:
    shards = [SitemapShard("sitemap-2026-08.xml", NOW), SitemapShard("sitemap-news.xml", None)]
    generated = datetime(2026, 8, 14, 10, 0, tzinfo=UTC)
    root = validate(schema("siteindex.xsd"), renderer.render_sitemap_index(shards, generated))
    assert root.tag == f"{SM}sitemapindex"
    found = [(s.findtext(f"{SM}loc"), s.findtext(f"{SM}lastmod")) for s in root]
    assert found == [
        (f"{SITE}/sitemap-2026-08.xml", "2026-08-14T09:30:15Z"),
        (f"{SITE}/sitemap-news.xml", "2026-08-14T10:00:00Z"),
    ]


def test_news_sitemap(renderer: PageRenderer, tmp_path: Path) -> None:
    schema("sitemap.xsd")  # skips without the schemas
    (tmp_path / "news.xsd").write_text(NEWS_XSD, encoding="utf-8")
    (tmp_path / "both.xsd").write_text(
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        '<xsd:import namespace="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'schemaLocation="{(SCHEMAS / "sitemap.xsd").as_uri()}"/>'
        '<xsd:import namespace="http://www.google.com/schemas/sitemap-news/0.9" '
        f'schemaLocation="{(tmp_path / "news.xsd").as_uri()}"/>'
        "</xsd:schema>",
        encoding="utf-8",
    )
    both = etree.XMLSchema(etree.parse(str(tmp_path / "both.xsd")))
    listed = [*stories(), entry(9, published_at=None)]
    text = renderer.render_news_sitemap(listed)
    root = validate(both, text)
    urls = list(root.iter(f"{SM}url"))
    assert len(urls) == 4, "a story with no publication date is left out"
    first = urls[0]
    assert first.findtext(f"{SM}loc") == f"{SITE}/{stories()[0].path}"
    news = first.find(f"{NEWS}news")
    assert news is not None
    assert news.findtext(f"{NEWS}publication/{NEWS}name") == "Wirepress"
    assert news.findtext(f"{NEWS}publication/{NEWS}language") == "en"
    assert news.findtext(f"{NEWS}publication_date") == "2026-08-14T08:30:15Z"
    assert news.findtext(f"{NEWS}title") == "Story 1 & <co>"
    assert "Story 1 &amp; &lt;co&gt;" in text
    languages = [u.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}language") for u in urls]
    assert languages == ["en", "en", "en", "de"]
    # the news namespace really is checked: a missing title fails
    broken = etree.fromstring(text.encode("utf-8"))
    for news in broken.iter(f"{NEWS}news"):
        news.remove(news[-1])  # its news:title
    assert not both.validate(broken)


# --- determinism and assets ------------------------------------------------------------------


def test_the_same_input_renders_the_same_bytes(renderer: PageRenderer) -> None:
    again = PageRenderer(SiteInfo(url=SITE, name="Wirepress", sections=SECTIONS))
    ref = tag_listing(KURSK)
    renders: list[Callable[[PageRenderer], str]] = [
        lambda r: r.render_article(article_event()),
        lambda r: r.render_home(home_view()),
        lambda r: r.render_listing(listing_view(ref, page=2)),
        lambda r: r.render_not_found(),
        lambda r: r.render_robots(),
        lambda r: r.render_rss(feed_view(ref)),
        lambda r: r.render_atom(feed_view(ref)),
        lambda r: r.render_json_feed(feed_view()),
        lambda r: r.render_sitemap([SitemapUrl(e.path, e.published_at) for e in stories()]),
        lambda r: r.render_sitemap_index([SitemapShard("sitemap-2026-08.xml", NOW)], NOW),
        lambda r: r.render_news_sitemap(stories()),
    ]
    for render in renders:
        assert render(renderer) == render(renderer) == render(again)


def test_static_assets_exist() -> None:
    path, media_type = STATIC_ASSETS[LOGO_PATH]
    assert media_type == "image/svg+xml"
    assert etree.parse(str(path)).getroot().tag == "{http://www.w3.org/2000/svg}svg"
