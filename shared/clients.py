"""Asking the services what they own, over their query APIs (`shared.queries`): the command
line and the editors' desk ask this way, never by reading a service's Redis keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import httpx

from shared.queries import (
    MAX_LOOKUP,
    FrontsStatus,
    IndexStatus,
    ListingState,
    ListingStatus,
    Lookup,
    StoryPage,
    StoryRecord,
    TagBansStatus,
)

TIMEOUT_S = 10.0


class ServiceUnreachable(Exception):
    """A service did not answer its query, or answered it with an error."""


async def _request(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: object
) -> httpx.Response:
    try:
        response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise ServiceUnreachable(f"{url}: {exc}") from exc
    if response.status_code >= 400:
        raise ServiceUnreachable(f"{url}: {response.status_code} {response.text[:200]}")
    return response


class EnrichClient:
    def __init__(self, base_url: str, client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_S)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def stories(self, names: Sequence[str]) -> list[StoryRecord]:
        """The stories enrich holds among these (named by article id or guid)."""
        found: list[StoryRecord] = []
        for start in range(0, len(names), MAX_LOOKUP):
            body = Lookup(article_ids=list(names[start : start + MAX_LOOKUP])).model_dump_json()
            response = await _request(
                self.client, "POST", f"{self.base_url}/v1/stories/lookup", content=body
            )
            found += [StoryRecord.model_validate(item) for item in response.json()]
        return found

    async def every_story(self, page_size: int = 500) -> AsyncIterator[list[StoryRecord]]:
        cursor: str | None = "0"
        while cursor is not None:
            response = await _request(
                self.client,
                "GET",
                f"{self.base_url}/v1/stories",
                params={"cursor": cursor, "limit": page_size},
            )
            page = StoryPage.model_validate(response.json())
            yield page.stories
            cursor = page.cursor

    async def tag_bans(self) -> list[str]:
        response = await _request(self.client, "GET", f"{self.base_url}/v1/tag-bans")
        return TagBansStatus.model_validate(response.json()).banned

    async def index(self) -> IndexStatus:
        response = await _request(self.client, "GET", f"{self.base_url}/v1/index")
        return IndexStatus.model_validate(response.json())


class RenderClient:
    def __init__(self, base_url: str, client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_S)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def listing(self) -> ListingStatus:
        response = await _request(self.client, "GET", f"{self.base_url}/v1/listing")
        return ListingStatus.model_validate(response.json())

    async def fronts(self) -> dict[str, list[str]]:
        response = await _request(self.client, "GET", f"{self.base_url}/v1/fronts")
        return FrontsStatus.model_validate(response.json()).fronts

    async def states(self, article_ids: Sequence[str]) -> list[ListingState]:
        found: list[ListingState] = []
        for start in range(0, len(article_ids), MAX_LOOKUP):
            chunk = list(article_ids[start : start + MAX_LOOKUP])
            body = Lookup(article_ids=chunk).model_dump_json()
            response = await _request(
                self.client, "POST", f"{self.base_url}/v1/listing/lookup", content=body
            )
            found += [ListingState.model_validate(item) for item in response.json()]
        return found
