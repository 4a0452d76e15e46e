"""Publish service wiring: rendered pages in, S3 objects and publish outcomes out."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from starlette.applications import Starlette

from services.publish.adapters import RedisLedger, S3PageStore
from services.publish.handlers import handle_article, handle_site_page
from services.publish.ports import PublishConfig
from services.publish.settings import PublishSettings
from shared.events import (
    PUBLISH_INPUT,
    ArticlePublished,
    ArticleRendered,
    Output,
    SitePageRendered,
)
from shared.metrics import Metrics
from shared.service import Runtime, consumer_app
from shared.storage import Storage
from shared.streams import PUBLISH, RENDERED


def observe_push_to_page(metrics: Metrics, outputs: Sequence[Output]) -> None:
    """A pushed story's page now in the bucket: how long since ingest accepted it."""
    for output in outputs:
        if not isinstance(output, tuple):
            continue
        published = output[1]
        if (
            isinstance(published, ArticlePublished)
            and published.outcome == "written"
            and published.pushed_at is not None
        ):
            waited = time.time() - published.pushed_at.timestamp()
            metrics.push_to_page.observe(max(0.0, waited))


def create_app(settings: PublishSettings | None = None) -> Starlette:
    settings = settings or PublishSettings()
    config = PublishConfig(
        site_url=settings.site_url,
        page_cache_control=settings.page_cache_control,
        site_cache_control=settings.site_cache_control,
    )

    async def setup(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        storage = Storage(settings, runtime.metrics)
        store = S3PageStore(storage, runtime.redis)
        ledger = RedisLedger(runtime.redis)

        async def handle(event: ArticleRendered | SitePageRendered) -> Sequence[Output]:
            if isinstance(event, SitePageRendered):
                return await handle_site_page(event, store, ledger, config)
            outputs = await handle_article(event, store, ledger, config)
            observe_push_to_page(runtime.metrics, outputs)
            return outputs

        runtime.consume(
            stream=RENDERED,
            group=PUBLISH,
            adapter=PUBLISH_INPUT,
            handle=handle,
            concurrency=settings.publish_concurrency,
        )

        async def close() -> None:
            storage.close()

        return close

    return consumer_app("publish", settings, setup)
