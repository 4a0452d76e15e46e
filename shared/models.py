"""The article model every service shares, shaped like ninjs 1.x.

Wire formats (ninjs 1.x/2.x/3.x, NITF, NewsML-G2) are all normalised into `Article` by ingest;
everything downstream sees only this shape.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.hashing import sha256_hex

PubStatus = Literal["usable", "withheld", "canceled"]


def utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


#: The schemes a picture's address may have. Any other (`javascript:`, `data:`, `file:`) would be
#: copied into `<img src>`, `og:image` and the JSON-LD of every page that shows it.
IMAGE_URL_SCHEMES = frozenset({"http", "https"})


def image_url(href: str) -> str | None:
    """`href` if a page may show it as a picture: an absolute http(s) URL (a protocol-relative
    `//host/x` taken as https) or a reference with no scheme, as NITF packages give
    (`high-tide.jpg`); None for anything else."""
    text = href.strip()
    if text.startswith("//"):
        text = "https:" + text
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if not text or (parts.scheme and parts.scheme.lower() not in IMAGE_URL_SCHEMES):
        return None
    if parts.scheme and not parts.hostname:
        return None
    return text


def article_id_for(guid: str) -> str:
    """A short, stable, URL-safe id for a story, the same for every version of it."""
    return sha256_hex(guid.encode("utf-8"))[:16]


def as_article_id(name: str) -> str:
    """A story named by its article id or by its guid, as its article id."""
    is_id = len(name) == 16 and all(c in "0123456789abcdef" for c in name)
    return name if is_id else article_id_for(name)


_NUMERIC_PART = re.compile(r"\d+")


def version_ordering(version: str, versioncreated: datetime | None) -> str:
    """A string that sorts the way versions of one story follow each other.

    Wires send versions as strings ("1", "2", "1.3"); numeric parts compare as numbers, and
    `versioncreated` breaks ties (and orders stories whose version is not numeric at all).
    """
    parts = [int(p) for p in _NUMERIC_PART.findall(version)][:4]
    parts += [0] * (4 - len(parts))
    padded = ".".join(f"{p:010d}" for p in parts)
    stamp = utc(versioncreated).strftime("%Y%m%dT%H%M%S.%f") if versioncreated else "0" * 22
    return f"{padded}|{stamp}"


def decision_ordering(version_order: str, revision: int) -> str:
    """What a story's page was rendered from, as a string that sorts the way they follow each
    other: its version's ordering, then the revision of the enrichment (a link refresh of the
    same version is a later revision). Orderings from before revisions sort below any with one."""
    return f"{version_order}|{revision:012d}"


_TIME = "2026-03-14T09:26:53Z"


class Subject(BaseModel):
    """A subject from the wire or from our own tagging: IPTC subject codes, Media Topics, free text."""

    model_config = ConfigDict(frozen=True)

    scheme: str | None = Field(
        default=None,
        description="The vocabulary the code belongs to.",
        examples=["http://cv.iptc.org/newscodes/mediatopic/"],
    )
    code: str | None = Field(default=None, description="The code.", examples=["11000000"])
    name: str | None = Field(default=None, description="Its label.", examples=["politics"])


class Image(BaseModel):
    """A picture associated with the story (ninjs associations, NITF media, G2 remote content)."""

    model_config = ConfigDict(frozen=True)

    href: str = Field(
        description="Where the picture is.", examples=["https://cdn.example.com/kursk.jpg"]
    )
    caption: str | None = Field(
        default=None, description="Its caption.", examples=["Troops near Sudzha"]
    )
    credit: str | None = Field(
        default=None, description="Who to credit.", examples=["Example Agency"]
    )
    width: int | None = Field(default=None, description="Width in pixels.", examples=[1200])
    height: int | None = Field(default=None, description="Height in pixels.", examples=[800])
    mimetype: str | None = Field(
        default=None, description="Its media type.", examples=["image/jpeg"]
    )

    @field_validator("href")
    @classmethod
    def _web_address(cls, value: str) -> str:
        url = image_url(value)
        if url is None:
            raise ValueError(
                f"a picture's address must be an http(s) URL or a relative one, not {value[:60]!r}"
            )
        return url


class Article(BaseModel):
    """One version of one text story."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    guid: str = Field(
        min_length=1,
        max_length=1024,
        description="The wire's identifier of the story, the same for every version.",
        examples=["urn:newsml:example.com:20260314:kursk-offensive"],
    )
    version: str = Field(
        default="1",
        min_length=1,
        max_length=64,
        description="The version as the wire numbers it.",
        examples=["2"],
    )
    headline: str = Field(
        min_length=1,
        max_length=1000,
        description="The headline, whitespace collapsed.",
        examples=["Ukraine pushes into Russia's Kursk region"],
    )
    byline: str | None = Field(
        default=None, max_length=1000, description="Who wrote it.", examples=["By Jane Doe"]
    )
    body_html: str = Field(
        default="",
        description="The body as HTML, as the wire sent it (sanitised when rendered).",
        examples=["<p>Ukrainian troops crossed into Russia's Kursk region on Saturday.</p>"],
    )
    description: str | None = Field(
        default=None,
        description="The wire's own summary, if any.",
        examples=["A new front opens in the war."],
    )
    language: str = Field(default="en", description="BCP 47 language tag.", examples=["en"])
    pubstatus: PubStatus = Field(
        default="usable",
        description="`usable`: publish; `withheld`: hold off the site; `canceled`: killed.",
        examples=["usable"],
    )
    firstcreated: datetime | None = Field(
        default=None, description="When the story first ran (UTC).", examples=[_TIME]
    )
    versioncreated: datetime | None = Field(
        default=None, description="When this version was made (UTC).", examples=[_TIME]
    )
    subjects: list[Subject] = Field(default_factory=list, description="The wire's subject codes.")
    urgency: int | None = Field(
        default=None, ge=0, le=9, description="The wire's urgency, 1 most urgent.", examples=[3]
    )
    keywords: list[str] = Field(
        default_factory=list, description="The wire's keywords.", examples=[["Ukraine", "Kursk"]]
    )
    located: str | None = Field(
        default=None, description="The dateline: where it was filed.", examples=["Kyiv"]
    )
    images: list[Image] = Field(default_factory=list, description="Pictures with the story.")
    related_guids: list[str] = Field(
        default_factory=list,
        description="guids an editor or the wire named as related; they come first among "
        "related links.",
        examples=[["urn:newsml:example.com:20260310:kursk-background"]],
    )
    embargoed: datetime | None = Field(
        default=None,
        description="Not to appear anywhere before this time (UTC): stored, and released then.",
        examples=[_TIME],
    )
    timezone_assumed: bool = Field(
        default=False,
        description="A timestamp came without a zone and was read in the feed's own zone.",
        examples=[False],
    )

    @field_validator("firstcreated", "versioncreated", "embargoed")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return utc(value) if value is not None else None

    @field_validator("headline")
    @classmethod
    def _headline_not_blank(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("headline is blank")
        return value

    @property
    def article_id(self) -> str:
        return article_id_for(self.guid)

    @property
    def ordering(self) -> str:
        return version_ordering(self.version, self.versioncreated)

    @property
    def killed(self) -> bool:
        return self.pubstatus == "canceled"

    @property
    def on_site(self) -> bool:
        return self.pubstatus == "usable"

    @property
    def published_at(self) -> datetime | None:
        return self.firstcreated or self.versioncreated

    def held_at(self, now: datetime) -> bool:
        """Under embargo at `now`: stored, but on no page, listing, feed or link yet."""
        return self.embargoed is not None and self.embargoed > utc(now)


TagType = Literal["person", "organisation", "place", "topic", "subject", "keyword"]


class Tag(BaseModel):
    """A tag on a story: who, where and what it is about."""

    model_config = ConfigDict(frozen=True)

    type: TagType = Field(description="What kind of tag.", examples=["place"])
    name: str = Field(description="As readers see it.", examples=["Kursk"])
    slug: str = Field(
        description="Stable and URL-safe, unique per type and name.", examples=["place-kursk"]
    )
    code: str | None = Field(
        default=None, description="A vocabulary code, for topics.", examples=["medtop:16000000"]
    )
    scheme: str | None = Field(
        default=None,
        description="The vocabulary of `code`.",
        examples=["http://cv.iptc.org/newscodes/mediatopic/"],
    )
    confidence: float = Field(
        default=1.0, ge=0.0, le=1.0, description="How sure the tagger is.", examples=[0.9]
    )


class LinkWhy(BaseModel):
    """Why a related link is there, for editors (the desk shows it beside the link)."""

    model_config = ConfigDict(frozen=True)

    pinned: bool = Field(default=False, description="An editor pinned it.", examples=[False])
    score: float | None = Field(
        default=None,
        description="Its text similarity to the story, relative to the story's own (1.0).",
        examples=[0.41],
    )
    shared_tags: list[str] = Field(
        default_factory=list,
        description="Tag slugs both stories carry.",
        examples=[["place-kursk", "person-volodymyr-zelensky"]],
    )
    shared_terms: list[str] = Field(
        default_factory=list,
        description="The linked story's most characteristic terms (stems) the story uses too.",
        examples=[["kursk", "incurs", "border"]],
    )


class RelatedLink(BaseModel):
    """A link from one story to another: a READ ALSO insert or a Related Posts entry."""

    model_config = ConfigDict(frozen=True)

    article_id: str = Field(description="The story linked to.", examples=["7c6a180b36896a0a"])
    headline: str = Field(
        description="Its headline.", examples=["Russia evacuates border villages"]
    )
    path: str = Field(
        description="Its page in the site bucket.",
        examples=["2026/03/russia-evacuates-border-villages-7c6a180b/index.html"],
    )
    excerpt: str = Field(
        default="",
        description="Its excerpt.",
        examples=["Moscow ordered the evacuation of villages near the border."],
    )
    score: float = Field(
        default=0.0, description="How related (ranking's own scale).", examples=[0.42]
    )
    after_paragraph: int | None = Field(
        default=None,
        description="READ ALSO inserts go after this block (0-based); None for Related Posts.",
        examples=[2],
    )
    published_at: datetime | None = Field(
        default=None, description="When it first ran.", examples=[_TIME]
    )
    why: LinkWhy | None = Field(
        default=None, description="Why it was picked (None for links kept from before)."
    )


class Section(BaseModel):
    """The section of the site a story belongs in (`shared/sections.py`)."""

    model_config = ConfigDict(frozen=True)

    slug: str = Field(description="Stable and URL-safe.", examples=["politics"])
    name: str = Field(description="As readers see it.", examples=["Politics"])


class Author(BaseModel):
    """Somebody a byline names; each has a page of their stories."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="As the byline gives it.", examples=["Jane Doe"])
    slug: str = Field(description="Stable and URL-safe.", examples=["jane-doe"])


class ListingEntry(BaseModel):
    """What listing pages (home, section, tag, author and date pages, feeds, sitemaps) show of
    one story. Render makes it with the page; publish passes it on once the page is up."""

    model_config = ConfigDict(frozen=True)

    article_id: str = Field(description="The story.", examples=["5d41402abc4b2a76"])
    headline: str = Field(
        description="Its headline.", examples=["Ukraine pushes into Russia's Kursk region"]
    )
    path: str = Field(
        description="Its page in the site bucket.",
        examples=["2026/03/ukraine-pushes-into-kursk-5d41402a/index.html"],
    )
    excerpt: str = Field(
        default="",
        description="A line or two under the headline.",
        examples=["Ukrainian troops crossed into Russia's Kursk region on Saturday."],
    )
    published_at: datetime | None = Field(
        default=None, description="When it first ran.", examples=[_TIME]
    )
    updated_at: datetime | None = Field(
        default=None, description="When it was last corrected, if it was.", examples=[_TIME]
    )
    byline: str | None = Field(default=None, description="Who wrote it.", examples=["Jane Doe"])
    tags: list[Tag] = Field(default_factory=list, description="Its tags.")
    section: Section | None = Field(default=None, description="Its section.")
    authors: list[Author] = Field(default_factory=list, description="Who its byline names.")
    language: str = Field(default="en", description="BCP 47 language tag.", examples=["en"])
    image: Image | None = Field(default=None, description="Its lead picture, if any.")
    content_html: str = Field(
        default="",
        description="Its body, sanitised, for the feeds that carry whole stories.",
        examples=["<p>Ukrainian troops crossed into Russia's Kursk region on Saturday.</p>"],
    )
