"""What every service tells Prometheus on GET /metrics, beside /healthz.

One `Metrics` per running service, each with its own registry (several services may run in one
process, as in the tests), passed down from the app's wiring to what measures:

* per stage (every consumer): messages settled by outcome, the handler's time per message, and
  the wait from the event's time to its handling;
* per stream and consumer group of the pipeline, read from Redis when scraped: length, lag,
  pending, the age and delivery count of the oldest pending entry, dead letters. Every service
  reports every stream, not only its own: a stage that is down cannot report the backlog
  building in front of it, and that is when the numbers matter;
* end to end: push accepted by ingest to page written in the bucket (publish observes it);
* S3 requests by operation and outcome, with their latency (ingest's archive, publish's pages);
* each service's own: ingest's requests by feed and status, payload sizes and 503s; enrich's
  refresh queue and the age of its semantic model.

FastStream's Prometheus middleware adds its `faststream_*` families: messages received and
processed per stream, with sizes and durations. (Its published families stay empty: a stage's
outputs go on the streams in the Lua script that settles its batch, not through the broker.)
Every replica of every service reports the same stream gauges: aggregate them with
`max by (stream, group)`.

Scrapes are cheap and bounded: the gauges are read from Redis at most once every
`REFRESH_EVERY_S` however often /metrics is asked (concurrent scrapes share one read), each
reading within `SCRAPE_TIMEOUT_S`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

logger = logging.getLogger(__name__)

#: Handler and request durations: a story's stage is milliseconds; a slow S3 or a model refit
#: is seconds.
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Push to page and queue waits: the promise is a page within a second; a backlog is minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0,
                   120.0, 300.0)  # fmt: skip
PAYLOAD_BUCKETS = (1_000, 4_000, 16_000, 64_000, 256_000, 1_000_000, 4_000_000, 16_000_000)
#: A refresh never waits longer than this for Redis: the gauges keep their last values.
SCRAPE_TIMEOUT_S = 2.0
#: A health probe inside a refresh gives up sooner, so it can report "not ready" before the
#: refresh around it times out.
PROBE_TIMEOUT_S = 1.0
#: Gauges read this recently are served as they are.
REFRESH_EVERY_S = 1.0

Refresh = Callable[[], Awaitable[None]]


class Metrics:
    """The registry of one running service and the families every service shares."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self._refreshers: list[Refresh] = []
        self._refreshed_at = float("-inf")
        self._refreshing = asyncio.Lock()
        r = self.registry
        stage = ["stream", "group"]
        self.stage_messages = Counter(
            "wirepress_stage_messages",
            "Messages a stage settled, by outcome: done, retried (left pending for another "
            "delivery) or dead_lettered.",
            [*stage, "outcome"],
            registry=r,
        )
        self.stage_processing = Histogram(
            "wirepress_stage_processing_seconds",
            "Time a stage's handler took over one message.",
            stage,
            buckets=FAST_BUCKETS,
            registry=r,
        )
        self.stage_wait = Histogram(
            "wirepress_stage_wait_seconds",
            "Time from the event's occurred_at (when the stage before emitted it) to this stage "
            "starting on it: the queue's share of the latency.",
            stage,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.push_to_page = Histogram(
            "wirepress_push_to_page_seconds",
            "Time from ingest accepting a pushed story to its page written in the site bucket.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.stream_length = Gauge(
            "wirepress_stream_length", "Entries in the stream (read at scrape).", ["stream"],
            registry=r,
        )  # fmt: skip
        self.stream_lag = Gauge(
            "wirepress_stream_lag",
            "Entries of the stream the group has not read yet (the whole stream when Redis "
            "cannot tell, after trimming).",
            stage,
            registry=r,
        )
        self.stream_pending = Gauge(
            "wirepress_stream_pending",
            "Entries the group has read and not yet acknowledged.",
            stage,
            registry=r,
        )
        self.oldest_pending_age = Gauge(
            "wirepress_stream_oldest_pending_age_seconds",
            "Age of the group's oldest pending entry, from the time it was added to the stream "
            "(0 when nothing is pending).",
            stage,
            registry=r,
        )
        self.oldest_pending_deliveries = Gauge(
            "wirepress_stream_oldest_pending_deliveries",
            "How many times the group's oldest pending entry was delivered (0: none pending).",
            stage,
            registry=r,
        )
        self.dead_letters = Gauge(
            "wirepress_stream_dead_letters",
            "Entries in the stream's dead-letter stream: messages a stage gave up on.",
            ["stream"],
            registry=r,
        )
        self.ready = Gauge(
            "wirepress_service_ready",
            "1 when /healthz would answer 200 (every consumer running, Redis answering).",
            registry=r,
        )
        self.s3_requests = Counter(
            "wirepress_s3_requests",
            "S3 requests by operation and outcome: ok, not_found (404), precondition_failed "
            "(412, a conditional write that lost a race), client_error (other 3xx/4xx), "
            "server_error (5xx) or network_error.",
            ["operation", "outcome"],
            registry=r,
        )
        self.s3_duration = Histogram(
            "wirepress_s3_request_duration_seconds",
            "Time of one S3 request, retries by botocore included.",
            ["operation"],
            buckets=FAST_BUCKETS,
            registry=r,
        )

    def on_scrape(self, refresh: Refresh) -> None:
        """Run `refresh` (set gauges from Redis, say) before every exposition."""
        self._refreshers.append(refresh)

    async def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry and its content type, in the format the scraper's Accept header asks
        for (Prometheus' text format when it asks for none, or for one that makes no sense),
        gauges refreshed first (within bounds)."""
        try:
            encode, content_type = choose_encoder(accept)
        except (TypeError, ValueError):
            encode, content_type = choose_encoder("")
        await self._refresh()
        return encode(self.registry), content_type

    async def _refresh(self) -> None:
        async with self._refreshing:
            if time.monotonic() - self._refreshed_at < REFRESH_EVERY_S:
                return  # another scrape just read them
            for refresh in self._refreshers:
                try:
                    await asyncio.wait_for(refresh(), SCRAPE_TIMEOUT_S)
                except Exception as exc:
                    # A scrape that fails would read as the service being down: serve the last
                    # values, and say why they are old.
                    logger.warning(
                        "%s: metrics refresh failed, last values kept: %r", self.service, exc
                    )
            self._refreshed_at = time.monotonic()

    def observe_s3(self, operation: str, outcome: str, seconds: float) -> None:
        self.s3_requests.labels(operation, outcome).inc()
        self.s3_duration.labels(operation).observe(seconds)


def set_stream_gauges(
    metrics: Metrics, streams: Iterable[Mapping[str, Any]], now: float | None = None
) -> None:
    """Set the stream gauges from `shared.backlog.stream_status`'s report (every stream, and
    every consumer group on it) and the time it was read."""
    now = time.time() if now is None else now
    for entry in streams:
        stream = entry["stream"]
        metrics.stream_length.labels(stream).set(entry["length"])
        metrics.dead_letters.labels(stream).set(entry["dead_letters"])
        for group in entry["groups"]:
            labels = (stream, group["group"])
            # Redis reports no lag once entries were trimmed or deleted: count the whole
            # stream, as the backpressure does (`shared.backlog.stream_backlogs`).
            lag = group["lag"]
            metrics.stream_lag.labels(*labels).set(entry["length"] if lag is None else lag)
            metrics.stream_pending.labels(*labels).set(group["pending"])
            oldest = group["oldest_pending_id"]
            age = max(0.0, now - entry_time_s(oldest)) if oldest else 0.0
            metrics.oldest_pending_age.labels(*labels).set(age)
            metrics.oldest_pending_deliveries.labels(*labels).set(
                group["oldest_pending_deliveries"] or 0
            )


def entry_time_s(entry_id: object) -> float:
    """When an entry was added to its stream, from its id (`<ms>-<seq>`)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.partition("-")[0]) / 1000.0
