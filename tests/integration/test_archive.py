"""Enrich's archive in a real Valkey: shared by replicas, kept across restarts, versions ordered."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import TypeAdapter
from redis.asyncio import Redis

from services.enrich.adapters import (
    RedisLinkGraph,
    RedisRefreshQueue,
    RedisStoryRecords,
    SemanticRefitter,
    SharedIndex,
)
from services.enrich.handlers import page_path_for
from services.enrich.keys import REFRESH_DUE, SEMANTIC_FIT_LOCK, article_key
from services.enrich.relevance import StoryFeatures, features_for, semantic
from shared.broker import create_broker, create_redis, ensure_groups
from shared.delivery import StreamConsumer, _Delivery
from shared.events import ArticleRepublishRequested, Output, WriteOnAck
from shared.locks import LOCK_PREFIX
from shared.models import Article
from shared.streams import ENRICH, REPUBLISH
from tests.integration.test_delivery import publish_raw, request
from tests.stack_settings import StackSettings

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


@dataclass
class Replica:
    """What one enrich replica keeps in Redis, job by job."""

    stories: RedisStoryRecords
    index: SharedIndex
    links: RedisLinkGraph
    refreshes: RedisRefreshQueue
    refitter: SemanticRefitter

    @property
    def index_(self):  # type: ignore[no-untyped-def]
        return self.index.index_


async def replica(redis: Redis, refresh_delay_s: float = 30) -> Replica:
    index = SharedIndex(redis)
    await index.load_index()
    return Replica(
        RedisStoryRecords(redis),
        index,
        RedisLinkGraph(redis),
        RedisRefreshQueue(redis, refresh_delay_s=refresh_delay_s),
        SemanticRefitter(redis, index),
    )


async def add(archive: Replica, story: Article) -> None:
    await archive.stories.record(story, page_path_for(story), "")
    text = story.body_html.replace("<p>", " ").replace("</p>", " ")
    await archive.index.index(
        features_for(story.article_id, story.headline, text, [text], [], None, story.article_id)
    )


async def two_replicas(redis: Redis) -> tuple[Replica, Replica]:
    return await replica(redis), await replica(redis)


async def test_every_replica_ranks_against_the_same_archive_and_a_restart_keeps_it(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    replica_a, replica_b = await two_replicas(redis)
    for i, text in enumerate(WAR_STORIES):
        await add(replica_a, article(f"urn:war:{i}", text))
    await add(replica_b, article("urn:kenya", KENYA))
    query = features_for("q", "Kursk", WAR, [WAR], [], None)

    picks_b = await replica_b.index.pick(query, [], [], 2, 5)
    # Replica B ranks the stories replica A added, and not the unrelated one.
    assert len(replica_b.index_) == 4
    war_ids = {article(f"urn:war:{i}", "x").article_id for i in range(3)}
    picked_b = set(picks_b.related) | {sid for sid, _ in picks_b.read_also}
    assert picked_b and picked_b <= war_ids

    restarted = await replica(redis)
    assert len(restarted.index_) == 4
    picks = await restarted.index.pick(query, [], [], 2, 5)
    assert set(picks.related) | {sid for sid, _ in picks.read_also} == picked_b

    killed = article("urn:war:0", "(killed)", version="2", pubstatus="canceled")
    await replica_a.index.unindex(killed.article_id)
    await replica_b.index.sync()
    assert killed.article_id not in replica_b.index_
    await redis.aclose()


async def test_an_older_version_is_never_recorded_over_a_newer_one(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    archive = RedisStoryRecords(redis)
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
    # What enrich's queries answer: the version on record, found by id or by guid.
    [record] = await archive.records([v4.article_id])
    assert (record.guid, record.version, record.pubstatus) == ("urn:x", "4", "usable")
    assert record.page_path == first.page_path and record.corrected
    assert await archive.records(["0123456789abcdef"]) == []
    # A record written before records held the guid and version: read from the stored story.
    await redis.hdel(article_key(v4.article_id), "guid", "version")
    assert await archive.records([v4.article_id]) == [record]
    await redis.aclose()


async def test_refreshes_are_due_once_per_interval(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    archive = RedisRefreshQueue(redis, refresh_delay_s=0)
    assert await archive.due() == 0
    await archive.schedule(["a", "b"], "related-refresh")
    await archive.schedule(["a"], "related-refresh")
    assert await archive.due() == 2
    due, lease = await archive.take()
    assert sorted(due) == ["a", "b"]
    assert (await archive.take())[0] == []  # leased: not handed out twice
    await archive.schedule(["a"], "link-changed")  # due again meanwhile: kept
    await archive.done(lease)
    assert await redis.zscore(REFRESH_DUE, "b") is None  # sent and confirmed: gone
    assert (await archive.take())[0] == ["a"]
    await redis.aclose()


def subject_stories(count: int, start: int = 0) -> list[StoryFeatures]:
    """Stories on eight subjects, each written with its own words plus a few rare ones."""
    rng = random.Random(start)
    feats = []
    for i in range(start, start + count):
        subject = i % 8
        words = rng.sample([f"s{subject}word{w}" for w in range(40)], 4)
        words += rng.sample([f"rare{w}" for w in range(1000)], 5)
        feats.append(
            StoryFeatures(
                story_id=f"story-{i}",
                title_tf={},
                body_tf=dict(Counter(words)),
                simhash=rng.getrandbits(64),
            )
        )
    return feats


def vector_of(archive: Replica, story_id: str) -> np.ndarray:
    index = archive.index_
    slot = index._slot_of[story_id]
    assert index._sem is not None and index._sem_ok.data[slot]
    return index._sem.data[slot].astype(np.float32)


async def test_one_replica_fits_the_semantic_model_and_every_replica_uses_it(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    replica_a, replica_b = await two_replicas(redis)
    small = subject_stories(semantic.SEMANTIC_MIN_STORIES - 1)
    for f in small:
        await replica_a.index.index(f)
    assert await replica_a.refitter.refit_if_due() is None  # too small for a model

    for f in subject_stories(41, start=len(small)):
        await replica_a.index.index(f)
    model = await replica_a.refitter.refit_if_due(now=1_000.0)
    assert model is not None and model.stories == 240
    # Replica B takes it from the log (no second fit) and folds in its own copy of the archive.
    assert await replica_b.refitter.refit_if_due(now=1_001.0) is None
    assert replica_b.index_.semantic_model is not None
    assert replica_b.index_.semantic_model.model_id == model.model_id
    assert float(vector_of(replica_a, "story-7") @ vector_of(replica_b, "story-7")) > 0.999

    # A story indexed after the fit gets its vector on every replica.
    late = subject_stories(1, start=240)[0]
    await replica_b.index.index(late)
    await replica_a.index.sync()
    await replica_b.index.sync()
    assert float(vector_of(replica_a, late.story_id) @ vector_of(replica_b, late.story_id)) > 0.999

    # A restarted replica loads the model with the archive.
    restarted = await replica(redis)
    assert restarted.index_.semantic_model is not None
    assert restarted.index_.semantic_model.model_id == model.model_id
    assert float(vector_of(restarted, "story-7") @ vector_of(replica_a, "story-7")) > 0.999

    # Grown by a fifth: due again, but only one replica fits at a time.
    for f in subject_stories(50, start=241):
        await replica_a.index.index(f)
    await redis.set(f"{LOCK_PREFIX}{SEMANTIC_FIT_LOCK}", "another replica", px=60_000)
    assert await replica_b.refitter.refit_if_due(now=2_000.0) is None
    await redis.delete(f"{LOCK_PREFIX}{SEMANTIC_FIT_LOCK}")
    refitted = await replica_b.refitter.refit_if_due(now=2_000.0)
    assert refitted is not None and refitted.stories == 291
    await replica_a.index.sync()
    assert replica_a.index_.semantic_model is not None
    assert replica_a.index_.semantic_model.model_id == refitted.model_id
    await redis.aclose()


async def settled(settings: StackSettings, redis: Redis, *outputs: list[Output]) -> int:
    """Each handler's outputs settled by the real delivery layer, as it acknowledges a message
    of its own (one per output list); how many it acknowledged."""
    await publish_raw(settings, *(request(f"m{i}") for i in range(len(outputs))))
    [(_, entries)] = await redis.xreadgroup(ENRICH, "test", {REPUBLISH: ">"})
    results = iter(outputs)

    async def handle(event: ArticleRepublishRequested) -> list[Output]:
        return next(results)

    consumer = StreamConsumer(
        stream=REPUBLISH,
        group=ENRICH,
        adapter=TypeAdapter(ArticleRepublishRequested),
        handle=handle,
        settings=settings,
        redis=lambda: redis,
        broker=create_broker(settings),
    )
    for entry_id, fields in entries:
        await consumer.process(
            [_Delivery(entry_id=entry_id, raw=fields[b"__data__"])], reclaimed=False
        )
    return consumer.handled


async def test_reverse_links_follow_the_latest_enrichment_once_it_is_acknowledged(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    await ensure_groups(redis)
    graph = RedisLinkGraph(redis)

    async def decide(source: str, links: list[str], targets: list[str]) -> WriteOnAck:
        _revision, write = await graph.enrichment_write(source, [], links, targets, "1")
        return write

    first = await decide("src", ["sig-1"], ["a", "b"])
    # Decided, not yet acknowledged: nothing is kept.
    assert await graph.linked_by("a") == []
    await settled(settings, redis, [first])
    assert await graph.linked_by("a") == ["src"] and await graph.linked_by("b") == ["src"]
    await settled(settings, redis, [await decide("other", ["sig"], ["b"])])
    newer = await decide("src", ["sig-2"], ["b", "c"])
    await settled(settings, redis, [newer])
    assert await graph.linked_by("a") == []
    assert await graph.linked_by("b") == ["other", "src"]
    assert await graph.linked_by("c") == ["src"]
    # An older decision settled late (a retry that lost a race) does not undo a newer one.
    stale = first
    await settled(settings, redis, [stale])
    assert await graph.linked_by("a") == [] and await graph.linked_by("c") == ["src"]
    assert await redis.hget(article_key("src"), "links") == b'["sig-2"]'
    await settled(settings, redis, [await decide("src", [], [])])
    assert await graph.linked_by("b") == ["other"] and await graph.linked_by("c") == []
    await redis.aclose()


async def test_links_to_a_story_killed_before_they_are_kept_are_refreshed_at_once(
    settings: StackSettings,
) -> None:
    """The race chaos found: a story's links were picked while their target was on the site,
    the target's kill then looked for the pages linking to it before this decision was kept,
    found none, and the page linked a killed story for good. Kept now, the decision finds the
    target gone and queues its own refresh."""
    redis = create_redis(settings.redis_url)
    await ensure_groups(redis)
    graph = RedisLinkGraph(redis)
    for target in ("live", "doomed"):
        await redis.hset(article_key(target), "status", "usable")
    _revision, decided = await graph.enrichment_write("src", [], ["sig"], ["live", "doomed"], "1")
    await redis.hset(article_key("doomed"), "status", "canceled")  # the kill, recorded first
    assert await graph.linked_by("doomed") == []  # what the kill's sweep saw
    await settled(settings, redis, [decided])
    assert await redis.zscore(REFRESH_DUE, "src") is not None
    # Nothing killed meanwhile: no refresh.
    await redis.delete(REFRESH_DUE)
    _revision, again = await graph.enrichment_write("other", [], ["sig"], ["live"], "1")
    await settled(settings, redis, [again])
    assert await redis.zscore(REFRESH_DUE, "other") is None
    await redis.aclose()
