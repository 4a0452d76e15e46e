"""What every format parser fills in, and the one place it becomes a validated `Article`.

Format parsers only read; the rules shared by all formats live here: a text story needs a guid
and a headline, a kill notice needs only a guid, and a model validation failure is reported as
a `ParseError` naming the field instead of leaking a pydantic error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from shared.html import body_shape_problem
from shared.models import Article, Image, PubStatus, Subject

from .errors import InvalidField, MissingField, TooComplex
from .markup import is_blank_html
from .timestamps import Stamp
from .vocab import dedupe_subjects

# A kill notice often carries nothing but the guid; only the kill matters, but the model
# wants a headline.
KILLED_HEADLINE = "(killed)"


@dataclass
class Draft:
    """One story as read from the wire, before validation."""

    guid: str | None = None
    version: str | None = None
    headline: str | None = None
    byline: str | None = None
    body_html: str = ""
    description: str | None = None
    language: str | None = None
    pubstatus: PubStatus = "usable"
    firstcreated: Stamp | None = None
    versioncreated: Stamp | None = None
    subjects: list[Subject] = field(default_factory=list)
    urgency: int | None = None
    keywords: list[str] = field(default_factory=list)
    located: str | None = None
    images: list[Image] = field(default_factory=list)
    related_guids: list[str] = field(default_factory=list)
    # Not to appear before this: every parser must read it, and refuse one it cannot read.
    embargoed: Stamp | None = None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for value in values:
        cleaned = _clean(value)
        if cleaned and cleaned not in seen:
            seen.add(cleaned)
            result.append(cleaned)
    return result


def _unique_images(images: list[Image]) -> list[Image]:
    seen: set[str] = set()
    result = []
    for image in images:
        if image.href not in seen:
            seen.add(image.href)
            result.append(image)
    return result


def build_article(draft: Draft) -> Article:
    """Validate a draft into an Article, or raise the ParseError that says what is wrong."""
    guid = _clean(draft.guid)
    if guid is None:
        raise MissingField("guid", "story has no guid/uri (nothing identifies it across versions)")
    headline = _clean(draft.headline)
    if headline is None:
        if draft.pubstatus != "canceled":
            raise MissingField("headline", "text story has no headline")
        headline = KILLED_HEADLINE
    stamps = [
        s for s in (draft.firstcreated, draft.versioncreated, draft.embargoed) if s is not None
    ]
    body = draft.body_html.strip()
    problem = body_shape_problem(body)
    if problem is not None:
        raise TooComplex(problem, field="body_html")
    values = {
        "guid": guid,
        "version": _clean(draft.version) or "1",
        "headline": headline,
        "byline": _clean(draft.byline),
        "body_html": "" if is_blank_html(body) else body,
        "description": _clean(draft.description),
        "language": draft.language or "en",
        "pubstatus": draft.pubstatus,
        "firstcreated": draft.firstcreated.value if draft.firstcreated else None,
        "versioncreated": draft.versioncreated.value if draft.versioncreated else None,
        "subjects": dedupe_subjects(draft.subjects),
        "urgency": draft.urgency,
        "keywords": _unique(draft.keywords),
        "located": _clean(draft.located),
        "images": _unique_images(draft.images),
        "related_guids": [g for g in _unique(draft.related_guids) if g != guid],
        "embargoed": draft.embargoed.value if draft.embargoed else None,
        "timezone_assumed": any(s.zone_assumed for s in stamps),
    }
    try:
        return Article.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidField(first["msg"], field=where) from exc
