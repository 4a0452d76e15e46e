"""AP Media API JSON (the `data.item` of AP's content responses), with its NITF rendition.

AP's JSON describes a story but carries no body: the text is in the item's NITF rendition,
which a push may send alongside (`split_ap_push`) and `parse_ap_media` reads as the body.

Identity: the guid is `altids.itemid`, the same for every version. The item's `uri` is no
identifier (it carries the session's `qt=` and the etag's `et=`), nor is the response's `id`
(it names the request). The version is the integer `version`; 0 is a real version. The etag
(`altids.etag`, `<itemid>_<tag>`) is neither: its tag changes with the version (its leading
digits have matched `version` in every item seen) but also when only what the customer may
see changes, and AP does not document its shape, so it is not read at all.

A text item pushed without its NITF is accepted with an empty body, as ninjs headline-only
items are: AP alerts and some agate have no text, and the headline and summary still stand.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from shared.models import Subject

from .draft import Draft
from .errors import (
    InvalidField,
    MalformedPayload,
    MissingField,
    NotATextStory,
    TooComplex,
    UnknownFormat,
)
from .ninjs import _embargo, _kind, _list, _objects, _string, _subject
from .nitf import nitf_body_html, nitf_byline, nitf_headline
from .timestamps import Stamp, optional_timestamp
from .vocab import item_kind, language, pubstatus, urgency
from .xmlsafe import attr, child

Json = Mapping[str, Any]

AP_SCHEME = "http://cv.ap.org/id/"

# Keys AP items have and no ninjs flavour does: with `altids.itemid`, they tell a bare AP item
# from a ninjs 1.x one (whose free-form `altids` could name an `itemid` too).
_AP_ALTIDS = frozenset({"etag", "friendlykey", "transref"})
_AP_KEYS = frozenset(
    {"headline_extended", "description_summary", "description_caption", "bylines"}
    | {"editorialpriority", "editorialtypes", "textformat", "datelinelocation"}
)

# The same cap as the loader's on a whole payload; the parts of a push share it.
MAX_PUSH_BYTES = 32 * 1024 * 1024
MAX_PART_BYTES = 16 * 1024 * 1024
# An item, its NITF and a few other renditions; a push with more is not one story.
MAX_PUSH_PARTS = 8

_MULTIPART_TYPES = frozenset({"multipart/related", "multipart/mixed"})
# RFC 2046 bchars; a boundary may not end in a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


def looks_like_ap_media(doc: Json) -> bool:
    """A content response (`data.item` with `altids.itemid`) or a bare AP item."""
    data = doc.get("data")
    if isinstance(data, Mapping) and "item" in data:
        return _itemid(data["item"]) is not None
    if _itemid(doc) is None or "type" not in doc or "versioncreated" not in doc:
        return False
    if "standard" in doc or "$standard" in doc:
        return False  # a ninjs document that says so
    altids = doc["altids"]
    return bool(set(altids) & _AP_ALTIDS or set(doc) & _AP_KEYS)


def _itemid(item: object) -> str | None:
    altids = item.get("altids") if isinstance(item, Mapping) else None
    if not isinstance(altids, Mapping):
        return None
    itemid = altids.get("itemid")
    return itemid.strip() if isinstance(itemid, str) and itemid.strip() else None


def parse_ap_media(doc: Json, default_tz: str, nitf: ET.Element | None = None) -> Draft:
    """Read an AP item (in its response, or bare) into a draft; `nitf` is its NITF rendition."""
    item = _item(doc)
    kind = _kind(item)
    if kind != "text":
        raise NotATextStory(kind)
    guid = _itemid(item)
    if guid is None:
        raise MissingField(
            "guid",
            "AP item has no altids.itemid (its uri carries a session and the response id "
            "names the request: neither identifies the story)",
        )
    if nitf is not None:
        _check_rendition(nitf, item, guid)
    headline = _headline(item, nitf)
    return Draft(
        guid=guid,
        version=_version(item),
        headline=headline,
        byline=_byline(item) or (nitf_byline(nitf) if nitf is not None else None),
        body_html=nitf_body_html(nitf) if nitf is not None else "",
        description=_description(item, headline),
        language=language(item.get("language")),
        pubstatus=pubstatus(item.get("pubstatus")),
        firstcreated=_stamp(item, "firstcreated", default_tz),
        versioncreated=_stamp(item, "versioncreated", default_tz),
        subjects=_subjects(item),
        urgency=urgency(item.get("urgency")),
        keywords=[k for k in _list(item, "keywords") if isinstance(k, str)],
        located=_located(item),
        related_guids=_related(item),
        embargoed=_embargo(item, nitf, default_tz),
        # `ednote` is a note to editors ("Eds: UPDATES: ..."), never text for readers: not read.
    )


def _item(doc: Json) -> Json:
    data = doc.get("data")
    if not isinstance(data, Mapping) or "item" not in data:
        return doc
    item = data["item"]
    if not isinstance(item, Mapping):
        raise InvalidField(f"expected an object, got {type(item).__name__}", field="data.item")
    return item


def _version(item: Json) -> str | None:
    raw = item.get("version")
    if raw is None:
        return None
    text = str(raw).strip() if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    # An unreadable version left to default to 1 could pass an update off as an older one.
    if not re.fullmatch(r"[0-9]+", text):
        raise InvalidField(f"expected a whole number, got {raw!r}", field="version")
    return str(int(text))


def _check_rendition(nitf: ET.Element, item: Json, guid: str) -> None:
    """Refuse a NITF that names another story: its body would go out under this headline."""
    if nitf.tag != "nitf":
        raise InvalidField(f"rendition is <{nitf.tag}>, not NITF", field="nitf")
    named = attr(child(nitf, "head/docdata/doc-id"), "id-string")
    if named is None:
        return  # AP's renditions leave id-string out: the item gives the identity
    altids = item.get("altids")
    known = {str(v).strip() for v in altids.values()} if isinstance(altids, Mapping) else set()
    if named not in known and guid not in named:
        raise InvalidField(f"NITF rendition is {named!r}, not AP item {guid!r}", field="nitf")


def _headline(item: Json, nitf: ET.Element | None) -> str | None:
    # `title` comes last: AP fills it with the slug-like reference ("US--Biden-Staff").
    return (
        _string(item, "headline")
        or _string(item, "headline_extended")
        or (nitf_headline(nitf) if nitf is not None else None)
        or _string(item, "title")
    )


def _description(item: Json, headline: str | None) -> str | None:
    summary = _string(item, "description_summary")
    if summary:
        return summary
    extended = _string(item, "headline_extended")
    return extended if extended != headline else None


def _byline(item: Json) -> str | None:
    """Each `bylines` entry as given ("By JULIE PACE and ZEKE MILLER"); `title` left out."""
    names = [_string(entry, "by") or _string(entry, "name") for entry in _objects(item, "bylines")]
    return ", ".join(name for name in names if name) or None


def _stamp(item: Json, key: str, default_tz: str) -> Stamp | None:
    return optional_timestamp(item.get(key), default_tz, field=key)


def _subjects(item: Json) -> list[Subject]:
    """AP's subjects (and any other named vocabulary, IPTC's where AP gives it) with names.

    Entries without a scheme are AP's one-letter category codes (`rels: category`), routing
    codes rather than subjects: as subjects they would only become tags named "s" or "p".
    """
    subjects = []
    for entry in _objects(item, "subject"):
        found = _subject(entry)
        if found is not None and found.scheme is not None:
            subjects.append(found)
    return subjects


def _located(item: Json) -> str | None:
    located = _string(item, "located")
    if located:
        return located
    place = item.get("datelinelocation")
    if not isinstance(place, Mapping):
        return None
    parts: list[str] = []
    for key in ("city", "countryareaname", "countryname"):
        value = place.get(key)
        value = value.strip() if isinstance(value, str) else ""
        if value and value.lower() not in (p.lower() for p in parts):
            parts.append(value)
    return ", ".join(parts) or None


def _related(item: Json) -> list[str]:
    """Associated text items by itemid. Pictures are not images: AP sends no renditions for
    them here, and its download links need the session that fetched them."""
    raw = item.get("associations")
    entries = raw.values() if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    related = []
    for entry in entries:
        if isinstance(entry, Mapping) and item_kind(str(entry.get("type") or "")) == "text":
            itemid = _itemid(entry)
            if itemid:
                related.append(itemid)
    return related


# --- pushes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    media_type: str
    body: bytes


def split_ap_push(payload: bytes, content_type: str | None) -> tuple[bytes, bytes | None]:
    """The AP item's JSON and its NITF rendition (None when the push has none).

    A push is `multipart/related` or `multipart/mixed`, the JSON part first and the NITF in a
    part with an XML media type; or a JSON envelope, the response with a `"nitf"` string beside
    `data`. Anything else comes back as it came, for the loader to judge.
    """
    if len(payload) > MAX_PUSH_BYTES:
        raise MalformedPayload(f"push of {len(payload)} bytes exceeds {MAX_PUSH_BYTES}")
    header = Message()
    header["Content-Type"] = content_type or "application/octet-stream"
    media_type = header.get_content_type()
    if media_type in _MULTIPART_TYPES:
        return _split_multipart(payload, header.get_boundary())
    if media_type.startswith("multipart/"):
        raise UnknownFormat(
            f"{media_type} push: an AP item and its NITF come as multipart/related or mixed"
        )
    return _split_envelope(payload)


def _split_multipart(payload: bytes, boundary: str | None) -> tuple[bytes, bytes | None]:
    if boundary is None or not _BOUNDARY.fullmatch(boundary):
        raise MalformedPayload(f"multipart push has no usable boundary ({boundary!r})")
    parts = list(_parts(payload, boundary.encode("ascii")))
    if not parts:
        raise MalformedPayload("multipart push has no parts")
    # The item is the JSON part wherever it comes (RFC 2387's root is the first part, but
    # senders differ); there must be exactly one.
    items = [p for p in parts if p.media_type.endswith(("/json", "+json"))]
    if len(items) != 1:
        raise MalformedPayload(f"an AP push has one JSON part (the item), not {len(items)}")
    first = items[0]
    renditions = [p for p in parts if _is_xml(p.media_type)]
    if len(renditions) > 1:
        raise MalformedPayload(f"AP push has {len(renditions)} XML parts: which is the NITF?")
    if renditions and not renditions[0].body.strip():
        raise MalformedPayload("NITF part of the AP push is empty")
    return first.body, renditions[0].body if renditions else None


def _is_xml(media_type: str) -> bool:
    return media_type.endswith(("/xml", "+xml")) or "nitf" in media_type


def _parts(payload: bytes, boundary: bytes) -> Iterator[_Part]:
    """The parts between delimiter lines (RFC 2046 §5.1.1; the preamble and epilogue dropped).
    The line break before a delimiter belongs to it, not to the part."""
    delimiter = re.compile(
        rb"(?:\A|\r?\n)--" + re.escape(boundary) + rb"(?P<close>--)?[ \t]*(?:\r?\n|\Z)"
    )
    start = None
    count = 0
    for match in delimiter.finditer(payload):
        if start is not None:
            count += 1
            if count > MAX_PUSH_PARTS:
                raise TooComplex(f"multipart push has more than {MAX_PUSH_PARTS} parts")
            yield _part(payload[start : match.start()], count)
        if match.group("close"):
            return
        start = match.end()
    raise MalformedPayload("multipart push is cut short: its closing boundary is missing")


def _part(raw: bytes, number: int) -> _Part:
    if len(raw) > MAX_PART_BYTES:
        raise MalformedPayload(f"part {number} of {len(raw)} bytes exceeds {MAX_PART_BYTES}")
    if raw.startswith((b"\r\n", b"\n")):
        head, body = b"", raw[2 if raw.startswith(b"\r") else 1 :]
    else:
        gap = re.search(rb"\r?\n\r?\n", raw)
        if gap is None:
            raise MalformedPayload(f"part {number} has no blank line after its headers")
        head, body = raw[: gap.start()], raw[gap.end() :]
    headers = BytesHeaderParser(policy=compat32).parsebytes(head + b"\r\n\r\n")
    if headers.defects:
        raise MalformedPayload(f"part {number} has unreadable headers ({headers.defects[0]!r})")
    encoding = str(headers.get("Content-Transfer-Encoding") or "binary").strip().lower()
    return _Part(headers.get_content_type(), _decoded(body, encoding, number))


def _decoded(body: bytes, encoding: str, number: int) -> bytes:
    if encoding in ("7bit", "8bit", "binary"):
        return body
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    if encoding == "base64":
        try:
            return base64.b64decode(b"".join(body.split()), validate=True)
        except binascii.Error as exc:
            raise MalformedPayload(f"part {number} is not valid base64: {exc}") from exc
    raise MalformedPayload(f"part {number} has unknown transfer encoding {encoding!r}")


_XML_DECLARATION = re.compile(r"\A\s*<\?xml\b[^>]*\?>")
_DECLARED_ENCODING = re.compile(r"""encoding\s*=\s*["']([^"']+)["']""")


def _split_envelope(payload: bytes) -> tuple[bytes, bytes | None]:
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):
        return payload, None  # not an envelope; the loader says what it is instead
    if not isinstance(doc, dict) or "nitf" not in doc:
        return payload, None
    nitf = doc.pop("nitf")
    if not looks_like_ap_media(doc):
        return payload, None
    # ASCII-escaped, so a lone surrogate stays escaped for the loader to refuse.
    item = json.dumps(doc).encode("ascii")
    if nitf is None:
        return item, None
    if not isinstance(nitf, str) or not nitf.strip():
        raise MalformedPayload("expected the NITF document as a non-empty string", field="nitf")
    return item, _xml_bytes(nitf)


def _xml_bytes(text: str) -> bytes:
    """XML that travelled as JSON text, as UTF-8 bytes. A declaration naming another encoding
    no longer holds (the text was decoded with the JSON) and would garble it: it is dropped."""
    text = text.lstrip("\ufeff")
    declaration = _XML_DECLARATION.match(text)
    if declaration:
        declared = _DECLARED_ENCODING.search(declaration.group())
        if declared and declared.group(1).strip().lower() not in ("utf-8", "utf8"):
            text = text[declaration.end() :]
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedPayload(
            "NITF string holds a lone UTF-16 surrogate: not Unicode text", field="nitf"
        ) from exc
