"""What a scrape of /metrics does with the scraper's Accept header and with failing or slow
gauge refreshes: it always answers, and it reads Redis at most once a second."""

from __future__ import annotations

import asyncio

import pytest

from shared import metrics as metrics_module
from shared.metrics import Metrics, entry_time_s
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
