"""Enrich service wiring: ingested stories and republish requests in, enriched stories out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import Gauge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.enrich.adapters import (
    RedisLinkGraph,
    RedisRefreshQueue,
    RedisReleaseQueue,
    RedisStoryRecords,
    RedisTagBans,
    RedisTagNames,
    SemanticRefitter,
    SharedIndex,
)
from services.enrich.handlers import (
    handle_ingested,
    handle_republish,
    send_due_refreshes,
    send_due_releases,
)
from services.enrich.ports import Archive, EnrichConfig
from services.enrich.relevance.embeddings import load_embedder
from services.enrich.settings import EnrichSettings
from services.enrich.tagging import tag_story
from shared.backlog import worst_backlog
from shared.events import ENRICH_INPUT, ArticleIngested, ArticleRepublishRequested, Output
from shared.metrics import Metrics
from shared.models import as_article_id
from shared.queries import IndexStatus, StoryPage, TagBansStatus
from shared.sections import load_sections
from shared.service import Runtime, consumer_app, int_param, query, read_lookup
from shared.streams import ENRICH, INGESTED, REPUBLISH

logger = logging.getLogger(__name__)

REFRESH_POLL_S = 0.5
MAX_PAGE = 1000  # stories a page of GET /v1/stories holds at most


async def _refresh_loop(runtime: Runtime, archive: Archive, stories: RedisStoryRecords) -> None:
    """Send due link refreshes as republish requests (any replica may take any of them)."""
    settings = runtime.settings

    async def pipeline_behind() -> bool:
        backlog = await worst_backlog(runtime.redis)
        return backlog is not None and backlog.entries > settings.ingest_max_lag

    while not runtime.stopping.is_set():
        await asyncio.sleep(REFRESH_POLL_S)
        try:
            await send_due_refreshes(archive.refreshes, stories, runtime.emit, pipeline_behind)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Unconfirmed refreshes come due again when their lease runs out.
            logger.exception("related-link refresh failed")


async def _release_loop(runtime: Runtime, archive: Archive, poll_s: float) -> None:
    """Send the stories whose embargo has ended out, as they come due (any replica)."""
    while not runtime.stopping.is_set():
        await asyncio.sleep(poll_s)
        try:
            await send_due_releases(archive.releases, archive.stories, runtime.emit)
        except asyncio.CancelledError:
            raise
        except Exception:
            # What was taken comes due again when its lease runs out.
            logger.exception("embargo release failed")


async def _semantic_loop(runtime: Runtime, refitter: SemanticRefitter, interval_s: float) -> None:
    """Refit the archive's semantic model when it is due (any replica; one at a time)."""
    while not runtime.stopping.is_set():
        await asyncio.sleep(interval_s)
        try:
            await refitter.refit_if_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The model in use stays; the next check tries again.
            logger.exception("semantic model refit failed")


class EnrichMetrics:
    """Enrich's own gauges, read from what it keeps when /metrics is scraped."""

    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.due = Gauge(
            "wirepress_enrich_refreshes_due", "Related-link refreshes due now.", registry=r
        )
        self.waiting = Gauge(
            "wirepress_enrich_refreshes_waiting",
            "Related-link refreshes queued, due or not (the refresh queue's depth).",
            registry=r,
        )
        self.stories = Gauge(
            "wirepress_enrich_index_stories", "Stories in the related-links index.", registry=r
        )
        self.model_stories = Gauge(
            "wirepress_enrich_semantic_model_stories",
            "Stories the semantic model in use was fitted on (0: none fitted yet).",
            registry=r,
        )
        self.model_age = Gauge(
            "wirepress_enrich_semantic_model_age_seconds",
            "Time since the archive's semantic model was fitted (NaN before the first fit).",
            registry=r,
        )

    def follow(self, metrics: Metrics, index: SharedIndex, refreshes: RedisRefreshQueue) -> None:
        async def refresh() -> None:
            self.due.set(await refreshes.due())
            self.waiting.set(await refreshes.waiting())
            self.stories.set(await index.stories())
            meta = await index.semantic_meta() or {}
            fitted_on = meta.get("stories")
            self.model_stories.set(fitted_on if isinstance(fitted_on, int | float) else 0)
            fitted_at = meta.get("fitted_at")
            if isinstance(fitted_at, int | float):
                self.model_age.set(max(0.0, time.time() - fitted_at))
            else:
                self.model_age.set(float("nan"))

        metrics.on_scrape(refresh)


def _query_routes(runtime: Runtime) -> Sequence[BaseRoute]:
    def stories() -> RedisStoryRecords:
        found: RedisStoryRecords = runtime.resources["stories"]
        return found

    async def one_story(request: Request) -> Response:
        records = await stories().records([as_article_id(request.path_params["article_id"])])
        if not records:
            return JSONResponse({"detail": "not in the archive"}, status_code=404)
        return JSONResponse(records[0].model_dump(mode="json"))

    async def lookup(request: Request) -> Response:
        asked = await read_lookup(request)
        records = await stories().records([as_article_id(a) for a in asked.article_ids])
        return JSONResponse([record.model_dump(mode="json") for record in records])

    async def every_story(request: Request) -> Response:
        cursor = int_param(request, "cursor", 0, 0, 2**63 - 1)
        limit = int_param(request, "limit", 500, 1, MAX_PAGE)
        records, next_cursor = await stories().page(cursor, limit)
        page = StoryPage(stories=records, cursor=str(next_cursor) if next_cursor else None)
        return JSONResponse(page.model_dump(mode="json"))

    async def index_status(request: Request) -> Response:
        index: SharedIndex = runtime.resources["index"]
        refreshes: RedisRefreshQueue = runtime.resources["refreshes"]
        status = IndexStatus(
            stories=await index.stories(),
            semantic_model=await index.semantic_meta(),
            refreshes_due=await refreshes.due(),
            refreshes_waiting=await refreshes.waiting(),
        )
        return JSONResponse(status.model_dump(mode="json"))

    async def tag_bans(request: Request) -> Response:
        bans: RedisTagBans = runtime.resources["tag_bans"]
        status = TagBansStatus(banned=sorted(await bans.banned()))
        return JSONResponse(status.model_dump(mode="json"))

    return [
        Route("/v1/tag-bans", query(tag_bans)),
        Route("/v1/stories", query(every_story)),
        Route("/v1/stories/lookup", query(lookup), methods=["POST"]),
        Route("/v1/stories/{article_id}", query(one_story)),
        Route("/v1/index", query(index_status)),
    ]


def create_app(settings: EnrichSettings | None = None) -> Starlette:
    settings = settings or EnrichSettings()

    async def setup(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        redis = runtime.redis
        stories = RedisStoryRecords(redis)
        index = SharedIndex(redis)
        refreshes = RedisRefreshQueue(redis, refresh_delay_s=settings.related_refresh_delay_s)
        archive = Archive(
            stories=stories,
            index=index,
            links=RedisLinkGraph(redis),
            refreshes=refreshes,
            releases=RedisReleaseQueue(redis),
            tag_bans=(tag_bans := RedisTagBans(redis)),
            tag_names=RedisTagNames(redis),
        )
        runtime.resources.update(
            stories=stories, index=index, refreshes=refreshes, tag_bans=tag_bans
        )
        EnrichMetrics(runtime.metrics).follow(runtime.metrics, index, refreshes)
        await index.load_index()
        cpu = settings.cpu_pool()
        # Load the tagger's gazetteers (and the embedding model) now, not on the first story.
        tag_story("", "", [])
        config = EnrichConfig(
            read_also=settings.read_also,
            related_posts=settings.related_posts,
            embedder=load_embedder() if settings.enrich_embeddings else None,
            sections=load_sections(settings.sections_file),
            cpu=cpu,
        )

        async def handle(event: ArticleIngested | ArticleRepublishRequested) -> Sequence[Output]:
            if isinstance(event, ArticleRepublishRequested):
                return await handle_republish(event, archive, config)
            return await handle_ingested(event, archive, config)

        # One stream for stories, one for republish requests: both feed the same handler.
        for stream in (INGESTED, REPUBLISH):
            runtime.consume(stream=stream, group=ENRICH, adapter=ENRICH_INPUT, handle=handle)
        runtime.background.append(asyncio.create_task(_refresh_loop(runtime, archive, stories)))
        runtime.background.append(
            asyncio.create_task(_release_loop(runtime, archive, settings.release_poll_s))
        )
        refitter = SemanticRefitter(redis, index)
        runtime.background.append(
            asyncio.create_task(_semantic_loop(runtime, refitter, settings.semantic_refit_check_s))
        )

        async def close() -> None:
            cpu.close()

        return close

    return consumer_app("enrich", settings, setup, routes=_query_routes)
