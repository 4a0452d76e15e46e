"""NewsML 1.2, IPTC's XML news format before G2: a `<NewsML>` document of one or more NewsItems.

A NewsItem's content sits in nested NewsComponents, each with an optional Role. Metadata given on
a component (NewsLines, DescriptiveMetadata) holds for the components inside it, so every field
is read from the story's own component outwards. The story text is a ContentItem's DataContent:
inline NITF, XHTML, bare `<p>`s, or HTML or plain text sent as character data.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from shared.models import Image, PubStatus, Subject, image_url

from .draft import Draft
from .errors import InvalidField, MalformedPayload, NotATextStory
from .markup import inner_html, text_to_html
from .nitf import nitf_body_html, nitf_byline, nitf_embargo, nitf_headline, nitf_images
from .timestamps import Stamp, embargo, latest_of, optional_timestamp
from .vocab import (
    code_part,
    iptc_scheme_for_code,
    item_kind,
    language,
    pubstatus,
    strip_version_suffix,
    subject,
    urgency,
)
from .xmlsafe import attr, child, children, parse_xml, text_of

NEWSML_12_ROOT = "NewsML"

# Roles whose text is about the story, not the story: a picture's caption, a note to editors.
_NOT_STORY_ROLES = frozenset(
    {"caption", "note", "notes", "editorialnote", "editorsnote", "ednote", "advisory"}
    | {"instruction", "comment"}
)
_TEXT_FORMATS = frozenset({"nitf", "html", "xhtml", "text", "plaintext", "xml"})
_CONTAINERS = frozenset({"NewsComponent", "ContentItem"})


@dataclass(frozen=True)
class _Content:
    """One ContentItem and the NewsComponents around it, outermost first."""

    item: ET.Element
    components: tuple[ET.Element, ...]

    @property
    def role(self) -> str:
        """The nearest Role, lowercased and without spaces or punctuation; "" if none."""
        for component in reversed(self.components):
            role = attr(child(component, "Role"), "FormalName")
            if role:
                return re.sub(r"[^a-z0-9]", "", code_part(role).lower())
        return ""

    @property
    def kind(self) -> str:
        return _content_kind(self.item)

    @property
    def is_story_text(self) -> bool:
        return self.kind == "text" and self.role not in _NOT_STORY_ROLES


@dataclass(frozen=True)
class _Document:
    """What every item may need from the rest of the document."""

    topics: dict[str, list[ET.Element]]  # a Topic's code or Duid -> the Topics with it
    lang: str | None


@dataclass(frozen=True)
class _Body:
    """The story text as HTML, its inline NITF document, and the components around it."""

    html: str = ""
    nitf: ET.Element | None = None
    components: tuple[ET.Element, ...] = ()


def parse_newsml12(root: ET.Element, default_tz: str) -> list[Draft]:
    """Every text NewsItem in a NewsML 1.2 document, in document order."""
    items = list(root.iter("NewsItem"))
    if not items:
        raise MalformedPayload("NewsML document has no NewsItem", field="NewsItem")
    kinds = [(item, _news_item_kind(item)) for item in items]
    texts = [item for item, kind in kinds if kind == "text"]
    if not texts:
        kind = kinds[0][1]
        if kind == "update":
            raise NotATextStory(
                kind, "NewsML Update item: a change to parts of an earlier revision, not a story"
            )
        raise NotATextStory(kind)
    document = _Document(topics=_topics(root), lang=attr(root, "xml:lang"))
    return [_parse_item(item, document, default_tz) for item in texts]


def _news_item_kind(item: ET.Element) -> str:
    """text, picture, graphic, video, package, update...: what the item's content is.

    An item with no ContentItem at all (a kill notice, a headline-only flash) is text.
    """
    contents = _contents(item)
    if any(c.is_story_text for c in contents):
        return "text"
    media = [c.kind for c in contents if c.kind != "text"]
    if media:
        return media[0]
    if not contents and children(item, "Update"):
        return "update"
    if not contents and _refers_to_items(item):
        return "package"
    return "text"


def _refers_to_items(item: ET.Element) -> bool:
    return any(
        e.tag in ("NewsItem", "NewsItemRef")
        for component in children(item, "NewsComponent")
        for e in component.iter()
    )


def _content_kind(content: ET.Element) -> str:
    """A ContentItem's kind, from MediaType, else MimeType, else Format."""
    media_type = attr(child(content, "MediaType"), "FormalName")
    if media_type:
        return item_kind(media_type)
    mime = (attr(child(content, "MimeType"), "FormalName") or "").lower()
    if mime:
        if mime.startswith("text/") or "xml" in mime or "html" in mime:
            return "text"
        return item_kind(mime.split("/", 1)[0])
    format_name = (attr(child(content, "Format"), "FormalName") or "").lower()
    if code_part(format_name) in _TEXT_FORMATS or _data_content(content) is not None:
        return "text"
    return format_name or "unknown"


def _contents(item: ET.Element) -> list[_Content]:
    """The item's own ContentItems in document order (not those of NewsItems inside it)."""
    found = []
    pending: list[tuple[ET.Element, tuple[ET.Element, ...]]] = [
        (component, ()) for component in reversed(children(item, "NewsComponent"))
    ]
    while pending:
        element, outer = pending.pop()
        if element.tag == "ContentItem":
            found.append(_Content(element, outer))
            continue
        inside = (*outer, element)
        pending.extend((sub, inside) for sub in reversed(element) if sub.tag in _CONTAINERS)
    return found


def _parse_item(item: ET.Element, document: _Document, default_tz: str) -> Draft:
    management = child(item, "NewsManagement")
    guid, version = _identity(item)
    body = _story_body(item)
    chain = body.components
    nitf = body.nitf
    held_until = _embargo(management, nitf, default_tz)
    lang = _language(item, chain, nitf, document)
    return Draft(
        guid=guid,
        version=version,
        headline=_line(chain, "HeadLine") or _nitf_headline(nitf),
        byline=_byline(chain, nitf),
        body_html=body.html,
        description=text_of(child(nitf, "body/body.head/abstract")) or _line(chain, "SubHeadLine"),
        language=lang,
        pubstatus=_status(management, has_release=held_until is not None),
        firstcreated=_stamp(management, "FirstCreated", default_tz),
        versioncreated=_stamp(management, "ThisRevisionCreated", default_tz)
        or _stamp(management, "FirstCreated", default_tz),
        subjects=_subjects(chain, document, lang),
        urgency=urgency(attr(child(management, "Urgency"), "FormalName")),
        keywords=_keywords(chain, nitf),
        located=_located(chain),
        images=_images(item) + (nitf_images(nitf) if nitf is not None else []),
        embargoed=held_until,
    )


def _nitf_headline(nitf: ET.Element | None) -> str | None:
    if nitf is None:
        return None
    return nitf_headline(nitf) or text_of(child(nitf, "head/title")) or None


def _identity(item: ET.Element) -> tuple[str | None, str | None]:
    """The guid that every revision of the item shares, and this revision's number.

    PublicIdentifier (`urn:newsml:provider:date:item:revision[update flag]`) without its
    revision; without a PublicIdentifier, the same URN built from its parts, so a feed that
    sends one only sometimes still gives one guid. DateId is kept: NewsItemIds are only unique
    per provider and date. A revision also written into the item id (`item-v2`) is taken out.
    """
    identifier = child(item, "Identification/NewsIdentifier")
    revision = text_of(child(identifier, "RevisionId")) or None
    public = text_of(child(identifier, "PublicIdentifier"))
    if public:
        guid, version = strip_version_suffix(public, revision)
        return _without_revision(guid, version), version
    item_id = text_of(child(identifier, "NewsItemId"))
    if not item_id:
        return None, revision
    item_id = _without_revision(item_id, revision)
    provider = text_of(child(identifier, "ProviderId"))
    date_id = text_of(child(identifier, "DateId"))
    if provider and date_id:
        return f"urn:newsml:{provider}:{date_id}:{item_id}", revision
    return ":".join(part for part in (provider, item_id) if part), revision


def _without_revision(identifier: str, revision: str | None) -> str:
    if not revision:
        return identifier
    stripped = re.sub(rf"[-_.]v{re.escape(revision)}$", "", identifier, flags=re.IGNORECASE)
    return stripped if stripped and not stripped.endswith(":") else identifier


def _stamp(parent: ET.Element | None, tag: str, default_tz: str) -> Stamp | None:
    return optional_timestamp(text_of(child(parent, tag)), default_tz, field=tag)


def _status(management: ET.Element | None, *, has_release: bool) -> PubStatus:
    status = attr(child(management, "Status"), "FormalName")
    # Embargoed with a known release time is held until that time; without one, indefinitely.
    if has_release and code_part(status or "").lower() == "embargoed":
        return "usable"
    return pubstatus(status, field="Status")


def _embargo(
    management: ET.Element | None, nitf: ET.Element | None, default_tz: str
) -> Stamp | None:
    """StatusWillChange to usable at a DateAndTime (NewsML's embargo end), and an inline NITF
    date.release: held until the latest of them."""
    releases = []
    for change in children(management, "StatusWillChange"):
        future = attr(child(change, "FutureStatus"), "FormalName")
        if future is None or code_part(future).lower() == "usable":
            releases.append(("StatusWillChange", text_of(child(change, "DateAndTime"))))
    stated = embargo(releases, default_tz)
    return latest_of([stated, nitf_embargo(nitf, default_tz) if nitf is not None else None])


# --- the body --------------------------------------------------------------------------------


def _story_body(item: ET.Element) -> _Body:
    """The story's text and the components around it: a Role of Main first, then a component
    with no role, then any other story text; captions and notes never."""
    contents = _contents(item)
    candidates = [c for c in contents if c.is_story_text]
    candidates.sort(key=lambda c: 0 if c.role.startswith("main") else 1 if not c.role else 2)
    for content in candidates:
        html, nitf = _content_body(content.item)
        if html.strip():
            return _Body(html, nitf, content.components)
    if candidates:
        return _Body("", None, candidates[0].components)
    top = children(item, "NewsComponent")[:1]
    return _Body(components=tuple(top))


def _data_content(content: ET.Element) -> ET.Element | None:
    data = child(content, "DataContent")
    return data if data is not None else child(content, "Encoding/DataContent")


def _content_body(content: ET.Element) -> tuple[str, ET.Element | None]:
    """A text ContentItem's DataContent as HTML, and the inline NITF document if it was one."""
    data = _data_content(content)
    if data is None:
        return "", None
    top = [e for e in data if isinstance(e.tag, str)]
    if top:
        return _element_body(data, top[0])
    text = _decoded(content, data.text or "")
    format_name = _format(content)
    if "nitf" in format_name and text.lstrip().startswith("<"):
        # NITF sent as character data: parsed as safely as the document it came in. Markup that
        # is not one XML document (two <p>s, an &nbsp;) is read as the HTML it is.
        try:
            nitf = parse_xml(text)
        except MalformedPayload:
            nitf = None
        if nitf is not None and nitf.tag == "nitf":
            return nitf_body_html(nitf), nitf
    if "html" in format_name or text.lstrip().startswith("<"):
        return text.strip(), None
    return text_to_html(text), None


def _element_body(data: ET.Element, first: ET.Element) -> tuple[str, ET.Element | None]:
    if first.tag == "nitf":
        return nitf_body_html(first), first
    if first.tag == "html":
        body = child(first, "body")
        return (inner_html(body) if body is not None else ""), None
    if first.tag == "body":
        if child(first, "body.content") is not None or child(first, "body.head") is not None:
            # A NITF body without its <nitf> wrapper: read as NITF, or its hedline, byline
            # and abstract would land in the story's text.
            nitf = ET.Element("nitf")
            nitf.append(first)
            return nitf_body_html(nitf), nitf
        return inner_html(first), None
    return inner_html(data), None


def _format(content: ET.Element) -> str:
    names = [
        attr(child(content, "Format"), "FormalName"),
        attr(child(content, "MimeType"), "FormalName"),
    ]
    return " ".join(name.lower() for name in names if name)


def _decoded(content: ET.Element, text: str) -> str:
    encoding = attr(child(content, "Encoding"), "FormalName")
    if encoding is None:
        return text
    if encoding.lower() != "base64":
        raise InvalidField(f"cannot read DataContent encoded as {encoding!r}", field="Encoding")
    try:
        return base64.b64decode(text, validate=False).decode("utf-8")
    except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII text given as base64
        raise MalformedPayload(
            f"DataContent is not base64 UTF-8 text: {exc}", field="DataContent"
        ) from exc


# --- metadata, read from the story's component outwards -----------------------------------


def _inwards_out(chain: tuple[ET.Element, ...], path: str) -> Iterator[ET.Element]:
    """The element at `path` in each component, nearest the story first."""
    for component in reversed(chain):
        found = child(component, path)
        if found is not None:
            yield found


def _line(chain: tuple[ET.Element, ...], tag: str) -> str | None:
    """The first non-empty NewsLines line of this kind; an empty element is no value."""
    for lines in _inwards_out(chain, "NewsLines"):
        for line in children(lines, tag):
            if text_of(line):
                return text_of(line)
    return None


def _byline(chain: tuple[ET.Element, ...], nitf: ET.Element | None) -> str | None:
    """ByLine(s), else the NITF byline, else the Creator, else the CreditLine."""
    for lines in _inwards_out(chain, "NewsLines"):
        names = [text_of(b) for b in children(lines, "ByLine") if text_of(b)]
        if names:
            return ", ".join(names)
    if nitf is not None and nitf_byline(nitf):
        return nitf_byline(nitf)
    for creator in _inwards_out(chain, "AdministrativeMetadata/Creator"):
        names = [n for p in children(creator, "Party") if (n := attr(p, "FormalName"))]
        if names:
            return ", ".join(names)
    return _line(chain, "CreditLine")


def _is_code(value: str) -> bool:
    return len(value) <= 3 and value.isupper()


def _located(chain: tuple[ET.Element, ...]) -> str | None:
    """The DateLine when it names a place (some are only a date), else the Location's
    city, area and country."""
    dateline = _line(chain, "DateLine")
    if dateline and any(ch.isalpha() for ch in dateline):
        return dateline.strip(" ,-")
    for metadata in _inwards_out(chain, "DescriptiveMetadata"):
        for location in children(metadata, "Location"):
            values = {
                attr(p, "FormalName"): attr(p, "Value") for p in children(location, "Property")
            }
            parts = [values.get(k) for k in ("City", "CountryArea", "Country")]
            # A bare ISO code ('IND', 'NLD') is not a place a reader sees in a dateline.
            place = ", ".join(dict.fromkeys(p for p in parts if p and not _is_code(p)))
            if place:
                return place
    return None


def _language(
    item: ET.Element,
    chain: tuple[ET.Element, ...],
    nitf: ET.Element | None,
    document: _Document,
) -> str | None:
    candidates = [
        attr(element, "FormalName")
        for metadata in _inwards_out(chain, "DescriptiveMetadata")
        for element in children(metadata, "Language")
    ]
    candidates += [attr(component, "xml:lang") for component in reversed(chain)]
    candidates += [attr(item, "xml:lang"), document.lang]
    if nitf is not None:
        candidates += [attr(nitf, "baselang"), attr(nitf, "xml:lang")]
    return next((lang for lang in map(language, candidates) if lang), None)


def _keywords(chain: tuple[ET.Element, ...], nitf: ET.Element | None) -> list[str]:
    """Property Keyword values (a `;` separates several in one), and NITF key-list keywords."""
    keywords = []
    for metadata in _inwards_out(chain, "DescriptiveMetadata"):
        for prop in children(metadata, "Property"):
            if (attr(prop, "FormalName") or "").lower() == "keyword":
                keywords += (attr(prop, "Value") or "").split(";")
    if nitf is not None:
        keys = children(child(nitf, "head/docdata/key-list"), "keyword")
        keywords += [k for k in (attr(e, "key") for e in keys) if k]
    return [k.strip() for k in keywords if k.strip()]


# --- subjects --------------------------------------------------------------------------------


def _topics(root: ET.Element) -> dict[str, list[ET.Element]]:
    """Every Topic in the document by its code and by its Duid (TopicOccurrence points there)."""
    topics: dict[str, list[ET.Element]] = {}
    for topic in root.iter("Topic"):
        for key in (text_of(child(topic, "FormalName")), attr(topic, "Duid")):
            if key:
                topics.setdefault(key, []).append(topic)
    return topics


def _is_iptc(scheme: str | None) -> bool:
    """SubjectCode holds IPTC Subject Codes unless a Vocabulary or Scheme names another."""
    return scheme is None or "iptc" in scheme.lower()


def _subjects(
    chain: tuple[ET.Element, ...], document: _Document, lang: str | None
) -> list[Subject]:
    result = []
    for metadata in _inwards_out(chain, "DescriptiveMetadata"):
        for codes in children(metadata, "SubjectCode"):
            for element in codes:
                if element.tag not in ("Subject", "SubjectMatter", "SubjectDetail"):
                    continue
                code = attr(element, "FormalName")
                if code:
                    scheme = attr(element, "Vocabulary") or attr(element, "Scheme")
                    name = _topic_name(document.topics.get(code, []), lang)
                    result.append(subject(None if _is_iptc(scheme) else scheme, code, name))
        for occurrence in children(metadata, "TopicOccurrence"):
            reference = (attr(occurrence, "Topic") or "").lstrip("#")
            result += _topic_subjects(document.topics.get(reference, []), lang)
    for component in chain:
        for topic_set in children(component, "TopicSet"):
            result += _topic_subjects(children(topic_set, "Topic"), lang)
    return result


def _topic_subjects(topics: list[ET.Element], lang: str | None) -> list[Subject]:
    """The IPTC subject codes among some Topics (others are people, places, catalogue terms)."""
    result = []
    for topic in topics:
        formal = child(topic, "FormalName")
        code = text_of(formal)
        if _is_iptc(attr(formal, "Scheme")) and iptc_scheme_for_code(code):
            result.append(subject(None, code, _topic_name([topic], lang)))
    return result


def _topic_name(topics: list[ET.Element], lang: str | None) -> str | None:
    """A topic's name in the story's language, else in English, else in any."""
    names = [
        d
        for topic in topics
        for d in children(topic, "Description")
        if (attr(d, "Variant") or "name").lower() == "name" and text_of(d)
    ]
    for wanted in (lang, "en", None):
        for description in names:
            if wanted is None or language(attr(description, "xml:lang")) == wanted:
                return text_of(description)
    return None


# --- pictures --------------------------------------------------------------------------------


def _images(item: ET.Element) -> list[Image]:
    """Pictures sent with a text item: per component, its largest rendition with an Href."""
    by_component: dict[ET.Element, list[_Content]] = {}
    for content in _contents(item):
        if content.kind in ("picture", "graphic") and image_url(attr(content.item, "Href") or ""):
            by_component.setdefault(content.components[-1], []).append(content)
    images = []
    for renditions in by_component.values():
        best = max(renditions, key=lambda c: _dimension(c, "Width") * _dimension(c, "Height"))
        component = best.components[-1]
        images.append(
            Image(
                href=image_url(attr(best.item, "Href") or "") or "",
                caption=_line((component,), "HeadLine"),
                credit=_line((component,), "CreditLine"),
                width=_dimension(best, "Width") or None,
                height=_dimension(best, "Height") or None,
                mimetype=attr(child(best.item, "MimeType"), "FormalName"),
            )
        )
    return images


def _dimension(content: _Content, name: str) -> int:
    for prop in children(child(content.item, "Characteristics"), "Property"):
        if attr(prop, "FormalName") == name:
            value = attr(prop, "Value") or ""
            # isdigit() takes '²' too, which int() refuses.
            return int(value) if re.fullmatch(r"[0-9]{1,6}", value) else 0
    return 0
