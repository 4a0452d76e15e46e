"""Every log line names the story and the push it belongs to (LOG_JSON or not)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
from collections.abc import Iterator

import pytest

from shared import logging as wirepress_logging
from shared.logging import configure_logging, log_context

pytestmark = pytest.mark.unit


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    before, level = root.handlers[:], root.level
    configure_logging("test", as_json=True)
    stream = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    yield stream
    root.handlers[:] = before
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_logged_in_a_context_carries_its_ids_and_one_outside_shows_none(
    captured: io.StringIO,
) -> None:
    log = logging.getLogger("test.ids")
    with log_context("a1", "c1"):
        log.info("inside")
        log.info("another story", extra={"article_id": "a2"})
    log.info("outside")
    inside, other, outside = lines(captured)
    assert (inside["article_id"], inside["correlation_id"]) == ("a1", "c1")
    assert (other["article_id"], other["correlation_id"]) == ("a2", "c1")
    assert (outside["article_id"], outside["correlation_id"]) == ("-", "-")


async def test_stories_handled_side_by_side_keep_their_own_ids(captured: io.StringIO) -> None:
    log = logging.getLogger("test.tasks")

    async def handle(article_id: str) -> None:
        with log_context(article_id, f"corr-{article_id}"):
            await asyncio.sleep(0)  # the other story runs here
            log.info("handled")

    await asyncio.gather(handle("a"), handle("b"))
    seen = {(line["article_id"], line["correlation_id"]) for line in lines(captured)}
    assert seen == {("a", "corr-a"), ("b", "corr-b")}
    assert wirepress_logging._correlation_id.get() == "-"


def test_an_exception_passes_through_unchanged_even_a_frozen_one() -> None:
    @dataclasses.dataclass(frozen=True)
    class Refused(Exception):
        status: int

    with pytest.raises(Refused) as raised, log_context("a1", "c1"):
        raise Refused(503)
    assert raised.value.status == 503
    assert wirepress_logging._article_id.get() == "-"
