"""Wire subjects: kept as ``subject`` tags and mapped onto Media Topics (IPTC subject codes by
their top-level code, or by an exact label match; wire Media Topic codes directly)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from services.enrich.tagging.slugs import slugify_tag
from services.enrich.tagging.topics import TopicIndex
from shared.models import Subject, Tag

SUBJECT_SCHEME = "http://cv.iptc.org/newscodes/subjectcode/"

# The wire's own subjects are the editors' word: kept as they are.
WIRE_SUBJECT = 1.0
# The Media Topic a wire subject maps onto: the editors' word through our mapping.
MAPPED_TOPIC = 0.95
# Its broader topics (level 1, level 2): implied, slightly less specific.
MAPPED_PARENT = 0.9

_DIGITS = re.compile(r"(\d{8})")

SubjectKind = Literal["medtop", "subj", "other"]


def _subject_kind(subject: Subject) -> tuple[SubjectKind, str | None]:
    """What vocabulary a subject is from, and its 8-digit code if it has one."""
    scheme = (subject.scheme or "").lower()
    code = subject.code or ""
    m = _DIGITS.search(code)
    digits = m.group(1) if m else None
    if "mediatopic" in scheme or "medtop" in scheme or code.lower().startswith("medtop"):
        return ("medtop", digits)
    if "subj" in scheme or code.lower().startswith("subj"):
        return ("subj", digits)
    if digits is not None and not scheme:
        # Media Topic codes are all 20xxxxxx; IPTC subject codes start 01 to 17.
        return ("medtop" if digits.startswith("20") else "subj", digits)
    return ("other", digits)


def _mapped_topic(index: TopicIndex, subject: Subject) -> tuple[str | None, str | None]:
    """The Media Topic code a subject maps onto, if any, and the name its tag takes."""
    kind, digits = _subject_kind(subject)
    if kind == "medtop" and digits is not None and digits in index.topics:
        return digits, index.topics[digits].label
    if kind == "subj" and digits is not None:
        top = digits[:2] + "000000"
        label_hit = index.by_label.get((subject.name or "").lower())
        return label_hit or (top if top in index.topics else None), subject.name
    if subject.name:  # (a Media Topic code we do not know included)
        return index.by_label.get(subject.name.lower()), subject.name
    return None, subject.name


def subject_tags(
    index: TopicIndex, subjects: Iterable[Subject]
) -> tuple[list[Tag], dict[str, float]]:
    """The wire subjects as tags, and (code -> confidence) of the Media Topics they map onto."""
    tags: list[Tag] = []
    mapped: dict[str, float] = {}
    for subject in subjects:
        target, name = _mapped_topic(index, subject)
        name = name or subject.code or ""
        if not name:
            continue
        tags.append(
            Tag(
                type="subject",
                name=name,
                slug=slugify_tag("subject", name),
                code=subject.code,
                scheme=subject.scheme,
                confidence=WIRE_SUBJECT,
            )
        )
        if target is None:
            continue
        topic = index.topics[target]
        for code in dict.fromkeys((topic.code, topic.top, topic.second)):
            if code is None:
                continue
            if code == topic.code:
                mapped[code] = MAPPED_TOPIC
            else:
                mapped[code] = max(mapped.get(code, 0), MAPPED_PARENT)
    return tags, mapped
