"""GET /metrics on every service, scraped as Prometheus would while the pipeline runs: the counts
follow what happened, and the stream gauges move when a stage stops and a backlog builds."""

from __future__ import annotations

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from shared.streams import ENRICHED, INGESTED, RENDER, RENDERED
from tests.conftest import ServiceProcesses, wait_for
from tests.e2e.test_pipeline import KENYA, STORM, WAR, push, put_poison_page, story, wait_for_page
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(services: ServiceProcesses, name: str) -> Samples:
    port = services.ingest_port if name == "ingest" else services.health_ports[name]
    # What Prometheus 2 asks for; Prometheus 3 also takes the text format's version 1.0.0.
    accept = "text/plain;version=0.0.4;q=0.9,*/*;q=0.1"
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def backlog(services: ServiceProcesses, name: str, stream: str, group: str) -> float:
    samples = scrape(services, name)
    return value(samples, "wirepress_stream_lag", stream=stream, group=group) + value(
        samples, "wirepress_stream_pending", stream=stream, group=group
    )


def test_every_service_counts_what_it_did(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start_all()
    guids = ["urn:test:metrics-war", "urn:test:metrics-kenya"]
    for guid, paragraphs in zip(guids, (WAR, KENYA), strict=True):
        assert push(services, story(guid, f"Story {guid}", paragraphs)).status_code == 202
    refused = httpx.post(
        f"{services.ingest_url}/v1/stories",
        content=b"{}",
        headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"},
        timeout=10,
    )
    assert refused.status_code == 401
    for guid in guids:
        wait_for_page(settings, guid, f"Story {guid}")

    ingest = scrape(services, "ingest")
    assert value(ingest, "wirepress_ingest_requests_total", feed="default", status="202") == 2
    assert value(ingest, "wirepress_ingest_requests_total", feed="-", status="401") == 1
    assert value(ingest, "wirepress_ingest_payload_bytes_count", feed="default") == 2
    # Both raw payloads archived, timed.
    assert value(ingest, "wirepress_s3_requests_total", operation="PutObject", outcome="ok") >= 2
    assert value(ingest, "wirepress_s3_request_duration_seconds_count", operation="PutObject") >= 2

    enrich = scrape(services, "enrich")
    done = {"stream": INGESTED, "group": "enrich", "outcome": "done"}
    assert value(enrich, "wirepress_stage_messages_total", **done) == 2
    assert value(enrich, "wirepress_stage_processing_seconds_count", stream=INGESTED) == 2
    assert value(enrich, "wirepress_stage_wait_seconds_count", stream=INGESTED) == 2
    assert value(enrich, "wirepress_enrich_index_stories") == 2
    # FastStream's middleware counts what the broker received and published.
    assert value(enrich, "faststream_received_messages_total") >= 1
    assert value(enrich, "faststream_received_messages_size_bytes_sum", handler=INGESTED) > 1000

    def both_pages_timed() -> bool:
        # A link refresh republishes a page with no push behind it: only the two pushes count.
        return value(scrape(services, "publish"), "wirepress_push_to_page_seconds_count") == 2

    wait_for(both_pages_timed, 30, "publish to time both pushed pages")
    publish = scrape(services, "publish")
    assert 0 < value(publish, "wirepress_push_to_page_seconds_sum") < 60
    assert value(publish, "wirepress_s3_requests_total", operation="PutObject", outcome="ok") >= 2

    for name in ("ingest", "enrich", "render", "publish"):
        assert value(scrape(services, name), "wirepress_service_ready") == 1, name
        port = services.ingest_port if name == "ingest" else services.health_ports[name]
        assert httpx.get(f"http://127.0.0.1:{port}/livez", timeout=10).status_code == 200

    # Valkey's CLIENT LIST names every service's connections (its queries' and its broker's).
    client = redis.Redis.from_url(settings.redis_url)
    names = {c["name"] for c in client.client_list()}
    client.close()
    for name in ("ingest", "enrich", "render", "publish"):
        assert any(n.startswith(f"wirepress:{name}:") for n in names), (name, names)


def test_the_stream_gauges_show_a_stopped_stage_falling_behind_and_catching_up(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start_all()
    services.kill9("render")
    guids = [f"urn:test:metrics-backlog-{n}" for n in range(3)]
    for guid in guids:
        assert push(services, story(guid, f"Backlog {guid}", STORM)).status_code == 202

    # Render cannot report the backlog in front of it: every other service does.
    wait_for(
        lambda: backlog(services, "publish", ENRICHED, RENDER) >= 3,
        30,
        "publish's /metrics to show render 3 entries behind",
    )
    assert backlog(services, "ingest", ENRICHED, RENDER) >= 3
    assert value(scrape(services, "ingest"), "wirepress_stream_length", stream=ENRICHED) >= 3

    services.start("render")
    for guid in guids:
        wait_for_page(settings, guid, f"Backlog {guid}")
    wait_for(
        lambda: backlog(services, "ingest", ENRICHED, RENDER) == 0,
        30,
        "the backlog to drain on /metrics",
    )


def test_a_poison_message_shows_as_pending_with_deliveries_then_as_a_dead_letter(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start_all()
    client = redis.Redis.from_url(settings.redis_url)
    put_poison_page(client)
    client.close()
    labels = {"stream": RENDERED, "group": "publish"}

    def retried_and_pending() -> bool:
        samples = scrape(services, "enrich")
        return (
            value(samples, "wirepress_stream_pending", **labels) == 1
            and value(samples, "wirepress_stream_oldest_pending_deliveries", **labels) >= 1
            and value(samples, "wirepress_stream_oldest_pending_age_seconds", **labels) > 0
        )

    wait_for(retried_and_pending, 30, "the poison message pending, delivered at least once")
    wait_for(
        lambda: (
            value(scrape(services, "publish"), "wirepress_stream_dead_letters", stream=RENDERED)
            == 1
        ),
        60,
        "the dead letter to show",
    )
    publish = scrape(services, "publish")
    assert value(publish, "wirepress_stage_messages_total", outcome="dead_lettered", **labels) == 1
    assert value(publish, "wirepress_stage_messages_total", outcome="retried", **labels) >= 1
    assert value(publish, "wirepress_stream_pending", **labels) == 0
    assert value(publish, "wirepress_stream_oldest_pending_age_seconds", **labels) == 0
