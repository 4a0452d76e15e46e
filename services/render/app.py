"""Render service wiring: enriched stories in, article pages out; and the front page kept current."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from starlette.applications import Starlette

from services.render.handlers import (
    FrontPageEntry,
    PageRenderer,
    handle_enriched,
    render_site_index,
)
from shared import keys
from shared.events import ArticleEnriched
from shared.service import Runtime, consumer_app
from shared.settings import Settings
from shared.streams import ENRICHED, RENDER, RENDERED

logger = logging.getLogger(__name__)

FRONT_PAGE_STORIES = 40
FRONT_PAGE_INTERVAL_S = 1.0


async def _front_page_loop(runtime: Runtime, renderer: PageRenderer) -> None:
    """Re-render the front page when the list of stories on the site changes, at most once a second.

    Publish bumps a generation counter on every change; one replica at a time (a short lock)
    renders the list as of that generation, and the generation orders the renders, so a slower
    replica's older front page never replaces a newer one.
    """
    redis = runtime.redis
    rendered_generation = -1
    while True:
        await asyncio.sleep(FRONT_PAGE_INTERVAL_S)
        try:
            generation = int(await redis.get(keys.SITE_GENERATION) or 0)
            if generation == rendered_generation:
                continue
            # One replica renders it; the others skip this tick rather than wait.
            if not await redis.set(f"{keys.LOCK_PREFIX}render:front-page", "1", nx=True, px=900):
                continue
            ids = await redis.zrevrange(keys.SITE_ORDER, 0, FRONT_PAGE_STORIES - 1)
            raw = await redis.hmget(keys.SITE_ENTRIES, ids) if ids else []
            entries = [FrontPageEntry.model_validate(json.loads(item)) for item in raw if item]
            page = render_site_index(entries, generation, datetime.now(UTC), renderer)
            await runtime.broker.publish(
                page.model_dump_json().encode(),
                stream=RENDERED,
                maxlen=runtime.settings.stream_maxlen,
                headers={"content-type": "application/json"},
            )
            rendered_generation = generation
        except asyncio.CancelledError:
            raise
        except Exception:
            # The next change, or the next tick, renders it again.
            logger.exception("front page render failed")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    async def setup(runtime: Runtime) -> Callable[[], Awaitable[None]] | None:
        renderer = PageRenderer(site_url=settings.site_url)

        async def handle(event: ArticleEnriched) -> Sequence[tuple[str, Any]]:
            return [(RENDERED, handle_enriched(event, renderer))]

        runtime.consume(
            stream=ENRICHED, group=RENDER, adapter=TypeAdapter(ArticleEnriched), handle=handle
        )

        runtime.background.append(asyncio.create_task(_front_page_loop(runtime, renderer)))
        return None

    return consumer_app("render", settings, setup)
