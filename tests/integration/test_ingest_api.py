"""Ingest's HTTP front door against real Valkey and SeaweedFS: auth, limits, archive, replay.

Ingest runs in-process (its real lifespan, over httpx.ASGITransport); the CLI runs as a
subprocess, as an operator would run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from faststream.redis.parser.binary import BinaryMessageFormatV1

from cli import devstack
from cli.serve import initialise
from services.ingest.app import create_app
from services.ingest.auth import superdesk_signature, wirepress_signature
from services.ingest.keys import versions_key
from services.ingest.settings import FeedConfig
from shared.events import ArticleIngested, ArticlePublished
from shared.models import article_id_for
from shared.storage import Storage
from shared.streams import ENRICHED, INGESTED, PUBLISHED, RENDERED, REPUBLISH
from tests.conftest import ROOT, ServiceProcesses, settings_env, wait_for
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration

TOKEN = "test-token"
SUPERDESK_SECRET = "123456789"
AGENCY_SECRET = "agency-secret-0123456789"
PROBLEM = "application/problem+json"
NAR = "http://iptc.org/std/nar/2006-10-01/"

FEEDS = {
    "superdesk": FeedConfig(
        name="superdesk", secret=SUPERDESK_SECRET, auth=("superdesk-signature",)
    ),
    "agency": FeedConfig(
        name="agency",
        secret=AGENCY_SECRET,
        auth=("wirepress-signature",),
        default_tz="Europe/Oslo",
    ),
}


def story(guid: str = "urn:test:api-1", **fields: Any) -> bytes:
    doc = {
        "uri": guid,
        "version": "1",
        "type": "text",
        "headline": "Ferry service resumes after storm",
        "language": "en",
        "pubstatus": "usable",
        "versioncreated": "2026-08-01T08:00:00Z",
        "body_html": "<p>Boats sailed again on Monday.</p>",
        **fields,
    }
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def bearer(content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}


def signed(body: bytes, secret: str = AGENCY_SECRET, t: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if t is None else t
    return {
        "X-Wirepress-Signature": wirepress_signature(secret, body, stamp),
        "Content-Type": "application/json",
    }


@pytest.fixture
def feed_settings(settings: StackSettings) -> StackSettings:
    return settings.model_copy(update={"ingest_feeds": FEEDS})


@contextlib.asynccontextmanager
async def running(settings: StackSettings) -> AsyncIterator[httpx.AsyncClient]:
    """Ingest in-process with its real lifespan (Redis, broker, S3), and a client for it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://ingest", timeout=30
        ) as client:
            yield client


@pytest.fixture
def r(settings: StackSettings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


def ingested(client: redis.Redis) -> list[ArticleIngested]:
    events = []
    for _, fields in client.xrange(INGESTED):
        body, _ = BinaryMessageFormatV1.parse(fields[b"__data__"])
        events.append(ArticleIngested.model_validate_json(body))
    return events


def archived(settings: StackSettings) -> dict[str, dict[str, str]]:
    """Every archived payload's key and metadata."""
    storage = Storage(settings)
    try:
        listing = storage.client.list_objects_v2(Bucket=settings.archive_bucket)
        found = {}
        for item in listing.get("Contents", []):
            _, _, metadata = storage.get_raw(item["Key"])
            found[item["Key"]] = metadata
        return found
    finally:
        storage.close()


def assert_problem(
    response: httpx.Response, status: int, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    if field is not None:
        assert body["field"] == field
    return body


def cli_env(settings: StackSettings) -> dict[str, str]:
    env = settings_env(settings)
    if settings.ingest_feeds:
        env["INGEST_FEEDS"] = json.dumps(
            {
                name: {
                    "secret": feed.secret.get_secret_value(),
                    "auth": list(feed.auth),
                    "default_tz": feed.default_tz,
                }
                for name, feed in settings.ingest_feeds.items()
            }
        )
    return env


def wirepress(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- authentication ----------------------------------------------------------------------------


async def test_unauthenticated_or_forbidden_pushes_emit_and_archive_nothing(
    feed_settings: StackSettings, r: redis.Redis
) -> None:
    body = story()
    async with running(feed_settings) as client:
        missing = await client.post("/v1/stories", content=body)
        assert_problem(missing, 401)
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong_token = await client.post(
            "/v1/stories", content=body, headers={"Authorization": "Bearer nope"}
        )
        assert_problem(wrong_token, 401)
        wrong_signature = await client.post(
            "/v1/stories", content=body, headers=signed(body, secret="not-the-secret")
        )
        assert_problem(wrong_signature, 403)
        # A valid signature over another body.
        tampered = await client.post("/v1/stories", content=body + b" ", headers=signed(body))
        assert_problem(tampered, 403)
        expired = await client.post(
            "/v1/stories", content=body, headers=signed(body, t=int(time.time()) - 3600)
        )
        assert_problem(expired, 403)
        superdesk = await client.post(
            "/v1/stories",
            content=body,
            headers={"X-Superdesk-Signature": superdesk_signature("wrong", body)},
        )
        assert_problem(superdesk, 403)
        unknown_feed = await client.post(
            "/v1/stories?feed=nobody", content=body, headers=signed(body)
        )
        assert_problem(unknown_feed, 403)
    assert r.xlen(INGESTED) == 0
    assert archived(feed_settings) == {}


async def test_signed_pushes_are_accepted_once_and_archived_with_their_feed(
    feed_settings: StackSettings, r: redis.Redis
) -> None:
    superdesk_body = story("urn:test:sd-1")
    agency_body = story("urn:test:agency-1", versioncreated="2026-08-01T10:00:00")
    async with running(feed_settings) as client:
        superdesk_headers = {
            "X-Superdesk-Signature": superdesk_signature(SUPERDESK_SECRET, superdesk_body),
            "Content-Type": "application/vnd.superdesk.ninjs+json",
        }
        superdesk = await client.post(
            "/v1/stories", content=superdesk_body, headers=superdesk_headers
        )
        assert superdesk.status_code == 202, superdesk.text
        assert superdesk.json()["feed"] == "superdesk"
        # Superdesk's signature carries no timestamp, so its replay cannot be refused: it is a
        # duplicate, and archived once (each replay used to archive another copy).
        for _replay in range(3):
            again = await client.post(
                "/v1/stories", content=superdesk_body, headers=superdesk_headers
            )
            assert (
                again.status_code == 200 and again.json()["raw_key"] == superdesk.json()["raw_key"]
            )
        headers = signed(agency_body)
        agency = await client.post("/v1/stories?feed=agency", content=agency_body, headers=headers)
        assert agency.status_code == 202, agency.text
        assert agency.json()["feed"] == "agency"
        # The exact same signed request again, inside the skew window: a replay.
        replayed = await client.post(
            "/v1/stories?feed=agency", content=agency_body, headers=headers
        )
        assert_problem(replayed, 403)
        assert replayed.json()["type"].endswith("signature-replayed")
    events = {e.guid: e for e in ingested(r)}
    assert set(events) == {"urn:test:sd-1", "urn:test:agency-1"}
    assert events["urn:test:sd-1"].feed == "superdesk"
    # The agency's zone-less timestamp was read in its configured zone (Oslo, UTC+2 in August).
    agency_article = events["urn:test:agency-1"].article
    assert agency_article.timezone_assumed
    assert agency_article.versioncreated is not None
    assert agency_article.versioncreated.hour == 8
    metadata = archived(feed_settings)
    assert len(metadata) == 2  # the replayed request was not archived again
    assert {m["feed"] for m in metadata.values()} == {"superdesk", "agency"}
    assert "application/vnd.superdesk.ninjs+json" in {m["content-type"] for m in metadata.values()}


# --- limits and bad input ----------------------------------------------------------------------


async def test_oversize_payload_is_413_declared_or_streamed(
    settings: StackSettings, r: redis.Redis
) -> None:
    small = settings.model_copy(update={"ingest_max_body_bytes": 2000})
    big = story(body_html="<p>" + "x" * 5000 + "</p>")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 500):
            yield big[start : start + 500]

    async with running(small) as client:
        declared = await client.post("/v1/stories", content=big, headers=bearer())
        assert_problem(declared, 413)
        streamed = await client.post("/v1/stories", content=chunks(), headers=bearer())
        assert "content-length" not in streamed.request.headers
        assert_problem(streamed, 413)
        assert (
            await client.post("/v1/stories", content=story(), headers=bearer())
        ).status_code == 202
    assert r.xlen(INGESTED) == 1


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"<html><body><p>Not a story</p></body></html>", "text/html; charset=utf-8"),
        (b"<!DOCTYPE html><html><body><br></body></html>", "text/html"),
        (b"%PDF-1.7 binary", "application/pdf"),
    ],
)
async def test_wrong_media_type_is_415_and_archived(
    settings: StackSettings, r: redis.Redis, payload: bytes, content_type: str
) -> None:
    async with running(settings) as client:
        response = await client.post("/v1/stories", content=payload, headers=bearer(content_type))
    body = assert_problem(response, 415)
    assert r.xlen(INGESTED) == 0
    # Authenticated, so archived (and the answer says where) even though it was refused.
    assert body["raw_key"] in archived(settings)


async def test_a_story_with_a_wrong_content_type_is_still_read(settings: StackSettings) -> None:
    async with running(settings) as client:
        response = await client.post("/v1/stories", content=story(), headers=bearer("text/html"))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("payload", "content_type", "status", "field"),
    [
        (b'{"uri": "urn:test:z", "headline": ', "application/json", 400, None),
        (b"<nitf><head><title>unclosed", "application/xml", 400, None),
        (b"\xff\xfe\x00garbage", None, 400, None),
        (b'{"uri": "urn:test:y", "body_html": "<p>text</p>"}', "application/json", 422, "headline"),
        (b'{"headline": "No id at all"}', "application/json", 422, "guid"),
        (b'{"uri": "urn:test:p", "type": "picture", "headline": "A picture"}', None, 422, "type"),
        (b'{"uri": "urn:test:y", "headline": "   "}', "application/json", 422, "headline"),
        # A zone shift that takes the instant past year 9999, and a lone UTF-16 surrogate: both
        # answered 500 once, and the next request on that keep-alive connection was reset.
        (story(versioncreated="9999-12-31T23:00:00-02:00"), None, 422, "versioncreated"),
        # json.dumps writes the lone surrogates as the escapes a wire would send.
        (story(body_html="<p>broken \ud800 text</p>"), None, 400, None),
        (story(headline="Split \udfff pair"), None, 400, None),
        # Poison: sanitising is quadratic in nesting depth (this one ran past 240 s).
        (story(body_html="<ul><li>x" * 290_000), None, 422, "body_html"),
        (story(body_html="<blockquote>" * 120 + "deep"), None, 422, "body_html"),
    ],
)
async def test_bad_payloads_get_problem_json_and_are_archived(
    settings: StackSettings,
    r: redis.Redis,
    payload: bytes,
    content_type: str | None,
    status: int,
    field: str | None,
) -> None:
    headers = bearer(content_type) if content_type else {"Authorization": f"Bearer {TOKEN}"}
    async with running(settings) as client:
        response = await client.post("/v1/stories", content=payload, headers=headers)
    body = assert_problem(response, status, field)
    assert r.xlen(INGESTED) == 0
    metadata = archived(settings)
    assert metadata[body["raw_key"]]["feed"] == "default"


async def test_empty_body_is_400(settings: StackSettings) -> None:
    async with running(settings) as client:
        assert_problem(await client.post("/v1/stories", content=b"  ", headers=bearer()), 400)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE nitf [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<nitf><head><docdata><doc-id id-string="urn:test:xxe"/></docdata></head>
<body><body.head><hedline><hl1>&xxe;</hl1></hedline></body.head></body></nitf>"""

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]><nitf><head><docdata><doc-id id-string='urn:test:lol'/></docdata></head>"
    b"<body><body.head><hedline><hl1>&lol9;</hl1></hedline></body.head></body></nitf>"
)


@pytest.mark.parametrize("payload", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
async def test_entity_attacks_are_refused_without_expanding(
    settings: StackSettings, r: redis.Redis, payload: bytes
) -> None:
    async with running(settings) as client:
        started = time.monotonic()
        response = await client.post(
            "/v1/stories", content=payload, headers=bearer("application/xml")
        )
        elapsed = time.monotonic() - started
    body = assert_problem(response, 400)
    assert body["type"].endswith("unsafe-xml")
    assert "root:" not in response.text and "lollol" not in response.text
    assert elapsed < 5
    assert r.xlen(INGESTED) == 0


# --- multi-item G2, duplicates and replay -------------------------------------------------------


def news_item(guid: str, headline: str, item_class: str = "ninat:text") -> str:
    return (
        f'<newsItem guid="{guid}" version="1" standard="NewsML-G2">'
        f'<itemMeta><itemClass qcode="{item_class}"/>'
        "<versionCreated>2026-08-02T03:04:05Z</versionCreated>"
        '<pubStatus qcode="stat:usable"/></itemMeta>'
        f"<contentMeta><headline>{headline}</headline></contentMeta>"
        "<contentSet><inlineXML contenttype='application/xhtml+xml'>"
        "<html xmlns='http://www.w3.org/1999/xhtml'><body><p>Text.</p></body></html>"
        "</inlineXML></contentSet></newsItem>"
    )


async def test_g2_news_message_with_several_items_emits_every_text_story(
    settings: StackSettings, r: redis.Redis
) -> None:
    message = (
        f'<?xml version="1.0" encoding="UTF-8"?><newsMessage xmlns="{NAR}">'
        "<header><sent>2026-08-02T03:04:05Z</sent></header><itemSet>"
        + news_item("urn:test:g2-a", "First story")
        + news_item("urn:test:g2-b", "Second story")
        + news_item("urn:test:g2-pic", "A picture", "ninat:picture")
        + news_item("urn:test:g2-c", "Third story")
        + "</itemSet></newsMessage>"
    ).encode()
    headers = bearer("application/vnd.iptc.g2.newsmessage+xml")
    async with running(settings) as client:
        first = await client.post("/v1/stories", content=message, headers=headers)
        assert first.status_code == 202, first.text
        outcome = first.json()
        assert [s["guid"] for s in outcome["stories"]] == [
            "urn:test:g2-a",
            "urn:test:g2-b",
            "urn:test:g2-c",
        ]
        assert {s["status"] for s in outcome["stories"]} == {"accepted"}
        again = await client.post("/v1/stories", content=message, headers=headers)
        assert again.status_code == 200
        assert {s["status"] for s in again.json()["stories"]} == {"duplicate"}
    assert [e.guid for e in ingested(r)] == ["urn:test:g2-a", "urn:test:g2-b", "urn:test:g2-c"]


async def test_replay_of_archived_payloads(feed_settings: StackSettings, r: redis.Redis) -> None:
    async with running(feed_settings) as client:
        rejected = await client.post(
            "/v1/stories",
            content=b'{"uri": "urn:test:replay-bad", "body_html": "<p>no headline</p>"}',
            headers=bearer(),
        )
        accepted = await client.post(
            "/v1/stories", content=story("urn:test:replay-ok"), headers=bearer()
        )
        agency_body = story("urn:test:replay-agency", versioncreated="2026-08-01T10:00:00")
        agency = await client.post("/v1/stories", content=agency_body, headers=signed(agency_body))
    rejected_key = assert_problem(rejected, 422, "headline")["raw_key"]
    assert accepted.status_code == 202 and agency.status_code == 202
    env = cli_env(feed_settings)

    # Nothing was fixed: the same payload is refused the same way, and the exit code says so.
    again = wirepress("replay", rejected_key, env=env)
    assert again.returncode == 1, again.stderr
    assert "headline" in again.stderr and "422" in again.stderr

    replayed = wirepress("replay", accepted.json()["raw_key"], env=env)
    assert replayed.returncode == 0, replayed.stderr
    outcome = json.loads(replayed.stdout)
    assert outcome["status"] == "duplicate"
    assert outcome["article_id"] == article_id_for("urn:test:replay-ok")

    # A replay runs as the feed the payload came from (its time zone included).
    r.delete(versions_key(article_id_for("urn:test:replay-agency")))
    as_agency = wirepress("replay", agency.json()["raw_key"], env=env)
    assert as_agency.returncode == 0, as_agency.stderr
    assert json.loads(as_agency.stdout) | {"status": "accepted", "feed": "agency"} == json.loads(
        as_agency.stdout
    )
    replays = [e for e in ingested(r) if e.guid == "urn:test:replay-agency"]
    assert len(replays) == 2
    assert replays[0].article == replays[1].article
    assert replays[1].raw_key == agency.json()["raw_key"]

    missing = wirepress("replay", "raw/no/such/key", env=env)
    assert missing.returncode == 1
    assert "not in the archive" in missing.stderr


# --- backpressure ------------------------------------------------------------------------------


@pytest.mark.parametrize("behind", [INGESTED, ENRICHED, RENDERED])
async def test_backlog_over_the_bound_at_any_stage_is_503_with_retry_after(
    settings: StackSettings, r: redis.Redis, behind: str
) -> None:
    # Enrich keeping up is not enough: a stopped render or publish must slow the feeds down too,
    # or its unread entries would be trimmed away.
    bounded = settings.model_copy(update={"ingest_max_lag": 0})
    r.xadd(behind, {"__data__": b"an entry its consumer has not read"})
    async with running(bounded) as client:
        response = await client.post("/v1/stories", content=story(), headers=bearer())
    assert_problem(response, 503)
    assert int(response.headers["retry-after"]) > 0
    assert r.xlen(INGESTED) == (1 if behind == INGESTED else 0)
    assert archived(settings) == {}


async def test_queued_republish_requests_do_not_turn_feeds_away(
    settings: StackSettings, r: redis.Redis
) -> None:
    # Bulk republishing paces itself (shared/backlog.py); ingest never writes that stream.
    bounded = settings.model_copy(update={"ingest_max_lag": 0})
    r.xadd(REPUBLISH, {"__data__": b"a republish request enrich has not read"})
    async with running(bounded) as client:
        response = await client.post("/v1/stories", content=story(), headers=bearer())
    assert response.status_code == 202, response.text


async def test_redis_unreachable_is_503_with_retry_after(
    settings: StackSettings, tmp_path: Path
) -> None:
    port = devstack.free_port()
    valkey = devstack.start_valkey(port, tmp_path / "valkey", tmp_path / "valkey.log")
    try:
        private = settings.model_copy(
            update={"redis_url": f"redis://127.0.0.1:{port}/0", "ingest_feeds": FEEDS}
        )
        await asyncio.to_thread(initialise, private)
        async with running(private) as client:
            ok = await client.post("/v1/stories", content=story(), headers=bearer())
            assert ok.status_code == 202, ok.text
            devstack.stop(valkey)
            for body, headers in (
                (story("urn:test:down-1"), bearer()),
                (story("urn:test:down-2"), signed(story("urn:test:down-2"))),
            ):
                down = await client.post("/v1/stories", content=body, headers=headers)
                assert_problem(down, 503)
                assert int(down.headers["retry-after"]) > 0
            health = await client.get("/healthz")
            assert health.status_code == 503 and health.json()["redis"] is False
            # Not ready, but alive: nothing gains from restarting it while Redis is away.
            assert (await client.get("/livez")).status_code == 200
            metrics = (await client.get("/metrics")).text
            assert "wirepress_service_ready 0.0" in metrics
            assert 'wirepress_ingest_backpressure_total{feed="' in metrics
    finally:
        devstack.stop(valkey)


# --- the CLI and the API description -------------------------------------------------------------


def test_wirepress_parse_prints_the_article(wire_samples: Path) -> None:
    sample = wire_samples / "nitf" / "superdesk_nitf-ntb.xml"
    result = wirepress("parse", str(sample))
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["guid"] and article["headline"]
    assert article["pubstatus"] in ("usable", "withheld", "canceled")

    several = wirepress("parse", str(wire_samples / "newsml-g2" / "superdesk_ap.xml"))
    assert several.returncode == 0, several.stderr
    assert isinstance(json.loads(several.stdout), list | dict)


def test_wirepress_parse_refuses_clearly(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"uri": "urn:test:b", "body_html": "<p>x</p>"}')
    result = wirepress("parse", str(broken))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "headline" in result.stderr and "422" in result.stderr
    png = tmp_path / "photo.json"
    png.write_bytes(b"\x89PNG\r\n")
    refused = wirepress("parse", str(png), "--content-type", "image/png")
    assert refused.returncode == 1 and "415" in refused.stderr
    zoneless = tmp_path / "zoneless.json"
    zoneless.write_bytes(story(versioncreated="2026-01-15T12:00:00"))
    oslo = wirepress("parse", str(zoneless), "--tz", "Europe/Oslo")
    assert oslo.returncode == 0, oslo.stderr
    parsed = json.loads(oslo.stdout)
    assert parsed["timezone_assumed"] is True
    assert parsed["versioncreated"].startswith("2026-01-15T11:00:00")


async def test_openapi_document_describes_the_api(settings: StackSettings) -> None:
    async with running(settings) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    post = doc["paths"]["/v1/stories"]["post"]
    assert set(post["responses"]) == {
        "200", "202", "400", "401", "403", "413", "415", "422", "503"
    }  # fmt: skip
    assert "application/nitf+xml" in post["requestBody"]["content"]
    assert "Retry-After" in post["responses"]["503"]["headers"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert {schemes[s]["type"] for s in ("wirepressSignature", "superdeskSignature")} == {"apiKey"}
    assert "ProblemDocument" in doc["components"]["schemas"]
    assert "/healthz" in doc["paths"]


# --- withheld ----------------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_withheld_story_never_reaches_the_site(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start_all()

    def push(body: bytes) -> httpx.Response:
        return httpx.post(
            f"{services.ingest_url}/v1/stories", content=body, headers=bearer(), timeout=10
        )

    assert (
        push(
            story("urn:test:withheld", headline="Embargoed until noon", pubstatus="withheld")
        ).status_code
        == 202
    )
    assert push(story("urn:test:usable", headline="Ferry service resumes")).status_code == 202
    client = redis.Redis.from_url(settings.redis_url)

    def outcomes() -> dict[str, str]:
        found: dict[str, str] = {}
        for _, fields in client.xrange(PUBLISHED):
            body, _ = BinaryMessageFormatV1.parse(fields[b"__data__"])
            event = ArticlePublished.model_validate_json(body)
            found[event.article_id] = event.outcome
        return found

    wait_for(
        lambda: outcomes().get(article_id_for("urn:test:usable")) == "written", 60, "usable page"
    )
    wait_for(lambda: article_id_for("urn:test:withheld") in outcomes(), 30, "withheld outcome")
    client.close()
    assert outcomes()[article_id_for("urn:test:withheld")] != "written"
    storage = Storage(settings)
    try:
        pages = {key: storage.get_page(key) or b"" for key in storage.list_pages()}
    finally:
        storage.close()
    assert any(b"Ferry service resumes" in html for html in pages.values())
    assert not any(b"Embargoed until noon" in html for html in pages.values())


def test_wirepress_import_pushes_a_folder_through_http(
    services: ServiceProcesses, settings: StackSettings, tmp_path: Path
) -> None:
    services.start("ingest")
    folder = tmp_path / "backfill"
    folder.mkdir()
    (folder / "01-first.json").write_bytes(story("urn:test:import-1"))
    (folder / "02-second.json").write_bytes(story("urn:test:import-2"))
    (folder / "03-first-again.json").write_bytes(story("urn:test:import-1"))
    (folder / "04-no-headline.json").write_text('{"uri": "urn:test:import-3"}')
    (folder / "05-notes.txt").write_text("not a story")
    env = {**cli_env(settings), "INGEST_URL": services.ingest_url, "INGEST_TOKEN": TOKEN}
    result = wirepress("import", str(folder), env=env)
    assert result.returncode == 1, result.stderr
    assert "5 files: 2 accepted, 1 duplicate, 2 rejected" in result.stdout
    assert "04-no-headline.json: 422" in result.stderr and "(field headline)" in result.stderr
    assert "05-notes.txt: 400" in result.stderr
    assert "archived as raw/" in result.stderr

    wrong_token = wirepress("import", str(folder), "--token", "nope", "--no-progress", env=env)
    assert wrong_token.returncode == 1
    assert "0 accepted, 0 duplicate, 5 rejected" in wrong_token.stdout
    assert "401" in wrong_token.stderr

    # `push` (what `make run` uses) sends a folder's story files the same way.
    pushed = wirepress(
        "push", str(folder / "01-first.json"), str(folder / "02-second.json"), env=env
    )
    assert pushed.returncode == 0, pushed.stderr
    assert "pushed 2 files: 2 accepted or duplicate, 0 rejected" in pushed.stdout


async def test_large_payloads_are_read_off_the_event_loop_within_a_time_budget(
    settings: StackSettings, r: redis.Redis
) -> None:
    """A payload past `cpu_inline_below_bytes` is parsed in a worker process; one that cannot be
    read within `cpu_budget_s` is a 422 and its worker is replaced, while small pushes on the
    same ingest go on being accepted."""
    paragraphs = "".join(f"<p>Paragraph {i} of a very long report.</p>" for i in range(20_000))
    slow = story("urn:test:slow", body_html=paragraphs)
    pooled = settings.model_copy(update={"cpu_inline_below_bytes": 100_000})
    async with running(pooled.model_copy(update={"cpu_budget_s": 0.02})) as client:
        before = await client.post("/v1/stories", content=story("urn:test:a"), headers=bearer())
        refused = await client.post("/v1/stories", content=slow, headers=bearer())
        after = await client.post("/v1/stories", content=story("urn:test:b"), headers=bearer())
    assert (before.status_code, after.status_code) == (202, 202)
    body = assert_problem(refused, 422)
    assert body["type"].endswith("/too-complex") and "in time" in body["detail"]
    async with running(pooled) as client:
        accepted = await client.post("/v1/stories", content=slow, headers=bearer())
    assert accepted.status_code == 202, accepted.text
    assert [e.guid for e in ingested(r)] == ["urn:test:a", "urn:test:b", "urn:test:slow"]
    [read] = [e for e in ingested(r) if e.guid == "urn:test:slow"]
    assert read.article.body_html.count("<p>") == 20_000


async def test_many_feeds_at_once_wait_for_a_redis_connection_instead_of_failing(
    settings: StackSettings, r: redis.Redis
) -> None:
    """At 200 concurrent feeds redis-py's default pool (100, failing past it) answered 503
    "event store does not answer: Too many connections" although Redis was fine. The pool is
    bounded by settings and blocking: here 200 pushes share 8 connections."""
    small = settings.model_copy(update={"redis_max_connections": 8})
    async with running(small) as client:
        answers = await asyncio.gather(
            *(
                client.post("/v1/stories", content=story(f"urn:test:many-{i}"), headers=bearer())
                for i in range(200)
            )
        )
    assert Counter(a.status_code for a in answers) == {202: 200}
    assert len(ingested(r)) == 200


async def test_a_202_waits_for_the_story_to_be_in_the_append_only_file(
    settings: StackSettings, r: redis.Redis
) -> None:
    """WAITAOF after the emit: with no append-only file to fsync to, a story cannot be made
    durable, and the feed is told to retry (503) rather than given a 202 a crash could undo;
    ingest will not even start on such a Redis unless told not to wait (INGEST_WAIT_AOF_MS=0)."""
    async with running(settings) as client:
        accepted = await client.post("/v1/stories", content=story("urn:test:d"), headers=bearer())
        assert accepted.status_code == 202, accepted.text
        r.config_set("appendonly", "no")
        try:
            refused = await client.post("/v1/stories", content=story(), headers=bearer())
            assert_problem(refused, 503)
            assert (
                "append-only" in refused.json()["detail"]
                or "not accepted" in refused.json()["detail"]
            )
        finally:
            r.config_set("appendonly", "yes")
    r.config_set("appendonly", "no")
    try:
        with pytest.raises(RuntimeError, match="append-only"):
            async with running(settings):
                pass
        quick = settings.model_copy(update={"ingest_wait_aof_ms": 0})
        async with running(quick) as client:
            answer = await client.post("/v1/stories", content=story("urn:test:e"), headers=bearer())
        assert answer.status_code == 202
    finally:
        r.config_set("appendonly", "yes")


async def test_feeds_are_slowed_down_before_the_event_store_is_full(
    settings: StackSettings, r: redis.Redis
) -> None:
    """Valkey reached 2.7 GB with no maxmemory set. With one set and `noeviction`, writes fail
    at the limit, mid-pipeline; ingest answers 503 with Retry-After once it is 85% used."""
    used = int(r.info("memory")["used_memory"])
    previous = r.config_get("maxmemory")["maxmemory"]
    r.config_set("maxmemory", str(int(used * 1.05)))
    try:
        async with running(settings) as client:
            refused = await client.post("/v1/stories", content=story(), headers=bearer())
        body = assert_problem(refused, 503)
        assert "full" in body["detail"] and refused.headers["retry-after"]
    finally:
        r.config_set("maxmemory", previous)
    async with running(settings) as client:
        accepted = await client.post("/v1/stories", content=story(), headers=bearer())
    assert accepted.status_code == 202


# --- the control-character, NewsML 1.2 and AP formats: the same life cycle ----------------------


def anpa_take(keyword: str, headline: str, body: str) -> bytes:
    """An ANPA 1312 take as AP sends one: the keyword line names the take."""
    return (
        "\x16\x16\x01a0105 \x1fasian\r\nr i \x13BC-AS--Ferry-Strike,0420\x11\r\n\x02"
        f"^BC-AS--Ferry-Strike, {keyword},0420<\r\n^{headline}<\r\n^By JANE DOE=\r\n"
        f"\t   {body}\r\n\x03AP-WF-05-09-17 0056GMT<\x0c\x04"
    ).encode("latin-1")


async def test_takes_of_an_anpa_story_are_versions_of_it_and_a_late_one_is_kept_out(
    settings: StackSettings, r: redis.Redis
) -> None:
    first = anpa_take("1st Ld-Writethru", "Ferry strike spreads", "Crews walked out.")
    second = anpa_take("2nd Ld-Writethru", "Ferry strike spreads to the islands", "More crews.")
    kill = anpa_take("Kill", "Ferry strike story withdrawn", "Editors: kill it.")
    async with running(settings) as client:
        answers = [
            await client.post("/v1/stories", content=payload, headers=bearer("text/plain"))
            for payload in (first, second, first, kill)
        ]
    assert [a.status_code for a in answers] == [202, 202, 200, 202]
    ids = {a.json()["article_id"] for a in answers}
    assert len(ids) == 1, "every take is the same story"
    events = ingested(r)
    assert [e.article.version for e in events] == ["2", "3", "9999"]
    assert [e.article.pubstatus for e in events] == ["usable", "usable", "canceled"]
    assert events[0].article.ordering < events[1].article.ordering < events[2].article.ordering


@pytest.mark.parametrize(
    "name",
    [
        "newsml-1.2/superdesk-belga_ats_newsml_1_2_belga.xml",
        "anpa1312/superdesk-belga_kyodo.txt",
        "iptc7901/superdesk-belga_dpa.txt",
        "ap-media-json/superdesk-cp_politics.json",
    ],
)
async def test_a_sample_of_each_new_format_is_accepted_once_with_any_content_type(
    settings: StackSettings, wire_samples: Path, r: redis.Redis, name: str
) -> None:
    payload = (wire_samples / name).read_bytes()
    async with running(settings) as client:
        first = await client.post("/v1/stories", content=payload, headers=bearer("text/plain"))
        again = await client.post(
            "/v1/stories", content=payload, headers=bearer("application/octet-stream")
        )
    assert (first.status_code, again.status_code) == (202, 200), first.text
    [event] = ingested(r)
    assert event.article.article_id == first.json()["article_id"]
