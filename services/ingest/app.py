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
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.ingest.accept import Acceptor, Emitter, RedisReplayCache
from services.ingest.auth import Authenticator, Credentials
from services.ingest.handlers import (
    Problem,
    PushOutcome,
    correlation_id_from,
    too_large,
    unavailable,
)
from services.ingest.openapi import openapi_document
from shared.broker import create_redis
from shared.settings import Settings
from shared.storage import Storage

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


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


@contextlib.asynccontextmanager
async def running_acceptor(settings: Settings) -> AsyncIterator[tuple[Acceptor, Any]]:
    """An Acceptor on live connections (and the Redis client), closed on exit.

    Used by the service's lifespan and by `wirepress replay`, so both run the same code.
    """
    redis = create_redis(settings)
    storage = Storage(settings)
    try:
        yield Acceptor(settings, storage, Emitter(settings, redis)), redis
    finally:
        await redis.aclose()
        storage.close()


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    feeds = settings.require_feeds()
    limit = settings.ingest_max_body_bytes
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running_acceptor(settings) as (acceptor, redis):
            state.update(
                redis=redis,
                acceptor=acceptor,
                auth=Authenticator(
                    feeds,
                    skew_s=settings.ingest_signature_skew_s,
                    replay_cache=RedisReplayCache(redis),
                ),
            )
            logger.info(
                "ingest listening on %s:%s for feeds %s",
                settings.ingest_host,
                settings.ingest_port,
                ", ".join(f.name for f in feeds),
            )
            yield

    async def push_story(request: Request) -> Response:
        correlation_id = correlation_id_from(request.headers.get("x-correlation-id"))
        try:
            outcome = await _push(request, correlation_id)
        except Problem as problem:
            return problem_response(problem, request, correlation_id)
        return JSONResponse(
            outcome.model_dump(mode="json"),
            status_code=outcome.http_status,
            headers={"X-Correlation-ID": correlation_id},
        )

    async def _push(request: Request, correlation_id: str) -> PushOutcome:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise too_large(limit)
        authenticator: Authenticator = state["auth"]
        credentials = Credentials.from_request(request.headers, request.query_params.get("feed"))
        # Before reading the body: a request with no (or a wrong bearer) credential costs nothing.
        authenticator.precheck(credentials)
        body = await _read_body(request)
        try:
            authenticated = await authenticator.authenticate(credentials, body, now=time.time())
        except (RedisError, OSError) as exc:
            # The replay cache lives in Redis: its failure is backpressure, not a bad signature.
            logger.warning("replay cache unreachable, answering 503: %s", exc)
            raise unavailable("the event store does not answer; retry shortly") from exc
        if not body.strip():
            raise Problem(400, "empty", "Empty payload", "the request has no body")
        acceptor: Acceptor = state["acceptor"]
        return await acceptor.receive(
            body, request.headers.get("content-type"), authenticated.feed, correlation_id
        )

    async def _read_body(request: Request) -> bytes:
        payload = bytearray()
        async for chunk in request.stream():
            payload.extend(chunk)
            if len(payload) > limit:
                raise too_large(limit)
        return bytes(payload)

    async def healthz(request: Request) -> JSONResponse:
        checks: dict[str, bool] = {}
        try:
            await asyncio.wait_for(state["redis"].ping(), 2)
            checks["redis"] = True
        except Exception:
            checks["redis"] = False
        try:
            await asyncio.wait_for(asyncio.to_thread(state["acceptor"].storage.ping), 3)
            checks["s3"] = True
        except Exception:
            checks["s3"] = False
        ok = all(checks.values())
        return JSONResponse({"service": "ingest", **checks}, status_code=200 if ok else 503)

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(openapi_document())

    return Starlette(
        routes=[
            Route("/v1/stories", push_story, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/openapi.json", openapi),
        ],
        lifespan=lifespan,
    )
