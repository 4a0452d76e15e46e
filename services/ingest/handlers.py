"""Ingest's pure parts: who is pushing, what they pushed, and what we answer.

Nothing here touches the network: the app archives, emits and answers around these functions.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.ingest.formats import (
    MalformedPayload,
    MissingField,
    NotATextStory,
    ParseError,
    ParsedStory,
    UnknownFormat,
    UnsafeXml,
    parse_stories,
)
from shared.events import ArticleIngested

PROBLEM_BASE = "https://wirepress.dev/problems/"


@dataclass(frozen=True)
class Problem(Exception):
    """An RFC 9457 problem: what is wrong with a request, said so a feed's developer can fix it."""

    status: int
    slug: str
    title: str
    detail: str
    field: str | None = None

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        if instance:
            body["instance"] = instance
        return body


def authenticate_bearer(authorization: str | None, token: str) -> None:
    """Raise a 401 problem unless the request carries `Authorization: Bearer <token>`."""
    if not authorization:
        raise Problem(
            401, "unauthenticated", "Authentication required", "send Authorization: Bearer <token>"
        )
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), token.encode()
    ):
        raise Problem(
            401,
            "unauthenticated",
            "Authentication failed",
            "the bearer token is not valid for any feed",
        )


def raw_key_for(received_at: datetime, payload: bytes) -> str:
    """Where a pushed payload is archived: by day, then time, content hash and a unique suffix."""
    digest = hashlib.sha256(payload).hexdigest()[:16]
    return f"raw/{received_at:%Y/%m/%d}/{received_at:%H%M%S}-{digest}-{uuid.uuid4().hex[:8]}"


_JSON_OR_XML = ("json", "xml", "text/plain", "application/octet-stream")


def parse_payload(
    payload: bytes, content_type: str | None, default_tz: str = "UTC"
) -> list[ParsedStory]:
    """Parse a pushed payload (one story, or several in a G2 newsMessage), turning each way it
    can be wrong into a problem that says how."""
    try:
        return parse_stories(payload, content_type, default_tz=default_tz)
    except UnknownFormat as exc:
        declared = (content_type or "").split(";")[0].strip().lower()
        if declared and not any(kind in declared for kind in _JSON_OR_XML):
            raise Problem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                f"{declared} is not a wire format we read: send ninjs (JSON), NITF or "
                "NewsML-G2 (XML)",
            ) from exc
        raise Problem(400, "unknown-format", "Unknown format", exc.reason, exc.field) from exc
    except UnsafeXml as exc:
        raise Problem(400, "unsafe-xml", "XML refused", exc.reason, exc.field) from exc
    except MalformedPayload as exc:
        raise Problem(400, "malformed", "Malformed payload", exc.reason, exc.field) from exc
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
    return ArticleIngested(
        article_id=article.article_id,
        guid=article.guid,
        version=article.version,
        correlation_id=correlation_id,
        article=article,
        feed=feed,
        raw_key=raw_key,
    )
