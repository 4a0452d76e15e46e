"""IPTC 7901 (the IPTC/EBU text format of dpa, SDA-ATS and other European agencies).

A message is plain text framed by control characters, every one of which some agencies leave
out (dpa's files may carry none at all):

    [line noise: DEL, SYN] SOH header line          bsf025 3 ec 121   etf 967
    keyword line(s)                                  /politics/Britain/EU/Brexit/justice/
    STX heading block, closed by " ="                2ND LEAD / Headline / By Jane Roe, dpa =
    text                                             paragraphs, notes, sign-off
    ETX trailer: ddhhmm [zone] month yy              101137 GMT Dez 18
    EOT

The header is source id and message number (`bsf` + `025`), priority digit, category letters,
word count, then fields of the agency's own (ignored). Without STX the heading block is the
run of lines ending with the one that ends in "=", and the keyword line is known by its slashes.

Identity. The message number is per transmission, so it cannot tell an update from a new story.
The guid is `iptc7901:<source>:<yyyymmdd>:<slug>`: the source id, the date the trailer gives (as
written, not converted), and the keyword line casefolded, its parts joined by "/", version words
("2ND LEAD", "(Korr.)") taken out. A refile, lead, correction or "Neu: ..." of a story keeps its
keyword line and day, so it gets the same guid. A message without a readable date or keyword
line cannot be tied to its other versions: its message number is added to the guid, making it a
story of its own rather than risk being taken for (and dropped as a repeat of) another.

Version. The ingest service drops a guid+version it has seen, so every update needs a version of
its own: `1 + lead number` ("1ST LEAD" -> 2, "2ND LEAD" -> 3, none -> 1), and a correction or
refile of that adds `.<refile number>` ("REFILE" -> 1.1, "2ND LEAD" + "Korr." -> 3.1). Version
words are read from the lines above the headline and from the keyword line.

Priority is already on the urgency scale (1 most urgent), so it is kept as given:
1 flash (Blitz), 2 bulletin (Eil), 3 urgent (Vorrang), 4 regular, 5 routine, 6 deferred/low.

Category letters are agency-defined and agencies disagree (`k` is commentary on one wire and
culture on another), so only letters read the same way everywhere we know of become a subject
(scheme `iptc7901-category`, named by the Media Topic label): s/sp sport, i international,
f/wi economy, p/pl politics, e/ku arts and culture, vm human interest. Others are dropped: a
bare letter makes a meaningless tag.

The format states no language: it is guessed from common words of the headline and body
(en, de, fr, it, es), else left to the default. Datelines ("Luxembourg (dpa) -") stay in the
text and name `located`. Editors' notes ("# Notebook", "* * * *", "not intended for
publication", "## Editorial contacts") end the body; a closing sign-off ("dpa hm bs",
"(SDA\\/sj)") is dropped. An embargo line holds the story (withheld) since its free-text time
cannot be read reliably; a kill line cancels it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from shared.models import PubStatus, Subject

from .draft import Draft
from .errors import InvalidField, MalformedPayload
from .markup import text_to_html
from .timestamps import Stamp, parse_timestamp
from .vocab import subject, urgency

SOH, STX, ETX, EOT = "\x01", "\x02", "\x03", "\x04"

CATEGORY_SCHEME = "iptc7901-category"

_CATEGORIES = {
    "s": "sport",
    "sp": "sport",
    "i": "international",
    "f": "economy, business and finance",
    "wi": "economy, business and finance",
    "p": "politics",
    "pl": "politics",
    "e": "arts, culture, entertainment and media",
    "ku": "arts, culture, entertainment and media",
    "vm": "human interest",
}

# The priority is a digit: ANPA 1312 puts a letter there, which is how its headers are told apart.
_HEADER = re.compile(
    # Fields apart by spaces or tabs (teleprinter-era senders use either).
    r"(?P<source>[A-Za-z]{1,8})(?P<number>\d{1,6})[ \t]+(?P<priority>\d)[ \t]+"
    r"(?P<category>[A-Za-z]{1,3})[ \t]+(?P<words>\d{1,6})(?:[ \t][^\x00-\x08\x0a-\x1f\x7f]*)?"
)
_MAX_HEADER_CHARS = 200
# Teleprinter line noise and blank lines that may come before SOH (or before the bare header).
_PREAMBLE = re.compile(r"[\x00\x16\x7f\ufeff \t\n]*")
# Invisible once the frame is split off; C1 controls are Latin-1 bytes cp1252 leaves undefined.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff]")

# cp1252 rather than Latin-1: 0x80-0x9F are never text in Latin-1, but Windows systems send
# curly quotes, dashes and the euro sign there. Its five undefined bytes stay Latin-1.
_WINDOWS_1252 = {
    b: char for b in range(0x80, 0xA0) if (char := bytes([b]).decode("cp1252", errors="ignore"))
}

# A heading longer than this is a body without a heading: its first line is the headline.
_HEADING_LINES = 8

_END_OF_HEADING = re.compile(r"(?:^|[^=])=$")
_BYLINE = re.compile(r"(?:[Bb][Yy]|Von|VON|Par|PAR)\s+\S.{0,200}")
_NUMBER = (
    r"(?:(?P<n>\d{1,2})(?:\s?(?:st|nd|rd|th|er|re|e|ème|\.))?\s*"
    r"|(?P<word>first|second|third|fourth|fifth|sixth)\s+)?"
)
_ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
_LEAD = re.compile(_NUMBER + r"\b(?:lead|ld|zusammenfassung)\b", re.IGNORECASE)
_REVISION = re.compile(
    _NUMBER
    + r"\b(?:refile|corrected|correction|corrects|berichtigung|korrektur|korr|rectificatif"
    + r"|correctif)\b\.?",
    re.IGNORECASE,
)
_NEU = re.compile(r"\(?\s*neu\s*:", re.IGNORECASE)
# Bare "lead" or "correction" in a keyword line may be a topic (lead in water, a market
# correction): there only numbered leads and words that cannot be topics are version words.
_KEYWORD_MARKER = re.compile(
    r"\(?\s*(?:(?:\d{1,2}(?:\s?(?:st|nd|rd|th|er|e|\.))?|first|second|third|fourth|fifth)\s*"
    r"(?:lead|ld|zusammenfassung)|zusammenfassung|refile|korr\.?|korrektur|berichtigung"
    r"|rectificatif|neu\s*:.*)\s*\)?",
    re.IGNORECASE,
)
# Whole label lines only: "withdrawal" or "embargo" inside a headline is news, not a notice.
_KILL = re.compile(
    r"\W*(?:mandatory\s+|story\s+|achtung\s+|meldung\s+)?"
    r"(?:kill|killed|withdrawn|withdrawal|rückruf|zurückgezogen|annulation|annulé|storno)\W*",
    re.IGNORECASE,
)
_EMBARGO = re.compile(
    r"\W*(?:embargo(?:ed)?\s*(?:until|till|bis|jusqu|:|$)|sperrfrist\b|sous embargo\b)",
    re.IGNORECASE,
)

_TRAILER_TIME = re.compile(
    r"(?P<day>\d{2})(?P<hour>\d{2})(?P<minute>\d{2})\s+(?:(?P<zone>[A-Za-z]{1,4})\s+)?"
    r"(?P<month>[^\W\d_]{3,9}\.?)\s+(?P<year>\d{2}|\d{4})"
)
_ZONES = {
    "gmt": "Z",
    "utc": "Z",
    "ut": "Z",
    "z": "Z",
    "cet": "+01:00",
    "mez": "+01:00",
    "hec": "+01:00",
    "cest": "+02:00",
    "mesz": "+02:00",
    "haec": "+02:00",
}
_MONTH_NAMES = {
    # English, German, French, Italian, Spanish, Dutch.
    1: ("january", "januar", "jänner", "janvier", "gennaio", "enero", "januari"),
    2: ("february", "februar", "feber", "février", "febbraio", "febrero", "februari"),
    3: ("march", "märz", "mars", "marzo", "maart"),
    4: ("april", "avril", "aprile", "abril"),
    5: ("may", "mai", "maggio", "mayo", "mei"),
    6: ("june", "juni", "juin", "giugno", "junio"),
    7: ("july", "juli", "juillet", "luglio", "julio"),
    8: ("august", "août", "agosto", "augustus"),
    9: ("september", "septembre", "settembre", "septiembre"),
    10: ("october", "oktober", "octobre", "ottobre", "octubre"),
    11: ("november", "novembre", "noviembre"),
    12: ("december", "dezember", "décembre", "dicembre", "diciembre"),
}
_MONTH_ABBREVIATIONS = {"mrz": 3, "mrt": 3, "sept": 9}

_SEPARATOR = re.compile(r"\*(?:\s*\*){2,}")
_NOTE_HEADING = re.compile(r"#{1,6}\s+\S")
_NOT_FOR_PUBLICATION = re.compile(
    r"(?:the following [\w ]{0,30}? (?:is|are) )?not (?:intended )?for publication"
    r"|[(\-* ]*(?:nicht (?:zur|für die) veröffentlichung|ne pas publier"
    r"|(?:pas|non) (?:destinée?s? à la |pour (?:la )?)publication)",
    re.IGNORECASE,
)
_SIGN_OFFS = (
    re.compile(r"\(\s*[^\W\d_]{2,12}(?:(?:\s*[\\/]+\s*|\s+)[^\W\d_]{1,5})+\s*\)"),
    re.compile(r"[a-z][a-z-]{1,11}(?: [a-z]{1,4}){1,6}"),
)
_DATELINE = re.compile(
    r"(?P<place>[^\W\d_][\w.'\u2019 -]{0,40}?)\s*"
    r"\((?P<credit>[^\W\d_]{2,10}(?:\s*[/ ,]\s*[^\W\d_]{2,10}){0,3})\)\s*(?:[-\u2013\u2014:]\s|\s)"
)
_PLACE_PARTICLES = frozenset(
    {"de", "del", "da", "do", "di", "la", "le", "am", "an", "im", "upon", "sur"}
)

# Function words that are common in one language and rare in the others.
_LANGUAGE_WORDS = {
    language: frozenset(words.split())
    for language, words in {
        "en": "the and of to is that was for with said from has have are were by",
        "de": "der die das und ist nicht mit den dem von sich auf eine des für sagte",
        "fr": "le la les des et est une du que pour dans sur pas au aux ont été qui",
        "it": "il della di che per non sono gli delle nel alla ha anche",
        "es": "el los las del y por con para una fue según",
    }.items()
}
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class _Header:
    source: str
    number: str
    priority: str
    category: str


@dataclass
class _Parts:
    """A message cut along its frame, each part as text lines."""

    keyword_lines: list[str]
    heading: list[str]
    body: list[str]
    trailer: list[str]


@dataclass
class _Heading:
    headline: str | None = None
    byline: str | None = None
    labels: list[str] = field(default_factory=list)  # take, version and genre words
    topics: list[str] = field(default_factory=list)  # "France:" lines


def looks_like_iptc7901(payload: bytes) -> bool:
    """True if the payload opens with an IPTC 7901 header line, after SOH or bare."""
    head = bytes(payload[:1024]).removeprefix(b"\xef\xbb\xbf")
    return _find_header(_newlines(head.decode("latin-1"))) is not None


def parse_iptc7901(payload: bytes, default_tz: str) -> Draft:
    """Read one IPTC 7901 message (the first, if a file holds several) into a draft."""
    text = _newlines(_decode(bytes(payload)))
    found = _find_header(text)
    if found is None:
        raise MalformedPayload(
            "no IPTC 7901 header line (source and number, priority, category, word count)"
        )
    header, start = found
    parts = _cut(text, start)
    heading = _read_heading(parts.heading)
    paragraphs = _paragraphs(_story_lines(parts.body))
    keywords: list[str] = []
    labels = list(heading.labels)
    for line in parts.keyword_lines:
        words, markers = _keyword_parts(line)
        keywords += words
        labels += markers
    written = _trailer_time(parts.trailer)
    stamp = _written_at(written, default_tz)
    return Draft(
        guid=_guid(header, written[0] if written and stamp else None, _slug(keywords)),
        version=_version(labels),
        headline=heading.headline,
        byline=heading.byline,
        body_html=text_to_html("\n\n".join(paragraphs)),
        language=_guess_language(" ".join([heading.headline or "", *paragraphs])),
        pubstatus=_status(labels, paragraphs),
        versioncreated=stamp,
        subjects=_subjects(header.category),
        urgency=urgency(header.priority),
        keywords=keywords + heading.topics,
        located=_located(paragraphs),
    )


def _decode(payload: bytes) -> str:
    """UTF-8 if the whole payload is valid UTF-8, else Windows-1252."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("latin-1").translate(_WINDOWS_1252)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _find_header(text: str) -> tuple[_Header, int] | None:
    """The header, and where the line after it starts."""
    preamble = _PREAMBLE.match(text)
    at = preamble.end() if preamble else 0
    if text.startswith(SOH, at):
        at += 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    line = text[at:end].strip(" \t")
    match = _HEADER.fullmatch(line) if len(line) <= _MAX_HEADER_CHARS else None
    if match is None:
        return None
    header = _Header(
        source=match["source"].lower(),
        number=match["number"],
        priority=match["priority"],
        category=match["category"].lower(),
    )
    return header, end + 1


def _lines(text: str) -> list[str]:
    return [_CONTROL.sub("", line.expandtabs(4)).rstrip() for line in text.split("\n")]


def _cut(text: str, start: int) -> _Parts:
    """Keyword lines, heading, body and trailer: the frame's pieces, whichever are there."""
    end = text.find(EOT, start)
    end = len(text) if end < 0 else end
    etx = text.find(ETX, start, end)
    content = text[start:end] if etx < 0 else text[start:etx]
    trailer = [] if etx < 0 else _lines(text[etx + 1 : end])
    stx = content.find(STX)
    lines = _lines(content if stx < 0 else content[stx + 1 :])
    if etx < 0:
        # A file cut short, or sent without control characters: the time may be the last line.
        last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), None)
        if last is not None and _TRAILER_TIME.fullmatch(lines[last].strip()):
            trailer, lines = lines[last:], lines[:last]
    if stx >= 0:
        keyword_lines = [line.strip() for line in _lines(content[:stx]) if line.strip()]
        heading, body = _heading_after_stx(lines)
    else:
        keyword_lines, heading, body = _heading_without_stx(lines)
    return _Parts(keyword_lines, heading, body, trailer)


def _ends_heading(line: str) -> bool:
    return bool(_END_OF_HEADING.search(line.rstrip()))


def _heading_end(lines: list[str]) -> int | None:
    """Index of the line closing the heading block ("... ="), if one comes early enough."""
    nonblank = [i for i, line in enumerate(lines) if line.strip()][:_HEADING_LINES]
    return next((i for i in nonblank if _ends_heading(lines[i])), None)


def _with_byline_after(lines: list[str], end: int) -> int:
    """A byline right after the "=" line still belongs to the heading."""
    after = end + 1
    if after >= len(lines) or not _BYLINE.fullmatch(lines[after].strip()):
        return end
    if _BYLINE.fullmatch(lines[end].strip()):
        return end
    closes = _ends_heading(lines[after]) or after + 1 >= len(lines) or not lines[after + 1].strip()
    return after if closes else end


def _nonblank(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()]


def _heading_after_stx(lines: list[str]) -> tuple[list[str], list[str]]:
    end = _heading_end(lines)
    if end is None:
        # No end-of-heading marker: the first line that is not a label ("1ST LEAD", "REFILE")
        # is the headline; the labels above it stay labels.
        filled = [i for i, line in enumerate(lines) if line.strip()]
        if not filled:
            return [], []
        at = 0
        while at + 1 < len(filled) and _is_label(lines[filled[at]].strip()):
            at += 1
        end = filled[at]
        return _nonblank(lines[: end + 1]), lines[end + 1 :]
    end = _with_byline_after(lines, end)
    return _nonblank(lines[: end + 1]), lines[end + 1 :]


def _heading_without_stx(lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    end = _heading_end(lines)
    if end is None:
        found = [i for i, line in enumerate(lines) if line.strip()][:2]
        if not found:
            return [], [], []
        if "/" in lines[found[0]] and len(found) > 1:
            return [lines[found[0]].strip()], [lines[found[1]].strip()], lines[found[1] + 1 :]
        return [], [lines[found[0]].strip()], lines[found[0] + 1 :]
    run = end
    while run > 0 and lines[run - 1].strip():
        run -= 1
    keyword_lines = _nonblank(lines[:run])
    if run < end and "/" in lines[run]:
        keyword_lines.append(lines[run].strip())
        run += 1
    end = _with_byline_after(lines, end)
    return keyword_lines, _nonblank(lines[run : end + 1]), lines[end + 1 :]


#: Label and keyword lines are short; a long one is read as text (and never fed to the label
#: patterns, whose cost grows with the line).
MAX_LABEL_CHARS = 120


def _is_label(line: str) -> bool:
    """A line above the headline that is not part of it: version, take or genre words."""
    short = len(line.split()) <= 4 and len(line) <= MAX_LABEL_CHARS
    return bool(
        _NEU.match(line)
        or (short and (_LEAD.search(line) or _REVISION.search(line)))
        or _KILL.fullmatch(line)
        or _EMBARGO.match(line)
        or line.isupper()
        or len(line.split()) == 1
    )


def _is_topic(line: str) -> bool:
    return line.endswith(":") and len(line.split()) <= 4


def _without_end_marker(line: str) -> str:
    """A heading line without its end-of-heading `=` (string methods: a regex anchored at the
    end backtracks over every run of spaces)."""
    return line.rstrip().rstrip("=").strip()


def _read_heading(lines: list[str]) -> _Heading:
    lines = [stripped for line in lines if (stripped := _without_end_marker(line))]
    heading = _Heading()
    if len(lines) > 1 and _BYLINE.fullmatch(lines[-1]):
        heading.byline = lines.pop()
    if not lines:
        return heading
    headline = [lines.pop()]
    # Only lines directly above the headline may continue it; a label ends that.
    while lines and not (_is_label(lines[-1]) or _is_topic(lines[-1])):
        headline.insert(0, lines.pop())
    for line in lines:
        if _is_topic(line):
            heading.topics.append(line.rstrip(":").strip())
        else:
            heading.labels.append(line)
    heading.headline = " ".join(headline)
    return heading


def _keyword_parts(line: str) -> tuple[list[str], list[str]]:
    """A keyword line's keywords ("/politics/Britain/EU/"), and the version words among them."""
    parts = [part.strip() for part in line.split("/") if part.strip()]
    markers = [
        part for part in parts if len(part) <= MAX_LABEL_CHARS and _KEYWORD_MARKER.fullmatch(part)
    ]
    return [part for part in parts if part not in markers], markers


def _slug(keywords: list[str]) -> str:
    """The keywords as one identity: casefolded, spaces as hyphens, joined by "/"."""
    return "/".join(
        "-".join(unicodedata.normalize("NFKC", keyword).casefold().split()) for keyword in keywords
    )


def _ordinal(match: re.Match[str]) -> int:
    if match["n"]:
        return int(match["n"])
    return _ORDINAL_WORDS.get((match["word"] or "").lower(), 1)


def _version(labels: list[str]) -> str:
    """`1 + lead number`, with `.<refile number>` for a correction or refile of it."""
    lead = refile = 0
    for label in (label[:MAX_LABEL_CHARS] for label in labels):
        for match in _LEAD.finditer(label):
            lead = max(lead, _ordinal(match))
        for match in _REVISION.finditer(label):
            refile = max(refile, _ordinal(match))
        if _NEU.match(label):
            refile = max(refile, 1)
    return f"{lead + 1}.{refile}" if refile else str(lead + 1)


def _guid(header: _Header, date: str | None, slug: str) -> str:
    parts = ["iptc7901", header.source, date or "undated", slug or "untitled"]
    if not (date and slug):
        parts.append(f"n{header.number}")
    return ":".join(parts)


def _status(labels: list[str], paragraphs: list[str]) -> PubStatus:
    if any(_KILL.fullmatch(label) for label in labels):
        return "canceled"
    # The embargo's time is free text in the agency's language: held until an editor reads it.
    if any(_EMBARGO.match(label) for label in labels) or (
        paragraphs and _EMBARGO.match(paragraphs[0])
    ):
        return "withheld"
    return "usable"


def _story_lines(lines: list[str]) -> list[str]:
    """The body without the editors' notes that follow it."""
    for i, line in enumerate(lines):
        text = line.strip()
        if _SEPARATOR.fullmatch(text):
            return lines[:i]
        starts_paragraph = i == 0 or not lines[i - 1].strip()
        if starts_paragraph and (
            _NOTE_HEADING.match(text) or (len(text) < 100 and _NOT_FOR_PUBLICATION.match(text))
        ):
            return lines[:i]
    return lines


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _paragraphs(lines: list[str]) -> list[str]:
    """Paragraphs split at blank lines or a deeper indent; hard-wrapped lines joined."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if not filled:
        return []
    lines = lines[filled[0] : filled[-1] + 1]
    starts = [
        i
        for i, line in enumerate(lines)
        if line.strip()
        and (i == 0 or not lines[i - 1].strip() or _indent(line) > _indent(lines[i - 1]))
    ]
    if len(starts) == 1 and max(len(line) for line in lines) > 100:
        # No separators, and lines longer than any wire wraps them: one paragraph a line.
        starts = list(range(len(lines)))
    paragraphs = [
        " ".join(" ".join(lines[start:end]).split())
        for start, end in zip(starts, [*starts[1:], len(lines)], strict=True)
    ]
    if (
        paragraphs
        and len(paragraphs[-1]) <= 60
        and any(sign_off.fullmatch(paragraphs[-1]) for sign_off in _SIGN_OFFS)
    ):
        paragraphs.pop()
    return paragraphs


def _month(token: str) -> int | None:
    name = token.rstrip(".").casefold()
    if name in _MONTH_ABBREVIATIONS:
        return _MONTH_ABBREVIATIONS[name]
    plain = _unaccented(name)
    months = {
        month
        for month, names in _MONTH_NAMES.items()
        for full in names
        if full.startswith(name) or _unaccented(full).startswith(plain)
    }
    return months.pop() if len(months) == 1 else None


def _unaccented(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _written_at(written: tuple[str, str] | None, default_tz: str) -> Stamp | None:
    """The trailer's time, or None when it names no real instant (day 32, 31 November)."""
    if written is None:
        return None
    try:
        return parse_timestamp(written[1], default_tz, field="versioncreated")
    except InvalidField:
        return None


def _trailer_time(lines: list[str]) -> tuple[str, str] | None:
    """The trailer's date (yyyymmdd, as written) and its time as an ISO 8601 string."""
    for line in lines:
        match = _TRAILER_TIME.fullmatch(line.strip())
        if match is None:
            continue
        month = _month(match["month"])
        if month is None:
            # Unread, the story is still read: undated, its identity then takes the message
            # number (a month name we do not know is no reason to lose the story).
            return None
        zone = ""
        if match["zone"]:
            # An unknown zone is read as none: the feed's own zone, flagged as assumed.
            zone = _ZONES.get(match["zone"].lower(), "")
        year = int(match["year"])
        if year < 100:
            year += 1900 if year >= 70 else 2000
        date = f"{year:04d}{month:02d}{match['day']}"
        return (
            date,
            f"{year:04d}-{month:02d}-{match['day']}T{match['hour']}:{match['minute']}{zone}",
        )
    return None


def _subjects(category: str) -> list[Subject]:
    name = _CATEGORIES.get(category)
    return [subject(CATEGORY_SCHEME, category, name)] if name else []


def _located(paragraphs: list[str]) -> str | None:
    """The place of a dateline opening the text: "Luxembourg (dpa) - ..."."""
    if not paragraphs:
        return None
    match = _DATELINE.match(paragraphs[0][:120])
    if match is None:
        return None
    place = match["place"].strip(" ,-")
    words = place.split()
    # A place is capitalised word by word ("Rio de Janeiro"); a sentence before a credit is not.
    if not words or len(words) > 4 or not words[0][:1].isupper():
        return None
    if any(not w[:1].isupper() and w.lower() not in _PLACE_PARTICLES for w in words):
        return None
    return place


def _guess_language(text: str) -> str | None:
    counts = dict.fromkeys(_LANGUAGE_WORDS, 0)
    for word in _WORD.findall(text.casefold()):
        for lang, words in _LANGUAGE_WORDS.items():
            if word in words:
                counts[lang] += 1
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    (best, hits), (_, runner_up) = ranked[0], ranked[1]
    return best if hits >= 8 and hits >= 2 * runner_up else None
