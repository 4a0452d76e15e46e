"""Ingest's pure parts: who is pushing, what they pushed, and what we answer.

Nothing here touches the network: the app archives, emits and answers around these functions.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.ingest.formats import (
    MalformedPayload,
    MissingField,
    NotATextStory,
    ParsedStory,
    ParseError,
    UnknownFormat,
    UnsafeXml,
    parse_stories,
)
from shared.events import ArticleIngested

PROBLEM_BASE = "https://wirepress.dev/problems/"
MAX_DETAIL_CHARS = 1000


@dataclass(frozen=True)
class Problem(Exception):
    """An RFC 9457 problem: what is wrong with a request, said so a feed's developer can fix it.

    `headers` go on the response (WWW-Authenticate, Retry-After); `raw_key` names the archived
    payload once there is one, so a rejected story can be found, fixed and replayed.
    """

    status: int
    slug: str
    title: str
    detail: str
    field: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    raw_key: str | None = None

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            # Details can quote the payload (an unknown item type, say): never echo megabytes.
            "detail": self.detail[:MAX_DETAIL_CHARS],
        }
        if self.field:
            body["field"] = self.field
        if instance:
            body["instance"] = instance
        if self.raw_key:
            body["raw_key"] = self.raw_key
        return body


def too_large(limit: int) -> Problem:
    return Problem(413, "too-large", "Payload too large", f"the limit is {limit} bytes")


RETRY_AFTER_S = 5


def unavailable(
    detail: str, title: str = "Pipeline unavailable", slug: str = "unavailable"
) -> Problem:
    """A 503: nothing was accepted, and the same request can be sent again shortly."""
    return Problem(503, slug, title, detail, headers=(("Retry-After", str(RETRY_AFTER_S)),))


# --- responses ---------------------------------------------------------------------------------
# The models below are what ingest answers; the OpenAPI document is generated from them.


class ProblemDocument(BaseModel):
    """An RFC 9457 problem detail, as served with `application/problem+json`."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(description="a URI naming the kind of problem")
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="the field that is missing or wrong")
    instance: str | None = None
    raw_key: str | None = Field(
        default=None, description="where the payload is archived (for `wirepress replay`)"
    )


class StoryOutcome(BaseModel):
    """What became of one story in a pushed payload."""

    status: Literal["accepted", "duplicate"]
    article_id: str
    guid: str
    version: str
    pubstatus: Literal["usable", "withheld", "canceled"]
    format: str


class PushOutcome(StoryOutcome):
    """The answer to a push: the first story's outcome at the top level, every story in `stories`.

    202 when any story was accepted, 200 when every one was a duplicate.
    """

    stories: list[StoryOutcome]
    raw_key: str
    correlation_id: str
    feed: str

    @property
    def http_status(self) -> int:
        return 202 if any(s.status == "accepted" for s in self.stories) else 200


def push_outcome(
    stories: list[StoryOutcome], *, raw_key: str, correlation_id: str, feed: str
) -> PushOutcome:
    # Most pushes carry exactly one story: its fields at the top level keep clients simple.
    return PushOutcome(
        **stories[0].model_dump(),
        stories=stories,
        raw_key=raw_key,
        correlation_id=correlation_id,
        feed=feed,
    )


_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def correlation_id_from(header: str | None) -> str:
    """The caller's correlation id if it is a sane token, else a new one.

    It is written to logs, events and S3 metadata, so arbitrary client text is not taken.
    """
    if header and _CORRELATION_ID.match(header):
        return header
    return uuid.uuid4().hex


def metadata_value(value: str, limit: int = 256) -> str:
    """A value S3 accepts as user metadata (ASCII header text), whatever a client sent."""
    return value.encode("ascii", "backslashreplace").decode("ascii")[:limit]


def raw_key_for(received_at: datetime, payload: bytes) -> str:
    """Where a pushed payload is archived: by day, then time, content hash and a unique suffix."""
    digest = hashlib.sha256(payload).hexdigest()[:16]
    return f"raw/{received_at:%Y/%m/%d}/{received_at:%H%M%S}-{digest}-{uuid.uuid4().hex[:8]}"


# Media types that may carry a wire story. Anything else (image/png, text/html, a PDF) is still
# read when the payload itself is unambiguously JSON or XML in a format we know — feeds do send
# wrong content types — but when it is not, the answer is 415 rather than "malformed".
_JSON_OR_XML = ("json", "xml", "nitf", "newsml", "text/plain", "application/octet-stream")

ACCEPTED_MEDIA_TYPES = (
    "application/json",
    "application/ninjs+json",
    "application/vnd.superdesk.ninjs+json",
    "application/xml",
    "text/xml",
    "application/nitf+xml",
    "application/vnd.iptc.g2.newsmessage+xml",
    "application/vnd.iptc.g2.newsitem+xml",
)


def declared_media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse_payload(
    payload: bytes, content_type: str | None, default_tz: str = "UTC"
) -> list[ParsedStory]:
    """Parse a pushed payload (one story, or several in a G2 newsMessage), turning each way it
    can be wrong into a problem that says how."""
    try:
        return parse_stories(payload, content_type, default_tz=default_tz)
    except (UnknownFormat, MalformedPayload) as exc:
        declared = declared_media_type(content_type)
        if declared and not any(kind in declared for kind in _JSON_OR_XML):
            raise Problem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                f"{declared} is not a wire format we read: send ninjs (JSON), NITF or "
                "NewsML-G2 (XML)",
            ) from exc
        if isinstance(exc, UnknownFormat):
            raise Problem(400, "unknown-format", "Unknown format", exc.reason, exc.field) from exc
        raise Problem(400, "malformed", "Malformed payload", exc.reason, exc.field) from exc
    except UnsafeXml as exc:
        raise Problem(400, "unsafe-xml", "XML refused", exc.reason, exc.field) from exc
    except NotATextStory as exc:
        raise Problem(422, "not-a-text-story", "Not a text story", exc.reason, exc.field) from exc
    except MissingField as exc:
        raise Problem(422, "missing-field", "Missing field", exc.reason, exc.field) from exc
    except ParseError as exc:
        raise Problem(422, "invalid-story", "Invalid story", exc.reason, exc.field) from exc


def ingested_event(
    parsed: ParsedStory, *, feed: str, raw_key: str | None, correlation_id: str
) -> ArticleIngested:
    article = parsed.article
    return ArticleIngested.about(
        article,
        correlation_id=correlation_id,
        article=article,
        feed=feed,
        raw_key=raw_key,
    )
