"""Render service wiring: enriched stories in, article pages out; publish outcomes in, the
site's listings kept and their pages built as they come due; site commands in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import partial

from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.render.adapters import RedisSite, site_due
from services.render.builder import (
    NEWS_SITEMAP,
    SITEMAP_INDEX,
    STATIC_PAGES,
    BuildConfig,
    build_due,
    keep_listings,
    standing_listings,
)
from services.render.handlers import front_pins_after, render_enriched
from services.render.pages import PageRenderer
from services.render.settings import RenderSettings
from services.render.site import HOME, SiteInfo
from shared.backlog import group_backlog
from shared.duequeue import DueQueue
from shared.events import (
    SITE_COMMAND,
    ArticleEnriched,
    ArticlePublished,
    FrontChangeRequested,
    Output,
    SiteRebuildRequested,
)
from shared.queries import FrontsStatus, ListingStatus
from shared.sections import load_sections
from shared.service import Runtime, consumer_app, query, read_lookup
from shared.streams import ENRICHED, PUBLISH, PUBLISHED, RENDER, RENDERED, SITE

logger = logging.getLogger(__name__)

# Site pages are built when a change wakes this replica; this is how often it also looks for
# work another replica queued and could not finish (its lease ran out).
BUILD_CHECK_S = 5.0
# `pages_due` counts what comes due this soon (a burst's debounce, a build under way: leases
# last a minute), not what is scheduled for later (the news sitemap, when its oldest story ages
# out).
PAGES_DUE_HORIZON_S = 60.0
# How often a build held back by publish's backlog looks again.
BACKLOG_POLL_S = 0.1


class BuildAlarm:
    """Wakes the build loop when a change comes due sooner than it is waiting for (not at every
    change: a burst of stories would otherwise wake it once each)."""

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
        # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation that
        # arrives as the event is set, and the service would then never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, deadline - time.time())):
                await self.event.wait()
        self.deadline = 0.0


async def _build_loop(
    runtime: Runtime,
    site: RedisSite,
    due: DueQueue,
    renderer: PageRenderer,
    alarm: BuildAlarm,
    config: BuildConfig,
    publish_behind: Callable[[], Awaitable[int]],
    max_backlog: int,
) -> None:
    """Build site pages as they come due (any replica takes any listing): woken by this
    replica's own listing changes, and every BUILD_CHECK_S for work left by another. Not while
    publish is more than `max_backlog` entries behind: the changes that arrive meanwhile are
    built together once it has caught up, so under load a listing is built once per round of
    publish's, not once per debounce, and its pages are never queued behind older copies."""

    async def schedule(keys: Sequence[str], when: float) -> None:
        await due.schedule_at(keys, when)

    while not runtime.stopping.is_set():
        try:
            # Cleared before looking, so a change made while we look still wakes us.
            alarm.event.clear()
            next_due = await due.next_due()
            now = time.time()
            if next_due is None or next_due > now:
                limit = now + BUILD_CHECK_S
                await alarm.sleep_until(limit if next_due is None else min(next_due, limit))
                continue
            if await publish_behind() > max_backlog:
                await asyncio.sleep(BACKLOG_POLL_S)
                continue
            await build_due(
                site,
                due,
                renderer,
                runtime.emit,
                schedule,
                now=datetime.now(UTC),
                config=config,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            # What was leased comes due again when the lease runs out.
            logger.exception("site build failed")
            await asyncio.sleep(1.0)


def _query_routes(runtime: Runtime) -> Sequence[BaseRoute]:
    async def status(request: Request) -> Response:
        site: RedisSite = runtime.resources["site"]
        due: DueQueue = runtime.resources["site_due"]
        answer = ListingStatus(
            stories=await site.size(HOME.key),
            generation=await site.generation(),
            pages_waiting=await due.waiting(),
            pages_due=await due.due(now=time.time() + PAGES_DUE_HORIZON_S),
        )
        return JSONResponse(answer.model_dump(mode="json"))

    async def lookup(request: Request) -> Response:
        site: RedisSite = runtime.resources["site"]
        asked = await read_lookup(request)
        states = await site.states(asked.article_ids)
        return JSONResponse([state.model_dump(mode="json") for state in states])

    async def fronts(request: Request) -> Response:
        site: RedisSite = runtime.resources["site"]
        return JSONResponse(FrontsStatus(fronts=await site.front_pins()).model_dump(mode="json"))

    return [
        Route("/v1/fronts", query(fronts)),
        Route("/v1/listing", query(status)),
        Route("/v1/listing/lookup", query(lookup), methods=["POST"]),
    ]


def create_app(settings: RenderSettings | None = None) -> Starlette:
    settings = settings or RenderSettings()
    config = BuildConfig(page_size=settings.listing_page_size)

    async def setup(runtime: Runtime) -> Callable[[], Awaitable[None]] | None:
        renderer = PageRenderer(
            SiteInfo(
                url=settings.site_url,
                name=settings.site_name,
                sections=load_sections(settings.sections_file).in_order,
            )
        )
        standing = standing_listings(renderer.site.sections)
        site = RedisSite(runtime.redis)
        due = site_due(runtime.redis)
        runtime.resources.update(site=site, site_due=due)
        alarm = BuildAlarm()
        cpu = settings.cpu_pool()

        async def on_enriched(event: ArticleEnriched) -> Sequence[Output]:
            return [(RENDERED, await render_enriched(event, renderer, cpu))]

        async def on_published(event: ArticlePublished) -> Sequence[Output]:
            due_at = await keep_listings(
                event, site, now=datetime.now(UTC), debounce_s=settings.listing_debounce_s
            )
            if due_at is not None:
                alarm.due_at(due_at)
            return []

        async def on_site_command(
            event: SiteRebuildRequested | FrontChangeRequested,
        ) -> Sequence[Output]:
            if isinstance(event, FrontChangeRequested):
                pins = await site.change_front(
                    event.front, partial(front_pins_after, event=event), time.time()
                )
                alarm.due_at(time.time())
                logger.info(
                    "front %s: %s %s by %s, %s pinned", event.front, event.op, event.story,
                    event.requested_by, len(pins), extra={"article_id": event.story or "site"},
                )  # fmt: skip
                return []
            # Every listing built in full, as soon as can be: the pages whose bytes did not
            # change are not rewritten (publish compares them).
            await site.forget_built()
            keys = [*await site.listings(), *standing, SITEMAP_INDEX, NEWS_SITEMAP, *STATIC_PAGES]
            await due.schedule_at(keys, time.time())
            alarm.due_at(time.time())
            logger.info("site rebuild (%s): %s listings due", event.reason, len(keys))
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
        runtime.consume(
            stream=SITE,
            group=RENDER,
            adapter=SITE_COMMAND,
            handle=on_site_command,
        )
        # The pages no story changes, and the listings the site always has: built as render
        # starts, in case a template or the sections file did.
        await due.schedule_at([*STATIC_PAGES, *standing], time.time())
        runtime.background.append(
            asyncio.create_task(
                _build_loop(
                    runtime,
                    site,
                    due,
                    renderer,
                    alarm,
                    config,
                    partial(group_backlog, runtime.redis, RENDERED, PUBLISH),
                    settings.site_build_max_backlog,
                )
            )
        )

        async def close() -> None:
            cpu.close()

        return close

    return consumer_app("render", settings, setup, routes=_query_routes)
