"""Every event that crosses a stream. Names are past tense; changes are additive only.

Each event carries `event_id`, `article_id`, the story's `guid` and `version`, a UTC time, the
correlation id that follows one pushed story through every service, and `schema_version`.
A stream may carry more than one event type; `event_type` tells them apart. Which service emits
and consumes which event on which stream is written down once, in `shared.streams.TOPOLOGY`, and
the AsyncAPI document (`docs/asyncapi.json`) is generated from it and from these models.
"""

from __future__ import annotations

import base64
import gzip
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.models import Article, ListingEntry, RelatedLink, Section, Tag

SCHEMA_VERSION: Literal[1] = 1

_EXAMPLE_TIME = "2026-03-14T09:26:53Z"
_EXAMPLE_ORDERING = (
    "0000000002.0000000000.0000000000.0000000000|20260314T092653.000000|000000000003"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


def _pushed_at() -> Any:
    """The field every event after ingest carries the push's time in."""
    return Field(
        default=None,
        description="When ingest accepted the push this comes from (its ArticleIngested's "
        "occurred_at); None for a republish, a refresh or an embargo release. Publish measures "
        "push-to-page latency by it.",
        examples=[_EXAMPLE_TIME],
    )


class Event(BaseModel):
    """What every event carries."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(
        default_factory=_new_id,
        description="Unique id of this event (a new one for every event, even a retry's).",
        examples=["3f0c2a9e8b7d4c1fa2e6b5d4c3b2a190"],
    )
    article_id: str = Field(
        description="The story this event is about: the same for every version of it "
        "(`shared.models.article_id_for(guid)`); site pages use a name such as `site:index`.",
        examples=["5d41402abc4b2a76"],
    )
    guid: str = Field(
        description="The wire's own identifier of the story.",
        examples=["urn:newsml:example.com:20260314:kursk-offensive"],
    )
    version: str = Field(description="The story's version as the wire numbers it.", examples=["2"])
    occurred_at: datetime = Field(
        default_factory=_now,
        description="When this event happened, in UTC.",
        examples=[_EXAMPLE_TIME],
    )
    correlation_id: str = Field(
        default_factory=_new_id,
        description="Follows one pushed story through every service and log line "
        "(the feed's `X-Correlation-ID`, or one ingest made up).",
        examples=["b1946ac92492d2347c6235b4d2611184"],
    )
    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION,
        description="Version of the event schemas; fields are only ever added.",
        examples=[1],
    )

    @classmethod
    def about(cls, story: Article, **fields: Any) -> Self:
        """An event about one version of a story: its ids and version come from the article."""
        return cls(article_id=story.article_id, guid=story.guid, version=story.version, **fields)


class ArticleIngested(Event):
    """A story passed ingest: authenticated, parsed, archived raw, accepted."""

    event_type: Literal["article.ingested"] = Field(
        default="article.ingested",
        description="Tells the events of a stream apart.",
        examples=["article.ingested"],
    )
    article: Article = Field(description="The story, normalised from its wire format.")
    feed: str = Field(
        default="default", description="The feed that pushed it.", examples=["superdesk"]
    )
    raw_key: str | None = Field(
        default=None,
        description="Where the payload as received is archived (for `wirepress replay`).",
        examples=["raw/2026/03/14/092653-9f86d081884c7d65-1a2b3c4d"],
    )


class ArticleRepublishRequested(Event):
    """An editor, or enrich itself when links change, asked for a stored story to be
    published again. It names the story by id; enrich resolves it from its archive."""

    event_type: Literal["article.republish_requested"] = Field(
        default="article.republish_requested",
        description="Tells the events of a stream apart.",
        examples=["article.republish_requested"],
    )
    reason: str = Field(
        default="editor",
        description="Why: `editor` (a person asked), `related-refresh` (a newer related "
        "story arrived), `link-changed` (a story it links to was corrected or killed).",
        examples=["editor"],
    )
    pin: list[str] = Field(
        default_factory=list,
        description="Article ids an editor wants first among its related links, in this order, "
        "ahead of those pinned before (pinning again reorders; until December 2026 a pin "
        "replaced the earlier pins and bans).",
        examples=[["7c6a180b36896a0a"]],
    )
    ban: list[str] = Field(
        default_factory=list,
        description="Article ids an editor wants never linked from it (added to its bans; a "
        "banned story is no longer pinned).",
        examples=[["e4da3b7fbbce2345"]],
    )
    unpin: list[str] = Field(
        default_factory=list,
        description="Article ids no longer pinned: the ranking decides about them again.",
        examples=[["7c6a180b36896a0a"]],
    )
    unban: list[str] = Field(
        default_factory=list,
        description="Article ids no longer banned from its links.",
        examples=[["e4da3b7fbbce2345"]],
    )
    remove_tags: list[str] = Field(
        default_factory=list,
        description="Tag slugs this story must not carry (an editor found them wrong); kept "
        "for every later version of it.",
        examples=[["person-coast-guard"]],
    )
    restore_tags: list[str] = Field(
        default_factory=list,
        description="Tag slugs removed from this story earlier that it may carry again.",
        examples=[["person-coast-guard"]],
    )
    ban_tags: list[str] = Field(
        default_factory=list,
        description="Tag slugs enrich must never give any story again (applied before this "
        "story is enriched): `this is not a person`.",
        examples=[["person-harambee-stars"]],
    )
    unban_tags: list[str] = Field(
        default_factory=list,
        description="Tag slugs banned earlier that enrich may give again.",
        examples=[["person-harambee-stars"]],
    )
    takedown: bool = Field(
        default=False,
        description="Take the story off the site, as a kill would, and keep it off whatever "
        "later versions the wire sends, until an editor restores it.",
        examples=[True],
    )
    restore: bool = Field(
        default=False,
        description="Put a story an editor took down back on the site.",
        examples=[False],
    )
    embargo_until: datetime | None = Field(
        default=None,
        description="A new end for the embargo of a story that is still held (UTC); a time "
        "already past releases it now.",
        examples=["2026-12-01T18:00:00Z"],
    )
    requested_by: str | None = Field(
        default=None,
        description="Who asked: the editor's user name or the machine token's name.",
        examples=["jdoe"],
    )


class ArticleEnriched(Event):
    """A story with its tags and related links, ready to render. Killed and withheld stories
    carry no links."""

    event_type: Literal["article.enriched"] = Field(
        default="article.enriched",
        description="Tells the events of a stream apart.",
        examples=["article.enriched"],
    )
    article: Article = Field(description="The story as stored: the version enriched.")
    ordering: str = Field(
        description="Sorts the way decisions about the story follow each other "
        "(`shared.models.decision_ordering`: its version's ordering, then `revision`): a page "
        "rendered from an older one never replaces one rendered from a newer one.",
        examples=[_EXAMPLE_ORDERING],
    )
    revision: int = Field(
        default=0,
        description="The enrichment's revision: higher for every later decision about the "
        "story's tags and links, a link refresh of the same version included.",
        examples=[3],
    )
    page_path: str = Field(
        description="The story's page in the site bucket: fixed by its first version.",
        examples=["2026/03/ukraine-pushes-into-kursk-5d41402a/index.html"],
    )
    tags: list[Tag] = Field(
        default_factory=list, description="People, organisations, places, topics, keywords."
    )
    read_also: list[RelatedLink] = Field(
        default_factory=list, description="READ ALSO inserts, each after a paragraph."
    )
    related: list[RelatedLink] = Field(
        default_factory=list, description="Related Posts under the story, best first."
    )
    corrected: bool = Field(
        default=False,
        description="An earlier version was published before: the page says it was updated.",
        examples=[False],
    )
    reason: str = Field(
        default="ingested",
        description="Why it was enriched: `ingested` for a pushed story, else the republish "
        "request's reason.",
        examples=["ingested"],
    )
    pushed_at: datetime | None = _pushed_at()
    section: Section | None = Field(
        default=None, description="The section of the site it belongs in."
    )


def gzip_page(page: bytes) -> bytes:
    """A page gzip-compressed the one way Wirepress does it (level 6, no timestamp in the
    header): the same page always gives the same bytes, so publish can store them as they
    travelled and compare them."""
    return gzip.compress(page, compresslevel=6, mtime=0)


def pack_page(text: str) -> str:
    """A page as an event carries it: gzip-compressed and base64-encoded. A ~20 KB article
    page travels as ~7 KB and a feed of ten whole stories as a fifth of its size, so the
    streams that carry pages hold that much less in Redis's memory."""
    return base64.b64encode(gzip_page(text.encode("utf-8"))).decode("ascii")


_HTML_GZIP_DESCRIPTION = (
    "The whole page, gzip-compressed (level 6, no timestamp) and then base64: how render sends "
    "pages. When it is set, `html` is not."
)
_HTML_GZIP_EXAMPLE = "H4sIAAAAAAAC/7PJKMnNsbPJSE1MsQMAJCqv9gwAAAA="


def _gzipped(html_gzip: str | None) -> bytes | None:
    return None if html_gzip is None else base64.b64decode(html_gzip)


def _page_bytes(html: str | None, html_gzip: str | None) -> bytes | None:
    packed = _gzipped(html_gzip)
    if packed is not None:
        return gzip.decompress(packed)
    return None if html is None else html.encode("utf-8")


class ArticleRendered(Event):
    """An article page ready to write, or (no html, withdrawn) a page to take down."""

    event_type: Literal["article.rendered"] = Field(
        default="article.rendered",
        description="Tells the events of a stream apart.",
        examples=["article.rendered"],
    )
    ordering: str = Field(
        description="The ordering of the enrichment the page was rendered from (see "
        "ArticleEnriched).",
        examples=[_EXAMPLE_ORDERING],
    )
    page_path: str = Field(
        description="Where the page goes in the site bucket.",
        examples=["2026/03/ukraine-pushes-into-kursk-5d41402a/index.html"],
    )
    html: str | None = Field(
        default=None,
        description="The whole page as text, unless it came in `html_gzip`; neither: no page.",
        examples=["<!doctype html><html lang=en>…</html>"],
    )
    html_gzip: str | None = Field(
        default=None, description=_HTML_GZIP_DESCRIPTION, examples=[_HTML_GZIP_EXAMPLE]
    )
    withdrawn: bool = Field(
        default=False,
        description="The story is killed or withheld: take its page down.",
        examples=[False],
    )
    headline: str = Field(
        default="",
        description="The story's headline.",
        examples=["Ukraine pushes into Russia's Kursk region"],
    )
    excerpt: str = Field(
        default="",
        description="What listings show under the headline.",
        examples=["Ukrainian troops crossed into Russia's Kursk region on Saturday."],
    )
    published_at: datetime | None = Field(
        default=None, description="When the story first ran.", examples=[_EXAMPLE_TIME]
    )
    pushed_at: datetime | None = _pushed_at()
    listing: ListingEntry | None = Field(
        default=None,
        description="What listing pages show of the story once its page is up; None when "
        "withdrawn. Publish passes it on in ArticlePublished.",
    )

    def page(self) -> bytes | None:
        """The page's bytes, however it travelled; None: take the page down."""
        return None if self.withdrawn else _page_bytes(self.html, self.html_gzip)

    def gzipped(self) -> bytes | None:
        """The page as `gzip_page` made it, when it travelled packed."""
        return _gzipped(self.html_gzip)


class SitePageRendered(Event):
    """A page that belongs to the site rather than to one story: home, a section, tag, author
    or date listing and its pages, a feed, a sitemap, robots.txt, the 404 page.

    `article_id` names the page (`site:<path>`); `ordering` is the listing generation it was
    rendered from, so an older render never replaces a newer one. With `withdrawn`, the page
    is to be taken down (a listing that shrank by a page, a tag no story carries any more).
    """

    event_type: Literal["site.rendered"] = Field(
        default="site.rendered",
        description="Tells the events of a stream apart.",
        examples=["site.rendered"],
    )
    ordering: str = Field(
        description="The listing generation the page was rendered from, zero-padded: "
        "a page rendered from an older listing never replaces one from a newer.",
        examples=["00001773480413000000"],
    )
    page_path: str = Field(description="Where the page goes.", examples=["index.html"])
    html: str = Field(
        default="",
        description="The whole page (or feed, or sitemap), as text, unless it came in `html_gzip`.",
        examples=["<!doctype html><html lang=en>…</html>"],
    )
    html_gzip: str | None = Field(
        default=None, description=_HTML_GZIP_DESCRIPTION, examples=[_HTML_GZIP_EXAMPLE]
    )
    content_type: str = Field(
        default="text/html; charset=utf-8",
        description="Its media type, as the bucket serves it.",
        examples=["application/rss+xml; charset=utf-8"],
    )
    withdrawn: bool = Field(
        default=False, description="Take the page down instead.", examples=[False]
    )
    lists: list[str] = Field(
        default_factory=list,
        description="The stories the page shows (article ids, in its order) where they are a "
        "bounded few: a listing's first page, a feed, the Google News sitemap. Empty on older "
        "archive pages and month sitemaps. Lets a reader of the streams tell when a story "
        "reached a page.",
        examples=[["5d41402abc4b2a76", "7d793037a0760186"]],
    )

    def page(self) -> bytes:
        """The page's bytes, however it travelled."""
        return _page_bytes(self.html, self.html_gzip) or b""

    def gzipped(self) -> bytes | None:
        """The page as `gzip_page` made it, when it travelled packed."""
        return _gzipped(self.html_gzip)


class ArticlePublished(Event):
    """The outcome of publishing one article page: written, unchanged, withdrawn or stale.

    Render follows these to keep the site's listings: a story is listed once its page is up
    (written or unchanged, with `listing`) and delisted once it is withdrawn.
    """

    event_type: Literal["article.published"] = Field(
        default="article.published",
        description="Tells the events of a stream apart.",
        examples=["article.published"],
    )
    ordering: str = Field(
        description="The version ordering of the page this outcome is about.",
        examples=[_EXAMPLE_ORDERING],
    )
    page_path: str = Field(
        description="The page in the site bucket.",
        examples=["2026/03/ukraine-pushes-into-kursk-5d41402a/index.html"],
    )
    url: str = Field(
        description="Where readers find it.",
        examples=["https://news.example.com/2026/03/ukraine-pushes-into-kursk-5d41402a/"],
    )
    outcome: Literal["written", "unchanged", "withdrawn", "stale"] = Field(
        description="`written`: the page is up with these bytes; `unchanged`: it already was; "
        "`withdrawn`: the page was taken down; `stale`: a newer version is already there "
        "(nothing was done).",
        examples=["written"],
    )
    listing: ListingEntry | None = Field(
        default=None,
        description="What listing pages show of the story (written and unchanged outcomes).",
    )
    rendered_at: datetime | None = Field(
        default=None,
        description="When render made the page this outcome is about (its event's time).",
        examples=["2026-03-14T09:26:53Z"],
    )
    pushed_at: datetime | None = _pushed_at()


class SitePagePublished(Event):
    """The outcome of publishing one site page (a listing page, feed or sitemap), with the
    stories it shows: what a dashboard or a benchmark reads to tell when a story reached the
    home page, its section, its tags and the feeds. `article_id` names the page (`site:<path>`).
    No service consumes it."""

    event_type: Literal["site.published"] = Field(
        default="site.published",
        description="Tells the events of a stream apart.",
        examples=["site.published"],
    )
    ordering: str = Field(
        description="The listing generation the page was rendered from.",
        examples=["00001773480413000000"],
    )
    page_path: str = Field(description="The page in the site bucket.", examples=["index.html"])
    url: str = Field(
        description="Where readers find it.", examples=["https://news.example.com/index.html"]
    )
    outcome: Literal["written", "unchanged", "withdrawn", "stale"] = Field(
        description="As ArticlePublished's: written, already there (unchanged), taken down, or "
        "older than what is there (stale: nothing was done).",
        examples=["written"],
    )
    lists: list[str] = Field(
        default_factory=list,
        description="The stories the page shows, as its SitePageRendered said (written and "
        "unchanged outcomes).",
        examples=[["5d41402abc4b2a76", "7d793037a0760186"]],
    )


@dataclass(frozen=True)
class WriteOnAck:
    """Redis commands a handler's adapters want run in the same atomic step as the
    acknowledgement of the message being handled (`shared.delivery`): if that message is not
    acknowledged by this copy (it failed, or another replica settled it first), they are not
    run; and they are run only if `order` sorts after the one `guard_key`'s `guard_field`
    holds (as strings: a `shared.models.decision_ordering`), which they then set. Enrich keeps
    a story's links this way, so a retry never finds "unchanged" links it never emitted, and an
    older decision never undoes a newer one. Not an event: it never leaves Redis."""

    guard_key: str
    guard_field: str
    order: str
    commands: tuple[tuple[str, ...], ...]
    #: What the decision took to be true, as (hash key, field, value): checked as the writes
    #: are kept, and if any no longer holds (a story linked to was killed meanwhile), `redo`
    #: (a due queue's sorted set, a member) is scheduled at once, so the decision is made again.
    assumptions: tuple[tuple[str, str, str], ...] = ()
    redo: tuple[str, str] | None = None


#: What a handler emits: an event and the stream it goes on (or writes made as it is acked).
Output = tuple[str, Event] | WriteOnAck


def emitted(outputs: Iterable[Output]) -> list[tuple[str, Event]]:
    """The events among a handler's outputs."""
    return [output for output in outputs if not isinstance(output, WriteOnAck)]


class SiteRebuildRequested(Event):
    """Ops asked for every listing page of the site (home, sections, tags, authors, dates, their
    feeds and the sitemaps) to be built again from the listing, e.g. after a template change.
    `article_id` is `site`. (Article pages are republished one by one, as republish requests.)"""

    event_type: Literal["site.rebuild_requested"] = Field(
        default="site.rebuild_requested",
        description="Tells the events of a stream apart.",
        examples=["site.rebuild_requested"],
    )
    reason: str = Field(
        default="rebuild", description="Why, for the logs.", examples=["templates changed"]
    )


FrontOp = Literal["lead", "pin", "up", "unpin", "set"]


class FrontChangeRequested(Event):
    """An editor changed which stories lead a front (the home page, or a section's page): the
    pinned stories come first in their order (the home page's first is its top story), the rest
    of the front is the newest stories as always, without repeating them; a pinned story taken
    off the site drops out by itself. Render applies the operation to the pins it keeps, so two
    editors' changes never overwrite each other. `article_id` is `site`."""

    event_type: Literal["site.front_change_requested"] = Field(
        default="site.front_change_requested",
        description="Tells the events of a stream apart.",
        examples=["site.front_change_requested"],
    )
    front: str = Field(
        description="The front: `home`, or `section/<slug>`.", examples=["section/world"]
    )
    op: FrontOp = Field(
        description="`lead`: the story first; `pin`: after the pinned ones; `up`: one place "
        "up; `unpin`: off the pins; `set`: the pins are exactly `pinned`.",
        examples=["lead"],
    )
    story: str | None = Field(
        default=None,
        description="The article id the operation is about (all but `set`).",
        examples=["5d41402abc4b2a76"],
    )
    pinned: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="`set`: the article ids to lead the front, in order (empty: none).",
        examples=[["5d41402abc4b2a76", "7c6a180b36896a0a"]],
    )
    requested_by: str | None = Field(
        default=None, description="Who asked: the editor's user name.", examples=["jdoe"]
    )


EnrichInput = Annotated[
    ArticleIngested | ArticleRepublishRequested, Field(discriminator="event_type")
]
PublishInput = Annotated[ArticleRendered | SitePageRendered, Field(discriminator="event_type")]

DeskInput = Annotated[
    ArticleIngested | ArticleEnriched | ArticlePublished, Field(discriminator="event_type")
]
SiteCommand = Annotated[
    SiteRebuildRequested | FrontChangeRequested, Field(discriminator="event_type")
]
ENRICH_INPUT: TypeAdapter[ArticleIngested | ArticleRepublishRequested] = TypeAdapter(EnrichInput)
PUBLISH_INPUT: TypeAdapter[ArticleRendered | SitePageRendered] = TypeAdapter(PublishInput)
DESK_INPUT: TypeAdapter[ArticleIngested | ArticleEnriched | ArticlePublished] = TypeAdapter(
    DeskInput
)
SITE_COMMAND: TypeAdapter[SiteRebuildRequested | FrontChangeRequested] = TypeAdapter(SiteCommand)

#: Every event model, for documentation and schema checks.
ALL_EVENTS: tuple[type[Event], ...] = (
    ArticleIngested,
    ArticleRepublishRequested,
    ArticleEnriched,
    ArticleRendered,
    SitePageRendered,
    ArticlePublished,
    SitePagePublished,
    SiteRebuildRequested,
    FrontChangeRequested,
)

#: Each event model by the `event_type` it carries.
EVENTS_BY_TYPE: dict[str, type[Event]] = {
    str(model.model_fields["event_type"].default): model for model in ALL_EVENTS
}
