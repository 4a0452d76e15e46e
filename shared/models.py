"""The article model every service shares, shaped like ninjs 1.x.

Wire formats (ninjs 1.x/2.x/3.x, NITF, NewsML-G2) are all normalised into `Article` by ingest;
everything downstream sees only this shape.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PubStatus = Literal["usable", "withheld", "canceled"]


def utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def article_id_for(guid: str) -> str:
    """A short, stable, URL-safe id for a story, the same for every version of it."""
    return hashlib.sha256(guid.encode("utf-8")).hexdigest()[:16]


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


class Subject(BaseModel):
    """A subject from the wire or from our own tagging: IPTC subject codes, Media Topics, free text."""

    model_config = ConfigDict(frozen=True)

    scheme: str | None = None
    code: str | None = None
    name: str | None = None


class Image(BaseModel):
    """A picture associated with the story (ninjs associations, NITF media, G2 remote content)."""

    model_config = ConfigDict(frozen=True)

    href: str
    caption: str | None = None
    credit: str | None = None
    width: int | None = None
    height: int | None = None
    mimetype: str | None = None


class Article(BaseModel):
    """One version of one text story."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    guid: str = Field(min_length=1, max_length=1024)
    version: str = Field(default="1", min_length=1, max_length=64)
    headline: str = Field(min_length=1, max_length=1000)
    byline: str | None = Field(default=None, max_length=1000)
    body_html: str = ""
    description: str | None = None
    language: str = "en"
    pubstatus: PubStatus = "usable"
    firstcreated: datetime | None = None
    versioncreated: datetime | None = None
    subjects: list[Subject] = Field(default_factory=list)
    urgency: int | None = Field(default=None, ge=0, le=9)
    keywords: list[str] = Field(default_factory=list)
    located: str | None = None
    images: list[Image] = Field(default_factory=list)
    # guids an editor or the wire named as related; they come first among related links.
    related_guids: list[str] = Field(default_factory=list)
    # True when a timestamp came without a zone and was read in the feed's configured zone.
    timezone_assumed: bool = False

    @field_validator("firstcreated", "versioncreated")
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


class Tag(BaseModel):
    """A tag on a story: who, where and what it is about."""

    model_config = ConfigDict(frozen=True)

    type: Literal["person", "organisation", "place", "topic", "subject", "keyword"]
    name: str
    slug: str
    code: str | None = None
    scheme: str | None = None
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)


class RelatedLink(BaseModel):
    """A link from one story to another: a READ ALSO insert or a Related Posts entry."""

    model_config = ConfigDict(frozen=True)

    article_id: str
    headline: str
    path: str
    excerpt: str = ""
    score: float = 0.0
    # READ ALSO inserts go after this paragraph (0-based); None for Related Posts.
    after_paragraph: int | None = None
    published_at: datetime | None = None
