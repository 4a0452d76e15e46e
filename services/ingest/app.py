"""Ingest service wiring: the HTTP push endpoint, the raw archive, and the emit into the pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.ingest.handlers import (
    Problem,
    authenticate_bearer,
    ingested_event,
    parse_payload,
    raw_key_for,
)
from shared import keys
from shared.broker import create_broker, create_redis
from shared.events import ArticleIngested
from shared.settings import Settings
from shared.storage import Storage
from shared.streams import ENRICH, INGESTED

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
LAG_CACHE_S = 1.0


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    headers = {"Retry-After": "5"} if problem.status == 503 else None
    return JSONResponse(
        problem.body(instance=str(request.url.path)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


class Emitter:
    """Puts accepted stories on the ingested stream, once per guid+version."""

    def __init__(self, settings: Settings, redis: Redis, broker: Any) -> None:
        self.settings = settings
        self.redis = redis
        self.broker = broker
        self._lag = 0
        self._lag_read_at = 0.0

    async def backlog(self) -> int:
        """How far enrich is behind, read at most once a second."""
        now = time.monotonic()
        if now - self._lag_read_at > LAG_CACHE_S:
            groups = await self.redis.xinfo_groups(INGESTED)
            lags = [g.get("lag") or 0 for g in groups if g["name"] in (ENRICH, ENRICH.encode())]
            self._lag = int(lags[0]) if lags else 0
            self._lag_read_at = now
        return self._lag

    async def emit(self, event: ArticleIngested) -> bool:
        """Emit unless this guid+version was accepted before; True if emitted.

        The duplicate check and the emit are one transaction: a story is never half-accepted.
        """
        versions = keys.versions_key(event.article_id)
        payload = event.model_dump_json().encode()
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(versions)
                    if await pipe.hexists(versions, event.version):
                        return False
                    pipe.multi()
                    await self.broker.publish(
                        payload,
                        stream=INGESTED,
                        maxlen=self.settings.stream_maxlen,
                        headers={"content-type": "application/json"},
                        correlation_id=event.correlation_id,
                        pipeline=pipe,
                    )
                    pipe.hset(versions, event.version, event.raw_key or "")
                    await pipe.execute()
                    return True
                except WatchError:
                    continue


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    token = settings.require_ingest_token()
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = create_redis(settings)
        broker = create_broker(settings)
        await broker.connect()
        storage = Storage(settings)
        state.update(
            redis=redis,
            storage=storage,
            emitter=Emitter(settings, redis, broker),
        )
        logger.info("ingest listening on %s:%s", settings.ingest_host, settings.ingest_port)
        try:
            yield
        finally:
            await broker.stop()
            await redis.aclose()
            storage.close()

    async def push_story(request: Request) -> Response:
        correlation_id = request.headers.get("x-correlation-id") or uuid.uuid4().hex
        try:
            return await _push(request, correlation_id)
        except Problem as problem:
            return problem_response(problem, request)

    async def _push(request: Request, correlation_id: str) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.ingest_max_body_bytes:
            raise Problem(
                413,
                "too-large",
                "Payload too large",
                f"the limit is {settings.ingest_max_body_bytes} bytes",
            )
        authenticate_bearer(request.headers.get("authorization"), token)
        payload = bytearray()
        async for chunk in request.stream():
            payload.extend(chunk)
            if len(payload) > settings.ingest_max_body_bytes:
                raise Problem(
                    413,
                    "too-large",
                    "Payload too large",
                    f"the limit is {settings.ingest_max_body_bytes} bytes",
                )
        body = bytes(payload)
        if not body.strip():
            raise Problem(400, "empty", "Empty payload", "the request has no body")
        emitter: Emitter = state["emitter"]
        try:
            if await emitter.backlog() > settings.ingest_max_lag:
                raise Problem(503, "busy", "Pipeline busy", "the pipeline is behind; retry shortly")
        except RedisError as exc:
            raise Problem(
                503,
                "unavailable",
                "Pipeline unavailable",
                "the event store does not answer; retry shortly",
            ) from exc

        content_type = request.headers.get("content-type")
        received_at = datetime.now(UTC)
        raw_key = raw_key_for(received_at, body)
        try:
            await asyncio.to_thread(
                state["storage"].archive_raw,
                raw_key,
                body,
                content_type or "",
                {
                    "feed": "default",
                    "received-at": received_at.isoformat(),
                    "correlation-id": correlation_id,
                },
            )
        except Exception as exc:
            logger.warning("raw archive failed, refusing the push: %s", exc)
            raise Problem(
                503,
                "unavailable",
                "Archive unavailable",
                "the story could not be archived; retry shortly",
            ) from exc

        stories = parse_payload(body, content_type)
        results = []
        for parsed in stories:
            event = ingested_event(
                parsed, feed="default", raw_key=raw_key, correlation_id=correlation_id
            )
            try:
                emitted = await emitter.emit(event)
            except RedisError as exc:
                # Archived but not emitted: the push can be repeated, or replayed from the archive.
                raise Problem(
                    503,
                    "unavailable",
                    "Pipeline unavailable",
                    f"archived as {raw_key} but not accepted; retry shortly",
                ) from exc
            logger.info(
                "v%s %s (%s): %s",
                event.version,
                event.guid,
                parsed.format,
                "accepted" if emitted else "duplicate",
                extra={"article_id": event.article_id},
            )
            results.append(
                {
                    "status": "accepted" if emitted else "duplicate",
                    "article_id": event.article_id,
                    "guid": event.guid,
                    "version": event.version,
                    "pubstatus": event.article.pubstatus,
                    "format": parsed.format,
                }
            )
        accepted = any(r["status"] == "accepted" for r in results)
        # The first story's fields at the top level: most pushes carry exactly one.
        return JSONResponse(
            {
                **results[0],
                "stories": results,
                "raw_key": raw_key,
                "correlation_id": correlation_id,
            },
            status_code=202 if accepted else 200,
            headers={"X-Correlation-ID": correlation_id},
        )

    async def healthz(request: Request) -> JSONResponse:
        checks: dict[str, bool] = {}
        try:
            await asyncio.wait_for(state["redis"].ping(), 2)
            checks["redis"] = True
        except Exception:
            checks["redis"] = False
        try:
            await asyncio.wait_for(asyncio.to_thread(state["storage"].ping), 3)
            checks["s3"] = True
        except Exception:
            checks["s3"] = False
        ok = all(checks.values())
        return JSONResponse({"service": "ingest", **checks}, status_code=200 if ok else 503)

    return Starlette(
        routes=[
            Route("/v1/stories", push_story, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
