"""Publish service wiring: rendered pages in, S3 objects out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from redis.asyncio import Redis
from starlette.applications import Starlette

from services.publish.handlers import (
    PageState,
    SiteEntry,
    handle_article,
    handle_site_page,
)
from shared import keys
from shared.errors import RetryLater
from shared.events import PUBLISH_INPUT, ArticleRendered, SitePageRendered
from shared.locks import redis_lock
from shared.service import Runtime, consumer_app
from shared.settings import Settings
from shared.storage import SHA_META, VERSION_META, PreconditionFailed, Storage
from shared.streams import PUBLISH, RENDERED


class S3PageStore:
    """Pages in the site bucket, written with compare-and-set on the ETag (boto3 runs in threads)."""

    def __init__(self, storage: Storage, cache_control: Callable[[str], str]) -> None:
        self.storage = storage
        self.cache_control = cache_control

    async def head(self, path: str) -> PageState | None:
        found = await asyncio.to_thread(self.storage.head_page, path)
        if found is None:
            return None
        return PageState(
            etag=found.etag,
            ordering=found.metadata.get(VERSION_META, ""),
            sha256=found.metadata.get(SHA_META, ""),
        )

    async def put(self, path: str, html: bytes, ordering: str, expected: PageState | None) -> None:
        try:
            await asyncio.to_thread(
                self.storage.put_page,
                path,
                html,
                ordering=ordering,
                cache_control=self.cache_control(path),
                if_match=expected.etag if expected else None,
                if_none_match=expected is None,
            )
        except PreconditionFailed as exc:
            raise RetryLater(f"{path} changed while we wrote it") from exc

    async def delete(self, path: str) -> None:
        await asyncio.to_thread(self.storage.delete_page, path)


class RedisLedger:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def lock(self, name: str) -> AbstractAsyncContextManager[None]:
        return redis_lock(self.redis, f"publish:{name}")

    async def tombstone(self, article_id: str) -> str | None:
        value = await self.redis.hget(keys.TOMBSTONES, article_id)
        return value.decode() if value else None

    async def set_tombstone(self, article_id: str, ordering: str) -> None:
        await self.redis.hset(keys.TOMBSTONES, article_id, ordering)

    async def list_on_site(self, entry: SiteEntry) -> None:
        payload = json.dumps(
            {
                "article_id": entry.article_id,
                "headline": entry.headline,
                "path": entry.path,
                "excerpt": entry.excerpt,
                "published_at": entry.published_at.isoformat() if entry.published_at else None,
            },
            ensure_ascii=False,
        )
        if await self.redis.hget(keys.SITE_ENTRIES, entry.article_id) == payload.encode():
            return
        score = entry.published_at.timestamp() if entry.published_at else 0.0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.SITE_ENTRIES, entry.article_id, payload)
            pipe.zadd(keys.SITE_ORDER, {entry.article_id: score})
            pipe.incr(keys.SITE_GENERATION)
            await pipe.execute()

    async def take_off_site(self, article_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.SITE_ENTRIES, article_id)
            pipe.zrem(keys.SITE_ORDER, article_id)
            pipe.incr(keys.SITE_GENERATION)
            await pipe.execute()


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    async def setup(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        storage = Storage(settings)
        store = S3PageStore(
            storage,
            lambda path: (
                settings.site_cache_control if path == "index.html" else settings.page_cache_control
            ),
        )
        ledger = RedisLedger(runtime.redis)

        async def handle(event: ArticleRendered | SitePageRendered) -> Sequence[tuple[str, Any]]:
            if isinstance(event, SitePageRendered):
                return await handle_site_page(event, store, ledger)
            return await handle_article(event, store, ledger, settings.site_url)

        # S3 writes wait on the network, not the CPU: several stories go at once.
        runtime.consume(
            stream=RENDERED, group=PUBLISH, adapter=PUBLISH_INPUT, handle=handle, concurrency=16
        )

        async def close() -> None:
            storage.close()

        return close

    return consumer_app("publish", settings, setup)
