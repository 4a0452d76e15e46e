"""The queries enrich and render answer about what they own, in-process on a real Valkey."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from services.enrich.adapters import RedisStoryRecords
from services.enrich.app import create_app as create_enrich
from services.enrich.handlers import page_path_for
from services.render.adapters import RedisSite
from services.render.app import create_app as create_render
from services.render.ports import SiteChange
from shared.broker import create_redis
from shared.models import Article, ListingEntry
from shared.queries import MAX_LOOKUP
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def answering(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            yield client


def story(n: int) -> Article:
    return Article(
        guid=f"urn:test:q-{n}",
        version="2",
        headline=f"Story {n}",
        body_html="<p>Text.</p>",
        firstcreated=datetime(2026, 8, 1, tzinfo=UTC),
    )


async def test_enrich_answers_what_its_archive_holds(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    records = RedisStoryRecords(redis)
    for n in range(7):
        await records.record(story(n), page_path_for(story(n)), "")
    async with answering(create_enrich(settings)) as client:
        one = await client.get(f"/v1/stories/{story(1).article_id}")
        assert one.status_code == 200
        assert (one.json()["guid"], one.json()["version"]) == ("urn:test:q-1", "2")
        # By guid too.
        assert (await client.get("/v1/stories/urn:test:q-2")).json()["headline"] == "Story 2"
        assert (await client.get("/v1/stories/0123456789abcdef")).status_code == 404

        found = await client.post(
            "/v1/stories/lookup", content=json.dumps({"article_ids": ["urn:test:q-3", "nope"]})
        )
        assert [r["guid"] for r in found.json()] == ["urn:test:q-3"]

        seen: list[str] = []
        cursor: str | None = "0"
        while cursor is not None:
            page = (await client.get("/v1/stories", params={"cursor": cursor, "limit": 2})).json()
            seen += [r["article_id"] for r in page["stories"]]
            cursor = page["cursor"]
        assert set(seen) == {story(n).article_id for n in range(7)}

        index = (await client.get("/v1/index")).json()
        assert index["refreshes_waiting"] == 0 and index["semantic_model"] is None

        # A question asked wrong is a 400 that says why, never a 500.
        for bad in (
            "not json",
            '{"ids": []}',
            json.dumps({"article_ids": ["x"] * (MAX_LOOKUP + 1)}),
        ):
            answer = await client.post("/v1/stories/lookup", content=bad)
            assert answer.status_code == 400 and answer.json()["detail"]
        assert (await client.get("/v1/stories", params={"cursor": "abc"})).status_code == 400
        clamped = await client.get("/v1/stories", params={"limit": "0"})
        assert clamped.status_code == 200
    await redis.aclose()


async def test_render_answers_what_the_site_lists(settings: StackSettings) -> None:
    redis = create_redis(settings.redis_url)
    site = RedisSite(redis)
    entry = ListingEntry(article_id="a1", headline="Listed", path="2026/08/a1/index.html")
    await site.apply(SiteChange("list", "a1", "0002", entry), ["home"], [], 0.0)
    await site.apply(SiteChange("delist", "k1", "0003"), [], [], 0.0)
    async with answering(create_render(settings)) as client:
        status = (await client.get("/v1/listing")).json()
        assert status["stories"] == 1 and status["generation"] > 0
        states = await client.post(
            "/v1/listing/lookup", content=json.dumps({"article_ids": ["a1", "k1", "zz"]})
        )
        assert states.json() == [
            {"article_id": "a1", "listed_ordering": "0002", "withdrawn_ordering": None},
            {"article_id": "k1", "listed_ordering": None, "withdrawn_ordering": "0003"},
            {"article_id": "zz", "listed_ordering": None, "withdrawn_ordering": None},
        ]
        assert (await client.post("/v1/listing/lookup", content=b"[")).status_code == 400
    await redis.aclose()
