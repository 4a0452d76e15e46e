"""Publish's adapters: pages in the S3 site bucket, and its ledger (locks, tombstones) in Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from contextlib import AbstractAsyncContextManager

from redis.asyncio import Redis

from services.publish import keys
from services.publish.ports import PageState, StaleView
from shared.events import gzip_page
from shared.hashing import sha256_hex
from shared.locks import redis_lock
from shared.storage import SHA_META, VERSION_META, PreconditionFailed, Storage

#: Pages smaller than this are stored as they are: gzip would save next to nothing.
GZIP_MIN_BYTES = 1024


def compressed(page: bytes, gzipped: bytes | None = None) -> tuple[bytes, str | None]:
    """The page as stored: gzip-compressed when that saves at least a tenth of its bytes (an
    article page of ~20 KB becomes ~5 KB), else as it is. Deterministic (no timestamp in the
    gzip header), so the same page is the same object; `gzipped`, when the page travelled
    compressed, is those same bytes, and not made again."""
    if len(page) < GZIP_MIN_BYTES:
        return page, None
    packed = gzipped if gzipped is not None else gzip_page(page)
    return (packed, "gzip") if len(packed) <= 0.9 * len(page) else (page, None)


class S3PageStore:
    """Pages in the site bucket, written with compare-and-set on the ETag (boto3 runs in threads).

    What we last wrote to each page (ETag, version, hash) is kept in Redis, so deciding whether to
    write costs a Redis read instead of an S3 HEAD. The bucket stays the judge: every write is
    conditional on that ETag (or on there being no page), and if the bucket disagrees the page is
    read from S3 itself.
    """

    def __init__(self, storage: Storage, redis: Redis) -> None:
        self.storage = storage
        self.redis = redis
        self._ask_bucket: set[str] = set()

    async def head(self, path: str) -> PageState | None:
        if path not in self._ask_bucket:
            known = await self.redis.hget(keys.PAGES, path)
            return PageState(**json.loads(known)) if known else None
        found = await asyncio.to_thread(self.storage.head_page, path)
        self._ask_bucket.discard(path)
        if found is None:
            await self.redis.hdel(keys.PAGES, path)
            return None
        state = PageState(
            etag=found.etag,
            ordering=found.metadata.get(VERSION_META, ""),
            sha256=found.metadata.get(SHA_META, ""),
        )
        await self._remember(path, state)
        return state

    async def put(
        self,
        path: str,
        html: bytes,
        ordering: str,
        expected: PageState | None,
        cache_control: str,
        content_type: str = "text/html; charset=utf-8",
        *,
        gzipped: bytes | None = None,
    ) -> None:
        body, encoding = compressed(html, gzipped)
        try:
            etag = await asyncio.to_thread(
                self.storage.put_page,
                path,
                body,
                ordering=ordering,
                cache_control=cache_control,
                if_match=expected.etag if expected else None,
                if_none_match=expected is None,
                content_type=content_type,
                content_encoding=encoding,
                sha256=sha256_hex(html),
            )
        except PreconditionFailed as exc:
            raise StaleView(path) from exc
        await self._remember(path, PageState(etag=etag, ordering=ordering, sha256=sha256_hex(html)))

    async def delete(self, path: str) -> None:
        await asyncio.to_thread(self.storage.delete_page, path)
        await self.redis.hdel(keys.PAGES, path)

    async def forget(self, path: str) -> None:
        self._ask_bucket.add(path)

    async def _remember(self, path: str, state: PageState) -> None:
        await self.redis.hset(keys.PAGES, path, json.dumps(dataclasses.asdict(state)))


class RedisLedger:
    """Per-story locks and tombstones."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def lock(self, article_id: str) -> AbstractAsyncContextManager[None]:
        return redis_lock(self.redis, keys.page_lock(article_id))

    async def tombstone(self, article_id: str) -> str | None:
        value = await self.redis.hget(keys.TOMBSTONES, article_id)
        return value.decode() if value else None

    async def set_tombstone(self, article_id: str, ordering: str) -> None:
        await self.redis.hset(keys.TOMBSTONES, article_id, ordering)
