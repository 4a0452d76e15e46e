"""Publish service wiring: rendered pages in, S3 objects out."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from redis.asyncio import Redis
from starlette.applications import Starlette

from services.publish.handlers import (
    PageState,
    SiteEntry,
    StaleView,
    handle_article,
    handle_site_page,
    sha256_hex,
)
from shared import keys
from shared.events import PUBLISH_INPUT, ArticleRendered, SitePageRendered
from shared.locks import redis_lock
from shared.service import Runtime, consumer_app
from shared.settings import Settings
from shared.storage import SHA_META, VERSION_META, PreconditionFailed, Storage
from shared.streams import PUBLISH, RENDERED

PAGES = keys.PUBLISHED_PAGES


class S3PageStore:
    """Pages in the site bucket, written with compare-and-set on the ETag (boto3 runs in threads).

    What we last wrote to each page (ETag, version, hash) is kept in Redis, so deciding whether to
    write costs a Redis read instead of an S3 HEAD. The bucket stays the judge: every write is
    conditional on that ETag (or on there being no page), and if the bucket disagrees the page is
    read from S3 itself.
    """

    def __init__(self, storage: Storage, redis: Redis, cache_control: Callable[[str], str]) -> None:
        self.storage = storage
        self.redis = redis
        self.cache_control = cache_control
        self._ask_bucket: set[str] = set()

    async def head(self, path: str) -> PageState | None:
        if path not in self._ask_bucket:
            known = await self.redis.hget(PAGES, path)
            return PageState(**json.loads(known)) if known else None
        found = await asyncio.to_thread(self.storage.head_page, path)
        self._ask_bucket.discard(path)
        if found is None:
            await self.redis.hdel(PAGES, path)
            return None
        state = PageState(
            etag=found.etag,
            ordering=found.metadata.get(VERSION_META, ""),
            sha256=found.metadata.get(SHA_META, ""),
        )
        await self._remember(path, state)
        return state

    async def put(self, path: str, html: bytes, ordering: str, expected: PageState | None) -> None:
        try:
            etag = await asyncio.to_thread(
                self.storage.put_page,
                path,
                html,
                ordering=ordering,
                cache_control=self.cache_control(path),
                if_match=expected.etag if expected else None,
                if_none_match=expected is None,
            )
        except PreconditionFailed as exc:
            raise StaleView(path) from exc
        await self._remember(path, PageState(etag=etag, ordering=ordering, sha256=sha256_hex(html)))

    async def delete(self, path: str) -> None:
        await asyncio.to_thread(self.storage.delete_page, path)
        await self.redis.hdel(PAGES, path)

    async def forget(self, path: str) -> None:
        self._ask_bucket.add(path)

    async def _remember(self, path: str, state: PageState) -> None:
        await self.redis.hset(PAGES, path, json.dumps(dataclasses.asdict(state)))


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
            runtime.redis,
            lambda path: (
                settings.site_cache_control
                if path == keys.FRONT_PAGE
                else settings.page_cache_control
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
