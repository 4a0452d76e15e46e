"""The runtime every stream-consuming service shares: resources opened and closed in the lifespan,
consumers registered on one broker, a health endpoint that tells the truth, and the routes of the
queries the service answers about what it owns.

FastStream's own ASGI ping keeps answering 204 after a subscriber has died; our /healthz
(readiness) answers 503 as soon as any subscriber task has stopped or Redis does not answer, and
/livez (liveness) as soon as a subscriber task has stopped, so an orchestrator restarts a replica
that is broken but not every replica while Redis is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream.redis import RedisBroker
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shared.backlog import stream_status, trim_acknowledged
from shared.broker import (
    client_name,
    create_broker,
    create_redis,
    ensure_groups,
    publish_events,
)
from shared.delivery import StreamConsumer
from shared.events import Event
from shared.metrics import PROBE_TIMEOUT_S, Metrics, set_stream_gauges
from shared.queries import MAX_LOOKUP, MAX_LOOKUP_BYTES, Lookup
from shared.settings import ServiceSettings
from shared.streams import CONSUMER_GROUPS

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a running service holds: its settings, connections and consumers."""

    name: str
    settings: ServiceSettings
    broker: RedisBroker
    redis: Redis
    metrics: Metrics
    consumers: list[StreamConsumer] = field(default_factory=list)
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    #: Set as the service stops. Background loops test it as well as being cancelled: a
    #: library that swallows a cancellation (redis-py has, around its commands) must not leave
    #: a loop running and the service unable to stop.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def consume(self, **kwargs: Any) -> StreamConsumer:
        stream, group = kwargs["stream"], kwargs["group"]
        # The streams' table is what the AsyncAPI document is generated from: no service may
        # consume what it does not declare.
        if group not in CONSUMER_GROUPS.get(stream, ()):
            raise ValueError(f"{group} does not consume {stream} in shared.streams.TOPOLOGY")
        consumer = StreamConsumer(
            settings=self.settings,
            redis=lambda: self.redis,
            broker=self.broker,
            metrics=self.metrics,
            **kwargs,
        )
        consumer.subscribe()
        self.consumers.append(consumer)
        return consumer

    async def emit(self, stream: str, events: Sequence[Event]) -> None:
        """Put events on a stream from the service's own background work (a handler's outputs
        go with its ack instead)."""
        await publish_events(self.redis, stream, events, self.settings.stream_maxlen)

    def alive(self) -> bool:
        return all(c.alive() for c in self.consumers) and all(
            not task.done() for task in self.background
        )


async def _trim_loop(runtime: Runtime) -> None:
    """Keep the streams this service consumes down to what is unread, pending or recent."""
    settings = runtime.settings
    streams = sorted({consumer.stream for consumer in runtime.consumers})
    while not runtime.stopping.is_set():
        await asyncio.sleep(settings.stream_trim_every_s)
        for stream in streams:
            try:
                dropped = await trim_acknowledged(
                    runtime.redis,
                    stream,
                    retain_s=settings.stream_retain_s,
                    observer_retain_s=settings.stream_observer_retain_s,
                )
            except (RedisError, OSError) as exc:
                logger.warning("could not trim %s (will try again): %s", stream, exc)
                continue
            if dropped:
                logger.debug("trimmed %s acknowledged entries from %s", dropped, stream)


async def _leave_groups(runtime: Runtime) -> None:
    """A replica that stops with nothing pending leaves its groups, so `wirepress status` counts
    live replicas rather than every replica that ever ran. One that still holds messages stays
    listed until another replica has reclaimed them."""
    name = runtime.settings.consumer_name
    for consumer in runtime.consumers:
        try:
            pending = await runtime.redis.xpending_range(
                consumer.stream, consumer.group, "-", "+", 1, consumername=name
            )
            if not pending:
                await runtime.redis.xgroup_delconsumer(consumer.stream, consumer.group, name)
        except Exception as exc:
            logger.warning(
                "could not leave group %s on %s: %s", consumer.group, consumer.stream, exc
            )


def metrics_route(metrics: Metrics) -> Route:
    """GET /metrics: the service's registry in Prometheus' text format."""

    async def exposition(request: Request) -> Response:
        body, content_type = await metrics.exposition(request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})

    return Route("/metrics", exposition)


Setup = Callable[[Runtime], Awaitable[Callable[[], Awaitable[None]] | None]]


class BadQuery(Exception):
    """A query the service cannot answer as asked: answered 400 with the reason."""


async def read_body(request: Request, limit: int, what: str = "a request body") -> bytes:
    """A request's body, read no further than `limit` bytes however it is sent (a declared
    length or chunks): BadQuery past it."""
    if int(request.headers.get("content-length") or 0) > limit:
        raise BadQuery(f"{what} is at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BadQuery(f"{what} is at most {limit} bytes")
    return bytes(body)


async def read_lookup(request: Request) -> Lookup:
    """The stories a lookup asks about, read within bounds (BadQuery otherwise)."""
    body = await read_body(request, MAX_LOOKUP_BYTES, "a lookup")
    try:
        return Lookup.model_validate_json(body)
    except ValidationError as exc:
        raise BadQuery(
            f'a lookup is {{"article_ids": [...]}}, at most {MAX_LOOKUP}: {exc}'
        ) from exc


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter, clamped to [low, high] (BadQuery if it is not one)."""
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        return min(max(int(text), low), high)
    except ValueError as exc:
        raise BadQuery(f"{name} must be a whole number") from exc


def query(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A query endpoint: a question it cannot answer as asked is a 400 that says why."""

    async def answer(request: Request) -> Response:
        try:
            return await handler(request)
        except BadQuery as exc:
            return JSONResponse({"detail": str(exc)[:1000]}, status_code=400)

    return answer


def consumer_app(
    name: str,
    settings: ServiceSettings,
    setup: Setup,
    routes: Callable[[Runtime], Sequence[BaseRoute]] | None = None,
) -> Starlette:
    """A Starlette app whose lifespan runs the service's consumers and serves /healthz.

    `setup` opens the service's own resources, registers its consumers, and returns a closer;
    `routes` gives the service's query routes (read-only answers about what it owns), which
    find what `setup` opened in `runtime.resources`.
    """
    metrics = Metrics(name)
    connection_name = client_name(name, settings)
    runtime = Runtime(
        name=name,
        settings=settings,
        broker=create_broker(settings, metrics, connection_name),
        redis=create_redis(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            name=connection_name,
        ),
        metrics=metrics,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Idempotent: a service started before `wirepress init` still reads from the start.
        await ensure_groups(runtime.redis)
        close = await setup(runtime)
        runtime.background.append(asyncio.create_task(_trim_loop(runtime)))
        await runtime.broker.start()
        logger.info("%s started as consumer %s", name, settings.consumer_name)
        try:
            yield
        finally:
            logger.info("%s stopping: draining in-flight messages", name)
            runtime.stopping.set()
            for task in runtime.background:
                task.cancel()
            await asyncio.gather(*runtime.background, return_exceptions=True)
            # Waits up to `graceful_timeout` for handlers in progress; what is left stays
            # pending and another replica reclaims it.
            await runtime.broker.stop()
            if close is not None:
                await close()
            await _leave_groups(runtime)
            await runtime.redis.aclose()
            logger.info("%s stopped", name)

    async def redis_answers(timeout_s: float = 2.0) -> bool:
        try:
            await asyncio.wait_for(runtime.redis.ping(), timeout_s)
        except Exception:
            return False
        return True

    async def refresh_ready() -> None:
        # Its own, shorter probe: a Redis that hangs reads "not ready", not the last value.
        metrics.ready.set(1 if runtime.alive() and await redis_answers(PROBE_TIMEOUT_S) else 0)

    async def refresh_streams() -> None:
        set_stream_gauges(metrics, await stream_status(runtime.redis))

    metrics.on_scrape(refresh_ready)
    metrics.on_scrape(refresh_streams)

    async def healthz(request: Request) -> JSONResponse:
        redis_ok = await redis_answers()
        alive = runtime.alive()
        status = 200 if (alive and redis_ok) else 503
        return JSONResponse(
            {
                "service": name,
                "consumer": settings.consumer_name,
                "subscribers_alive": alive,
                "redis": redis_ok,
                "handled": sum(c.handled for c in runtime.consumers),
            },
            status_code=status,
        )

    async def livez(request: Request) -> JSONResponse:
        # Liveness, unlike readiness, leaves Redis out: restarting every pod while Valkey is
        # down would only add a cold start to the outage.
        alive = runtime.alive()
        return JSONResponse({"service": name, "alive": alive}, status_code=200 if alive else 503)

    queries = list(routes(runtime)) if routes is not None else []
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/livez", livez),
            metrics_route(metrics),
            *queries,
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
