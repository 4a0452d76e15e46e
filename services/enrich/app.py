"""Enrich service wiring: ingested stories and republish requests in, enriched stories out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette

from services.enrich.archive import RedisArchive
from services.enrich.handlers import handle_ingested, handle_republish
from services.enrich.tagging import tag_story
from shared.events import ENRICH_INPUT, ArticleIngested, ArticleRepublishRequested
from shared.service import Runtime, consumer_app
from shared.settings import Settings
from shared.streams import ENRICH, INGESTED, REPUBLISH


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    async def setup(runtime: Runtime) -> None:
        archive = RedisArchive(runtime.redis, settings.read_also, settings.related_posts)
        await archive.load_index()
        # Load the tagger's gazetteers now rather than on the first story.
        tag_story("", "", [])

        async def handle(event: ArticleIngested | ArticleRepublishRequested) -> Sequence[Any]:
            if isinstance(event, ArticleRepublishRequested):
                return await handle_republish(
                    event, archive, settings.read_also, settings.related_posts
                )
            return await handle_ingested(event, archive, settings.read_also, settings.related_posts)

        # One stream for stories, one for republish requests: both feed the same handler.
        for stream in (INGESTED, REPUBLISH):
            runtime.consume(stream=stream, group=ENRICH, adapter=ENRICH_INPUT, handle=handle)
        return None

    return consumer_app("enrich", settings, setup)
