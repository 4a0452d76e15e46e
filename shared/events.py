"""Every event that crosses a stream. Names are past tense; changes are additive only.

Each event carries `event_id`, `article_id`, the story's `guid` and `version`, a UTC time, the
correlation id that follows one pushed story through every service, and `schema_version`.
A stream may carry more than one event type; `event_type` tells them apart.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.models import Article, RelatedLink, Tag

SCHEMA_VERSION = 1


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(default_factory=_new_id)
    article_id: str
    guid: str
    version: str
    occurred_at: datetime = Field(default_factory=_now)
    correlation_id: str = Field(default_factory=_new_id)
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def about(cls, story: Article, **fields: Any) -> Self:
        """An event about one version of a story: its ids and version come from the article."""
        return cls(article_id=story.article_id, guid=story.guid, version=story.version, **fields)


class ArticleIngested(Event):
    """A story passed ingest: authenticated, parsed, archived raw, accepted."""

    event_type: Literal["article.ingested"] = "article.ingested"
    article: Article
    feed: str = "default"
    raw_key: str | None = None


class ArticleRepublishRequested(Event):
    """An editor (or the system, when links change) asked for a stored story to be published again.

    `pin` and `ban` name article ids an editor wants first among, or kept out of, its related links.
    """

    event_type: Literal["article.republish_requested"] = "article.republish_requested"
    reason: str = "editor"
    pin: list[str] = Field(default_factory=list)
    ban: list[str] = Field(default_factory=list)


class ArticleEnriched(Event):
    """A story with its tags and related links, ready to render. `killed`/withheld stories carry no links."""

    event_type: Literal["article.enriched"] = "article.enriched"
    article: Article
    ordering: str
    page_path: str
    tags: list[Tag] = Field(default_factory=list)
    read_also: list[RelatedLink] = Field(default_factory=list)
    related: list[RelatedLink] = Field(default_factory=list)
    # True when an earlier version of this story was already seen: the page says it was updated.
    corrected: bool = False
    # Why it was enriched: "ingested" for a pushed story, else the republish request's reason.
    reason: str = "ingested"


class ArticleRendered(Event):
    """An article page ready to write, or (html None, withdrawn) a page to take down."""

    event_type: Literal["article.rendered"] = "article.rendered"
    ordering: str
    page_path: str
    html: str | None = None
    withdrawn: bool = False
    headline: str = ""
    excerpt: str = ""
    published_at: datetime | None = None


class SitePageRendered(Event):
    """A page that belongs to the site rather than to one story (the front page).

    `article_id` names the page (`site:index`); `ordering` is the site generation it was rendered
    from (publish bumps it on every change to the list of stories), so an older render never
    replaces a newer one.
    """

    event_type: Literal["site.rendered"] = "site.rendered"
    ordering: str
    page_path: str
    html: str


class ArticlePublished(Event):
    """The outcome of publishing one article page: written, unchanged, withdrawn or stale."""

    event_type: Literal["article.published"] = "article.published"
    ordering: str
    page_path: str
    url: str
    outcome: Literal["written", "unchanged", "withdrawn", "stale"]


EnrichInput = Annotated[
    ArticleIngested | ArticleRepublishRequested, Field(discriminator="event_type")
]
PublishInput = Annotated[ArticleRendered | SitePageRendered, Field(discriminator="event_type")]

ENRICH_INPUT: TypeAdapter[ArticleIngested | ArticleRepublishRequested] = TypeAdapter(EnrichInput)
PUBLISH_INPUT: TypeAdapter[ArticleRendered | SitePageRendered] = TypeAdapter(PublishInput)
