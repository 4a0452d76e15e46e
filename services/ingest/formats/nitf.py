"""NITF 3.x (News Industry Text Format) documents, standalone or inside G2 and ninjs 3 bodies."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from shared.models import Image, PubStatus, Subject, image_url

from .draft import Draft
from .markup import inner_html, nitf_to_html
from .timestamps import Stamp, embargo, optional_timestamp
from .vocab import item_kind, language, pubstatus, subject, subject_from_qcode, urgency
from .xmlsafe import attr, child, children, descendants, text_of

# ed-msg@msg-type values that announce a kill; NITF leaves msg-type free-form.
_KILL_MESSAGES = frozenset({"kill", "kill notice", "cancel", "canceled", "cancelled", "withdraw"})


def parse_nitf(root: ET.Element, default_tz: str) -> Draft:
    """Read a `<nitf>` document into a draft."""
    head = child(root, "head")
    docdata = child(head, "docdata")
    body = child(root, "body")
    version = attr(child(docdata, "du-key"), "version")
    return Draft(
        guid=attr(child(docdata, "doc-id"), "id-string") or attr(child(docdata, "du-key"), "key"),
        version=version,
        headline=nitf_headline(root) or text_of(child(head, "title")),
        byline=nitf_byline(root),
        body_html=nitf_body_html(root),
        description=text_of(child(body, "body.head/abstract")) or None,
        language=_language(root),
        pubstatus=_status(docdata, has_release=nitf_embargo(root, default_tz) is not None),
        firstcreated=_first_created(head, default_tz),
        versioncreated=_version_created(head, default_tz),
        subjects=_subjects(head),
        urgency=urgency(attr(child(docdata, "urgency"), "ed-urg")),
        keywords=[
            k
            for k in (attr(e, "key") for e in children(child(docdata, "key-list"), "keyword"))
            if k
        ],
        located=_located(body, docdata),
        images=nitf_images(root),
        embargoed=nitf_embargo(root, default_tz),
    )


def _body_head(root: ET.Element) -> ET.Element | None:
    return child(root, "body/body.head")


def nitf_headline(root: ET.Element) -> str | None:
    """hedline/hl1 (some feeds, AP among them, write `headline` for `hedline`)."""
    body_head = _body_head(root)
    for container in ("hedline", "headline"):
        hl1 = child(body_head, f"{container}/hl1")
        if hl1 is not None and text_of(hl1):
            return text_of(hl1)
    return None


def nitf_byline(root: ET.Element) -> str | None:
    """The byline(s) without the author's title (`byttl`), e.g. "By Jane Roe"."""
    names = []
    for byline in children(_body_head(root), "byline"):
        text = text_of(byline, skip=frozenset({"byttl"})).strip(" ,;:-")
        if text:
            names.append(text)
    return ", ".join(names) or None


def nitf_body_html(root: ET.Element) -> str:
    """body.content as HTML, NITF-only elements mapped or unwrapped."""
    content = child(root, "body/body.content")
    return inner_html(content, nitf_to_html) if content is not None else ""


def nitf_images(root: ET.Element) -> list[Image]:
    content = child(root, "body/body.content")
    images = []
    for media in descendants(content, "media"):
        if item_kind(media.get("media-type") or "") not in ("picture", "graphic"):
            continue
        image = _media_image(media)
        if image is not None:
            images.append(image)
    return images


def _media_image(media: ET.Element) -> Image | None:
    references = [r for r in children(media, "media-reference") if _reference_href(r)]
    if not references:
        return None
    best = max(references, key=lambda r: (_int(r.get("width")) or 0) * (_int(r.get("height")) or 0))
    caption = text_of(child(media, "media-caption")) or attr(best, "alternate-text")
    credit = text_of(child(media, "media-producer")) or attr(best, "source-credit")
    return Image(
        href=_reference_href(best) or "",
        caption=caption or None,
        credit=credit or None,
        width=_int(best.get("width")),
        height=_int(best.get("height")),
        mimetype=attr(best, "mime-type"),
    )


def _reference_href(reference: ET.Element) -> str | None:
    """Where the reference points, when that is a web address a page may show."""
    return image_url(attr(reference, "source") or attr(reference, "data-location") or "")


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


def _language(root: ET.Element) -> str | None:
    candidates = [attr(root, "baselang"), attr(root, "xml:lang")]
    candidates += [attr(e, "xml:lang") for e in root.iter() if e is not root]
    return next((lang for lang in map(language, candidates) if lang), None)


def _status(docdata: ET.Element | None, *, has_release: bool = False) -> PubStatus:
    for message in children(docdata, "ed-msg"):
        if (attr(message, "msg-type") or "").lower() in _KILL_MESSAGES:
            return "canceled"
    status = attr(docdata, "management-status")
    # "embargoed" with a release time is held until that time; without one, indefinitely.
    if has_release and (status or "").strip().lower() == "embargoed":
        return "usable"
    return pubstatus(status, field="management-status")


def _stamp(element: ET.Element | None, name: str, default_tz: str) -> Stamp | None:
    return optional_timestamp(attr(element, name), default_tz, field=name)


def _version_created(head: ET.Element | None, default_tz: str) -> Stamp | None:
    """When this version was issued; release or publication date if the issue date is missing."""
    docdata = child(head, "docdata")
    for element, field in (
        (child(docdata, "date.issue"), "norm"),
        (child(docdata, "date.release"), "norm"),
        (child(head, "pubdata"), "date.publication"),
    ):
        stamp = _stamp(element, field, default_tz)
        if stamp is not None:
            return stamp
    return None


def nitf_embargo(root: ET.Element, default_tz: str) -> Stamp | None:
    """docdata/date.release: when the item may be released (date.expire, when it may no longer
    be used, is no embargo). The value belongs in `norm`; one sent as text is read too."""
    releases = children(child(root, "head/docdata"), "date.release")
    return embargo((("date.release", attr(e, "norm") or text_of(e)) for e in releases), default_tz)


def _first_created(head: ET.Element | None, default_tz: str) -> Stamp | None:
    """The earliest revision-history entry: NITF's record of when the story was first written."""
    stamps = [_stamp(r, "norm", default_tz) for r in children(head, "revision-history")]
    present = [s for s in stamps if s is not None]
    return min(present, key=lambda s: s.value) if present else None


def _subjects(head: ET.Element | None) -> list[Subject]:
    result = []
    for element in descendants(child(head, "tobject"), "tobject.subject"):
        code = attr(element, "tobject.subject.refnum")
        # The most specific label the wire gives: detail, then matter, then type.
        name = next(
            (
                value
                for key in ("detail", "matter", "type")
                if (value := attr(element, f"tobject.subject.{key}"))
            ),
            None,
        )
        if code and ":" in code:
            result.append(subject_from_qcode(code, name))
        elif code or name:
            result.append(subject(None, code, name))
    return result


def _located(body: ET.Element | None, docdata: ET.Element | None) -> str | None:
    """The dateline's place (where the story was filed), else the event location."""
    dateline = child(body, "body.head/dateline")
    place = text_of(child(dateline, "location")) or text_of(
        dateline, skip=frozenset({"story.date"})
    )
    if place:
        return place.strip(" ,-")
    evloc = child(docdata, "evloc")
    parts: list[str] = []
    for key in ("city", "state-prov", "county-dist", "iso-cc"):
        value = attr(evloc, key)
        if value and value not in parts:
            parts.append(value)
    return ", ".join(parts) or None
