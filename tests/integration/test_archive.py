"""Enrich's archive in a real Valkey: shared by replicas, kept across restarts, versions ordered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.enrich.archive import REFRESH_DUE, RedisArchive
from services.enrich.handlers import page_path_for
from services.enrich.relevance import features_for
from shared.broker import create_redis
from shared.models import Article
from shared.settings import Settings

pytestmark = pytest.mark.integration

WAR = "Ukrainian troops pushed deeper into the Kursk region as Russia moved reserves from Donetsk."
# Distinct stories about the same war: near-duplicates of each other would be shown only once.
WAR_STORIES = [
    "Drone strikes hit Ukrainian armour near Sudzha as the Kursk incursion entered a second week.",
    "Kyiv says the Kursk offensive strengthens its hand before any talks with Moscow on a truce.",
    "Russian reserves moved from Donetsk to Kursk slowed the Ukrainian advance, analysts said.",
]
KENYA = "Kenya's parliament in Nairobi debated the finance bill as protesters gathered outside."


def article(guid: str, text: str, version: str = "1", pubstatus: str = "usable") -> Article:
    return Article(
        guid=guid,
        version=version,
        headline=text[:40],
        body_html=f"<p>{text}</p><p>{text}</p>",
        pubstatus=pubstatus,  # type: ignore[arg-type]
        firstcreated=datetime(2026, 8, 1, tzinfo=UTC),
        versioncreated=datetime(2026, 8, 1, int(version), tzinfo=UTC),
    )


async def add(archive: RedisArchive, story: Article) -> None:
    await archive.record(story, page_path_for(story), "")
    text = story.body_html.replace("<p>", " ").replace("</p>", " ")
    await archive.index(
        features_for(story.article_id, story.headline, text, [text], [], None, story.article_id)
    )


async def test_every_replica_ranks_against_the_same_archive_and_a_restart_keeps_it(
    settings: Settings,
) -> None:
    redis = create_redis(settings)
    replica_a, replica_b = (
        RedisArchive(redis, refresh_delay_s=30),
        RedisArchive(redis, refresh_delay_s=30),
    )
    await replica_a.load_index()
    await replica_b.load_index()
    for i, text in enumerate(WAR_STORIES):
        await add(replica_a, article(f"urn:war:{i}", text))
    await add(replica_b, article("urn:kenya", KENYA))
    query = features_for("q", "Kursk", WAR, [WAR], [], None)

    picks_b = await replica_b.pick(query, [], [], 2, 5)
    # Replica B ranks the stories replica A added, and not the unrelated one.
    assert len(replica_b.index_) == 4
    war_ids = {article(f"urn:war:{i}", "x").article_id for i in range(3)}
    picked_b = set(picks_b.related) | {sid for sid, _ in picks_b.read_also}
    assert picked_b and picked_b <= war_ids

    restarted = RedisArchive(redis, refresh_delay_s=30)
    await restarted.load_index()
    assert len(restarted.index_) == 4
    picks = await restarted.pick(query, [], [], 2, 5)
    assert set(picks.related) | {sid for sid, _ in picks.read_also} == picked_b

    killed = article("urn:war:0", "(killed)", version="2", pubstatus="canceled")
    await replica_a.unindex(killed.article_id)
    await replica_b.sync()
    assert killed.article_id not in replica_b.index_
    await redis.aclose()


async def test_an_older_version_is_never_recorded_over_a_newer_one(settings: Settings) -> None:
    redis = create_redis(settings)
    archive = RedisArchive(redis, refresh_delay_s=30)
    v3 = article("urn:x", KENYA, version="3")
    first = await archive.record(v3, page_path_for(v3), "")
    assert not first.stale and not first.corrected
    v2 = article("urn:x", WAR, version="2")
    late = await archive.record(v2, "some/other/path/index.html", "")
    assert late.stale
    stored = await archive.load(v3.article_id)
    assert stored is not None and stored.article.version == "3"
    v4 = article("urn:x", KENYA, version="4")
    correction = await archive.record(v4, "yet/another/index.html", "")
    assert correction.corrected and correction.page_path == first.page_path
    again = await archive.record(v4, "ignored/index.html", "")
    assert again.corrected and not again.stale
    await redis.aclose()


async def test_refreshes_are_due_once_per_interval(settings: Settings) -> None:
    redis = create_redis(settings)
    archive = RedisArchive(redis, refresh_delay_s=0)
    await archive.schedule_refresh(["a", "b"], "related-refresh")
    await archive.schedule_refresh(["a"], "related-refresh")
    due, lease = await archive.lease_due_refreshes()
    assert sorted(due) == ["a", "b"]
    assert (await archive.lease_due_refreshes())[0] == []  # leased: not handed out twice
    await archive.schedule_refresh(["a"], "link-changed")  # due again meanwhile: kept
    await archive.confirm_sent(due, lease)
    assert await redis.zscore(REFRESH_DUE, "b") is None  # sent and confirmed: gone
    assert (await archive.lease_due_refreshes())[0] == ["a"]
    await redis.aclose()
