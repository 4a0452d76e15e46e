"""Render service wiring: enriched stories in, pages out; publish outcomes in, listing pages out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.render.adapters import RedisListing, pages_due
from services.render.handlers import (
    handle_enriched,
    handle_published,
    rebuild_due_pages,
)
from services.render.pages import PageRenderer
from services.render.settings import RenderSettings
from shared.duequeue import DueQueue
from shared.events import ArticleEnriched, ArticlePublished, Output
from shared.queries import ListingStatus
from shared.service import Runtime, consumer_app, query, read_lookup
from shared.streams import ENRICHED, PUBLISHED, RENDER, RENDERED

logger = logging.getLogger(__name__)

# Listing pages are rebuilt when a change wakes this replica; this is how often it also looks
# for work another replica queued and could not finish (its lease ran out).
REBUILD_CHECK_S = 5.0


class RebuildAlarm:
    """Wakes the rebuild loop when a change comes due sooner than it is waiting for (not at
    every change: a burst of stories would otherwise wake it once each)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        # 0 while the loop is looking at the queue rather than sleeping: a change then may not
        # be in what it reads, so it looks again.
        self.deadline = 0.0

    def due_at(self, when: float) -> None:
        if self.deadline == 0.0 or when < self.deadline:
            self.event.set()

    async def sleep_until(self, deadline: float) -> None:
        self.deadline = deadline
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), max(0.0, deadline - time.time()))
        self.deadline = 0.0


async def _rebuild_listing_pages(
    runtime: Runtime,
    listing: RedisListing,
    due: DueQueue,
    renderer: PageRenderer,
    alarm: RebuildAlarm,
    front_page_stories: int,
) -> None:
    """Rebuild listing pages as they come due (any replica takes any page): woken by this
    replica's own listing changes, and every REBUILD_CHECK_S for work left by another."""

    while True:
        try:
            # Cleared before looking, so a change made while we look still wakes us.
            alarm.event.clear()
            next_due = await due.next_due()
            now = time.time()
            if next_due is None or next_due > now:
                limit = now + REBUILD_CHECK_S
                await alarm.sleep_until(limit if next_due is None else min(next_due, limit))
                continue
            await rebuild_due_pages(
                listing,
                due,
                renderer,
                runtime.emit,
                now=datetime.now(UTC),
                front_page_stories=front_page_stories,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            # What was leased comes due again when the lease runs out.
            logger.exception("listing page rebuild failed")
            await asyncio.sleep(1.0)


def _query_routes(runtime: Runtime) -> Sequence[BaseRoute]:
    async def status(request: Request) -> Response:
        listing: RedisListing = runtime.resources["listing"]
        due: DueQueue = runtime.resources["pages_due"]
        answer = ListingStatus(
            stories=await listing.size(),
            generation=await listing.generation(),
            pages_waiting=await due.waiting(),
        )
        return JSONResponse(answer.model_dump(mode="json"))

    async def lookup(request: Request) -> Response:
        listing: RedisListing = runtime.resources["listing"]
        asked = await read_lookup(request)
        states = await listing.states(asked.article_ids)
        return JSONResponse([state.model_dump(mode="json") for state in states])

    return [
        Route("/v1/listing", query(status)),
        Route("/v1/listing/lookup", query(lookup), methods=["POST"]),
    ]


def create_app(settings: RenderSettings | None = None) -> Starlette:
    settings = settings or RenderSettings()

    async def setup(runtime: Runtime) -> Callable[[], Awaitable[None]] | None:
        renderer = PageRenderer(site_url=settings.site_url, site_name=settings.site_name)
        listing = RedisListing(runtime.redis)
        due = pages_due(runtime.redis)
        runtime.resources.update(listing=listing, pages_due=due)
        alarm = RebuildAlarm()

        async def on_enriched(event: ArticleEnriched) -> Sequence[Output]:
            return [(RENDERED, handle_enriched(event, renderer))]

        async def on_published(event: ArticlePublished) -> Sequence[Output]:
            due_at = await handle_published(
                event, listing, now=time.time(), debounce_s=settings.listing_debounce_s
            )
            if due_at is not None:
                alarm.due_at(due_at)
            return []

        runtime.consume(
            stream=ENRICHED, group=RENDER, adapter=TypeAdapter(ArticleEnriched), handle=on_enriched
        )
        runtime.consume(
            stream=PUBLISHED,
            group=RENDER,
            adapter=TypeAdapter(ArticlePublished),
            handle=on_published,
        )
        runtime.background.append(
            asyncio.create_task(
                _rebuild_listing_pages(
                    runtime, listing, due, renderer, alarm, settings.front_page_stories
                )
            )
        )
        return None

    return consumer_app("render", settings, setup, routes=_query_routes)
