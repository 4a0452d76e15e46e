"""The delivery layer against a real Valkey: groups from 0, retries, reclaiming, dead letters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import TypeAdapter
from redis.asyncio import Redis

from cli.editors import send_requests
from shared.backlog import (
    list_dead,
    missed_entries,
    requeue,
    trim_acknowledged,
    wait_for_capacity,
)
from shared.broker import create_broker, create_redis, ensure_groups
from shared.delivery import StreamConsumer, _Delivery
from shared.errors import PermanentError
from shared.events import ArticleRepublishRequested
from shared.streams import ENRICH, PUBLISH, RENDERED, REPUBLISH, dead_letter, failures_key
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration

OUT = "test:out"


def request(article_id: str, reason: str = "test") -> bytes:
    return (
        ArticleRepublishRequested(
            article_id=article_id, guid=f"g-{article_id}", version="1", reason=reason
        )
        .model_dump_json()
        .encode()
    )


async def handler_that(seen: list[str]) -> Any:
    async def handle(event: ArticleRepublishRequested) -> Sequence[tuple[str, Any]]:
        if event.reason == "poison":
            raise RuntimeError("this story breaks the handler every time")
        if event.reason == "invalid-forever":
            raise PermanentError("cannot be handled")
        seen.append(event.article_id)
        return [(OUT, event)]

    return handle


async def republish_consumer(
    settings: StackSettings, redis: Redis, broker: Any, seen: list[str], **options: Any
) -> StreamConsumer:
    """A consumer of the republish stream, as enrich runs one, whose handler notes what it saw."""
    return StreamConsumer(
        stream=REPUBLISH,
        group=ENRICH,
        adapter=TypeAdapter(ArticleRepublishRequested),
        handle=await handler_that(seen),
        settings=settings,
        redis=lambda: redis,
        broker=broker,
        **options,
    )


async def run_consumer(
    settings: StackSettings, seen: list[str], until: Any, timeout: float = 30
) -> tuple[Redis, StreamConsumer]:
    redis = create_redis(settings.redis_url)
    broker = create_broker(settings)
    consumer = await republish_consumer(settings, redis, broker, seen, concurrency=4)
    consumer.subscribe()
    await broker.start()
    try:
        async with asyncio.timeout(timeout):
            while not await until(redis):
                await asyncio.sleep(0.05)
    finally:
        await broker.stop()
    return redis, consumer


async def publish_raw(settings: StackSettings, *payloads: bytes) -> None:
    broker = create_broker(settings)
    await broker.connect()
    for payload in payloads:
        await broker.publish(payload, stream=REPUBLISH)
    await broker.stop()


async def test_entries_published_before_the_consumer_first_starts_are_read(
    settings: StackSettings,
) -> None:
    await publish_raw(settings, *(request(f"early-{i}") for i in range(5)))
    seen: list[str] = []

    async def all_out(redis: Redis) -> bool:
        return bool(await redis.xlen(OUT) == 5)

    redis, _ = await run_consumer(settings, seen, all_out)
    assert sorted(seen) == [f"early-{i}" for i in range(5)]
    assert (await redis.xpending(REPUBLISH, ENRICH))["pending"] == 0
    await redis.aclose()


async def test_poison_message_is_dead_lettered_after_max_deliveries_and_the_rest_go_through(
    settings: StackSettings,
) -> None:
    payloads = [request("a"), request("b"), request("poison-1", "poison"), request("c")]
    await publish_raw(settings, *payloads)
    seen: list[str] = []

    async def poison_dead(redis: Redis) -> bool:
        return bool(await redis.xlen(dead_letter(REPUBLISH)) == 1)

    redis, _ = await run_consumer(settings, seen, poison_dead)
    assert sorted(seen) == ["a", "b", "c"]
    [(_, dead)] = await redis.xrange(dead_letter(REPUBLISH))
    assert b"breaks the handler every time" in dead[b"reason"]
    assert int(dead[b"deliveries"]) == settings.max_deliveries + 1
    assert b"poison-1" in dead[b"data"]
    assert (await redis.xpending(REPUBLISH, ENRICH))["pending"] == 0
    assert await redis.hlen(failures_key(REPUBLISH, ENRICH)) == 0
    await redis.aclose()


async def test_invalid_and_permanently_failing_messages_are_dead_lettered_at_once(
    settings: StackSettings,
) -> None:
    client = create_redis(settings.redis_url)
    await client.xadd(REPUBLISH, {"__data__": b"not a FastStream message at all"})
    await client.aclose()
    await publish_raw(settings, request("x", "invalid-forever"), request("ok"))
    seen: list[str] = []

    async def two_dead(redis: Redis) -> bool:
        return bool(await redis.xlen(dead_letter(REPUBLISH)) == 2 and seen)

    redis, _ = await run_consumer(settings, seen, two_dead)
    reasons = [fields[b"reason"] for _, fields in await redis.xrange(dead_letter(REPUBLISH))]
    assert any(b"invalid event" in r for r in reasons)
    assert any(b"cannot be handled" in r for r in reasons)
    assert all(int(f[b"deliveries"]) == 1 for _, f in await redis.xrange(dead_letter(REPUBLISH)))
    assert seen == ["ok"]
    await redis.aclose()


async def test_messages_a_dead_consumer_left_pending_are_reclaimed(settings: StackSettings) -> None:
    await publish_raw(settings, *(request(f"orphan-{i}") for i in range(3)))
    client = create_redis(settings.redis_url)
    # A replica reads the entries, then dies without acknowledging them.
    await client.xreadgroup(ENRICH, "replica-that-died", {REPUBLISH: ">"}, count=10)
    assert (await client.xpending(REPUBLISH, ENRICH))["pending"] == 3
    await client.aclose()
    seen: list[str] = []

    async def all_out(redis: Redis) -> bool:
        return bool(await redis.xlen(OUT) == 3)

    redis, _ = await run_consumer(settings, seen, all_out)
    assert sorted(seen) == ["orphan-0", "orphan-1", "orphan-2"]
    assert (await redis.xpending(REPUBLISH, ENRICH))["pending"] == 0
    await redis.aclose()


async def test_ensure_groups_is_idempotent(settings: StackSettings) -> None:
    client = create_redis(settings.redis_url)
    await ensure_groups(client)
    await ensure_groups(client)
    groups = await client.xinfo_groups(REPUBLISH)
    assert [g["name"] for g in groups] in ([b"enrich"], ["enrich"])
    await client.aclose()


async def test_a_group_new_to_a_stream_with_history_starts_from_now(
    settings: StackSettings,
) -> None:
    # An upgrade that adds a consumer to a stream of the past: it must not start thousands of
    # entries behind (which would also make ingest refuse feeds), nor skip what comes next.
    client = create_redis(settings.redis_url)
    await client.xgroup_destroy(RENDERED, PUBLISH)
    await client.xadd(RENDERED, {"__data__": b"written for the consumers of the time"})
    await ensure_groups(client)
    [group] = await client.xinfo_groups(RENDERED)
    assert group["lag"] == 0 and group["pending"] == 0
    await client.xadd(RENDERED, {"__data__": b"after the upgrade"})
    [group] = await client.xinfo_groups(RENDERED)
    assert group["lag"] == 1
    await client.aclose()


async def test_dead_letters_are_listed_with_their_reason_and_can_be_requeued(
    settings: StackSettings,
) -> None:
    await publish_raw(settings, request("flaky", "poison"))
    seen: list[str] = []

    async def dead(redis: Redis) -> bool:
        return bool(await redis.xlen(dead_letter(REPUBLISH)) == 1)

    redis, _ = await run_consumer(settings, seen, dead)
    [letter] = await list_dead(redis, [REPUBLISH])
    assert letter.stream == REPUBLISH and letter.group == ENRICH
    assert "breaks the handler every time" in letter.reason
    assert letter.deliveries == settings.max_deliveries + 1

    # The cause is fixed (here: the event no longer says "poison"), the message goes back.
    assert await requeue(redis, REPUBLISH, [letter.dead_id], settings.stream_maxlen) == 1
    assert await redis.xlen(dead_letter(REPUBLISH)) == 0
    [(_, fields)] = await redis.xrevrange(REPUBLISH, count=1)
    assert b"flaky" in fields[b"__data__"]
    await redis.aclose()


async def test_two_copies_of_one_message_emit_its_outputs_once(settings: StackSettings) -> None:
    """A slow replica and the one that reclaimed its message both finish: one emits, one not."""
    await publish_raw(settings, request("twice"))
    redis = create_redis(settings.redis_url)
    [(_, [(entry_id, fields)])] = await redis.xreadgroup(ENRICH, "slow", {REPUBLISH: ">"})
    seen: list[str] = []
    consumer = await republish_consumer(settings, redis, create_broker(settings), seen)
    for _copy in range(2):
        await consumer.process(
            [_Delivery(entry_id=entry_id, raw=fields[b"__data__"])], reclaimed=False
        )
    assert seen == ["twice", "twice"]
    assert await redis.xlen(OUT) == 1
    assert consumer.handled == 1
    await redis.aclose()


async def test_bulk_republishing_waits_while_a_stage_is_behind(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    broker = create_broker(settings)
    await broker.connect()
    try:
        # Publish has not finished three entries: over half of the limit of 4 (BULK_SHARE), so
        # nothing more may be queued until it has.
        for _ in range(3):
            await redis.xadd(RENDERED, {"__data__": b"a page publish has not written yet"})
        with pytest.raises(TimeoutError, match="publish is 3 entries behind"):
            await wait_for_capacity(redis, 0, poll_s=0.05, timeout_s=0.2)
        requests = [
            ArticleRepublishRequested.model_validate_json(request(f"{i:016x}")) for i in range(3)
        ]
        sending = asyncio.create_task(
            send_requests(redis, requests, settings.stream_maxlen, max_backlog=4, pace_every=2)
        )
        await asyncio.sleep(0.5)
        assert not sending.done()
        assert await redis.xlen(REPUBLISH) == 0

        [(_, entries)] = await redis.xreadgroup(PUBLISH, "test", {RENDERED: ">"})
        await redis.xack(RENDERED, PUBLISH, *(entry_id for entry_id, _ in entries))
        await asyncio.wait_for(sending, timeout=5)
        # Its own two requests (enrich reads nothing here) are within the limit's half.
        assert await redis.xlen(REPUBLISH) == 3
    finally:
        await broker.stop()
        await redis.aclose()


async def test_streams_are_trimmed_to_what_some_group_has_not_acknowledged(
    settings: StackSettings,
) -> None:
    """The rendered stream held 1.7 GB for 73k entries: every page ever rendered, acknowledged
    long before. What every group has acknowledged goes (once older than the retention); what
    any group has not read, or holds pending, stays."""
    redis = create_redis(settings.redis_url)
    stream = "test:trimmed"
    ids = [await redis.xadd(stream, {"n": str(i)}) for i in range(10)]
    await redis.xgroup_create(stream, "fast", id="0")
    await redis.xgroup_create(stream, "slow", id="0")
    await redis.xreadgroup("fast", "c", {stream: ">"}, count=10)
    await redis.xack(stream, "fast", *ids)
    # "slow" has read six: acknowledged the first three, holds 4-6 pending, has not read 7-10.
    await redis.xreadgroup("slow", "c", {stream: ">"}, count=6)
    await redis.xack(stream, "slow", *ids[:3])
    assert await trim_acknowledged(redis, stream, retain_s=3600) == 0  # all recent
    assert await trim_acknowledged(redis, stream, retain_s=0) == 3
    assert [entry_id for entry_id, _ in await redis.xrange(stream)] == ids[3:]
    await redis.xack(stream, "slow", *ids[3:6])
    assert await trim_acknowledged(redis, stream, retain_s=0) == 3
    [(_, unread)] = await redis.xreadgroup("slow", "c", {stream: ">"})
    assert [entry_id for entry_id, _ in unread] == ids[6:]
    await redis.xack(stream, "slow", *ids[6:])
    assert await trim_acknowledged(redis, stream, retain_s=0) == 4
    assert await redis.xlen(stream) == 0
    # The groups' lag stays known: backpressure still reads it.
    assert all(group["lag"] == 0 for group in await redis.xinfo_groups(stream))
    assert await trim_acknowledged(redis, "test:no-such-stream", retain_s=0) == 0
    await redis.aclose()


async def test_an_observer_stopped_past_its_retention_is_trimmed_past_and_knows_it(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    stream = "wirepress:ingested"  # the desk (DESK) observes it beside enrich
    ids = [await redis.xadd(stream, {"n": str(i)}) for i in range(6)]
    await redis.xgroup_setid(stream, "enrich", ids[-1])  # enrich has read (and acked) it all
    [(_, read)] = await redis.xreadgroup("desk", "d", {stream: ">"}, count=2)
    await redis.xack(stream, "desk", *[entry_id for entry_id, _ in read])
    assert not await missed_entries(redis, stream, "desk")
    # Within its retention the stopped observer keeps what it has not read...
    now = time.time()
    assert await trim_acknowledged(redis, stream, retain_s=0, now=now) == 2
    assert not await missed_entries(redis, stream, "desk")
    # ... past it, the stream is trimmed as if it were not there, and it can tell.
    later = now + 3600
    assert await trim_acknowledged(redis, stream, retain_s=0, now=later, observer_retain_s=600) == 4
    assert await missed_entries(redis, stream, "desk")
    await redis.aclose()
