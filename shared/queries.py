"""What the services answer when asked about what they own: the query API's models.

Services meet through streams; tools (and the editors' desk) that need to know something a
service keeps ask that service over HTTP, on the port its /healthz is on, instead of reading its
Redis keys. The answers are these models, so asker and answerer agree on one shape:

* enrich: `GET /v1/stories/{id}`, `POST /v1/stories/lookup`, `GET /v1/stories?cursor=&limit=`
  (StoryRecord, StoryPage), `GET /v1/index` (IndexStatus) and `GET /v1/tag-bans`
  (TagBansStatus);
* render: `GET /v1/listing` (ListingStatus), `POST /v1/listing/lookup` (ListingState) and
  `GET /v1/fronts` (FrontsStatus).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Stories one lookup may ask about (askers send more in several lookups).
MAX_LOOKUP = 1000
#: The largest lookup body read (a thousand guids of up to 1 KiB each).
MAX_LOOKUP_BYTES = 1024 * 1024


class Lookup(BaseModel):
    """The body of a lookup: the stories asked about."""

    model_config = ConfigDict(extra="forbid")

    article_ids: list[str] = Field(
        max_length=MAX_LOOKUP, description="Article ids (or, for enrich, guids)."
    )


class StoryRecord(BaseModel):
    """Enrich's record of a story: the latest version it has seen."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    guid: str
    version: str
    ordering: str = Field(description="The version's ordering (shared.models.version_ordering).")
    pubstatus: str = Field(
        description="usable, withheld or canceled; embargoed while held until its time."
    )
    page_path: str
    headline: str
    published_at: datetime | None = None
    corrected: bool = False
    pinned: list[str] = Field(
        default_factory=list, description="Stories editors pinned first among its links."
    )
    banned: list[str] = Field(
        default_factory=list, description="Stories editors banned from its links."
    )
    removed_tags: list[str] = Field(
        default_factory=list, description="Tag slugs editors removed from it."
    )
    taken_down: bool = Field(default=False, description="An editor took it off the site.")
    embargoed: datetime | None = Field(
        default=None, description="When its embargo ends (or ended), if it has one."
    )


class TagBansStatus(BaseModel):
    """Tags editors banned outright: `GET /v1/tag-bans` (enrich)."""

    banned: list[str] = Field(description="Their slugs, sorted.")


class StoryPage(BaseModel):
    """Some of every story enrich holds: `GET /v1/stories?cursor=&limit=`."""

    stories: list[StoryRecord]
    cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; None on the last."
    )


class IndexStatus(BaseModel):
    """Enrich's related-links index and its queue of link refreshes."""

    stories: int = Field(description="Stories in the index (on the site).")
    semantic_model: dict[str, Any] | None = Field(
        default=None, description="The fitted model's metadata, None before the first fit."
    )
    refreshes_due: int = Field(description="Link refreshes due now.")
    refreshes_waiting: int = Field(description="Link refreshes queued, due or not.")


class ListingState(BaseModel):
    """Whether a story is listed on the site, or was taken down, and at which version."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    listed_ordering: str | None = Field(
        default=None, description="The ordering of the version listed; None if not listed."
    )
    withdrawn_ordering: str | None = Field(
        default=None, description="The ordering at which it was taken down, if it was."
    )


class ListingStatus(BaseModel):
    """Render's listing of the site."""

    stories: int = Field(description="Stories listed.")
    generation: int = Field(description="Bumped on every change to the listing.")
    pages_waiting: int = Field(description="Listing pages queued for a rebuild, due or not.")
    pages_due: int = Field(
        default=0,
        description="Of those, the ones due within a minute or being built: 0 once the site "
        "has caught up (a page scheduled for later, like the news sitemap when its oldest "
        "story ages out, is not counted).",
    )


class FrontsStatus(BaseModel):
    """The fronts editors curate (render): `GET /v1/fronts`."""

    fronts: dict[str, list[str]] = Field(
        description="Front (`home`, `section/<slug>`) -> the article ids pinned to lead it."
    )
