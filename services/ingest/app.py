"""Ingest service wiring: the HTTP push endpoint in front of `Acceptor` (archive, parse, emit).

Order of a push, cheapest refusal first: declared size (413), credentials present and any bearer
token valid (401), body read up to the limit (413), signatures verified (403), capacity (503),
raw archive (503 if it fails), parse (400/415/422, archived), emit (200/202).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

from prometheus_client import Counter, Histogram
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.ingest.adapters import RedisEmitter, RedisReplayCache, S3RawArchive
from services.ingest.auth import Authenticator, Credentials
from services.ingest.handlers import Acceptor, correlation_id_from, too_large, unavailable
from services.ingest.openapi import openapi_document
from services.ingest.ports import Problem, PushOutcome, Unavailable
from services.ingest.settings import IngestSettings
from shared.backlog import stream_status
from shared.broker import client_name, create_redis, ensure_groups
from shared.logging import log_context
from shared.metrics import PAYLOAD_BUCKETS, PROBE_TIMEOUT_S, Metrics, set_stream_gauges
from shared.service import metrics_route
from shared.storage import Storage

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
#: How long /healthz waits for Redis and for S3 (asked side by side).
HEALTH_TIMEOUT_S = 3.0


def problem_response(
    problem: Problem, request: Request, correlation_id: str | None = None
) -> JSONResponse:
    headers = dict(problem.headers)
    if correlation_id:
        headers["X-Correlation-ID"] = correlation_id
    return JSONResponse(
        problem.body(instance=str(request.url.path)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


@dataclass
class Running:
    acceptor: Acceptor
    archive: S3RawArchive
    redis: Redis


@contextlib.asynccontextmanager
async def running_acceptor(
    settings: IngestSettings, metrics: Metrics | None = None
) -> AsyncIterator[Running]:
    """An Acceptor on live connections, closed on exit: the service's and replay's."""
    redis = create_redis(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        name=client_name("ingest", settings),
    )
    storage = Storage(settings, metrics)
    archive = S3RawArchive(storage)
    emitter = RedisEmitter(
        redis,
        stream_maxlen=settings.stream_maxlen,
        wait_aof_ms=settings.ingest_wait_aof_ms or None,
    )
    cpu = settings.cpu_pool()
    acceptor = Acceptor(
        settings.require_feeds(),
        archive,
        emitter,
        max_lag=settings.ingest_max_lag,
        cpu=cpu,
        max_memory_use=settings.ingest_max_memory_use,
    )
    try:
        await emitter.check_durable()
        yield Running(acceptor, archive, redis)
    finally:
        await redis.aclose()
        storage.close()
        cpu.close()


async def replay_payload(settings: IngestSettings, raw_key: str) -> PushOutcome:
    """`wirepress replay`: an archived payload through ingest again, as its feed pushed it.
    Raises Problem when it is refused, KeyError when there is no such payload."""
    async with running_acceptor(settings) as running:
        return await running.acceptor.replay(raw_key, uuid.uuid4().hex)


class IngestMetrics:
    """Ingest's own families, beside the S3 ones its raw archive counts."""

    #: The feed label of a request that never proved which feed it is.
    UNAUTHENTICATED = "-"

    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.metrics = metrics
        self.requests = Counter(
            "wirepress_ingest_requests",
            "Pushes answered, by feed (`-` until a request has authenticated) and HTTP status.",
            ["feed", "status"],
            registry=r,
        )
        self.payload = Histogram(
            "wirepress_ingest_payload_bytes",
            "Size of the payloads authenticated feeds pushed.",
            ["feed"],
            buckets=PAYLOAD_BUCKETS,
            registry=r,
        )
        self.backpressure = Counter(
            "wirepress_ingest_backpressure",
            "Pushes answered 503 to slow a feed down, by reason: busy (a stage is too far "
            "behind, or the event store nearly full) or unavailable (Redis or S3 not answering).",
            ["feed", "reason"],
            registry=r,
        )


@dataclass
class _Push:
    """What one request has shown of itself so far, for its metrics."""

    feed: str = IngestMetrics.UNAUTHENTICATED


class IngestHttp:
    """The HTTP side of ingest: one per app, holding the running acceptor between requests."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.feeds = settings.require_feeds()
        self.limit = settings.ingest_max_body_bytes
        self.authenticator: Authenticator | None = None
        self.running: Running | None = None
        self.metrics = IngestMetrics(Metrics("ingest"))
        self.metrics.metrics.on_scrape(self._refresh_ready)
        self.metrics.metrics.on_scrape(self._refresh_streams)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        settings = self.settings
        async with running_acceptor(settings, self.metrics.metrics) as opened:
            await ensure_groups(opened.redis)
            self.running = opened
            self.authenticator = Authenticator(
                self.feeds,
                skew_s=settings.ingest_signature_skew_s,
                replay_cache=RedisReplayCache(opened.redis),
            )
            logger.info(
                "ingest listening on %s:%s for feeds %s",
                settings.ingest_host,
                settings.ingest_port,
                ", ".join(f.name for f in self.feeds),
            )
            yield

    async def push_story(self, request: Request) -> Response:
        correlation_id = correlation_id_from(request.headers.get("x-correlation-id"))
        push = _Push()
        try:
            with log_context(correlation_id=correlation_id):
                outcome = await self._push(request, correlation_id, push)
        except Problem as problem:
            self.metrics.requests.labels(push.feed, str(problem.status)).inc()
            if problem.status == 503:
                self.metrics.backpressure.labels(push.feed, problem.slug).inc()
            return problem_response(problem, request, correlation_id)
        except Exception:
            # Starlette answers it 500; counted here so a crash shows on the dashboard too.
            self.metrics.requests.labels(push.feed, "500").inc()
            raise
        self.metrics.requests.labels(push.feed, str(outcome.http_status)).inc()
        return JSONResponse(
            outcome.model_dump(mode="json"),
            status_code=outcome.http_status,
            headers={"X-Correlation-ID": correlation_id},
        )

    async def _push(self, request: Request, correlation_id: str, push: _Push) -> PushOutcome:
        authenticator, running = self.authenticator, self.running
        assert authenticator is not None and running is not None
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.limit:
            raise too_large(self.limit)
        credentials = Credentials.from_request(request.headers, request.query_params.get("feed"))
        # Before reading the body: a request with no (or a wrong bearer) credential costs nothing.
        authenticator.precheck(credentials)
        body = await self._read_body(request)
        try:
            authenticated = await authenticator.authenticate(credentials, body, now=time.time())
        except Unavailable as exc:
            # The replay cache lives in Redis: its failure is backpressure, not a bad signature.
            logger.warning("replay cache unreachable, answering 503: %s", exc)
            raise unavailable("the event store does not answer; retry shortly") from exc
        push.feed = authenticated.feed.name
        self.metrics.payload.labels(push.feed).observe(len(body))
        if not body.strip():
            raise Problem(400, "empty", "Empty payload", "the request has no body")
        return await running.acceptor.receive(
            body, request.headers.get("content-type"), authenticated.feed, correlation_id
        )

    async def _read_body(self, request: Request) -> bytes:
        payload = bytearray()
        async for chunk in request.stream():
            payload.extend(chunk)
            if len(payload) > self.limit:
                raise too_large(self.limit)
        return bytes(payload)

    async def _refresh_ready(self) -> None:
        checks = await self._checks(PROBE_TIMEOUT_S)
        self.metrics.metrics.ready.set(1 if all(checks.values()) else 0)

    async def _refresh_streams(self) -> None:
        if self.running is not None:
            set_stream_gauges(self.metrics.metrics, await stream_status(self.running.redis))

    async def _checks(self, timeout_s: float) -> dict[str, bool]:
        """Whether Redis and S3 answer within `timeout_s`, asked side by side."""
        if self.running is None:
            return {"redis": False, "s3": False}
        running = self.running

        async def answers(probe: Awaitable[object]) -> bool:
            try:
                await asyncio.wait_for(probe, timeout_s)
            except Exception:
                return False
            return True

        redis_ok, s3_ok = await asyncio.gather(
            answers(running.redis.ping()), answers(running.archive.ping())
        )
        return {"redis": redis_ok, "s3": s3_ok}

    async def healthz(self, request: Request) -> JSONResponse:
        checks = await self._checks(HEALTH_TIMEOUT_S)
        ok = all(checks.values())
        return JSONResponse({"service": "ingest", **checks}, status_code=200 if ok else 503)

    async def livez(self, request: Request) -> JSONResponse:
        alive = self.running is not None
        return JSONResponse(
            {"service": "ingest", "alive": alive}, status_code=200 if alive else 503
        )

    async def openapi(self, request: Request) -> JSONResponse:
        return JSONResponse(openapi_document())


def create_app(settings: IngestSettings | None = None) -> Starlette:
    http = IngestHttp(settings or IngestSettings())
    return Starlette(
        routes=[
            Route("/v1/stories", http.push_story, methods=["POST"]),
            Route("/healthz", http.healthz),
            # Liveness: the process answers. Readiness (/healthz) also needs Redis and S3.
            Route("/livez", http.livez),
            metrics_route(http.metrics.metrics),
            Route("/openapi.json", http.openapi),
        ],
        lifespan=http.lifespan,
    )
