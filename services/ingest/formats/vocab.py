"""Normalising the controlled values wires send: pubstatus, language, subjects, urgency, kinds.

Each wire spells these its own way (`stat:canceled`, `cancelled`, `en-GB`, `medtop:20000123`,
`http://cv.iptc.org/newscodes/subjectcode/15000000`, a bare `04005004`); downstream sees one.
"""

from __future__ import annotations

import re

from shared.models import PubStatus, Subject

from .errors import InvalidField

_PUBSTATUS: dict[str, PubStatus] = {
    "usable": "usable",
    "withheld": "withheld",
    # Embargoed content must not be shown yet, which is what withheld means downstream.
    "embargoed": "withheld",
    "canceled": "canceled",
    "cancelled": "canceled",
    "cancel": "canceled",
    "kill": "canceled",
    "killed": "canceled",
    "deleted": "canceled",
    "withdrawn": "canceled",
}


def code_part(value: str) -> str:
    """The code of a QCode (`stat:usable` -> `usable`) or of a CV URI (`.../ninature/text`)."""
    value = value.strip()
    if "://" in value:
        return value.rstrip("/").rsplit("/", 1)[-1]
    return value.rsplit(":", 1)[-1]


def pubstatus(raw: object, *, field: str = "pubstatus") -> PubStatus:
    """Map a wire's publishing status to usable / withheld / canceled; absent means usable."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return "usable"
    if not isinstance(raw, str):
        raise InvalidField(f"pubstatus must be a string, got {raw!r}", field=field)
    status = _PUBSTATUS.get(code_part(raw).lower())
    if status is None:
        # An unknown status could be a hold or a kill: refusing beats publishing by mistake.
        raise InvalidField(f"unknown publishing status {raw!r}", field=field)
    return status


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}")


def language(raw: object) -> str | None:
    """The primary subtag of a BCP 47 tag, lowercased (`en-GB` -> `en`); None if unusable."""
    if not isinstance(raw, str):
        return None
    primary = raw.strip().replace("_", "-").split("-", 1)[0]
    return primary.lower() if _LANGUAGE_TAG.fullmatch(primary) else None


def urgency(raw: object) -> int | None:
    """Urgency 0-9 (1 most urgent). Out-of-range or unreadable values are dropped, not fatal:
    urgency only orders a desk's queue and is not worth losing a story over."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, int) and 0 <= raw <= 9:
        return raw
    return None


# Scheme aliases for the two IPTC vocabularies we keep as such.
_MEDTOP = "medtop"
_SUBJ = "subj"
_SCHEME_ALIASES = {
    "medtop": _MEDTOP,
    "mediatopic": _MEDTOP,
    "mediatopics": _MEDTOP,
    "iptc-mediatopic": _MEDTOP,
    "subj": _SUBJ,
    "iptc": _SUBJ,
    "subjectcode": _SUBJ,
    "subjectcodes": _SUBJ,
    "iptcsubj": _SUBJ,
    "iptc-subjectcode": _SUBJ,
}
_CV_URI = re.compile(r"https?://cv\.iptc\.org/newscodes/(?P<scheme>[^/]+)/(?P<code>[^/?#]*)/?")
_EIGHT_DIGITS = re.compile(r"\d{8}")


def iptc_scheme_for_code(code: str) -> str | None:
    """The IPTC vocabulary a bare 8-digit code belongs to.

    Subject codes run 01000000-17999999; Media Topic codes below 20000000 are only the 17
    top-level ones, which share their numbers with subject codes, so a bare code is read as a
    subject code unless it is a 2xxxxxxx Media Topic (which no subject code can be).
    """
    if not _EIGHT_DIGITS.fullmatch(code):
        return None
    return _MEDTOP if code.startswith("2") else _SUBJ


def normalise_scheme(scheme: str | None) -> str | None:
    """`http://cv.iptc.org/newscodes/mediatopic/` -> `medtop`; other schemes kept as given."""
    if scheme is None or not scheme.strip():
        return None
    scheme = scheme.strip()
    match = _CV_URI.fullmatch(scheme if scheme.endswith("/") else scheme + "/")
    if match:
        scheme = match.group("scheme")
    return _SCHEME_ALIASES.get(scheme.lower(), scheme)


def subject_from_qcode(qcode: str, name: str | None = None) -> Subject:
    """A subject named by a QCode (`medtop:20000123`), a CV URI, or a bare IPTC code."""
    qcode = qcode.strip()
    uri = _CV_URI.fullmatch(qcode)
    if uri:
        return subject(uri.group("scheme"), uri.group("code"), name)
    if "://" in qcode:
        # Some other vocabulary's URI: it is its own unambiguous code.
        return Subject(scheme=None, code=qcode, name=_clean(name))
    if ":" in qcode:
        scheme, code = qcode.split(":", 1)
        return subject(scheme, code, name)
    return subject(None, qcode, name)


def subject(scheme: str | None, code: str | None, name: str | None) -> Subject:
    """A subject from separate scheme and code; bare 8-digit codes get their IPTC scheme."""
    code = _clean(code)
    resolved = normalise_scheme(scheme)
    if resolved is None and code is not None:
        resolved = iptc_scheme_for_code(code)
    return Subject(scheme=resolved, code=code, name=_clean(name))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def dedupe_subjects(subjects: list[Subject]) -> list[Subject]:
    """First occurrence wins; a later one with the same scheme and code may add a name."""
    seen: dict[tuple[str | None, str | None, str | None], int] = {}
    result: list[Subject] = []
    for item in subjects:
        if item.code is None and item.name is None:
            continue
        key = (item.scheme, item.code, None if item.code else item.name)
        if key in seen:
            index = seen[key]
            if result[index].name is None and item.name:
                result[index] = item
            continue
        seen[key] = len(result)
        result.append(item)
    return result


# Item kinds that are not text stories, by the words wires use for them.
_KIND_ALIASES = {
    "text": "text",
    "article": "text",
    "picture": "picture",
    "photo": "picture",
    "image": "picture",
    "graphic": "graphic",
    "video": "video",
    "audio": "audio",
    "composite": "composite",
    "package": "package",
    "component": "component",
    "event": "event",
    "planning": "planning",
    "animation": "animation",
    "interactive": "interactive",
}


def item_kind(raw: str) -> str:
    """`ninat:picture`, `icls:text`, `http://cv.iptc.org/newscodes/ninature/text`, `Text`..."""
    code = code_part(raw).lower()
    return _KIND_ALIASES.get(code, code)


def strip_version_suffix(guid: str, version: str | None) -> tuple[str, str | None]:
    """A G2/NewsML guid without a trailing version, and the version it carried.

    The guid identifies the story across versions, so `urn:newsml:x.com:20140829:abc:3` and
    any guid ending in `:<version>` lose that suffix. A `urn:newsml:` guid has at most five
    fields before the revision (urn, newsml, provider, date, item id).
    """
    guid = guid.strip()
    if version and guid.endswith(":" + version):
        return guid[: -len(version) - 1], version
    parts = guid.split(":")
    if len(parts) == 6 and guid.lower().startswith("urn:newsml:"):
        revision = re.fullmatch(r"(\d+)[A-Za-z]?", parts[5])
        if revision:
            return ":".join(parts[:5]), version or revision.group(1)
    return guid, version
