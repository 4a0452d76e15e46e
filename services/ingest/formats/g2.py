"""NewsML-G2: a `newsMessage` wrapping items in `itemSet`, or a bare `newsItem`.

Namespaces are already gone (see xmlsafe), so the NAR namespace, a prefixed one and none at all
read the same. Only `newsItem`s of class text become articles; pictures in the same message are
used as the images a text item links to.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from shared.models import Image, PubStatus, Subject, image_url

from .draft import Draft
from .errors import MalformedPayload, NotATextStory
from .markup import inner_html, outer_html, text_to_html
from .nitf import nitf_body_html, nitf_byline, nitf_embargo, nitf_headline
from .timestamps import Stamp, embargo, latest_of, optional_timestamp
from .vocab import (
    code_part,
    item_kind,
    language,
    pubstatus,
    strip_version_suffix,
    subject_from_qcode,
    urgency,
)
from .xmlsafe import attr, child, children, text_of

# Root elements of every G2 item type, and what each is when it is not a news item.
ITEM_KINDS = {
    "newsItem": "text",
    "packageItem": "package",
    "conceptItem": "concept",
    "knowledgeItem": "knowledge",
    "planningItem": "planning",
    "catalogItem": "catalog",
}
G2_ROOTS = frozenset({"newsMessage", *ITEM_KINDS})


@dataclass(frozen=True)
class _Message:
    """What one text item may need from the rest of its message."""

    pictures: dict[str, ET.Element]
    lang: str | None


def parse_g2(root: ET.Element, default_tz: str) -> list[Draft]:
    """Every text story in a G2 document, in document order."""
    items = _items(root)
    if not items:
        raise MalformedPayload("newsMessage has no items in its itemSet", field="itemSet")
    kinds = [(item, item_kind_of(item)) for item in items]
    texts = [item for item, kind in kinds if kind == "text"]
    if not texts:
        raise NotATextStory(kinds[0][1])
    message = _Message(
        pictures={
            guid: item
            for item, kind in kinds
            if kind in ("picture", "graphic") and (guid := attr(item, "guid"))
        },
        lang=attr(root, "xml:lang"),
    )
    return [_parse_item(item, message, default_tz) for item in texts]


def _items(root: ET.Element) -> list[ET.Element]:
    if root.tag != "newsMessage":
        return [root]
    item_set = child(root, "itemSet")
    if item_set is None:
        return []
    return [item for item in item_set if item.tag in ITEM_KINDS]


def item_kind_of(item: ET.Element) -> str:
    """text, picture, video, package...: the item's root element, then its itemClass."""
    if item.tag != "newsItem":
        return ITEM_KINDS.get(item.tag, item.tag)
    item_class = child(item, "itemMeta/itemClass")
    qcode = attr(item_class, "qcode") or attr(item_class, "uri")
    # itemClass is mandatory; an item without one is read as text rather than lost.
    return item_kind(qcode) if qcode else "text"


def _parse_item(item: ET.Element, message: _Message, default_tz: str) -> Draft:
    meta = child(item, "itemMeta")
    content = child(item, "contentMeta")
    guid = attr(item, "guid")
    guid, version = strip_version_suffix(guid, attr(item, "version")) if guid else (None, None)
    body_html, nitf = _body(child(item, "contentSet"))
    return Draft(
        guid=guid,
        version=version,
        headline=_headline(content)
        or (nitf_headline(nitf) if nitf is not None else None)
        # Some providers give the headline only as the inline NITF's <head><title>.
        or (text_of(child(nitf, "head/title")) or None if nitf is not None else None)
        or text_of(child(meta, "title")),
        byline=text_of(child(content, "by"))
        or (nitf_byline(nitf) if nitf is not None else None)
        or text_of(child(content, "creditline")),
        body_html=body_html,
        description=_description(content),
        language=_language(item, content, message),
        pubstatus=_held_indefinitely(meta)
        or pubstatus(_qcode(child(meta, "pubStatus")), field="pubStatus"),
        firstcreated=_stamp(meta, "firstCreated", default_tz)
        or _stamp(content, "contentCreated", default_tz),
        versioncreated=_stamp(meta, "versionCreated", default_tz)
        or _stamp(content, "contentModified", default_tz)
        or _stamp(content, "contentCreated", default_tz),
        subjects=_subjects(content),
        urgency=urgency(text_of(child(content, "urgency"))),
        keywords=[text_of(k) for k in children(content, "keyword")],
        located=_located(content),
        images=_images(meta, message),
        related_guids=_related(meta, message),
        embargoed=_embargo(meta, nitf, default_tz),
    )


def _qcode(element: ET.Element | None) -> str | None:
    return attr(element, "qcode") or attr(element, "uri") or attr(element, "literal")


def _stamp(parent: ET.Element | None, tag: str, default_tz: str) -> Stamp | None:
    return optional_timestamp(text_of(child(parent, tag)), default_tz, field=tag)


def _held_indefinitely(meta: ET.Element | None) -> PubStatus | None:
    """An empty `embargoed` (G2's DateTimeOrNull) is an embargo whose end is not known yet:
    the story is withheld until a later version says when, rather than published at once."""
    for element in children(meta, "embargoed"):
        if not text_of(element):
            status = pubstatus(_qcode(child(meta, "pubStatus")), field="pubStatus")
            return "withheld" if status == "usable" else status
    return None


def _embargo(meta: ET.Element | None, nitf: ET.Element | None, default_tz: str) -> Stamp | None:
    """itemMeta/embargoed (a date-time, its zone optional; empty is no embargo), and the
    date.release of an inline NITF body: held until the latest of them."""
    stated = embargo((("embargoed", text_of(e)) for e in children(meta, "embargoed")), default_tz)
    return latest_of([stated, nitf_embargo(nitf, default_tz) if nitf is not None else None])


def _rank(element: ET.Element) -> int:
    rank = attr(element, "rank") or ""
    return int(rank) if rank.isdigit() else 1_000_000


def _is_main_role(element: ET.Element, *codes: str) -> bool:
    role = attr(element, "role")
    return role is None or code_part(role).lower() in codes


def _headline(content: ET.Element | None) -> str | None:
    headlines = [h for h in children(content, "headline") if text_of(h)]
    if not headlines:
        return None
    best = min(headlines, key=lambda h: (not _is_main_role(h, "main"), _rank(h)))
    return text_of(best)


def _description(content: ET.Element | None) -> str | None:
    # Captions and other roles describe something else (Reuters sends the slug as "caption").
    wanted = ("summary", "abstract", "lead", "teaser")
    for description in children(content, "description"):
        if _is_main_role(description, *wanted) and text_of(description):
            return text_of(description)
    return None


def _language(item: ET.Element, content: ET.Element | None, message: _Message) -> str | None:
    candidates = [attr(e, "tag") for e in children(content, "language")]
    candidates += [attr(item, "xml:lang"), message.lang]
    return next((lang for lang in map(language, candidates) if lang), None)


def _name(concept: ET.Element) -> str | None:
    """A concept's display name: a plain or display/full `name`, else the first one."""
    names = [n for n in children(concept, "name") if text_of(n)]
    preferred = [n for n in names if _is_main_role(n, "display", "full")]
    chosen = (preferred or names)[:1]
    return text_of(chosen[0]) if chosen else None


def _subjects(content: ET.Element | None) -> list[Subject]:
    result = []
    for element in children(content, "subject"):
        code = _qcode(element)
        if code is None:
            continue
        name = _name(element)
        result.append(subject_from_qcode(code, name))
        # An IPTC code given as the equivalent of a provider's own code is worth keeping too.
        for same in children(element, "sameAs"):
            same_code = _qcode(same)
            if same_code:
                equivalent = subject_from_qcode(same_code, _name(same) or name)
                if equivalent.scheme in ("medtop", "subj"):
                    result.append(equivalent)
    return result


def _located(content: ET.Element | None) -> str | None:
    located = child(content, "located")
    if located is None:
        return None
    return _name(located) or attr(located, "literal")


def _related(meta: ET.Element | None, message: _Message) -> list[str]:
    """guids of text items the wire links to (links to web pages have no residref)."""
    guids = []
    for link in children(meta, "link"):
        target = attr(link, "residref")
        if target is None or target in message.pictures:
            continue
        target_class = _qcode(child(link, "itemClass"))
        is_media = (
            not (attr(link, "contenttype") or "text").lower().startswith(("text", "application"))
        )
        if not is_media and (target_class is None or item_kind(target_class) == "text"):
            guids.append(target)
    return guids


def _images(meta: ET.Element | None, message: _Message) -> list[Image]:
    """Pictures the item links to: by guid to a picture in the message, or by media type."""
    images = []
    for link in children(meta, "link"):
        image = _linked_image(link, message)
        if image is not None:
            images.append(image)
    return images


def _linked_image(link: ET.Element, message: _Message) -> Image | None:
    target = attr(link, "residref")
    if target and target in message.pictures:
        return _picture_image(message.pictures[target])
    href = image_url(attr(link, "href") or "")
    is_image_type = (attr(link, "contenttype") or "").lower().startswith("image/")
    target_kind = item_kind(_qcode(child(link, "itemClass")) or "")
    if href is None or not (is_image_type or target_kind in ("picture", "graphic")):
        return None
    return Image(
        href=href,
        caption=text_of(child(link, "title")) or None,
        mimetype=attr(link, "contenttype"),
    )


def _picture_image(picture: ET.Element) -> Image | None:
    """A picture item's largest remote rendition."""
    renditions = [
        r
        for r in children(child(picture, "contentSet"), "remoteContent")
        if image_url(attr(r, "href") or "")
    ]
    if not renditions:
        return None

    def area(rendition: ET.Element) -> int:
        return _int(attr(rendition, "width")) * _int(attr(rendition, "height"))

    best = max(renditions, key=area)
    content = child(picture, "contentMeta")
    return Image(
        href=image_url(attr(best, "href") or "") or "",
        caption=_description_any(content) or _headline(content),
        credit=text_of(child(content, "creditline")) or text_of(child(content, "by")) or None,
        width=_int(attr(best, "width")) or None,
        height=_int(attr(best, "height")) or None,
        mimetype=attr(best, "contenttype"),
    )


def _description_any(content: ET.Element | None) -> str | None:
    return next((text_of(d) for d in children(content, "description") if text_of(d)), None)


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _body(content_set: ET.Element | None) -> tuple[str, ET.Element | None]:
    """The story body as HTML, and the inline NITF document when that is what it was."""
    inline_xml = children(content_set, "inlineXML")
    for element in inline_xml:
        body = _inline_xml_body(element)
        if body is not None:
            return body
    data = children(content_set, "inlineData")
    # HTML before plain text when a provider sends both renditions.
    data.sort(key=lambda d: "html" not in (attr(d, "contenttype") or "").lower())
    for element in data:
        text = _inline_data(element)
        if text.strip():
            if "html" in (attr(element, "contenttype") or "").lower():
                return text, None
            return text_to_html(text), None
    return "", None


def _inline_xml_body(inline: ET.Element) -> tuple[str, ET.Element | None] | None:
    top = [e for e in inline if isinstance(e.tag, str)]
    if not top:
        text = (inline.text or "").strip()
        return (text_to_html(text), None) if text else None
    first = top[0]
    if first.tag == "nitf":
        return nitf_body_html(first), first
    if first.tag == "html":
        body = child(first, "body")
        return (_xhtml_body(body) if body is not None else ""), None
    if first.tag == "body":
        return _xhtml_body(first), None
    return outer_html(top), None


def _xhtml_body(body: ET.Element) -> str:
    # dpa-style XHTML puts a <header> (slugline, date, the headline again) before the story;
    # the page renders its own headline, so that header is metadata, not body.
    for header in [e for e in body if isinstance(e.tag, str) and e.tag.lower() == "header"]:
        body.remove(header)
    return inner_html(body)


def _inline_data(element: ET.Element) -> str:
    text = element.text or ""
    if (attr(element, "encoding") or "").lower() != "base64":
        return text
    try:
        return base64.b64decode(text, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise MalformedPayload(
            f"inlineData is not base64 UTF-8 text: {exc}", field="inlineData"
        ) from exc
