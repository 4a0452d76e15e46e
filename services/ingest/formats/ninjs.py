"""ninjs (IPTC News in JSON) 1.x, 2.x, 3.x and Superdesk's ninjs flavour.

1.x and Superdesk are flat (`headline`, `body_html`, `subject[]`, associations as an object
map); 2.x moved to arrays (`headlines[]`, `bodies[]`, `subjects[]`, `by`); 3.x is 2.x with
camelCase keys. Every document is lowercased key by key and then read by one reader that accepts
either shape for every field, because real feeds mix them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import Any

from shared.models import Image, Subject, image_url

from .draft import Draft
from .errors import InvalidField, MalformedPayload, NotATextStory
from .markup import html_to_text, inner_html, text_to_html
from .nitf import nitf_body_html, nitf_byline, nitf_embargo
from .timestamps import Stamp, embargo, latest_of, optional_timestamp
from .vocab import (
    item_kind,
    language,
    pubstatus,
    strip_version_suffix,
    subject,
    subject_from_qcode,
    urgency,
)
from .xmlsafe import child, parse_xml

NINJS_1 = "ninjs-1"
NINJS_2 = "ninjs-2"
NINJS_3 = "ninjs-3"
SUPERDESK = "superdesk-ninjs"

Json = Mapping[str, Any]

# Keys only ninjs 3.x spells in camelCase.
_NINJS3_KEYS = frozenset(
    {"representationType", "firstCreated", "versionCreated", "contentCreated"}
    | {"embargoedUntil", "pubStatus", "copyrightHolder", "copyrightNotice", "usageTerms"}
    | {"edNote", "infoSources", "eventDetails", "plannedCoverage", "altIds"}
    | {"trustIndicators", "rightsInfo", "digitalSourceType"}
)
# Array-shaped keys that ninjs 2.x introduced (3.x keeps them, but is caught first).
_NINJS2_KEYS = frozenset(
    {"headlines", "bodies", "subjects", "descriptions", "by", "people", "organisations"}
    | {"places", "events", "objects", "infosources", "genres", "trustindicators"}
)
# Keys of Superdesk's ninjs extension that IPTC ninjs does not have.
_SUPERDESK_KEYS = frozenset(
    {"extra", "extra_items", "authors", "annotations", "evolvedfrom", "firstpublished"}
    | {"service", "signal", "priority", "attachments", "charcount", "wordcount", "readtime"}
)
# Any of these makes a JSON object a ninjs item at all. `type` alone does not: a JSON Schema
# has one too.
_NINJS_MARKERS = frozenset(
    {"uri", "guid", "headline", "headlines", "body_html", "body_xhtml", "body_text", "bodies"}
    | {"pubstatus", "pubStatus", "versioncreated", "versionCreated"}
)


def looks_like_ninjs(doc: Json) -> bool:
    return bool(set(doc) & _NINJS_MARKERS)


def ninjs_flavour(doc: Json, hinted_major: str | None = None) -> str:
    """Which ninjs a document is: a declared standard version wins, then telltale keys, then
    the content type's version parameter, and plain 1.x when nothing tells them apart."""
    declared = _declared_major(doc)
    if declared:
        return {"1": NINJS_1, "2": NINJS_2, "3": NINJS_3}[declared]
    keys = set(doc)
    if keys & _NINJS3_KEYS or _has_camel_case_parts(doc):
        return NINJS_3
    if ("guid" in keys and "uri" not in keys) or keys & _SUPERDESK_KEYS:
        return SUPERDESK
    if keys & _NINJS2_KEYS or isinstance(doc.get("associations"), list):
        return NINJS_2
    if hinted_major in ("1", "2", "3"):
        return {"1": NINJS_1, "2": NINJS_2, "3": NINJS_3}[hinted_major]
    return NINJS_1


def _declared_major(doc: Json) -> str | None:
    for key in ("standard", "$standard"):
        standard = doc.get(key)
        if isinstance(standard, Mapping) and str(standard.get("name", "ninjs")).lower() == "ninjs":
            major = str(standard.get("version", "")).strip().split(".", 1)[0]
            if major in ("1", "2", "3"):
                return major
    return None


def _has_camel_case_parts(doc: Json) -> bool:
    bodies = doc.get("bodies")
    if isinstance(bodies, list):
        return any(isinstance(b, Mapping) and "contentType" in b for b in bodies)
    return False


def _lowercase_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k).lower(): _lowercase_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lowercase_keys(v) for v in value]
    return value


def parse_ninjs(doc: Json, default_tz: str) -> Draft:
    """Read any ninjs flavour into a draft.

    Keys are lowercased first: that turns 3.x into 2.x, and costs 1.x nothing (its keys are
    lowercase already; association and rendition names are only compared lowercased).
    """
    as_sent, doc = doc, _lowercase_keys(doc)
    kind = _kind(doc)
    if kind != "text":
        raise NotATextStory(kind)
    version = _string(doc, "version")
    guid, version = _guid(doc, version)
    body_html, nitf_doc = _body(doc)
    nitf_author = nitf_byline(nitf_doc) if nitf_doc is not None else None
    images, related = _associations(doc)
    return Draft(
        guid=guid,
        version=version,
        headline=_headline(doc),
        byline=_string(doc, "byline") or _string(doc, "by") or nitf_author or _authors(doc),
        body_html=body_html,
        description=_description(doc),
        language=language(doc.get("language")),
        pubstatus=pubstatus(doc.get("pubstatus")),
        firstcreated=_stamp(doc, "firstcreated", default_tz)
        or _stamp(doc, "firstpublished", default_tz),
        versioncreated=_stamp(doc, "versioncreated", default_tz),
        subjects=_subjects(doc),
        urgency=urgency(doc.get("urgency")),
        keywords=[k for k in _list(doc, "keywords") if isinstance(k, str)],
        located=_string(doc, "located"),
        images=images,
        related_guids=related,
        embargoed=_embargo(as_sent, nitf_doc, default_tz),
    )


def _string(doc: Json, key: str) -> str | None:
    """A text field; numbers are accepted as text (versions arrive as 4 as well as "4")."""
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidField(f"expected a string, got {type(value).__name__}", field=key)
    text = str(value).strip()
    return text or None


def _list(doc: Json, key: str) -> list[Any]:
    value = doc.get(key)
    return value if isinstance(value, list) else []


def _objects(doc: Json, key: str) -> Iterator[Json]:
    return (item for item in _list(doc, key) if isinstance(item, Mapping))


_MEDIA_KINDS = {"image": "picture", "video": "video", "audio": "audio"}


def _kind(doc: Json) -> str:
    declared = _string(doc, "type")
    if declared:
        return item_kind(declared)
    # No type (allowed; the dpa 2.x example has none): the media type of the item or of its
    # own renditions still gives a picture or a video away.
    mimetypes = [doc.get("mimetype"), doc.get("contenttype")]
    mimetypes += [r.get("mimetype") or r.get("contenttype") for _name, r in _renditions(doc)]
    for mimetype in mimetypes:
        kind = _MEDIA_KINDS.get(str(mimetype or "").split("/", 1)[0].lower())
        if kind:
            return kind
    return "text"


def _guid(doc: Json, version: str | None) -> tuple[str | None, str | None]:
    guid = _string(doc, "uri") or _string(doc, "guid")
    if guid is None:
        return None, version
    return strip_version_suffix(guid, version)


def _stamp(doc: Json, key: str, default_tz: str) -> Stamp | None:
    return optional_timestamp(doc.get(key), default_tz, field=key)


# ninjs 1.x and 2.x `embargoed`, 3.x `embargoedUntil`, lowercased.
_EMBARGO_KEYS = frozenset({"embargoed", "embargoeduntil"})


def _embargo(as_sent: Json, nitf_doc: ET.Element | None, default_tz: str) -> Stamp | None:
    """The embargo under any spelling of its key, and a NITF body's date.release: the latest.

    Read from the document as sent, not the lowercased one, where `embargoedUntil` and
    `embargoeduntil` would overwrite each other and could lose an embargo.
    """
    stated = embargo(
        ((str(k), v) for k, v in as_sent.items() if str(k).lower() in _EMBARGO_KEYS), default_tz
    )
    return latest_of([stated, nitf_embargo(nitf_doc, default_tz) if nitf_doc is not None else None])


def _headline(doc: Json) -> str | None:
    flat = _string(doc, "headline")
    if flat:
        return flat
    headlines = list(_objects(doc, "headlines"))
    for entry in sorted(headlines, key=lambda h: _role_rank(h, ("main", "headline"))):
        text = _plain(entry)
        if text:
            return text
    # `title` is metadata, but a story whose only name is its title is still that story.
    return _string(doc, "title")


def _role_rank(entry: Json, preferred: tuple[str, ...]) -> int:
    role = str(entry.get("role") or "").lower()
    return 0 if not role or role in preferred else 1


def _plain(entry: Json) -> str | None:
    value = entry.get("value")
    if not isinstance(value, str):
        return None
    if "html" in str(entry.get("contenttype") or "").lower():
        return html_to_text(value) or None
    return value.strip() or None


def _description(doc: Json) -> str | None:
    text = _string(doc, "description_text")
    if text:
        return text
    markup = _string(doc, "description_html")
    if markup:
        return html_to_text(markup) or None
    entries = list(_objects(doc, "descriptions"))
    for entry in sorted(entries, key=lambda d: _role_rank(d, ("summary", "lead", "abstract"))):
        text = _plain(entry)
        if text:
            return text
    return None


def _authors(doc: Json) -> str | None:
    names = [a.get("name") for a in _objects(doc, "authors")]
    return ", ".join(n.strip() for n in names if isinstance(n, str) and n.strip()) or None


# Body kinds, best first: a web page wants the provider's HTML before anything we convert.
_HTML, _NITF, _TEXT = 0, 1, 2
_MAIN_BODY_ROLES = ("main", "body", "full", "html", "xhtml", "nitf", "text", "content")


def _body(doc: Json) -> tuple[str, ET.Element | None]:
    """The body as HTML, and the NITF document when that is what the body was."""
    for key, kind in (("body_html", _HTML), ("body_xhtml", _HTML), ("body_nitf", _NITF)):
        value = _string(doc, key)
        if value:
            return _convert(value, kind, key)
    text = _string(doc, "body_text")
    if text:
        return text_to_html(text), None
    bodies = [b for b in _objects(doc, "bodies") if isinstance(b.get("value"), str)]
    if not bodies:
        return "", None
    best = min(bodies, key=lambda b: (_role_rank(b, _MAIN_BODY_ROLES), _body_kind(b)))
    return _convert(best["value"], _body_kind(best), "bodies")


def _body_kind(body: Json) -> int:
    content_type = str(body.get("contenttype") or "").lower()
    role = str(body.get("role") or "").lower()
    if "nitf" in content_type or (not content_type and role == "nitf"):
        return _NITF
    if "html" in content_type or (not content_type and role in ("html", "xhtml")):
        return _HTML
    if content_type or role == "text":
        return _TEXT
    # No hint at all: markup or prose, judged by the value itself.
    value = str(body.get("value") or "").lstrip()
    if value.startswith("<"):
        return _NITF if "<nitf" in value[:500] else _HTML
    return _TEXT


def _convert(value: str, kind: int, field: str) -> tuple[str, ET.Element | None]:
    if kind == _TEXT:
        return text_to_html(value), None
    if kind == _NITF:
        try:
            root = parse_xml(value)
        except MalformedPayload as exc:
            raise MalformedPayload(f"NITF body: {exc.reason}", field=field) from exc
        return nitf_body_html(root), root
    return _xhtml_body(value), None


def _xhtml_body(value: str) -> str:
    """An HTML fragment as is; a whole (X)HTML document reduced to its body's content."""
    head = value.lstrip()[:200].lower()
    if not head.startswith(("<?xml", "<html", "<!doctype")):
        return value
    try:
        root = parse_xml(value)
    except MalformedPayload:
        # Not well-formed XML, but fine as HTML: the renderer parses it as HTML anyway.
        return value
    body = child(root, "body")
    return inner_html(body) if body is not None else inner_html(root)


def _subjects(doc: Json) -> list[Subject]:
    entries = [*_objects(doc, "subject"), *_objects(doc, "subjects")]
    return [s for s in (_subject(e) for e in entries) if s is not None]


def _subject(entry: Json) -> Subject | None:
    name = entry.get("name") if isinstance(entry.get("name"), str) else None
    uri, qcode, code, scheme, literal = (
        value if isinstance(value := entry.get(key), str) and value.strip() else None
        for key in ("uri", "qcode", "code", "scheme", "literal")
    )
    if uri:
        return subject_from_qcode(uri, name)
    code = qcode or code
    if code:
        # A QCode carries its own scheme; a bare code leans on `scheme` (or its own shape).
        if scheme and (":" not in code or "://" in code):
            return subject(scheme, code, name)
        return subject_from_qcode(code, name)
    if literal:
        return Subject(scheme=None, code=literal.strip(), name=name)
    return Subject(name=name) if name else None


def _association_entries(doc: Json) -> list[tuple[str, Json]]:
    raw = doc.get("associations")
    if isinstance(raw, Mapping):
        entries = [(str(k), v) for k, v in raw.items() if isinstance(v, Mapping)]
    elif isinstance(raw, list):
        entries = [
            (str(v.get("name") or i), v) for i, v in enumerate(raw) if isinstance(v, Mapping)
        ]
    else:
        return []
    # Superdesk's featured picture is the lead image; keep the wire's order otherwise.
    return sorted(entries, key=lambda entry: entry[0] != "featuremedia")


def _associations(doc: Json) -> tuple[list[Image], list[str]]:
    images: list[Image] = []
    related: list[str] = []
    for _name, item in _association_entries(doc):
        kind = item_kind(_string(item, "type") or "") if item.get("type") else None
        renditions = _renditions(item)
        if kind in ("picture", "graphic") or (kind is None and renditions):
            image = _image(item, renditions)
            if image is not None:
                images.append(image)
        elif kind in ("text", None):
            guid = _string(item, "uri") or _string(item, "guid")
            if guid:
                related.append(guid)
    return images, related


def _renditions(item: Json) -> list[tuple[str, Json]]:
    raw = item.get("renditions")
    if isinstance(raw, Mapping):
        pairs = [(str(k), v) for k, v in raw.items() if isinstance(v, Mapping)]
    elif isinstance(raw, list):
        pairs = [(str(v.get("name") or ""), v) for v in raw if isinstance(v, Mapping)]
    else:
        return []
    return [(name, r) for name, r in pairs if isinstance(r.get("href"), str) and r["href"].strip()]


def _dimension(rendition: Json, key: str) -> int | None:
    value = rendition.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value > 0 else None


def _image(item: Json, renditions: list[tuple[str, Json]]) -> Image | None:
    """The association's largest rendition (the original when sizes do not tell) of those a
    page may show: one whose address is not a web URL is not shown."""
    renditions = [(name, r) for name, r in renditions if image_url(str(r["href"]))]
    if not renditions:
        return None

    def size(pair: tuple[str, Json]) -> tuple[int, bool]:
        name, rendition = pair
        area = (_dimension(rendition, "width") or 0) * (_dimension(rendition, "height") or 0)
        return area, name.lower() == "original"

    _name, best = max(renditions, key=size)
    caption = _description(item) or _headline(item)
    credit = _string(item, "byline") or _string(item, "by") or _string(item, "copyrightholder")
    mimetype = best.get("mimetype") or best.get("contenttype") or item.get("mimetype")
    return Image(
        href=image_url(best["href"]) or "",
        caption=caption,
        credit=credit,
        width=_dimension(best, "width"),
        height=_dimension(best, "height"),
        mimetype=mimetype if isinstance(mimetype, str) else None,
    )
