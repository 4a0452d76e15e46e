"""Why a wire payload could not become an `Article`.

Every error is a `ValueError` so callers that only care "bad input vs. bug" can catch one thing;
the subclasses let the ingest service route each case (dead-letter, drop, alert) on its own.
"""

from __future__ import annotations


class ParseError(ValueError):
    """A payload that cannot be turned into an article.

    `field` names the bad or missing field when there is one (e.g. "headline"), `reason` says
    what is wrong in words a desk editor can act on.
    """

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


class UnknownFormat(ParseError):
    """Neither the payload nor the content type is a wire format we read."""


class MalformedPayload(ParseError):
    """The payload is not well-formed JSON or XML (or is too big or too deep to read)."""


class UnsafeXml(ParseError):
    """XML that declares entities or points at external resources; refused before expansion."""


class TooComplex(ParseError):
    """A payload or body past the limits every story is held to: more elements, or nesting
    deeper, than any real story has. Reading it would cost far more than it could be worth
    (sanitising is quadratic in nesting depth), so it is refused before it is read in full."""


class NotATextStory(ParseError):
    """A well-formed item that is not a text story: a picture, graphic, video, package..."""

    def __init__(self, kind: str, reason: str | None = None) -> None:
        self.kind = kind
        super().__init__(reason or f"item is a {kind}, not a text story", field="type")


class MissingField(ParseError):
    """A field a text story cannot do without (guid, headline) is absent or empty."""

    def __init__(self, field: str, reason: str | None = None) -> None:
        super().__init__(reason or f"required field {field!r} is missing or empty", field=field)


class InvalidField(ParseError):
    """A field is present but its value cannot be read (a bad timestamp, an unknown pubstatus)."""
