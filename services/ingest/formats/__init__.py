"""Wire formats in, `shared.models.Article` out: the pure parsing layer of the ingest service.

Reads ninjs 1.x/2.x/3.x, Superdesk ninjs, NITF 3.x, NewsML-G2, NewsML 1.2, ANPA 1312, IPTC 7901
and AP's Media API JSON (with its NITF rendition in the same push: multipart/related or mixed,
or a JSON envelope with a `nitf` string). The format is sniffed from the payload, with the
Content-Type as a hint where the payload alone cannot tell (a wrong or missing content type does
not matter when it can). Nothing here does I/O beyond reading the given bytes.

    story = parse_story(payload, "application/nitf+xml", default_tz="Europe/Oslo")
    story.article.guid, story.format
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.models import Article

from .anpa import looks_like_anpa, parse_anpa
from .apmedia import looks_like_ap_media, parse_ap_media, split_ap_push
from .draft import Draft, build_article
from .errors import (
    InvalidField,
    MalformedPayload,
    MissingField,
    NotATextStory,
    ParseError,
    TooComplex,
    UnknownFormat,
    UnsafeXml,
)
from .g2 import G2_ROOTS, parse_g2
from .iptc7901 import looks_like_iptc7901, parse_iptc7901
from .newsml12 import NEWSML_12_ROOT, parse_newsml12
from .ninjs import NINJS_1, SUPERDESK, looks_like_ninjs, ninjs_flavour, parse_ninjs
from .nitf import parse_nitf
from .timestamps import feed_zone
from .xmlsafe import parse_xml

__all__ = [
    "FORMATS",
    "MAX_PAYLOAD_BYTES",
    "InvalidField",
    "MalformedPayload",
    "MissingField",
    "NotATextStory",
    "ParseError",
    "ParsedStory",
    "TooComplex",
    "UnknownFormat",
    "UnsafeXml",
    "detect_format",
    "parse_stories",
    "parse_story",
]

T = TypeVar("T")

NITF = "nitf"
NEWSML_G2 = "newsml-g2"
NEWSML_12 = "newsml-1.2"
ANPA = "anpa-1312"
IPTC_7901 = "iptc-7901"
AP_MEDIA = "ap-media-api-json"
FORMATS = (
    "ninjs-1", "ninjs-2", "ninjs-3", "superdesk-ninjs", NITF, NEWSML_G2, NEWSML_12, ANPA,
    IPTC_7901, AP_MEDIA,
)  # fmt: skip
#: The text formats with no XML or JSON syntax, by what sniffs them and what reads them.
_TEXT_FORMATS: tuple[tuple[str, Callable[[bytes], bool], Callable[[bytes, str], Draft]], ...] = (
    (ANPA, looks_like_anpa, parse_anpa),
    (IPTC_7901, looks_like_iptc7901, parse_iptc7901),
)

# No text story comes near this; anything bigger is refused before a parser holds it in memory.
MAX_PAYLOAD_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ParsedStory:
    """One text story read from the wire, and the format it came in."""

    article: Article
    format: str


@dataclass(frozen=True)
class _Loaded:
    format: str
    json: Mapping[str, Any] | None = None
    xml: ET.Element | None = None
    #: A text format's bytes (ANPA 1312, IPTC 7901), read by its own parser.
    text: bytes | None = None
    #: The NITF rendition pushed with an AP Media API item.
    rendition: ET.Element | None = None


def detect_format(payload: bytes, content_type: str | None = None) -> str:
    """One of FORMATS; raises UnknownFormat, MalformedPayload or UnsafeXml otherwise."""
    return _guarded(lambda: _load(payload, content_type)).format


def parse_story(
    payload: bytes, content_type: str | None = None, *, default_tz: str = "UTC"
) -> ParsedStory:
    """The (first) text story in a payload.

    A G2 newsMessage may carry several text items; `parse_stories` returns all of them.
    Timestamps without a zone are read in `default_tz` (an IANA name) and flagged on the article.
    """
    return parse_stories(payload, content_type, default_tz=default_tz)[0]


def parse_stories(
    payload: bytes, content_type: str | None = None, *, default_tz: str = "UTC"
) -> list[ParsedStory]:
    """Every text story in a payload (one, except for multi-item G2 messages)."""
    feed_zone(default_tz)  # a bad zone name is a configuration error: fail before parsing

    def parse() -> list[ParsedStory]:
        loaded = _load(payload, content_type)
        return [ParsedStory(build_article(d), loaded.format) for d in _drafts(loaded, default_tz)]

    return _guarded(parse)


def _guarded(work: Callable[[], T]) -> T:
    """Run a parse, turning recursion blow-ups on absurdly nested input into a ParseError."""
    try:
        return work()
    except RecursionError as exc:
        raise MalformedPayload("payload is nested too deeply to read") from exc


def _drafts(loaded: _Loaded, default_tz: str) -> list[Draft]:
    if loaded.text is not None:
        read = next(parse for name, _, parse in _TEXT_FORMATS if name == loaded.format)
        return [read(loaded.text, default_tz)]
    if loaded.json is not None:
        if loaded.format == AP_MEDIA:
            return [parse_ap_media(loaded.json, default_tz, loaded.rendition)]
        return [parse_ninjs(loaded.json, default_tz)]
    assert loaded.xml is not None
    if loaded.format == NITF:
        return [parse_nitf(loaded.xml, default_tz)]
    if loaded.format == NEWSML_12:
        return parse_newsml12(loaded.xml, default_tz)
    return parse_g2(loaded.xml, default_tz)


def _load(payload: bytes, content_type: str | None) -> _Loaded:
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError(f"payload must be bytes, not {type(payload).__name__}")
    payload = bytes(payload)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MalformedPayload(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    media_type, _ = _media_type(content_type)
    if media_type.startswith("multipart/"):
        # An AP Media API item with its NITF rendition in one push.
        item, rendition = split_ap_push(payload, content_type)
        return _load_json(item, "application/json", rendition=rendition)
    for name, sniff, _ in _TEXT_FORMATS:
        if sniff(payload):
            return _Loaded(name, text=payload)
    syntax = _sniff_syntax(payload) or _syntax_from_content_type(content_type)
    if syntax == "json":
        return _load_json(payload, content_type)
    if syntax == "xml":
        return _load_xml(payload)
    raise UnknownFormat(
        "payload is not JSON, XML, ANPA 1312 or IPTC 7901 "
        f"(content type {content_type or 'not given'})"
    )


def _sniff_syntax(payload: bytes) -> str | None:
    head = payload[:512]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    first = text.lstrip()[:1]
    return {"{": "json", "[": "json", "<": "xml"}.get(first)


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type:
        return "", {}
    media_type, *params = content_type.split(";")
    parsed = {}
    for param in params:
        key, _, value = param.partition("=")
        parsed[key.strip().lower()] = value.strip().strip('"')
    return media_type.strip().lower(), parsed


def _syntax_from_content_type(content_type: str | None) -> str | None:
    media_type, _ = _media_type(content_type)
    if media_type.endswith("json"):
        return "json"
    if media_type.endswith("xml") or "nitf" in media_type or "newsml" in media_type:
        return "xml"
    return None


def _load_json(
    payload: bytes, content_type: str | None, *, rendition: bytes | None = None
) -> _Loaded:
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"JSON is not well-formed: {exc}") from exc
    _refuse_lone_surrogates(doc)
    if isinstance(doc, dict) and "nitf" in doc and rendition is None:
        # The JSON envelope: an AP item and its NITF rendition as a string beside it.
        item, rendition = split_ap_push(payload, content_type)
        doc = json.loads(item)
    if isinstance(doc, dict) and looks_like_ap_media(doc):
        nitf = parse_xml(rendition) if rendition is not None else None
        return _Loaded(AP_MEDIA, json=doc, rendition=nitf)
    if not isinstance(doc, dict) or not looks_like_ninjs(doc):
        raise UnknownFormat("JSON payload is not a ninjs item (no uri, guid, headline, ...)")
    media_type, params = _media_type(content_type)
    hinted = params.get("version", "").split(".", 1)[0] or None
    flavour = ninjs_flavour(doc, hinted)
    if flavour == NINJS_1 and "superdesk" in media_type:
        flavour = SUPERDESK
    return _Loaded(flavour, json=doc)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_lone_surrogates(doc: object) -> None:
    """JSON may escape half of a UTF-16 pair (`\\ud800`) on its own; that is not Unicode text and
    cannot be written anywhere as UTF-8, so it is refused here, wherever in the document it is.
    (Whole pairs are decoded to their character by `json.loads`.) Walked without recursion."""
    pending: list[object] = [doc]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            found = _SURROGATE.search(value)
            if found:
                raise MalformedPayload(
                    f"JSON string {value[:40]!r} holds a lone UTF-16 surrogate "
                    f"(U+{ord(found.group()):04X}): not Unicode text"
                )
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def _load_xml(payload: bytes) -> _Loaded:
    root = parse_xml(payload)
    if root.tag == "nitf":
        return _Loaded(NITF, xml=root)
    if root.tag in G2_ROOTS:
        return _Loaded(NEWSML_G2, xml=root)
    if root.tag == NEWSML_12_ROOT:
        return _Loaded(NEWSML_12, xml=root)
    raise UnknownFormat(f"XML root <{root.tag}> is not NITF, NewsML-G2 or NewsML 1.2")
