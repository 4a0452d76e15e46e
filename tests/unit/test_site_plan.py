"""The site's shape: listing membership and the pages a change calls for, flat in size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.render.site import (
    HOME,
    UNCHANGED_RANK,
    full_pages,
    listings_of,
    older_page_from_index,
    page_of,
    plan_listing,
)
from shared.models import Author, ListingEntry, Section, Tag

pytestmark = pytest.mark.unit


def test_a_story_is_listed_at_home_in_its_section_tags_authors_and_month() -> None:
    entry = ListingEntry(
        article_id="a1",
        headline="h",
        path="2026/08/h-a1/index.html",
        published_at=datetime(2026, 8, 3, tzinfo=UTC),
        section=Section(slug="world", name="World"),
        authors=[Author(name="Jane Doe", slug="jane-doe")],
        tags=[
            Tag(type="place", name="Kursk", slug="place-kursk"),
            Tag(type="place", name="Kursk", slug="place-kursk"),
            Tag(type="subject", name="war", slug="subject-war"),
        ],
    )
    refs = listings_of(entry)
    assert [r.key for r in refs] == [
        "home", "section/world", "tag/place-kursk", "author/jane-doe", "month/2026/08",
    ]  # fmt: skip
    assert refs[0] is HOME and HOME.index_path == "index.html"
    assert refs[1].page_path(3) == "section/world/page/3/index.html"
    assert refs[2].rss_path == "tags/place-kursk/feed.xml"
    assert refs[4].index_path == "2026/08/index.html" and not refs[4].has_feeds
    assert refs[4].sitemap_path == "sitemap-2026-08.xml"


def test_pages_count_from_the_oldest_and_only_full_ones() -> None:
    assert [full_pages(n, 20) for n in (0, 19, 20, 21, 39, 40, 41)] == [0, 0, 0, 1, 1, 2, 2]
    assert page_of(0, 20) == 1 and page_of(19, 20) == 1 and page_of(20, 20) == 2
    # The index's older link: the newest full page, unless it is the index itself.
    assert older_page_from_index(20, 20) is None
    assert older_page_from_index(21, 20) == 1
    assert older_page_from_index(40, 20) == 1
    assert older_page_from_index(45, 20) == 2


@pytest.mark.parametrize("stories", [1_000, 50_000])
def test_a_new_story_calls_for_the_same_few_pages_at_any_size(stories: int) -> None:
    pages = full_pages(stories, 20)
    # Newest story, no page filled: the index and feeds only.
    plan = plan_listing(stories + 1, pages, stories, 20)
    assert plan.index_and_feeds and plan.pages == () and plan.removed == ()
    # The story that fills a page: that page, and the one before (its "newer" link).
    filled = plan_listing(stories + 20, pages, stories + 19, 20)
    assert filled.pages == (pages, pages + 1) and filled.index_and_feeds


def test_a_kill_shifts_the_pages_after_it_and_may_take_the_last_away() -> None:
    plan = plan_listing(59, 3, 25, 20)  # 60 stories, 3 pages; the 26th oldest killed
    assert plan.pages == (2,) and plan.removed == (3,) and plan.index_and_feeds
    # A correction of an old story, perhaps with a new story at the top in the same build (only
    # the lowest rank changed is kept): the index and feeds too.
    deep = plan_listing(70, 3, 5, 20)
    assert deep.pages == (1, 2, 3) and deep.index_and_feeds
    untouched = plan_listing(70, 3, UNCHANGED_RANK, 20)
    assert untouched.pages == () and not untouched.index_and_feeds
    everything = plan_listing(70, 0, None, 20)
    assert everything.pages == (1, 2, 3) and everything.index_and_feeds
