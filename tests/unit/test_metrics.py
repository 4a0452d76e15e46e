"""What a scrape of /metrics does with the scraper's Accept header and with failing or slow
gauge refreshes: it always answers, and it reads Redis at most once a second."""

from __future__ import annotations

import asyncio

import pytest

from shared import metrics as metrics_module
from shared.metrics import Metrics, entry_time_s, set_stream_gauges
from shared.storage import _outcome

pytestmark = pytest.mark.unit


async def test_the_format_follows_accept_and_a_nonsense_header_gets_the_text_format() -> None:
    metrics = Metrics("test")
    _, old = await metrics.exposition("text/plain;version=0.0.4;q=0.9,*/*;q=0.1")
    assert old == "text/plain; version=0.0.4; charset=utf-8"
    body, odd = await metrics.exposition("text/plain;version=x.y")
    assert odd.startswith("text/plain; version=") and b"wirepress_service_ready" in body


async def test_a_failing_refresh_keeps_the_last_values_and_the_others_still_run() -> None:
    metrics = Metrics("test")
    ran: list[str] = []

    async def broken() -> None:
        raise KeyError("a decode error, say")

    async def working() -> None:
        ran.append("working")
        metrics.ready.set(1)

    metrics.on_scrape(broken)
    metrics.on_scrape(working)
    body, _ = await metrics.exposition()
    assert ran == ["working"] and b"wirepress_service_ready 1.0" in body


async def test_a_hanging_refresh_is_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_module, "SCRAPE_TIMEOUT_S", 0.05)
    metrics = Metrics("test")

    async def hangs() -> None:
        await asyncio.sleep(60)

    metrics.on_scrape(hangs)
    body, _ = await asyncio.wait_for(metrics.exposition(), 5)
    assert b"wirepress_stream_lag" in body


async def test_scrapes_close_together_read_redis_once() -> None:
    metrics = Metrics("test")
    reads: list[int] = []

    async def read() -> None:
        reads.append(1)
        await asyncio.sleep(0.01)

    metrics.on_scrape(read)
    await asyncio.gather(*(metrics.exposition() for _ in range(5)))
    await metrics.exposition()
    assert len(reads) == 1


def test_an_entry_id_tells_when_it_was_added() -> None:
    assert entry_time_s(b"1796170551208-3") == 1796170551.208


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "ok"),
        (204, "ok"),
        (404, "not_found"),
        (412, "precondition_failed"),
        (403, "client_error"),
        (503, "server_error"),
    ],
)
def test_s3_answers_are_told_apart(status: int, outcome: str) -> None:
    assert _outcome(status) == outcome


def test_the_stream_gauges_follow_the_status_report() -> None:
    metrics = Metrics("test")
    status = [
        {
            "stream": "wirepress:enriched",
            "length": 40,
            "dead_letters": 2,
            "groups": [
                # Trimmed: Redis cannot tell the lag, so the whole stream counts.
                {
                    "group": "render",
                    "lag": None,
                    "pending": 3,
                    "oldest_pending_id": "1000000-0",
                    "oldest_pending_deliveries": 2,
                },
                {
                    "group": "desk",
                    "lag": 0,
                    "pending": 0,
                    "oldest_pending_id": None,
                    "oldest_pending_deliveries": None,
                },
            ],
        }
    ]
    set_stream_gauges(metrics, status, now=1060.0)
    sample = metrics.registry.get_sample_value
    render = {"stream": "wirepress:enriched", "group": "render"}
    desk = {"stream": "wirepress:enriched", "group": "desk"}
    assert sample("wirepress_stream_lag", render) == 40
    assert sample("wirepress_stream_pending", render) == 3
    assert sample("wirepress_stream_oldest_pending_age_seconds", render) == 60
    assert sample("wirepress_stream_oldest_pending_deliveries", render) == 2
    assert sample("wirepress_stream_oldest_pending_age_seconds", desk) == 0
    assert sample("wirepress_stream_dead_letters", {"stream": "wirepress:enriched"}) == 2
