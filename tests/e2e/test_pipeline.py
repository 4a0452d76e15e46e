"""The four services as separate processes: pushed stories become pages, and stay right."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, TypeVar

import httpx
import pytest
import redis
from faststream.redis.parser.binary import BinaryMessageFormatV1
from pydantic import BaseModel

from shared.broker import encode_event
from shared.events import ArticleEnriched, ArticleIngested, ArticlePublished, ArticleRendered
from shared.models import Article, article_id_for
from shared.storage import Storage
from shared.streams import ENRICH, ENRICHED, INGESTED, PUBLISHED, RENDERED, dead_letter
from tests.conftest import ServiceProcesses, wait_for
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.e2e

# An article's page (the site's listings, feeds and sitemaps live beside them).
ARTICLE_PAGE = re.compile(r"^\d{4}/\d{2}/[^/]+-[0-9a-f]{8}/index\.html$")

T = TypeVar("T", bound=BaseModel)

WAR = [
    "Ukrainian forces pushed deeper into Russia's Kursk region on {d}, according to officials in Kyiv.",
    "The incursion across the border has forced Moscow to move reserves from the front in Donetsk.",
    "Russian commanders said drone strikes hit Ukrainian armour near the town of Sudzha.",
    "Analysts in Kyiv said the Kursk offensive aims to strengthen Ukraine's hand in any talks.",
]
KENYA = [
    "Kenya's parliament debated the finance bill in Nairobi on {d} as protesters gathered outside.",
    "Members of parliament from the ruling coalition defended the new taxes on bread and fuel.",
    "Opposition leaders said the bill would hurt households already squeezed by inflation in Kenya.",
    "The speaker of the National Assembly adjourned the session until Thursday.",
]
STORM = [
    "Hurricane Delia made landfall on the Gulf coast on {d} with winds of 130 miles per hour.",
    "Emergency managers ordered evacuations along the coast as the storm surge flooded roads.",
    "Forecasters at the hurricane center said heavy rain would spread inland overnight.",
    "Power companies reported more than a million customers without electricity after the storm.",
]


def story(
    guid: str,
    headline: str,
    paragraphs: list[str],
    version: str = "1",
    day: int = 1,
    pubstatus: str = "usable",
) -> dict[str, Any]:
    return {
        "uri": guid,
        "version": version,
        "type": "text",
        "headline": headline,
        "byline": "By Test Desk",
        "language": "en",
        "pubstatus": pubstatus,
        "firstcreated": f"2026-08-{day:02d}T08:00:00Z",
        "versioncreated": f"2026-08-{day:02d}T{8 + int(version):02d}:00:00Z",
        "body_html": "".join(f"<p>{p.format(d=f'August {day}')}</p>" for p in paragraphs),
    }


def push(services: ServiceProcesses, body: dict[str, Any] | bytes) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{services.ingest_url}/v1/stories",
        content=content,
        headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"},
        timeout=10,
    )


def read_stream(settings: StackSettings, stream: str, model: type[T]) -> list[T]:
    client = redis.Redis.from_url(settings.redis_url)
    events = []
    for _, fields in client.xrange(stream):
        body, _ = BinaryMessageFormatV1.parse(fields[b"__data__"])
        events.append(model.model_validate_json(body))
    client.close()
    return events


def published(settings: StackSettings) -> list[ArticlePublished]:
    return read_stream(settings, PUBLISHED, ArticlePublished)


def page(settings: StackSettings, article_id: str) -> str | None:
    outcome = {e.article_id: e for e in published(settings)}.get(article_id)
    if outcome is None:
        return None
    storage = Storage(settings)
    body = storage.get_page(outcome.page_path)
    storage.close()
    return body.decode() if body else None


def wait_for_page(settings: StackSettings, guid: str, containing: str, timeout: float = 60) -> str:
    found: list[str] = []

    def check() -> bool:
        html = page(settings, article_id_for(guid))
        if html and containing in html:
            found.append(html)
            return True
        return False

    wait_for(check, timeout, f"page of {guid} containing {containing!r}")
    return found[0]


def test_pushed_stories_become_linked_pages_and_corrections_and_kills_follow(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start_all()
    stories = [
        story("urn:test:war-1", "Ukraine pushes deeper into Kursk region", WAR, day=1),
        story("urn:test:kenya-1", "Kenya parliament debates finance bill", KENYA, day=2),
        story("urn:test:storm-1", "Hurricane Delia makes landfall", STORM, day=3),
        story(
            "urn:test:war-2",
            "Drone strikes hit armour near Sudzha in Kursk",
            WAR[2:] + WAR[:2],
            day=4,
        ),
        story(
            "urn:test:war-3",
            "Kyiv says Kursk offensive strengthens its hand",
            WAR[3:] + WAR[:3],
            day=5,
        ),
    ]
    stories += [
        story(
            "urn:test:war-4",
            "Moscow moves reserves to Kursk from Donetsk",
            WAR[1:] + WAR[:1],
            day=6,
        ),
        story("urn:test:war-5", "Kursk incursion enters second week", WAR, day=7),
    ]
    for s in stories:
        response = push(services, s)
        assert response.status_code == 202, response.text
        assert response.json()["article_id"] == article_id_for(s["uri"])

    html = wait_for_page(settings, "urn:test:war-5", "Kursk incursion enters second week")
    assert "READ ALSO" in html
    assert "Related Posts" in html
    # Related links point at the other war stories, never at Kenya or the hurricane.
    assert "Drone strikes hit armour" in html or "Ukraine pushes deeper" in html
    assert "Kenya parliament" not in html
    assert "Hurricane Delia" not in html

    # The first story had nothing to link to when it arrived; the stories after it refresh it.
    first = wait_for_page(settings, "urn:test:war-1", "READ ALSO")
    assert "Kenya parliament" not in first and "Hurricane Delia" not in first

    # Killing a story takes it out of every page that linked to it.
    moscow = "Moscow moves reserves to Kursk"
    assert (
        push(
            services, {"uri": "urn:test:war-4", "version": "2", "pubstatus": "canceled"}
        ).status_code
        == 202
    )
    linkers = ["urn:test:war-1", "urn:test:war-2", "urn:test:war-3", "urn:test:war-5"]

    def unlinked() -> bool:
        return all(moscow not in (page(settings, article_id_for(g)) or moscow) for g in linkers)

    wait_for(unlinked, 30, "pages to drop their links to the killed story")

    # A repeat is a duplicate, not a second publication.
    again = push(services, stories[0])
    assert again.status_code == 200 and again.json()["status"] == "duplicate"

    # A correction updates the page; a late, older version never overwrites it.
    corrected = story(
        "urn:test:kenya-1",
        "Kenya parliament passes amended finance bill",
        KENYA,
        version="3",
        day=2,
    )
    assert push(services, corrected).status_code == 202
    wait_for_page(settings, "urn:test:kenya-1", "passes amended finance bill")
    older = story("urn:test:kenya-1", "Kenya parliament OLD VERSION", KENYA, version="2", day=2)
    assert push(services, older).status_code == 202
    time.sleep(3)
    html = page(settings, article_id_for("urn:test:kenya-1"))
    assert html and "passes amended finance bill" in html and "OLD VERSION" not in html
    assert "Updated" in html

    # A kill takes the page down.
    kill = {"uri": "urn:test:storm-1", "version": "2", "pubstatus": "canceled"}
    assert push(services, kill).status_code == 202

    def storm_gone() -> bool:
        outcome = {e.article_id: e for e in published(settings)}[article_id_for("urn:test:storm-1")]
        return (
            outcome.outcome == "withdrawn"
            and page(settings, article_id_for("urn:test:storm-1")) is None
        )

    wait_for(storm_gone, 30, "the killed story's page to go")

    # The front page lists the stories on the site, not the killed one.
    storage = Storage(settings)

    def front_page_current() -> bool:
        front = storage.get_page("index.html") or b""
        return b"Kursk incursion enters second week" in front and b"Hurricane Delia" not in front

    wait_for(front_page_current, 30, "the front page to list the stories but not the killed one")
    storage.close()


def test_rejected_requests_emit_nothing(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start("ingest")
    url = f"{services.ingest_url}/v1/stories"
    good = json.dumps(story("urn:test:x", "A headline", KENYA)).encode()
    no_auth = httpx.post(url, content=good, headers={"Content-Type": "application/json"})
    assert no_auth.status_code == 401
    assert no_auth.headers["content-type"].startswith("application/problem+json")
    wrong = httpx.post(url, content=good, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    no_headline = push(services, {"uri": "urn:test:y", "body_html": "<p>text</p>"})
    assert no_headline.status_code in (400, 422)
    assert no_headline.json()["field"] == "headline"
    broken = push(services, b'{"uri": "urn:test:z", "headline": ')
    assert broken.status_code == 400
    client = redis.Redis.from_url(settings.redis_url)
    assert client.xlen(INGESTED) == 0
    client.close()


def test_a_service_killed_holding_unacked_messages_loses_nothing_and_duplicates_nothing(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start("ingest")
    count = 150
    for i in range(count):
        paragraphs = WAR if i % 2 else KENYA
        assert (
            push(services, story(f"urn:test:bulk-{i}", f"Story number {i}", paragraphs)).status_code
            == 202
        )
    for i in range(0, count, 10):  # corrections for some of them
        assert (
            push(
                services,
                story(f"urn:test:bulk-{i}", f"Story number {i} corrected", KENYA, version="2"),
            ).status_code
            == 202
        )
    services.start("render")
    services.start("publish")
    client = redis.Redis.from_url(settings.redis_url)
    # Link refreshes republish pages on purpose; held off here, every write comes from a push.
    no_refresh = {"RELATED_REFRESH_DELAY_S": "3600"}
    services.start("enrich", consumer="enrich-doomed", extra=no_refresh)
    wait_for(
        lambda: client.xpending(INGESTED, ENRICH)["pending"] > 0, 30, "enrich to hold messages"
    )
    services.kill9("enrich")
    pending = client.xpending(INGESTED, ENRICH)
    assert pending["pending"] > 0, "the killed replica held no unacked messages"
    assert any(c["name"] == b"enrich-doomed" for c in pending["consumers"])

    services.start("enrich", consumer="enrich-successor", extra=no_refresh)
    expected = {
        article_id_for(f"urn:test:bulk-{i}"): ("2" if i % 10 == 0 else "1") for i in range(count)
    }

    def latest_written() -> dict[str, str]:
        latest: dict[str, str] = {}
        for event in published(settings):
            if event.outcome == "written":
                latest[event.article_id] = event.version
        return latest

    wait_for(lambda: latest_written() == expected, 120, "every story at its latest version")
    # The replica died before acknowledging its batch, so it emitted nothing for it: every pushed
    # version was enriched exactly once (pages that link a corrected story are refreshed too, as
    # republishes, which are not counted here).
    enriched = [
        (e.article_id, e.version)
        for e in read_stream(settings, ENRICHED, ArticleEnriched)
        if e.reason == "ingested"
    ]
    assert len(enriched) == len(set(enriched)), "a pushed version was enriched twice"
    # A version 1 reclaimed after its version 2 went through is stale: recorded, never enriched.
    assert set(expected.items()) <= set(enriched)
    storage = Storage(settings)
    pages = [k for k in storage.list_pages() if ARTICLE_PAGE.match(k)]
    storage.close()
    assert len(pages) == count
    assert client.xpending(INGESTED, ENRICH)["pending"] == 0
    client.close()


def put_poison_page(client: redis.Redis) -> None:
    """A rendered page whose key no S3 server accepts, put on the rendered stream: every attempt
    to publish it fails."""
    poison = ArticleRendered(
        article_id="poison",
        guid="urn:test:poison",
        version="1",
        ordering="1",
        page_path="x" * 2000 + "/index.html",
        html="<p>never</p>",
    )
    client.xadd(RENDERED, {"__data__": asyncio.run(encode_event(poison))})


def test_a_poison_event_is_dead_lettered_while_the_stories_around_it_are_published(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start_all()
    assert push(services, story("urn:test:before", "Before the poison", WAR)).status_code == 202
    client = redis.Redis.from_url(settings.redis_url)
    put_poison_page(client)
    assert push(services, story("urn:test:after", "After the poison", KENYA)).status_code == 202
    wait_for_page(settings, "urn:test:before", "Before the poison")
    wait_for_page(settings, "urn:test:after", "After the poison")
    wait_for(lambda: client.xlen(dead_letter(RENDERED)) == 1, 60, "the poison to be dead-lettered")
    [(_, dead)] = client.xrange(dead_letter(RENDERED))
    assert int(dead[b"deliveries"]) == settings.max_deliveries + 1
    assert dead[b"reason"]
    assert client.xpending(RENDERED, "publish")["pending"] == 0
    client.close()


def test_a_story_too_complex_to_sanitise_is_dead_lettered_at_once_while_its_neighbours_flow(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    """Ingest refuses such a body with a 422; one on the stream anyway (an older ingest, another
    producer) once froze enrich for minutes per delivery: nh3 is quadratic in nesting depth, and
    20k nested lists took 9 s on the event loop. Now it is dead-lettered with its reason at its
    first delivery, and the stories pushed around it are published."""
    services.start_all()
    client = redis.Redis.from_url(settings.redis_url)
    poison = Article(guid="urn:test:nested", headline="Nested", body_html="<ul><li>x" * 5_000)
    event = ArticleIngested.about(poison, correlation_id="poison", article=poison, feed="default")
    assert push(services, story("urn:test:before", "Before the poison", WAR)).status_code == 202
    client.xadd(INGESTED, {"__data__": asyncio.run(encode_event(event))})
    assert push(services, story("urn:test:after", "After the poison", KENYA)).status_code == 202
    wait_for_page(settings, "urn:test:before", "Before the poison")
    wait_for_page(settings, "urn:test:after", "After the poison")
    wait_for(lambda: client.xlen(dead_letter(INGESTED)) == 1, 30, "the poison to be dead-lettered")
    [(_, dead)] = client.xrange(dead_letter(INGESTED))
    assert int(dead[b"deliveries"]) == 1
    assert b"BodyTooComplex" in dead[b"reason"] and b"deep" in dead[b"reason"]
    assert client.xpending(INGESTED, ENRICH)["pending"] == 0
    client.close()
