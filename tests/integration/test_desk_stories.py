"""The desk's story index, audit log, jobs and API against a real Valkey: events in on the real
streams, commands out on the republish stream, every action in the audit log."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from faststream.redis.parser.binary import BinaryMessageFormatV1

from services.desk import add_token, add_user
from services.desk.adapters import RedisStoryIndex
from services.desk.ports import StoryQuery
from services.desk.stories import on_enriched, on_ingested, on_published
from shared.broker import DATA_FIELD, create_redis, publish_events
from shared.events import ArticleEnriched, ArticleIngested, ArticlePublished
from shared.models import Article, Section, Tag
from shared.streams import ENRICHED, INGESTED, PUBLISHED, REPUBLISH, dead_letter
from tests.integration.test_desk import PASSWORD, desk, desk_settings, form_token, signed_in
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
SECTIONS = {"world": "World", "sport": "Sport"}


def story(n: int, headline: str, day: int = 0) -> Article:
    return Article(
        guid=f"urn:test:{n}",
        version="1",
        headline=headline,
        body_html="<p>Text.</p>",
        versioncreated=T0 + timedelta(days=day, minutes=n),
        subjects=[],
    )


def events(
    a: Article, section: str, tags: list[str]
) -> tuple[ArticleIngested, ArticleEnriched, ArticlePublished]:
    ordering = f"{a.ordering}|0000000001"
    return (
        ArticleIngested.about(a, article=a, feed="wire", raw_key=f"raw/{a.article_id}"),
        ArticleEnriched.about(
            a, article=a, ordering=ordering, revision=1, page_path=f"p/{a.article_id}/index.html",
            tags=[Tag(type="place", name=t, slug=f"place-{t}") for t in tags],
            section=Section(slug=section, name=SECTIONS[section]),
        ),
        ArticlePublished.about(
            a, ordering=ordering, page_path=f"p/{a.article_id}/index.html",
            url=f"https://news.example/p/{a.article_id}/", outcome="written",
        ),
    )  # fmt: skip


ARCHIVE = [
    (story(1, "Ukraine pushes into Kursk region", day=0), "world", ["kursk", "ukraine"]),
    (story(2, "Kursk fighting enters second week", day=1), "world", ["kursk"]),
    (story(3, "Harambee Stars beat Gor Mahia", day=2), "sport", ["nairobi"]),
    (story(4, "Kenya's Harambee Stars name squad", day=3), "sport", ["nairobi"]),
    (story(5, "Kursk nuclear plant inspected", day=4), "world", ["kursk"]),
]  # fmt: skip


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


async def test_the_index_searches_by_words_prefix_status_section_tag_and_date(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    index = RedisStoryIndex(redis)
    try:
        for a, section, tags in ARCHIVE:
            for event in events(a, section, tags):
                if isinstance(event, ArticleIngested):
                    change, entry = on_ingested(event)
                    await index.update(a.article_id, change, entry)
                elif isinstance(event, ArticleEnriched):
                    change, entry = on_enriched(event)
                    await index.update(a.article_id, change, entry)
                else:
                    change, entries = on_published(event)
                    await index.update(a.article_id, change, *entries)

        async def headlines(**query: object) -> list[str]:
            return [s.headline for s in (await index.search(StoryQuery(**query))).stories]  # type: ignore[arg-type]

        every = await index.search(StoryQuery())
        assert every.total == 5 and every.stories[0].headline.startswith("Kursk nuclear")
        assert await headlines(text="kursk") == [
            "Kursk nuclear plant inspected", "Kursk fighting enters second week",
            "Ukraine pushes into Kursk region",
        ]  # fmt: skip
        assert await headlines(text="kur") == await headlines(text="kursk"), "a typed prefix"
        assert await headlines(text="kursk fi") == ["Kursk fighting enters second week"]
        assert await headlines(text="harambee", section="world") == []
        assert await headlines(section="sport", tag="place-nairobi") == [
            "Kenya's Harambee Stars name squad", "Harambee Stars beat Gor Mahia",
        ]  # fmt: skip
        assert await headlines(text="zzz") == []
        day = (T0 + timedelta(days=1)).timestamp()
        assert await headlines(text="kursk", since=day, until=day + 86400) == [
            "Kursk fighting enters second week"
        ]
        page = await index.search(StoryQuery(text="kursk", offset=1, limit=1))
        assert page.total == 3 and [s.headline for s in page.stories] == [
            "Kursk fighting enters second week"
        ]
        assert len(await headlines(status="live")) == 5
        # A headline change moves the story's words; a kill its status.
        a = ARCHIVE[0][0]
        renamed = a.model_copy(update={"version": "2", "headline": "Ukraine holds ground"})
        change, entry = on_ingested(ArticleIngested.about(renamed, article=renamed))
        await index.update(a.article_id, change, entry)
        assert "Ukraine holds ground" not in await headlines(text="kursk")
        assert await headlines(text="holds") == ["Ukraine holds ground"]
        timeline = await index.timeline(a.article_id)
        assert [e.stage for e in timeline] == ["ingested", "published", "enriched", "ingested"]
        assert await index.ids(tag="place-kursk") != []
    finally:
        await redis.aclose()


async def test_editors_act_through_the_api_and_every_action_is_audited(
    settings: StackSettings,
) -> None:
    config = desk_settings(settings)
    await add_user(config, "ada", PASSWORD, "editor")
    await add_user(config, "root", PASSWORD, "admin")
    token = await add_token(config, "cms-bot", "editor")
    assert token is not None
    redis = create_redis(settings.redis_url)
    try:
        async with desk(config) as client:
            for a, section, tags in ARCHIVE:
                ingest, enrich, publish = events(a, section, tags)
                await publish_events(redis, INGESTED, [ingest], 1000)
                await publish_events(redis, ENRICHED, [enrich], 1000)
                await publish_events(redis, PUBLISHED, [publish], 1000)
            bot = {"Authorization": f"Bearer {token}"}

            async def listed() -> bool:
                found = (await client.get("api/v1/stories", headers=bot)).json()
                return bool(
                    found["total"] == 5 and all(s["status"] == "live" for s in found["stories"])
                )

            await wait_until(listed)
            assert (
                await client.get("api/v1/stories", headers={"Authorization": "Bearer no"})
            ).status_code == 401
            target = ARCHIVE[0][0].article_id
            before = await redis.xlen(REPUBLISH)
            answer = await client.post(
                f"api/v1/stories/{target}/actions", headers=bot,
                json={"action": "ban", "value": ARCHIVE[1][0].article_id},
            )  # fmt: skip
            assert answer.status_code == 202, answer.text
            assert await redis.xlen(REPUBLISH) == before + 1
            [(_, fields)] = await redis.xrevrange(REPUBLISH, count=1)
            body, _ = BinaryMessageFormatV1.parse(fields[DATA_FIELD])
            sent = json.loads(body)
            assert (
                sent["ban"] == [ARCHIVE[1][0].article_id]
                and sent["requested_by"] == "token:cms-bot"
            )
            assert sent["correlation_id"] == answer.json()["correlation_id"]
            # A take-down without its confirmation sends nothing.
            refused = await client.post(
                f"api/v1/stories/{target}/actions", headers=bot, json={"action": "takedown"}
            )
            assert refused.status_code == 409 and await redis.xlen(REPUBLISH) == before + 1
            # A tag ban: the story's own command, then one for every other story with the tag.
            ban = await client.post(
                f"api/v1/stories/{target}/actions", headers=bot,
                json={"action": "ban-tag", "value": "place-kursk"},
            )  # fmt: skip
            job_id = ban.json()["job_id"]

            async def job_sent() -> bool:
                job = (await client.get(f"api/v1/jobs/{job_id}", headers=bot)).json()
                return bool(job["finished"] and job["sent"] == 2)

            await wait_until(job_sent)
            # Let back in, it goes back to the stories that had it (which no longer carry it).
            unban = await client.post(
                f"api/v1/stories/{target}/actions", headers=bot,
                json={"action": "unban-tag", "value": "place-kursk"},
            )  # fmt: skip
            job_id = unban.json()["job_id"]
            await wait_until(job_sent)
            [(_, last)] = await redis.xrevrange(REPUBLISH, count=1)
            sent_back = json.loads(BinaryMessageFormatV1.parse(last[DATA_FIELD])[0])
            assert sent_back["unban_tags"] == ["place-kursk"]
            audit = (await client.get("api/v1/audit", headers=bot)).json()
            assert [e["action"] for e in audit][:5] == [
                "republish", "unban-tag", "republish", "ban-tag", "ban",
            ]  # fmt: skip
            assert {e["user"] for e in audit} == {"token:cms-bot"}

            # A browser session: its CSRF token, and an editor may not requeue.
            csrf = await signed_in(client, "ada")
            forged = await client.post(
                f"stories/{target}/actions", data={"csrf": "x", "action": "republish"}
            )
            assert forged.status_code == 403
            page = await client.post(
                f"stories/{target}/actions", data={"csrf": csrf, "action": "republish"}
            )
            assert page.status_code == 303 and "done=desk-" in page.headers["location"]
            story_page = await client.get(page.headers["location"])
            assert (
                story_page.status_code == 200
                and "Ukraine pushes into Kursk region" in story_page.text
            )
            # Render gave up on the first story's enrichment: a dead letter with its reason.
            [(entry_id, enriched_fields)] = await redis.xrange(ENRICHED, count=1)
            await redis.xadd(dead_letter(ENRICHED), {"stream": ENRICHED, "group": "render",
                             "entry_id": entry_id, "reason": "PermanentError: broken",
                             "deliveries": "3", "failed_at": str(time.time()),
                             "data": enriched_fields[DATA_FIELD]})  # fmt: skip

            async def failed() -> bool:
                found = (await client.get(f"api/v1/stories/{target}")).json()
                return bool(found["status"] == "failed" and "broken" in found["failure"])

            await wait_until(failed)
            failures = (await client.get("api/v1/stories?status=failed")).json()["stories"]
            assert [s["article_id"] for s in failures] == [target]
            queue = (await client.get("api/v1/queue")).json()
            [dead] = queue["dead_letters"]
            assert dead["reason"].startswith("PermanentError") and dead["article_id"] == target
            assert any(
                g["group"] == "desk" and g["observer"]
                for s in queue["streams"]
                for g in s["groups"]
            )
            editor_try = await client.post(
                "api/v1/queue/requeue", headers={"X-CSRF-Token": csrf},
                json={"stream": ENRICHED, "dead_ids": [dead["dead_id"]]},
            )  # fmt: skip
            assert editor_try.status_code == 403
            await client.post("signout", data={"csrf": csrf})
            admin_csrf = await signed_in(client, "root")
            requeued = await client.post(
                "api/v1/queue/requeue", headers={"X-CSRF-Token": admin_csrf},
                json={"stream": ENRICHED, "dead_ids": [dead["dead_id"]]},
            )  # fmt: skip
            assert requeued.json() == {"count": 1}
            assert await redis.xlen(dead_letter(ENRICHED)) == 0
            assert (await client.get("api/v1/audit")).json()[0]["action"] == "requeue"
            # Every page a signed-in editor reaches renders.
            for path in ("", "?q=kur&section=world", "jobs", "queue", "queue/fragment", "audit",
                         f"stories/{target}/takedown"):  # fmt: skip
                assert (await client.get(path)).status_code == 200, path
            assert form_token((await client.get("")).text) == admin_csrf
    finally:
        await redis.aclose()


async def test_signed_out_nothing_but_the_sign_in_answers(settings: StackSettings) -> None:
    async with desk(desk_settings(settings)) as client:
        for path in ("", "jobs", "queue", "audit", "raw?key=raw/x", f"stories/{'a' * 16}"):
            answer = await client.get(path)
            assert answer.status_code == 303 and answer.headers["location"].endswith("signin"), path
        for path in ("api/v1/stories", "api/v1/queue", "api/v1/audit", "api/v1/openapi.json"):
            assert (await client.get(path)).status_code == 401, path
        assert (await client.post("api/v1/republish", json={"scope": "all"})).status_code == 401
        assert (await client.get("healthz")).status_code == 200


async def test_uncached_searches_leave_no_result_sets_behind(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    cached, uncached = RedisStoryIndex(redis), RedisStoryIndex(redis, cache_s=0)
    try:
        for a, section, tags in ARCHIVE:
            _ingest, enrich, publish = events(a, section, tags)
            for change, *_entries in (on_enriched(enrich), on_published(publish)):
                await cached.update(a.article_id, change)
        query = StoryQuery(text="kursk fi", section="world")
        assert [s.headline for s in (await uncached.search(query)).stories] == [
            "Kursk fighting enters second week"
        ]
        assert await redis.keys("wirepress:{desk}:query:*") == []
        assert (await cached.search(query)).total == 1
        # Kept for the next page: the intersection ("fi" is the start of one word only).
        assert len(await redis.keys("wirepress:{desk}:query:*")) == 1
    finally:
        await redis.aclose()


async def test_a_released_story_leaves_the_embargoed_list_and_any_script_is_found(
    settings: StackSettings,
) -> None:
    redis = create_redis(settings.redis_url)
    clock = [T0.timestamp()]
    index = RedisStoryIndex(redis, clock=lambda: clock[0])
    try:
        held = Article(
            guid="urn:test:held", version="1", headline="Москва: переговоры в Стамбуле",
            body_html="<p>.</p>", versioncreated=T0, embargoed=T0 + timedelta(hours=1),
        )  # fmt: skip
        change, entry = on_ingested(ArticleIngested.about(held, article=held))
        await index.update(held.article_id, change, entry)
        assert (await index.search(StoryQuery(status="embargoed"))).total == 1
        # Its time passes, then its page goes up: listed live, no longer embargoed.
        clock[0] += 7200
        _, enrich, publish = events(held, "world", [])
        for change, *_entries in (on_enriched(enrich), on_published(publish)):
            await index.update(held.article_id, change)
        assert (await index.search(StoryQuery(status="embargoed"))).total == 0
        assert (await index.search(StoryQuery(status="live"))).total == 1
        # A prefix in Cyrillic, Greek or any script past U+00FF finds its words.
        for typed in ("моск", "перегов", "стамбул"):
            found = await index.search(StoryQuery(text=typed))
            assert [s.guid for s in found.stories] == ["urn:test:held"], typed
    finally:
        await redis.aclose()
