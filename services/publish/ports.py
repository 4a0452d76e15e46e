"""What publish's decisions need from the outside world, and the types that cross over."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PageState:
    """What a page in the bucket is: its ETag, the ordering it holds and a hash of its bytes."""

    etag: str
    ordering: str
    sha256: str


@dataclass(frozen=True)
class PublishConfig:
    site_url: str
    page_cache_control: str
    site_cache_control: str


class StaleView(Exception):
    """The page was not what we believed it was: read it again from the bucket and decide again."""


class PageStore(Protocol):
    async def head(self, path: str) -> PageState | None: ...

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
        """Write only if the page is still `expected` (None: only if there is no page); raise
        StaleView if it is not. `gzipped`: the page as `shared.events.gzip_page` compressed it
        already, stored as it is where compression pays."""

    async def delete(self, path: str) -> None: ...

    async def forget(self, path: str) -> None:
        """Drop what we believe of this page, so the next head() asks the bucket itself."""


class Ledger(Protocol):
    def lock(self, article_id: str) -> AbstractAsyncContextManager[None]:
        """Held while one story's page is decided and written: replicas never interleave."""

    async def tombstone(self, article_id: str) -> str | None: ...

    async def set_tombstone(self, article_id: str, ordering: str) -> None: ...
