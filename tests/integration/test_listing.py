"""Render's listing in a real Valkey: the ordering rules of its script, and the rebuild queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.render.adapters import RedisListing, pages_due
from services.render.ports import FRONT_PAGE, ListingChange
from shared.broker import create_redis
from shared.models import ListingEntry
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration

FIRST_RAN = datetime(2026, 8, 1, 6, tzinfo=UTC)


def entry(article_id: str, headline: str, hours: int = 0) -> ListingEntry:
    return ListingEntry(
        article_id=article_id,
        headline=headline,
        path=f"2026/08/{article_id}/index.html",
        published_at=FIRST_RAN + timedelta(hours=hours),
    )


async def test_the_listing_keeps_the_newest_change_of_each_story(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    listing, due = RedisListing(redis), pages_due(redis)
    v1, v2 = entry("a", "First version"), entry("a", "Second version")
    assert await listing.apply(ListingChange("list", "a", "0001", v1), [FRONT_PAGE], 100.0)
    first_generation = await listing.generation()
    # The same change again (a retried publish) changes nothing.
    assert not await listing.apply(ListingChange("list", "a", "0001", v1), [FRONT_PAGE], 50.0)
    assert await listing.apply(ListingChange("list", "a", "0002", v2), [FRONT_PAGE], 101.0)
    assert await listing.generation() > first_generation
    # An older version's outcome arriving late never replaces the newer entry.
    assert not await listing.apply(ListingChange("list", "a", "0001", v1), [FRONT_PAGE], 1.0)
    [state] = await listing.states(["a"])
    assert state.listed_ordering == "0002" and state.withdrawn_ordering is None
    assert (await listing.newest(10)).entries == [v2]

    # Taken down: delisted, and a late outcome of an earlier version cannot bring it back.
    assert await listing.apply(ListingChange("delist", "a", "0003"), [FRONT_PAGE], 102.0)
    assert not await listing.apply(ListingChange("list", "a", "0002", v2), [FRONT_PAGE], 1.0)
    [state] = await listing.states(["a"])
    assert state.listed_ordering is None and state.withdrawn_ordering == "0003"
    assert (await listing.newest(10)).entries == []
    # A later version may be published again (a withheld story released).
    v4 = entry("a", "Released")
    assert await listing.apply(ListingChange("list", "a", "0004", v4), [FRONT_PAGE], 103.0)
    assert (await listing.newest(10)).entries == [v4]

    # The front page came due at the first change's time, and stayed there for the burst.
    assert await due.next_due() == 100.0
    await redis.aclose()


async def test_newest_stories_come_first_and_one_snapshot_has_one_generation(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    listing = RedisListing(redis)
    for i in range(5):
        story = entry(f"s{i}", f"Story {i}", hours=i)
        await listing.apply(ListingChange("list", story.article_id, "0001", story), [], 0.0)
    snapshot = await listing.newest(3)
    assert [e.article_id for e in snapshot.entries] == ["s4", "s3", "s2"]
    assert snapshot.generation == await listing.generation()
    assert await listing.size() == 5
    await redis.aclose()


async def test_pages_due_are_leased_and_come_back_if_not_confirmed(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    listing, due = RedisListing(redis), pages_due(redis)
    story = entry("b", "A story")
    await listing.apply(ListingChange("list", "b", "0001", story), [FRONT_PAGE], 0.0)
    pages, lease = await due.take()
    assert pages == [FRONT_PAGE]
    assert (await due.take())[0] == [], "leased: not handed out twice"
    # A change while the page is being rebuilt: it is due again after this rebuild.
    later = entry("c", "Another story")
    await listing.apply(ListingChange("list", "c", "0001", later), [FRONT_PAGE], 0.0)
    await due.done(lease)
    assert await due.waiting() == 1
    pages, lease = await due.take()
    assert pages == [FRONT_PAGE]
    await due.done(lease)
    assert await due.waiting() == 0
    await redis.aclose()
