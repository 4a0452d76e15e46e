"""The render service's pure handler: sanitizing, splitting, article and front pages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from services.render.builder import site_change
from services.render.handlers import front_pins_after, handle_enriched
from services.render.pages import PageRenderer
from services.render.ports import SiteChange
from services.render.site import HomeView, SiteInfo
from shared.errors import PermanentError
from shared.events import (
    ArticleEnriched,
    ArticlePublished,
    ArticleRendered,
    FrontChangeRequested,
)
from shared.html import BodyTooComplex, body_blocks, make_excerpt, sanitize_body, split_blocks
from shared.models import Article, Author, ListingEntry, RelatedLink, Section, Tag

pytestmark = pytest.mark.unit

SITE = "http://127.0.0.1:8333/wirepress-site"
PUBLISHED = datetime(2026, 6, 20, 6, 40, tzinfo=UTC)
DEMO = Path(__file__).resolve().parents[2] / "demo"

BODY = (
    "<p>First paragraph about the offensive.</p>"
    "<p>Second paragraph with details.</p>"
    "<h2>Echoes of 2024</h2>"
    "<p>Third paragraph after the subheading.</p>"
    "<p>Fourth paragraph, the last one.</p>"
)


@pytest.fixture(scope="module")
def renderer() -> PageRenderer:
    return PageRenderer(SiteInfo(url=SITE + "/", name="Wirepress"))


def make_article(**overrides: Any) -> Article:
    fields: dict[str, Any] = {
        "guid": "urn:wirepress:test:one",
        "version": "1",
        "headline": "Ukrainian forces push into Kursk region",
        "byline": "By Olena Marchenko",
        "body_html": BODY,
        "firstcreated": PUBLISHED,
        "versioncreated": PUBLISHED,
        "located": "Kyiv",
    }
    fields.update(overrides)
    return Article(**fields)


def make_event(article: Article | None = None, **overrides: Any) -> ArticleEnriched:
    article = article or make_article()
    fields: dict[str, Any] = {
        "article_id": article.article_id,
        "guid": article.guid,
        "version": article.version,
        "correlation_id": "corr-123",
        "article": article,
        "ordering": article.ordering,
        "page_path": f"articles/{article.article_id}.html",
    }
    fields.update(overrides)
    return ArticleEnriched(**fields)


def doc(page: str) -> Any:
    return lxml_html.document_fromstring(page)


def body_sequence(page: str) -> list[tuple[str, str]]:
    """The story body's children as (kind, text): ('p', ...), ('h2', ...), ('aside', ...)."""
    (body,) = doc(page).cssselect(".story__body")
    return [(child.tag, " ".join(child.text_content().split())) for child in body]


# --- sanitizing ------------------------------------------------------------------------------


def test_sanitize_removes_scripts_handlers_and_javascript_urls() -> None:
    dirty = (
        '<p onclick="steal()">Hello <a href="javascript:alert(1)">x</a>'
        '<a href="https://example.com/a" onmouseover="x()">ok</a></p>'
        "<script>alert('xss')</script><style>p{}</style>"
        '<iframe src="https://evil.example"></iframe>'
        '<img src="https://example.com/i.jpg" onerror="boom()" alt="pic">'
        '<p style="color:red" class="x">Styled</p>'
    )
    clean = sanitize_body(dirty)
    lowered = clean.lower()
    for bad in ("<script", "alert(", "onclick", "onmouseover", "onerror", "javascript:"):
        assert bad not in lowered, bad
    assert "<style" not in lowered and "<iframe" not in lowered and "style=" not in lowered
    assert 'href="https://example.com/a"' in clean
    assert 'rel="noopener noreferrer"' in clean
    assert '<img src="https://example.com/i.jpg" alt="pic">' in clean
    assert "Styled" in clean


def test_sanitize_keeps_article_markup() -> None:
    body = (
        "<h2>Sub</h2><p><strong>a</strong> <em>b</em> <b>c</b> <i>d</i><br>e</p>"
        "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote>q</blockquote>"
        "<figure><img src='https://e.com/x.png' alt='x'><figcaption>cap</figcaption></figure>"
        "<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>v</td></tr></tbody></table>"
    )
    clean = sanitize_body(body)
    for tag in ("h2", "strong", "em", "ul", "ol", "li", "blockquote", "figure", "figcaption"):
        assert f"<{tag}>" in clean, tag
    assert "<table>" in clean and "<td>v</td>" in clean


# --- splitting ---------------------------------------------------------------------------------


def test_split_paragraphs_top_level_blocks() -> None:
    blocks = split_blocks(sanitize_body(BODY + "<ul><li>a</li></ul><blockquote>q</blockquote>"))
    assert [re.match(r"<(\w+)", b).group(1) for b in blocks] == [  # type: ignore[union-attr]
        "p",
        "p",
        "h2",
        "p",
        "p",
        "ul",
        "blockquote",
    ]


def test_split_paragraphs_wraps_loose_text_and_drops_empty_blocks() -> None:
    messy = "Loose lead text <b>bold</b><p>Real paragraph</p> tail text<br><br>after break<p>  </p>"
    assert split_blocks(sanitize_body(messy)) == [
        "<p>Loose lead text <b>bold</b></p>",
        "<p>Real paragraph</p>",
        "<p>tail text</p>",
        "<p>after break</p>",
    ]


@pytest.mark.parametrize("value", ["", "   ", "<p></p>", "<!-- only a comment -->"])
def test_split_paragraphs_empty(value: str) -> None:
    assert split_blocks(sanitize_body(value)) == []


def test_split_paragraphs_escapes_loose_text() -> None:
    blocks = split_blocks("AT&amp;T &lt;b&gt; fine")
    assert blocks == ["<p>AT&amp;T &lt;b&gt; fine</p>"]


def test_split_paragraphs_handles_unclosed_tags() -> None:
    blocks = split_blocks(sanitize_body("<p>one<p>two<h2>three"))
    assert blocks == ["<p>one</p>", "<p>two</p>", "<h2>three</h2>"]


def test_make_excerpt_cuts_on_a_word() -> None:
    text = "word " * 100
    excerpt = make_excerpt(text, 50)
    assert len(excerpt) <= 50 and excerpt.endswith("…") and "wor…" not in excerpt
    assert make_excerpt("short") == "short"


# --- article pages ----------------------------------------------------------------------------


def test_article_page_structure(renderer: PageRenderer) -> None:
    event = make_event()
    page = renderer.render_article(event)
    tree = doc(page)
    assert page.startswith("<!doctype html>")
    assert tree.cssselect("meta[charset]")
    assert tree.cssselect('meta[name="viewport"]')
    assert tree.findtext(".//title") == "Ukrainian forces push into Kursk region | Wirepress"
    assert tree.cssselect("header a.masthead__name")[0].get("href") == f"{SITE}/index.html"
    canonical = tree.cssselect('link[rel="canonical"]')[0].get("href")
    assert canonical == f"{SITE}/articles/{event.article_id}.html"
    assert tree.cssselect('meta[property="og:title"]')[0].get("content") == event.article.headline
    description = tree.cssselect('meta[name="description"]')[0].get("content")
    assert description == "First paragraph about the offensive."
    assert tree.cssselect('meta[property="og:description"]')[0].get("content") == description
    assert tree.cssselect("main article h1")[0].text_content() == event.article.headline
    assert "By Olena Marchenko" in tree.cssselect(".story__byline")[0].text_content()
    time = tree.cssselect(".story__meta time")[0]
    assert time.get("datetime") == "2026-06-20T06:40:00Z"
    assert "20 June 2026" in time.text_content()
    assert "Updated" not in page
    assert tree.cssselect("footer.site-footer")
    assert [t for t, _ in body_sequence(page)] == ["p", "p", "h2", "p", "p"]


def test_headline_and_metadata_are_escaped(renderer: PageRenderer) -> None:
    article = make_article(
        headline='Breaking <script>alert("x")</script> & more',
        byline="<img src=x onerror=alert(1)>",
        located="<b>Kyiv</b>",
    )
    page = renderer.render_article(make_event(article))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page
    assert "<img src=x" not in page and "<b>Kyiv</b>" not in page
    # no JSON-LD block can be closed early by a headline
    assert page.count("</script>") == len(doc(page).cssselect("script")) == 1


def test_body_scripts_and_handlers_never_reach_the_page(renderer: PageRenderer) -> None:
    article = make_article(
        body_html=(
            "<p onclick=\"alert('x')\">One</p><script>document.cookie</script>"
            '<p>Two <a href="javascript:void(0)">link</a></p>'
        )
    )
    page = renderer.render_article(make_event(article))
    assert "document.cookie" not in page
    assert "onclick" not in page
    assert "javascript:" not in page
    assert [text for _, text in body_sequence(page)] == ["One", "Two link"]


def test_read_also_is_inserted_after_the_right_paragraphs(renderer: PageRenderer) -> None:
    event = make_event(
        read_also=[
            RelatedLink(
                article_id="a1",
                headline="Drone strikes hit grid",
                path="articles/a1.html",
                after_paragraph=0,
            ),
            RelatedLink(
                article_id="a2",
                headline="Prisoner swap agreed",
                path="articles/a2.html",
                after_paragraph=3,
            ),
        ]
    )
    page = renderer.render_article(event)
    seq = body_sequence(page)
    assert [t for t, _ in seq] == ["p", "aside", "p", "h2", "p", "aside", "p"]
    assert seq[1][1] == "READ ALSO Drone strikes hit grid"
    assert seq[5][1] == "READ ALSO Prisoner swap agreed"
    link = doc(page).cssselect(".read-also a")[0]
    assert link.get("href") == f"{SITE}/articles/a1.html"


def test_read_also_never_splits_a_subheading_from_its_text(renderer: PageRenderer) -> None:
    event = make_event(
        read_also=[
            RelatedLink(article_id="a", headline="After heading", path="a.html", after_paragraph=2),
            RelatedLink(article_id="b", headline="Far away", path="b.html", after_paragraph=99),
        ]
    )
    seq = body_sequence(renderer.render_article(event))
    assert [t for t, _ in seq] == ["p", "p", "h2", "p", "aside", "p", "aside"]


def test_related_posts_block(renderer: PageRenderer) -> None:
    event = make_event(
        related=[
            RelatedLink(
                article_id="r1",
                headline="EU backs new sanctions",
                path="articles/r1.html",
                excerpt="European Union leaders agreed in principle on a new package.",
            ),
            RelatedLink(article_id="r2", headline="Istanbul talks", path="articles/r2.html"),
        ]
    )
    page = renderer.render_article(event)
    tree = doc(page)
    (block,) = tree.cssselect(".related")
    assert block.cssselect("h2")[0].text_content() == "Related Posts"
    items = block.cssselect(".related__item")
    assert len(items) == 2
    first = items[0]
    assert first.cssselect("h3 a")[0].text_content() == "EU backs new sanctions"
    assert first.cssselect("h3 a")[0].get("href") == f"{SITE}/articles/r1.html"
    assert "new package" in first.cssselect("p")[0].text_content()
    more = first.cssselect("a.related__more")[0]
    assert "Read more" in more.text_content()
    assert more.get("href") == f"{SITE}/articles/r1.html"


def test_no_related_block_without_related_links(renderer: PageRenderer) -> None:
    page = renderer.render_article(make_event())
    assert "Related Posts" not in page and "READ ALSO" not in page


def test_tags_are_shown_as_labelled_chips(renderer: PageRenderer) -> None:
    event = make_event(
        tags=[
            Tag(type="place", name="Kursk", slug="kursk"),
            Tag(type="person", name="Volodymyr Zelensky", slug="volodymyr-zelensky"),
            Tag(type="topic", name="War", slug="war", scheme="medtop", code="20000062"),
            Tag(type="place", name="Kursk", slug="kursk"),
        ]
    )
    tree = doc(renderer.render_article(event))
    groups = tree.cssselect(".tags__group")
    assert [g.get("data-tag-type") for g in groups] == ["person", "place", "topic"]
    assert [g.cssselect(".tags__label")[0].text_content() for g in groups] == [
        "People",
        "Places",
        "Topics",
    ]
    chips = tree.cssselect(".tag")
    assert [(c.get("data-slug"), c.text_content()) for c in chips] == [
        ("volodymyr-zelensky", "Volodymyr Zelensky"),
        ("kursk", "Kursk"),
        ("war", "War"),
    ]
    # listed tag types link to their tag pages
    assert [c.get("href") for c in chips] == [
        f"{SITE}/tags/volodymyr-zelensky/index.html",
        f"{SITE}/tags/kursk/index.html",
        f"{SITE}/tags/war/index.html",
    ]


def test_corrected_story_says_updated(renderer: PageRenderer) -> None:
    updated = PUBLISHED + timedelta(hours=5, minutes=20)
    article = make_article(version="2", versioncreated=updated)
    page = renderer.render_article(make_event(article, corrected=True))
    (stamp,) = doc(page).cssselect(".story__updated")
    assert stamp.text_content().startswith("Updated")
    assert stamp.cssselect("time")[0].get("datetime") == "2026-06-20T12:00:00Z"
    # published date is still the first one
    assert doc(page).cssselect(".story__meta time")[0].get("datetime") == "2026-06-20T06:40:00Z"


def test_json_ld_is_a_news_article(renderer: PageRenderer) -> None:
    article = make_article(headline='Quotes "and" </script> in a headline', description="Summary.")
    event = make_event(article, tags=[Tag(type="place", name="Kyiv", slug="kyiv")])
    page = renderer.render_article(event)
    (script,) = doc(page).cssselect('script[type="application/ld+json"]')
    data = json.loads(script.text)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == 'Quotes "and" </script> in a headline'
    assert data["description"] == "Summary."
    assert data["datePublished"] == "2026-06-20T06:40:00Z"
    assert data["author"] == [
        {
            "@type": "Person",
            "name": "Olena Marchenko",
            "url": f"{SITE}/authors/olena-marchenko/index.html",
        }
    ]
    assert data["publisher"]["name"] == "Wirepress"
    assert data["mainEntityOfPage"]["@id"] == f"{SITE}/{event.page_path}"
    assert data["keywords"] == ["Kyiv"]


# --- the handler ----------------------------------------------------------------------------


def test_handle_enriched_renders_a_usable_story(renderer: PageRenderer) -> None:
    event = make_event(corrected=False)
    rendered = handle_enriched(event, renderer)
    assert isinstance(rendered, ArticleRendered)
    assert (page := rendered.page()) is not None and b"<!doctype html>" in page
    assert not rendered.withdrawn
    assert rendered.article_id == event.article_id
    assert rendered.guid == event.guid
    assert rendered.version == event.version
    assert rendered.correlation_id == "corr-123"
    assert rendered.ordering == event.ordering
    assert rendered.page_path == event.page_path
    assert rendered.headline == event.article.headline
    assert rendered.excerpt == "First paragraph about the offensive."
    assert rendered.published_at == PUBLISHED
    # What the listing pages will show of it, once publish has put the page up.
    listing = rendered.listing
    assert listing is not None
    assert (listing.article_id, listing.path) == (event.article_id, event.page_path)
    assert listing.headline == event.article.headline
    assert listing.excerpt == rendered.excerpt and listing.byline == "By Olena Marchenko"
    assert listing.tags == event.tags and listing.updated_at is None
    assert listing.authors == [Author(name="Olena Marchenko", slug="olena-marchenko")]
    assert listing.section is None and listing.language == "en" and listing.image is None
    assert listing.content_html == BODY


def test_the_listing_entry_carries_section_and_lead_image(renderer: PageRenderer) -> None:
    politics = Section(slug="politics", name="Politics")
    image = {"href": "https://cdn.example.com/a.jpg", "caption": "Troops"}
    event = make_event(make_article(images=[image], language="uk"), section=politics)
    listing = handle_enriched(event, renderer).listing
    assert listing is not None
    assert listing.section == politics and listing.language == "uk"
    assert listing.image is not None and listing.image.href == image["href"]


def test_excerpt_prefers_description_and_is_short(renderer: PageRenderer) -> None:
    long_body = "<h2>Heading first</h2><p>" + "Lots of words here. " * 40 + "</p>"
    rendered = handle_enriched(make_event(make_article(body_html=long_body)), renderer)
    assert rendered.excerpt.startswith("Lots of words")
    assert len(rendered.excerpt) <= 200
    described = make_article(description="A <b>clear</b> summary.")
    assert handle_enriched(make_event(described), renderer).excerpt == "A clear summary."


@pytest.mark.parametrize("status", ["canceled", "withheld"])
def test_killed_or_withheld_story_is_withdrawn(renderer: PageRenderer, status: str) -> None:
    article = make_article(version="2", pubstatus=status)
    rendered = handle_enriched(make_event(article), renderer)
    assert rendered.withdrawn is True
    assert rendered.page() is None and rendered.listing is None
    assert rendered.version == "2"
    assert rendered.page_path == f"articles/{article.article_id}.html"


# --- the front page -------------------------------------------------------------------------


UKRAINE = Tag(type="place", name="Ukraine", slug="place-ukraine")
CONFLICT = Tag(type="topic", name="armed conflict", slug="topic-armed-conflict")


def entries() -> list[ListingEntry]:
    return [
        ListingEntry(
            article_id=f"id{i}",
            headline=f"Story number {i} <em>",
            path=f"articles/id{i}.html",
            excerpt=f"Excerpt {i}.",
            published_at=PUBLISHED + timedelta(hours=i),
            tags=[UKRAINE, CONFLICT],
        )
        for i in range(8)
    ]


def front_page(renderer: PageRenderer, listed: list[ListingEntry], at: datetime) -> str:
    """The front page with the newest on top, then the rest (no section blocks)."""
    newest = sorted(listed, key=lambda e: e.published_at or at, reverse=True)
    return renderer.render_home(HomeView(newest[0], (), newest[1:], None, at))


def test_front_page_lists_entries_newest_first(renderer: PageRenderer) -> None:
    page = front_page(renderer, entries()[::-1], PUBLISHED + timedelta(days=1))
    tree = doc(page)
    (lead,) = tree.cssselect(".lead")
    assert lead.cssselect("h2 a")[0].text_content() == "Story number 7 <em>"
    assert lead.cssselect("h2 a")[0].get("href") == f"{SITE}/articles/id7.html"
    assert "Excerpt 7." in lead.text_content()
    links = [a.get("href") for a in tree.cssselect("main a")]
    assert links == [f"{SITE}/articles/id{i}.html" for i in range(7, -1, -1)]
    assert "<em>" not in page.split("<main", 1)[1]
    assert tree.cssselect('link[rel="canonical"]')[0].get("href") == f"{SITE}/index.html"


def test_front_page_labels_the_top_story_by_its_section(renderer: PageRenderer) -> None:
    politics = Section(slug="politics", name="Politics")
    listed = [entry.model_copy(update={"section": politics}) for entry in entries()]
    tree = doc(front_page(renderer, listed, PUBLISHED))
    (label,) = tree.cssselect(".lead .label")
    assert label.text_content() == "Politics"
    assert label.get("href") == f"{SITE}/section/politics/index.html"
    # not the dateline, not a topic
    assert "armed conflict" not in tree.cssselect(".lead")[0].text_content()


def test_empty_front_page(renderer: PageRenderer) -> None:
    page = renderer.render_home(
        HomeView(top=None, sections=(), latest=(), older_path=None, generated_at=PUBLISHED)
    )
    assert "No stories yet" in page


def test_the_front_page_times_are_to_the_second(renderer: PageRenderer) -> None:
    generated = datetime(2026, 6, 27, 12, 30, 5, 123456, tzinfo=UTC)
    page = front_page(renderer, entries(), generated)
    # <time datetime> to the second: the HTML spec takes no six-digit fractions
    assert 'datetime="2026-06-27T12:30:05Z"' in page
    assert not re.search(r'datetime="[^"]*\.\d', page)


# --- the listing ----------------------------------------------------------------------------


def outcome(
    kind: str, ordering: str = "0001", listing: ListingEntry | None = None
) -> ArticlePublished:
    return ArticlePublished(
        article_id="id1",
        guid="urn:id1",
        version="1",
        ordering=ordering,
        page_path="articles/id1.html",
        url=f"{SITE}/articles/id1.html",
        outcome=kind,  # type: ignore[arg-type,unused-ignore]
        listing=listing,
    )


def test_a_page_up_lists_the_story_and_one_taken_down_delists_it() -> None:
    entry = entries()[1]
    for kind in ("written", "unchanged"):
        assert site_change(outcome(kind, listing=entry)) == SiteChange("list", "id1", "0001", entry)
    assert site_change(outcome("withdrawn", "0002")) == SiteChange("delist", "id1", "0002")
    assert site_change(outcome("stale", listing=entry)) is None
    assert site_change(outcome("written")) is None, "no entry: nothing to list it by"


# --- the demo feed renders -----------------------------------------------------------------


def test_every_demo_story_renders(renderer: PageRenderer) -> None:
    paths = sorted((DEMO / "stories").glob("*.json")) + sorted((DEMO / "updates").glob("*.json"))
    assert paths
    for path in paths:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["guid"] = raw.pop("uri")
        raw["subjects"] = raw.pop("subject", [])
        raw["description"] = raw.pop("description_text", None)
        article = Article.model_validate(raw)
        rendered = handle_enriched(make_event(article), renderer)
        if article.on_site:
            assert rendered.page() is not None
            assert (
                doc((rendered.page() or b"").decode()).cssselect("h1")[0].text_content()
                == article.headline
            )
            assert 0 < len(rendered.excerpt) <= 200
        else:
            assert rendered.withdrawn and rendered.page() is None


def test_a_body_past_the_limits_is_a_permanent_error_not_minutes_of_sanitising() -> None:
    with pytest.raises(BodyTooComplex, match="deep") as caught:
        body_blocks("<blockquote>" * 150 + "text")
    assert isinstance(caught.value, PermanentError)
    assert body_blocks("<blockquote>" * 90 + "text") == [
        "<blockquote>" * 90 + "text" + "</blockquote>" * 90
    ]


def test_pages_travel_compressed_so_the_stream_holds_less_than_half_of_them(
    renderer: PageRenderer,
) -> None:
    """The rendered stream held 1.7 GB for 73k entries when every event carried its page as
    text. Packed, the demo feed's events are under half of what they were (the listing entry
    they carry for the site's feeds is most of what is left)."""
    packed = plain = 0
    for path in sorted((DEMO / "stories").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["guid"] = raw.pop("uri")
        raw["subjects"] = raw.pop("subject", [])
        article = Article.model_validate(raw)
        rendered = handle_enriched(make_event(article), renderer)
        page = rendered.page()
        assert page is not None and rendered.html is None
        as_text = rendered.model_copy(update={"html": page.decode(), "html_gzip": None})
        assert as_text.page() == page
        packed += len(rendered.model_dump_json())
        plain += len(as_text.model_dump_json())
    assert packed < 0.5 * plain


def test_an_editors_front_op_moves_one_story_and_never_repeats_one() -> None:
    def after(
        current: list[str], op: str, story: str = "", pinned: tuple[str, ...] = ()
    ) -> list[str]:
        event = FrontChangeRequested(
            article_id="site", guid="site", version="1", front="home", op=op,  # type: ignore[arg-type]
            story=story or None, pinned=list(pinned),
        )  # fmt: skip
        return front_pins_after(current, event)

    assert after([], "lead", "a") == ["a"]
    assert after(["a", "b"], "lead", "c") == ["c", "a", "b"]
    assert after(["a", "b"], "lead", "b") == ["b", "a"], "leading again moves it up"
    assert after(["a", "b"], "pin", "c") == ["a", "b", "c"]
    assert after(["a", "b", "c"], "up", "c") == ["a", "c", "b"]
    assert after(["a", "b"], "up", "a") == ["a", "b"]
    assert after(["a"], "up", "z") == ["a"], "moving an unpinned story changes nothing"
    assert after(["a", "b"], "unpin", "a") == ["b"]
    assert after(["a"], "set", pinned=("x", "y", "x")) == ["x", "y"]
    assert len(after([str(i) for i in range(20)], "lead", "new")) == 20
