"""Tags that say who, where and what a story is about: a pure, rule-based tagger.

Why rules and gazetteers rather than a statistical NER model: the tagger must install from PyPI,
run offline on a CPU and cost about a millisecond a story. The small spaCy pipeline is not on PyPI
(only unofficial re-uploads are), GLiNER and Flair download their weights from a hub at run time,
and even the small spaCy model costs several milliseconds a story. So:

* places: a gazetteer shipped as data (``data/places.json``: countries, US states, large cities
  and capitals from GeoNames, plus curated aliases such as "U.S." or "Kiev", historical states and
  demonyms such as "Ukrainian", which count at a lower confidence). A city or state also implies
  its country, at a lower confidence.
* people: capitalised-name sequences with a cue: a title or honorific before them ("President",
  "Finance Minister", "Mr"), or a speech verb beside them ("..., said Jane Doe"). Mentions are
  clustered by surname within the story, so "Zelensky", "President Zelensky" and "Volodymyr
  Zelensky" are one tag, named by the longest form seen.
* organisations: a curated list of well-known bodies with acronyms and long forms
  (``data/organisations.json``), name sequences ending in or built on an organisation word
  ("... Corp", "... Ministry", "Bank of ..."), and acronym <-> long-form links within the story
  ("North Atlantic Treaty Organization (NATO)", or an acronym spelling a long form's initials).
* topics: IPTC Media Topics (``data/mediatopics.csv``, CC BY 4.0 IPTC) matched by their labels and
  those of their narrower topics, plus a few curated newswire terms, scored per level-2 topic with
  the level-1 parent added.
* wire subjects: kept as ``subject`` tags and mapped onto Media Topics (IPTC subject codes by their
  top-level code, or by an exact label match; wire Media Topic codes directly).
* keywords: the wire's own keywords, plus a few salient words repeated in headline and body.

Everything is loaded lazily on the first call and cached for the life of the process. Newswire
vocabulary repeats, so what each token means, each capitalised run's entities, name keys and slugs
are memoised too (in bounded LRU caches, about 10 MB when full).
"""

from __future__ import annotations

import csv
import json
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress, count
from operator import itemgetter
from pathlib import Path
from typing import Literal

from services.enrich.stemmer import stem
from shared.models import Subject, Tag

__all__ = ["MEDTOP_SCHEME", "SUBJECT_SCHEME", "slugify_tag", "tag_story"]

TagType = Literal["person", "organisation", "place", "topic", "subject", "keyword"]

DATA_DIR = Path(__file__).with_name("data")
MEDTOP_SCHEME = "http://cv.iptc.org/newscodes/mediatopic/"
SUBJECT_SCHEME = "http://cv.iptc.org/newscodes/subjectcode/"

# --------------------------------------------------------------------------------------------
# Lexical cues
# --------------------------------------------------------------------------------------------

# Words that stand before a person's name and mark it as one.
TITLES = frozenset(
    [
        "president",
        "minister",
        "secretary",
        "chancellor",
        "governor",
        "senator",
        "sen.",
        "rep.",
        "representative",
        "congressman",
        "congresswoman",
        "chairman",
        "chairwoman",
        "chair",
        "chief",
        "ceo",
        "executive",
        "director",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "ambassador",
        "envoy",
        "commissioner",
        "king",
        "queen",
        "prince",
        "princess",
        "pope",
        "emperor",
        "sheikh",
        "sultan",
        "emir",
        "premier",
        "mayor",
        "general",
        "gen.",
        "admiral",
        "colonel",
        "col.",
        "lt.",
        "captain",
        "judge",
        "justice",
        "prosecutor",
        "attorney",
        "lawyer",
        "economist",
        "analyst",
        "professor",
        "prof.",
        "coach",
        "manager",
        "leader",
        "deputy",
        "vice",
        "treasurer",
        "president-elect",
        "candidate",
        "dealer",
        "trader",
        "official",
        "mr",
        "mr.",
        "mrs",
        "mrs.",
        "ms",
        "ms.",
        "dr",
        "dr.",
        "sir",
        "dame",
        "lord",
        "lady",
        "rev.",
        "reverend",
        "father",
        "cardinal",
        "archbishop",
        "bishop",
        "dealers",
        "traders",
    ]
)
# Honorifics are the strongest cue: they only ever stand before a person.
HONORIFICS = frozenset(["mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr.", "sir", "dame"])
# Words inside a title phrase that are not part of the name ("Finance Minister", "State").
OFFICE_WORDS = frozenset(
    [
        "finance",
        "foreign",
        "defence",
        "defense",
        "interior",
        "trade",
        "economy",
        "economic",
        "state",
        "treasury",
        "energy",
        "oil",
        "agriculture",
        "industry",
        "justice",
        "health",
        "education",
        "transport",
        "labour",
        "labor",
        "home",
        "prime",
        "federal",
        "national",
        "general",
        "chief",
        "executive",
        "managing",
        "vice",
        "deputy",
        "senior",
        "former",
        "acting",
        "interim",
        "first",
        "central",
        "bank",
        "reserve",
        "board",
        "group",
        "company",
        "petroleum",
        "mines",
        "mining",
        "commerce",
        "international",
        "monetary",
        "fund",
        "party",
        "opposition",
    ]
)
SPEECH_VERBS = frozenset(
    [
        "said",
        "says",
        "told",
        "added",
        "warned",
        "stated",
        "announced",
        "declared",
        "argued",
        "noted",
        "wrote",
        "insisted",
    ]
)
# Connectors that may sit inside a capitalised name ("Bank of Japan", "Ministry for ...").
CONNECTORS = frozenset(
    [
        "of",
        "for",
        "and",
        "&",
        "the",
        "on",
        "de",
        "del",
        "der",
        "di",
        "du",
        "da",
        "van",
        "von",
        "bin",
        "al",
        "el",
        "la",
        "le",
        "y",
    ]
)
NAME_PARTICLES = frozenset(
    ["de", "del", "der", "di", "du", "da", "van", "von", "bin", "al", "el", "la", "le"]
)
# Connectors that end a name after a title ("Zelensky of Ukraine").
_NAME_ENDS = CONNECTORS - NAME_PARTICLES
# Organisation words: a name sequence containing one is an organisation.
ORG_WORDS = frozenset(
    [
        "bank",
        "ministry",
        "party",
        "council",
        "agency",
        "commission",
        "university",
        "reserve",
        "fund",
        "corp",
        "corp.",
        "corporation",
        "inc",
        "inc.",
        "ltd",
        "ltd.",
        "plc",
        "co",
        "co.",
        "company",
        "group",
        "association",
        "organization",
        "organisation",
        "institute",
        "federation",
        "union",
        "authority",
        "department",
        "board",
        "committee",
        "exchange",
        "airlines",
        "airways",
        "bancorp",
        "holdings",
        "holding",
        "industries",
        "court",
        "parliament",
        "assembly",
        "police",
        "army",
        "navy",
        "foundation",
        "trust",
        "securities",
        "partners",
        "systems",
        "technologies",
        "motors",
        "petroleum",
        "oil",
        "telecom",
        "insurance",
        "international",
        "enterprises",
        "services",
        "financial",
        "capital",
        "investments",
        "brotherhood",
        "front",
        "movement",
        "alliance",
        "league",
        "office",
        "bureau",
        "service",
        "administration",
        "laboratories",
        "pharmaceuticals",
        "energy",
        "mining",
        "resources",
        "chemicals",
        "steel",
        "airline",
        "media",
        "news",
        "network",
        "times",
        "post",
        "journal",
        "club",
        "ag",
        "sa",
        "nv",
        "gmbh",
        "llc",
        "lp",
        "spa",
        "bv",
        "kk",
        "bhd",
    ]
)
LEGAL_SUFFIXES = frozenset(
    [
        "inc",
        "inc.",
        "corp",
        "corp.",
        "co",
        "co.",
        "ltd",
        "ltd.",
        "plc",
        "llc",
        "lp",
        "ag",
        "sa",
        "nv",
        "gmbh",
        "spa",
        "bv",
        "kk",
        "bhd",
        "corporation",
        "limited",
    ]
)
# Capitalised words that begin sentences or are capitalised for other reasons: never a name.
NUMBER_WORDS = frozenset(
    ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
)
DAYS = frozenset(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
MONTHS_DAYS = (
    frozenset(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
    | DAYS
)

STOP_CAPS = (
    frozenset(
        [
            "the",
            "a",
            "an",
            "this",
            "that",
            "these",
            "those",
            "there",
            "here",
            "he",
            "she",
            "it",
            "they",
            "we",
            "you",
            "i",
            "his",
            "her",
            "its",
            "their",
            "our",
            "my",
            "your",
            "in",
            "on",
            "at",
            "by",
            "for",
            "from",
            "with",
            "without",
            "to",
            "of",
            "as",
            "if",
            "when",
            "while",
            "after",
            "before",
            "since",
            "during",
            "but",
            "and",
            "or",
            "nor",
            "so",
            "yet",
            "also",
            "however",
            "meanwhile",
            "earlier",
            "later",
            "last",
            "next",
            "new",
            "some",
            "many",
            "most",
            "more",
            "other",
            "such",
            "all",
            "any",
            "each",
            "every",
            "both",
            "no",
            "not",
            "first",
            "second",
            "third",
            "one-time",
            "what",
            "which",
            "who",
            "whom",
            "whose",
            "where",
            "why",
            "how",
            "because",
            "although",
            "though",
            "unless",
            "until",
            "according",
            "under",
            "over",
            "about",
            "into",
            "through",
            "against",
            "between",
            "among",
            "despite",
            "following",
            "analysts",
            "officials",
            "sources",
            "shares",
            "share",
            "prices",
            "price",
            "revenue",
            "net",
            "profit",
            "loss",
            "sales",
            "earnings",
            "results",
            "year",
            "quarter",
            "qtr",
            "shr",
            "shrs",
            "avg",
            "revs",
            "note",
            "company",
            "mln",
            "billion",
            "dlrs",
            "pct",
            "reuters",
            "ap",
            "afp",
            "today",
            "tomorrow",
            "yesterday",
            "tonight",
            "jan",
            "feb",
            "mar",
            "apr",
            "jun",
            "jul",
            "aug",
            "sep",
            "sept",
            "oct",
            "nov",
            "dec",
            "mon",
            "tue",
            "wed",
            "thu",
            "fri",
            "sat",
            "sun",
            "street",
            "st.",
            "avenue",
            "road",
            "inc.",
            "corp.",
            "ltd.",
            "co.",
            "said",
            "says",
            "told",
            "only",
            "just",
            "even",
            "still",
            "then",
            "thus",
            "now",
            "again",
            "further",
            "like",
            "unlike",
            "please",
            "thank",
            "thanks",
            "yes",
            "oh",
            "well",
            "let",
            "hurricane",
            "storm",
            "typhoon",
            "cyclone",
            "tropical",
            "operation",
            "project",
            "plan",
            "act",
            "bill",
        ]
    )
    | MONTHS_DAYS
    | NUMBER_WORDS
)
# Abbreviations whose final period does not end a sentence.
ABBREVIATIONS = frozenset(
    [
        "mr.",
        "mrs.",
        "ms.",
        "dr.",
        "st.",
        "sen.",
        "rep.",
        "gen.",
        "col.",
        "lt.",
        "rev.",
        "prof.",
        "inc.",
        "corp.",
        "co.",
        "ltd.",
        "jr.",
        "sr.",
        "no.",
        "vs.",
        "etc.",
        "jan.",
        "feb.",
        "mar.",
        "apr.",
        "jun.",
        "jul.",
        "aug.",
        "sep.",
        "sept.",
        "oct.",
        "nov.",
        "dec.",
        "u.s.",
        "u.k.",
        "u.n.",
        "e.u.",
        "d.c.",
        "n.y.",
        "p.m.",
        "a.m.",
    ]
)
NAME_SUFFIXES = frozenset(["jr", "jr.", "sr", "sr.", "ii", "iii", "iv"])

STOPWORDS = (
    frozenset(
        [
            "a",
            "about",
            "above",
            "after",
            "again",
            "against",
            "all",
            "also",
            "am",
            "an",
            "and",
            "any",
            "are",
            "aren't",
            "as",
            "at",
            "be",
            "because",
            "been",
            "before",
            "being",
            "below",
            "between",
            "both",
            "but",
            "by",
            "can",
            "could",
            "did",
            "do",
            "does",
            "doing",
            "down",
            "during",
            "each",
            "few",
            "for",
            "from",
            "further",
            "had",
            "has",
            "have",
            "having",
            "he",
            "her",
            "here",
            "hers",
            "herself",
            "him",
            "himself",
            "his",
            "how",
            "i",
            "if",
            "in",
            "into",
            "is",
            "it",
            "its",
            "itself",
            "just",
            "last",
            "let",
            "me",
            "more",
            "most",
            "my",
            "myself",
            "new",
            "no",
            "nor",
            "not",
            "now",
            "of",
            "off",
            "on",
            "once",
            "only",
            "or",
            "other",
            "our",
            "ours",
            "out",
            "over",
            "own",
            "per",
            "same",
            "she",
            "should",
            "so",
            "some",
            "such",
            "than",
            "that",
            "the",
            "their",
            "theirs",
            "them",
            "themselves",
            "then",
            "there",
            "these",
            "they",
            "this",
            "those",
            "through",
            "to",
            "too",
            "under",
            "until",
            "up",
            "upon",
            "very",
            "was",
            "we",
            "were",
            "what",
            "when",
            "where",
            "which",
            "while",
            "who",
            "whom",
            "why",
            "will",
            "with",
            "would",
            "year",
            "years",
            "you",
            "your",
            "said",
            "says",
            "say",
            "told",
            "would",
            "could",
            "week",
            "weeks",
            "month",
            "months",
            "day",
            "days",
            "also",
            "mln",
            "billion",
            "million",
            "pct",
            "percent",
            "dlrs",
            "dlr",
            "cts",
            "reuter",
            "reuters",
            "inc",
            "corp",
            "co",
            "ltd",
            "plc",
            "company",
            "companies",
            "vs",
            "shr",
            "shrs",
            "net",
            "qtr",
            "quarter",
            "first",
            "second",
            "third",
            "fourth",
            "today",
            "yesterday",
            "tomorrow",
            "time",
            "people",
            "officials",
            "official",
            "including",
            "since",
            "still",
            "made",
            "make",
            "makes",
            "many",
            "much",
            "may",
            "might",
            "must",
            "per",
            "cent",
            "according",
            "against",
            "among",
            "around",
            "back",
            "before",
            "being",
            "between",
            "during",
            "early",
            "end",
            "even",
            "ever",
            "get",
            "got",
            "however",
            "like",
            "made",
            "next",
            "part",
            "put",
            "set",
            "take",
            "taken",
            "took",
            "well",
            "while",
            "within",
            "without",
            "yet",
        ]
    )
    | NUMBER_WORDS
    | DAYS
)

# Curated newswire terms per Media Topic label (level 2 unless noted), on top of the taxonomy's
# own labels. Stemmed at load time; multi-word terms match as phrases.
CURATED_TOPIC_TERMS: dict[str, list[str]] = {
    "government": [
        "parliament",
        "parliamentary",
        "lawmakers",
        "legislature",
        "legislators",
        "cabinet",
        "prime minister",
        "president",
        "senate",
        "congress",
        "mps",
        "ministry",
        "minister",
        "bill",
        "legislation",
        "national assembly",
        "speaker",
        "impeachment",
    ],
    "election": ["election", "vote", "voters", "ballot", "polls", "campaign", "candidate"],
    "political process": ["opposition", "coalition", "ruling party", "political parties"],
    "international relations": [
        "diplomat",
        "diplomatic",
        "summit",
        "ambassador",
        "treaty",
        "sanctions",
        "envoy",
        "foreign minister",
        "bilateral",
    ],
    "weather phenomena": [
        "hurricane",
        "storm",
        "typhoon",
        "cyclone",
        "rainfall",
        "heavy rain",
        "winds",
        "snowstorm",
        "heatwave",
        "tornado",
        "blizzard",
        "tropical storm",
        "landfall",
    ],
    "weather warning": [
        "hurricane warning",
        "storm warning",
        "weather warning",
        "evacuation order",
    ],
    "weather forecast": ["forecast", "forecasters", "meteorologists", "weather service"],
    "disaster": [
        "hurricane",
        "earthquake",
        "flood",
        "flooding",
        "landslide",
        "tsunami",
        "wildfire",
        "eruption",
        "evacuated",
        "evacuation",
        "death toll",
        "devastation",
        "cyclone",
        "typhoon",
        "natural disaster",
        "disaster",
    ],
    "emergency response": ["rescue", "rescuers", "relief", "emergency services", "shelters"],
    "accident and emergency incident": ["crash", "collision", "derailment", "explosion", "fire"],
    "economy": [
        "economy",
        "economic",
        "gdp",
        "gross national product",
        "inflation",
        "recession",
        "trade deficit",
        "trade surplus",
        "interest rates",
        "central bank",
        "budget",
        "exports",
        "imports",
        "tariff",
        "tariffs",
        "money supply",
        "consumer prices",
        "growth",
        "monetary policy",
        "fiscal",
        "trade",
    ],
    "market and exchange": [
        "shares",
        "stock",
        "stocks",
        "futures",
        "traders",
        "bond",
        "bonds",
        "yield",
        "currency",
        "dollar",
        "yen",
        "exchange rate",
        "commodity",
        "commodities",
        "bourse",
        "stock market",
        "prices",
        "market",
        "markets",
        "dealers",
        "sterling",
        "interbank",
        "mark",
        "gold",
    ],
    "business information": [
        "profit",
        "net income",
        "revenue",
        "revenues",
        "earnings",
        "dividend",
        "acquisition",
        "merger",
        "takeover",
        "stake",
        "shareholders",
        "chief executive",
        "subsidiary",
        "sales",
        "net loss",
        "net profit",
        "quarterly",
        "tender offer",
        "acquire",
        "buyout",
    ],
    "economic sector": [
        "oil",
        "crude",
        "gas",
        "energy",
        "mining",
        "agriculture",
        "crops",
        "coffee",
        "cocoa",
        "sugar",
        "grain",
        "wheat",
        "corn",
        "steel",
        "shipping",
        "airline",
        "refinery",
        "copper",
        "aluminium",
        "aluminum",
        "tin",
        "rubber",
        "cotton",
        "soybeans",
        "harvest",
        "exporters",
        "output",
        "production",
        "barrels",
        "tonnes",
        "tons",
        "bags",
        "cattle",
        "livestock",
    ],
    "armed conflict": [
        "war",
        "troops",
        "military",
        "missile",
        "shelling",
        "fighting",
        "soldiers",
        "offensive",
        "invasion",
        "airstrike",
        "drone",
        "frontline",
        "army",
    ],
    "act of terror": ["bombing", "terrorist", "terrorism", "suicide bomber", "militants"],
    "civil unrest": ["protest", "protesters", "demonstrators", "riot", "riots", "unrest"],
    "crime": ["murder", "fraud", "theft", "robbery", "suspect", "arrested", "charged"],
    "judiciary": ["court", "judge", "trial", "verdict", "appeal", "sentenced", "lawsuit"],
    "law enforcement": ["police", "arrest", "investigators", "detectives"],
    "diseases and conditions": [
        "virus",
        "outbreak",
        "disease",
        "cancer",
        "pandemic",
        "infection",
        "epidemic",
    ],
    "employment": ["jobs", "hiring", "workforce", "layoffs", "payrolls"],
    "unemployment": ["unemployment", "jobless", "unemployed"],
    "unions": ["trade union", "strike", "strikes", "walkout", "union"],
    "competition discipline": [
        "football",
        "soccer",
        "tennis",
        "cricket",
        "rugby",
        "basketball",
        "baseball",
        "golf",
        "championship",
        "tournament",
        "league",
        "olympics",
        "match",
        "goals",
    ],
    "climate change": ["climate", "emissions", "carbon", "global warming", "greenhouse"],
    "technology and engineering": [
        "software",
        "technology",
        "semiconductor",
        "chips",
        "internet",
        "artificial intelligence",
        "computer",
        "computers",
    ],
    "mass media": ["newspaper", "broadcaster", "television", "radio", "journalists"],
    "natural resources": ["reserves", "drilling", "exploration", "oilfield"],
    "school": ["school", "schools", "pupils", "teachers"],
    "research": ["study", "researchers", "scientists"],
}

# Label words that carry no topic by themselves once a label is split on commas and "and".
GENERIC_LABEL_PARTS = frozenset(
    [
        "information",
        "sector",
        "process",
        "response",
        "planning",
        "incident",
        "issue",
        "issues",
        "people",
        "values",
        "family",
        "condition",
        "problem",
        "event",
        "events",
        "general",
        "other",
        "affairs",
        "organisation",
        "organization",
        "services",
        "service",
        "industry",
        "institutions",
        "institution",
        "state",
        "policy",
        "rights",
        "law",
        "action",
        "use",
        "standards",
        "relations",
        "activity",
        "communities",
    ]
)


# --------------------------------------------------------------------------------------------
# Slugs
# --------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Accents folded: 'São Paulo' -> 'Sao Paulo', 'Zürich' -> 'Zurich'."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_NON_SLUG = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=1 << 12)
def slugify_tag(type: str, name: str) -> str:
    """A stable, URL-safe slug: ``slugify_tag("place", "Ukraine") == "place-ukraine"``.

    Accents are folded, apostrophes dropped, anything else non-alphanumeric becomes one hyphen.
    """
    text = _fold(name).lower().replace("'", "").replace("\u2019", "")
    body = _NON_SLUG.sub("-", text).strip("-")
    kind = _NON_SLUG.sub("-", type.lower()).strip("-")
    return f"{kind}-{body}" if body else kind


# --------------------------------------------------------------------------------------------
# Data, loaded once
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    name: str
    kind: str  # country | state | city | region
    country: str | None


@dataclass(frozen=True)
class _Topic:
    code: str
    label: str
    level: int
    parent: str | None
    top: str  # level-1 ancestor code
    second: str | None  # level-2 ancestor code (None for level-1 topics)


@dataclass
class _Data:
    # key: folded lowercase phrase, value: (place, strength); strength 1.0 name, <1 demonym.
    places: dict[str, tuple[_Place, float]] = field(default_factory=dict)
    places_exact: dict[str, tuple[_Place, float]] = field(default_factory=dict)
    orgs: dict[str, str] = field(default_factory=dict)  # folded lowercase alias -> name
    orgs_exact: dict[str, str] = field(default_factory=dict)  # acronym (case-sensitive) -> name
    max_ngram: int = 1
    # Every place once, numbered (equal places share a number).
    place_list: list[_Place] = field(default_factory=list)
    place_ids: dict[_Place, int] = field(default_factory=dict)
    # Every leading run of words of a key in places or orgs, and the most words an exact key has:
    # a window of words that is not such a prefix (or short enough) cannot be looked up.
    key_prefixes: set[str] = field(default_factory=set)
    exact_max_words: int = 1
    topics: dict[str, _Topic] = field(default_factory=dict)
    topic_by_label: dict[str, str] = field(default_factory=dict)
    # stemmed phrase -> list of (level-2 or level-1 code, weight)
    topic_terms: dict[tuple[str, ...], list[tuple[str, float]]] = field(default_factory=dict)
    topic_max_len: int = 1
    # Every leading part of a term in topic_terms, so a scan stops as soon as no term can match.
    topic_prefixes: set[tuple[str, ...]] = field(default_factory=set)
    topic_starts: set[str] = field(default_factory=set)
    # Acronyms an all-capitals headline keeps as they are.
    keep_caps: frozenset[str] = frozenset()


_DATA: _Data | None = None
_LOCK = threading.Lock()


def _is_acronym(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters) and len(letters) <= 6


def _load() -> _Data:
    global _DATA
    if _DATA is not None:
        return _DATA
    with _LOCK:
        if _DATA is None:
            _DATA = _build()
    return _DATA


@lru_cache(maxsize=1 << 13)
def _key(text: str) -> str:
    return " ".join(_fold(text).lower().split())


def _build() -> _Data:
    data = _Data()
    raw = json.loads((DATA_DIR / "places.json").read_text(encoding="utf-8"))
    strength_of = {"country": 1.0, "state": 1.0, "city": 1.0, "region": 1.0}
    for entry in raw["places"]:
        place = _Place(entry["name"], entry["kind"], entry.get("country"))
        strength = strength_of[place.kind]
        names = [(entry["name"], strength)] + [(a, strength) for a in entry["aliases"]]
        names += [(d, 0.7) for d in entry.get("demonyms", [])]
        for name, s in names:
            index = data.places_exact if _is_acronym(name) and len(name) <= 4 else data.places
            key = name if index is data.places_exact else _key(name)
            current = index.get(key)
            # Countries beat cities and states of the same name; names beat demonyms.
            if current is None or _place_rank(place, s) > _place_rank(*current):
                index[key] = (place, s)
            data.max_ngram = max(data.max_ngram, len(name.split()))
    orgs = json.loads((DATA_DIR / "organisations.json").read_text(encoding="utf-8"))
    for entry in orgs["organisations"]:
        data.orgs[_key(entry["name"])] = entry["name"]
        for alias in entry["aliases"]:
            data.orgs[_key(alias)] = entry["name"]
            data.max_ngram = max(data.max_ngram, len(alias.split()))
        for acronym in entry["acronyms"]:
            data.orgs_exact[acronym] = entry["name"]
    data.keep_caps = frozenset(data.orgs_exact) | frozenset(data.places_exact)
    for place, _ in (*data.places.values(), *data.places_exact.values()):
        if place not in data.place_ids:
            data.place_ids[place] = len(data.place_list)
            data.place_list.append(place)
    for key in (*data.places, *data.orgs):
        parts = key.split(" ")
        data.key_prefixes.update(" ".join(parts[:k]) for k in range(1, len(parts) + 1))
    data.exact_max_words = 1 + max((k.count(" ") for k in data.keep_caps), default=0)
    _build_topics(data)
    return data


def _place_rank(place: _Place, strength: float) -> tuple[float, int]:
    return (strength, {"country": 3, "state": 1, "city": 2, "region": 0}[place.kind])


# Words without trailing apostrophes or hyphens (as "[a-z][a-z'-]*" with them stripped).
_WORD = re.compile(r"[a-z][a-z'-]*(?<=[a-z])")


def _stems(text: str) -> tuple[str, ...]:
    return tuple(map(stem, _WORD.findall(_fold(text).lower())))


def _build_topics(data: _Data) -> None:
    rows = list(csv.DictReader((DATA_DIR / "mediatopics.csv").open(encoding="utf-8")))
    parent_of = {r["code"]: (r["parent"] or None) for r in rows}
    for r in rows:
        if r["retired"]:
            continue
        chain = [r["code"]]
        while (p := parent_of.get(chain[-1])) is not None and p not in chain:
            chain.append(p)  # (one row, "Freemasonry", names itself as its parent)
        top = chain[-1]
        second = chain[-2] if len(chain) >= 2 else None
        if int(r["level"]) != len(chain):
            continue  # inconsistent row: skip rather than misfile
        parent = chain[1] if len(chain) > 1 else None
        topic = _Topic(r["code"], r["label_en"], int(r["level"]), parent, top, second)
        data.topics[topic.code] = topic
        data.topic_by_label.setdefault(topic.label.lower(), topic.code)

    def add(phrase: str, code: str, weight: float) -> None:
        stems = _stems(phrase)
        if not stems or (len(stems) == 1 and len(stems[0]) < 3):
            return
        bucket = data.topic_terms.setdefault(stems, [])
        if all(c != code for c, _ in bucket):
            bucket.append((code, weight))
        data.topic_max_len = max(data.topic_max_len, len(stems))
        data.topic_prefixes.update(stems[:k] for k in range(1, len(stems) + 1))
        data.topic_starts.add(stems[0])

    for topic in data.topics.values():
        target = topic.second or topic.code
        weight = 1.0 if topic.level >= 2 else 0.5
        parts = [topic.label]
        for piece in re.split(r",\s*|\s+and\s+", topic.label):
            if piece and piece.lower() not in GENERIC_LABEL_PARTS and piece != topic.label:
                parts.append(piece)
        for part in parts:
            add(part, target, weight)
    level2 = {t.label.lower(): t.code for t in data.topics.values() if t.level == 2}
    for label, terms in CURATED_TOPIC_TERMS.items():
        code = level2.get(label)
        if code is None:
            continue
        for term in terms:
            add(term, code, 1.0)


# --------------------------------------------------------------------------------------------
# Tokens and capitalised runs
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    # Tuned for speed; the same tokens as the plainer
    # r"(?:[A-Za-z]\.){2,}|[^\W\d_](?:[\w&'\u2019-]*\w)?\.?|\d[\d.,:]*|[^\w\s]".
    r"[A-Za-z][a-z]*+(?![\w&'\u2019.-])"  # a plain word: most tokens, matched cheaply
    r"|[A-Za-z]\.[A-Za-z]\.(?:[A-Za-z]\.)*"  # U.S., U.K., D.C.
    r"|[^\W\d_][\w&'\u2019-]*(?<=\w)\.?"  # words, with a possible trailing period
    r"|\d[\d.,:]*"  # numbers
    r"|[^\w\s]"  # punctuation, one char at a time
)


# What a token means for the capitalised runs: (text, code, speech verb, speech verb that does
# not end a sentence). Codes: C capitalised word, E one ending a sentence, K connector, o other.
_TokInfo = tuple[str, str, bool, bool]


def _tok_info(raw: str, shout: bool, keep_caps: frozenset[str]) -> _TokInfo:
    ch = raw[0]
    if not ch.isalpha():
        # Never capitalised; "&" is still a connector.
        ends = raw in ".!?"
        text = raw
        cap = False
    else:
        # A token starting with a letter never strips down to nothing.
        ends = False
        word = raw
        if word.endswith(".") and word.lower() not in ABBREVIATIONS and word.count(".") == 1:
            word = word[:-1]
            ends = True
        for poss in ("'s", "\u2019s"):
            if word.endswith(poss):
                word = word[: -len(poss)]
        word = word.rstrip("'\u2019")
        if shout and word.isupper() and word not in keep_caps:
            word = word.capitalize() if len(word) > 1 else word
        text = word
        cap = word[0].isupper()
    lower = text.lower()
    if cap:
        code = "E" if ends else "C"
    elif lower in CONNECTORS:
        code = "K"
    else:
        code = "o"
    verb = lower in SPEECH_VERBS
    return (text, code, verb, verb and not ends)


# Newswire vocabularies are Zipfian: most tokens of a story were seen in earlier ones.
@lru_cache(maxsize=1 << 14)
def _plain_tok(raw: str) -> _TokInfo:
    return _tok_info(raw, False, frozenset())


def _tokens(
    text: str, shout: bool = False, keep_caps: frozenset[str] = frozenset()
) -> list[_TokInfo]:
    raws = _TOKEN.findall(text)
    if shout:
        return [_tok_info(raw, True, keep_caps) for raw in raws]
    return list(map(_plain_tok, raws))


# A run: a capitalised word, then capitalised words and connectors followed by one, ending at
# (and including) a word that ends a sentence. Same as scanning the tokens one by one.
_RUN = re.compile(r"E|C(?:C|K(?=[CE]))*E?")
_END_OF_HEADLINE: _TokInfo = (".", "o", False, False)


# --------------------------------------------------------------------------------------------
# Entity collection
# --------------------------------------------------------------------------------------------


@dataclass
class _Person:
    tokens: tuple[str, ...]
    strength: float
    mentions: int = 1
    headline: bool = False


@dataclass
class _Found:
    name: str
    strength: float
    mentions: int = 1
    headline: bool = False


@dataclass
class _Story:
    data: _Data
    places: dict[_Place, _Found] = field(default_factory=dict)
    orgs: dict[str, _Found] = field(default_factory=dict)
    people: list[_Person] = field(default_factory=list)
    singles: list[tuple[str, bool]] = field(default_factory=list)  # (word, in_headline)
    acronyms: list[tuple[str, bool]] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)  # lowercased words used by entities

    def add_place(self, place: _Place, strength: float, headline: bool) -> None:
        found = self.places.get(place)
        if found is None:
            self.places[place] = _Found(place.name, strength, 1, headline)
        else:
            found.strength = max(found.strength, strength)
            found.mentions += 1
            found.headline |= headline

    def add_org(self, name: str, strength: float, headline: bool) -> None:
        key = _key(name)
        found = self.orgs.get(key)
        if found is None:
            self.orgs[key] = _Found(name, strength, 1, headline)
        else:
            found.strength = max(found.strength, strength)
            found.mentions += 1
            found.headline |= headline
            if len(name) > len(found.name) and strength >= found.strength:
                found.name = name


@dataclass
class _Recorder:
    """What capitalised runs add to a story, in order: a run's entities depend only on its words
    and cues, so a run seen before replays its effects instead of being analysed again."""

    data: _Data
    places: list[tuple[_Place, float, bool]] = field(default_factory=list)
    orgs: list[tuple[str, float, bool]] = field(default_factory=list)
    people: list[_Person] = field(default_factory=list)
    singles: list[tuple[str, bool]] = field(default_factory=list)
    acronyms: list[tuple[str, bool]] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)

    def add_place(self, place: _Place, strength: float, headline: bool) -> None:
        self.places.append((place, strength, headline))

    def add_org(self, name: str, strength: float, headline: bool) -> None:
        self.orgs.append((name, strength, headline))


# A run's effects, as plain tuples of strings and numbers (places by number): once cached they
# are nothing the garbage collector has to scan.
_Effects = tuple[
    tuple[tuple[int, float, bool], ...],  # places
    tuple[tuple[str, float, bool], ...],  # organisations
    tuple[tuple[tuple[str, ...], float, int, bool], ...],  # people
    tuple[tuple[str, bool], ...],  # singles
    tuple[tuple[str, bool], ...],  # acronyms
    tuple[str, ...],  # consumed
]


def _apply(effects: _Effects, story: _Story) -> None:
    places, orgs, people, singles, acronyms, consumed = effects
    # Each kind keeps its own order; nothing reads one kind while adding another.
    place_list = story.data.place_list
    for index, strength, headline in places:
        story.add_place(place_list[index], strength, headline)
    for name, strength, headline in orgs:
        story.add_org(name, strength, headline)
    for tokens, strength, mentions, headline in people:
        story.people.append(_Person(tokens, strength, mentions, headline))
    story.singles += singles
    story.acronyms += acronyms
    story.consumed.update(consumed)


@lru_cache(maxsize=1 << 12)
def _run_effects(
    words: tuple[str, ...], headline: bool, shout: bool, speech_before: bool, speech_after: bool
) -> _Effects:
    data = _load()
    out = _Recorder(data)
    _analyse_run(out, list(words), headline, shout, speech_before, speech_after)
    return (
        tuple((data.place_ids[place], strength, h) for place, strength, h in out.places),
        tuple(out.orgs),
        tuple((p.tokens, p.strength, p.mentions, p.headline) for p in out.people),
        tuple(out.singles),
        tuple(out.acronyms),
        tuple(out.consumed),
    )


def _lookup(data: _Data, words: Sequence[str]) -> tuple[str, object, float] | None:
    """A known place or organisation spelled exactly by ``words``."""
    text = " ".join(words)
    if text in data.orgs_exact:
        return ("org", data.orgs_exact[text], 0.85)
    if text in data.places_exact:
        place, s = data.places_exact[text]
        return ("place", place, s)
    key = _key(text)
    if key in data.orgs:
        return ("org", data.orgs[key], 0.85)
    if key in data.places:
        place, s = data.places[key]
        return ("place", place, s)
    return None


def _segment_known(story: _Recorder, words: list[str], headline: bool, factor: float) -> list[str]:
    """Greedy longest-match of known places/orgs in ``words``; returns leftover blocks joined."""
    data = story.data
    leftovers: list[str] = []
    block: list[str] = []
    i, n = 0, len(words)
    keys = list(map(_key, words))
    while i < n:
        hit = None
        for length in range(_reach(data, keys, i, min(data.max_ngram, n - i)), 0, -1):
            found = _lookup(data, words[i : i + length])
            if found is not None:
                hit = (length, found)
                break
        if hit is None:
            block.append(words[i])
            i += 1
            continue
        if block:
            leftovers.append(" ".join(block))
            block = []
        length, (kind, value, strength) = hit
        if kind == "org":
            assert isinstance(value, str)
            story.add_org(value, strength * factor, headline)
        else:
            assert isinstance(value, _Place)
            story.add_place(value, strength * factor, headline)
        story.consumed.update(w.lower() for w in words[i : i + length])
        i += length
    if block:
        leftovers.append(" ".join(block))
    return leftovers


def _reach(data: _Data, keys: list[str], i: int, top: int) -> int:
    """How many words from ``i`` (at most ``top``) could name something known: no longer window
    can. The keys of the words, joined, are the key of the words joined, unless one is empty."""
    window = keys[i : i + top]
    if not all(window):
        return top
    reach = 0
    chain = ""
    for k, key in enumerate(window):
        chain = f"{chain} {key}" if k else key
        if chain not in data.key_prefixes:
            break
        reach = k + 1
    return min(top, max(reach, data.exact_max_words))


def _strip_legal(words: list[str]) -> list[str]:
    while len(words) > 1 and words[-1].lower().rstrip(",") in LEGAL_SUFFIXES:
        words = words[:-1]
    return words


def _looks_like_name(words: Sequence[str]) -> bool:
    for w in words:
        lw = w.lower()
        if lw in NAME_PARTICLES:
            continue
        if lw in STOP_CAPS or lw in ORG_WORDS or lw in TITLES or lw in OFFICE_WORDS:
            return False
        if not w[0].isupper() or any(c.isdigit() for c in w):
            return False
        if w.isupper() and len(w) > 2 and "." not in w:  # an acronym, not a name
            return False
    return True


def _analyse_run(
    story: _Recorder,
    words: list[str],
    headline: bool,
    shout: bool,
    speech_before: bool,
    speech_after: bool,
) -> None:
    """One capitalised run; ``speech_*``: a speech verb stands beside it ("..., said Jane Doe")."""
    if not words:
        return
    data = story.data
    # Leading sentence-openers, months and the like are not part of any name.
    while words and words[0].lower() in STOP_CAPS and _lookup(data, words) is None:
        words = words[1:]
    if not words:
        return
    # Split at month and day names ("Monday President Ruto ...").
    for k, w in enumerate(words):
        if k and w.lower() in MONTHS_DAYS:
            _analyse_run(story, words[:k], headline, shout, speech_before, False)
            _analyse_run(story, words[k + 1 :], headline, shout, False, speech_after)
            return
    # Trailing connector left over (shouldn't happen) or trailing stop word.
    whole = _lookup(data, words)
    if whole is not None:
        _segment_known(story, words, headline, 1.0)
        return

    lower = [w.lower() for w in words]
    # 1. A title cue: the name is the block after the last title or office word.
    title_at = max((k for k, w in enumerate(lower) if w in TITLES), default=-1)
    if title_at >= 0 and title_at < len(words) - 1:
        name_start = title_at + 1
        while name_start < len(words) and (
            lower[name_start] in OFFICE_WORDS
            or lower[name_start] in _NAME_ENDS
            or lower[name_start] in TITLES
        ):
            name_start += 1
        name = words[name_start:]
        # The name ends before a connector such as "of": "Zelensky of Ukraine".
        for k, w in enumerate(name):
            if w.lower() in _NAME_ENDS:
                rest = name[k + 1 :]
                name = name[:k]
                if rest:
                    _segment_known(story, rest, headline, 0.9)
                break
        if name and _looks_like_name(name) and len(name) <= 4:
            honorific = lower[title_at] in HONORIFICS
            known = _lookup(data, name)
            if known is None or honorific:
                story.people.append(_Person(tuple(name), 0.8 if honorific else 0.75, 1, headline))
                story.consumed.update(w.lower() for w in name)
                pre = words[:title_at]
                if pre:
                    _analyse_org_or_known(story, pre, headline)
                return
    # 2. An organisation word: the whole run is an organisation.
    if _analyse_org_or_known(story, words, headline, explicit_only=True):
        return
    # 3. Known places and organisations inside; the rest may be a person with a speech cue.
    leftovers = _segment_known(story, words, headline, 1.0)
    speech = speech_after or speech_before
    for block in leftovers:
        parts = block.split()
        if len(parts) == 1:
            word = parts[0]
            if _is_acronym(word) and len(word) >= 2 and word.isupper():
                story.acronyms.append((word, headline))
            elif speech and not shout and _looks_like_name(parts) and len(leftovers) == 1:
                story.people.append(_Person(tuple(parts), 0.45, 1, headline))
            else:
                story.singles.append((word, headline))
            continue
        if 2 <= len(parts) <= 4 and not shout and _looks_like_name(parts):
            strength = 0.62 if speech else 0.4
            story.people.append(_Person(tuple(parts), strength, 1, headline))


def _analyse_org_or_known(
    story: _Recorder, words: list[str], headline: bool, explicit_only: bool = False
) -> bool:
    """Record an organisation if ``words`` name one by an organisation word; else known names."""
    lower = [w.lower() for w in words]
    org_at = [k for k, w in enumerate(lower) if w in ORG_WORDS]
    if org_at and len(words) >= 2:
        name_words = _strip_legal(list(words))
        legal = len(name_words) < len(words)
        # Places inside an organisation's name count, more weakly ("Bank of Japan").
        inner = [w for w in name_words if w.lower() not in ORG_WORDS]
        if inner:
            _segment_known(story, inner, headline, 0.75)
        known = _lookup(story.data, name_words)
        if known is not None and known[0] == "org":
            assert isinstance(known[1], str)
            story.add_org(known[1], 0.85, headline)
        else:
            story.add_org(" ".join(name_words), 0.75 if legal else 0.65, headline)
        story.consumed.update(lower)
        return True
    if explicit_only:
        return False
    _segment_known(story, words, headline, 1.0)
    return True


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def _confidence(base: float, mentions: int, headline: bool) -> float:
    bonus = min(0.15, 0.05 * (mentions - 1)) + (0.1 if headline else 0.0)
    return round(min(0.98, base + bonus), 3)


def _people_tags(story: _Story) -> list[tuple[str, float]]:
    clusters: dict[str, _Person] = {}
    order: list[str] = []
    # Longest names first, so that "Zelensky" joins "Volodymyr Zelensky".
    for person in sorted(story.people, key=lambda p: -len(p.tokens)):
        toks = [t for t in person.tokens if t.lower() not in NAME_SUFFIXES] or list(person.tokens)
        surname = _key(toks[-1])
        first = _key(toks[0]) if len(toks) > 1 else None
        key = surname
        if first is not None and surname in clusters:
            other = clusters[surname].tokens
            if len(other) > 1 and _key(other[0])[:1] != first[:1]:
                key = f"{first} {surname}"  # a different person with the same surname
        found = clusters.get(key)
        if found is None:
            clusters[key] = _Person(tuple(toks), person.strength, 1, person.headline)
            order.append(key)
        else:
            found.mentions += 1
            found.strength = max(found.strength, person.strength)
            found.headline |= person.headline
    # Bare surnames elsewhere in the story are further mentions.
    for word, headline in story.singles:
        found = clusters.get(_key(word))
        if found is not None:
            found.mentions += 1
            found.headline |= headline
    org_firsts = {_key(f.name.split()[0]) for f in story.orgs.values() if f.name.split()}
    out = []
    for key in order:
        p = clusters[key]
        base = p.strength + (0.05 if len(p.tokens) > 1 else 0.0)
        if p.strength < 0.5 and len(p.tokens) == 1:
            continue  # "Chrysler said": a lone word beside a speech verb is usually a company
        if _key(p.tokens[0]) in org_firsts:
            continue  # "Caesars World" seen as an organisation elsewhere in the story
        if p.strength < 0.5 and p.mentions >= 2:
            base += 0.1  # a name-shaped phrase repeated is probably a name
        out.append((" ".join(p.tokens), _confidence(base, p.mentions, p.headline)))
    return out


def _initials(name: str) -> str:
    return "".join(
        w[0].upper() for w in name.split() if w.lower() not in CONNECTORS and w[0].isalpha()
    )


def _org_tags(story: _Story) -> list[tuple[str, float]]:
    orgs = story.orgs
    by_initials = {_initials(f.name): f for f in orgs.values() if len(f.name.split()) >= 2}
    for acronym, headline in story.acronyms:
        letters = acronym.replace(".", "").replace("&", "")
        found = by_initials.get(letters)
        if found is None:
            found = orgs.get(_key(acronym))
        if found is not None:
            found.mentions += 1
            found.headline |= headline
        elif acronym not in story.data.places_exact and len(letters) >= 3:
            story.add_org(acronym, 0.42, headline)
    # A company's short name repeated ("Texaco Inc ... Texaco said").
    firsts: dict[str, _Found] = {}
    for f in orgs.values():
        words = f.name.split()
        if len(words) >= 2 and words[0].lower() not in ORG_WORDS and words[0][0].isupper():
            firsts.setdefault(_key(words[0]), f)
    for word, headline in story.singles:
        found = firsts.get(_key(word))
        if found is not None:
            found.mentions += 1
            found.headline |= headline
    return [(f.name, _confidence(f.strength, f.mentions, f.headline)) for f in orgs.values()]


def _place_tags(story: _Story) -> list[tuple[str, float]]:
    base_of = {"country": 0.8, "state": 0.75, "city": 0.75, "region": 0.6}
    scores: dict[str, float] = {}
    us = any(p.name == "United States" for p in story.places)
    for place, found in story.places.items():
        base = base_of[place.kind] if found.strength >= 1.0 else 0.55 * found.strength / 0.7
        if found.strength < 1.0:
            base = min(base_of[place.kind], 0.55 * found.strength / 0.7)
        conf = _confidence(base, found.mentions, found.headline)
        name = place.name
        if name == "Georgia" and us:
            name = "Georgia (U.S. state)"
        scores[name] = max(scores.get(name, 0.0), conf)
        if place.kind in ("city", "state") and place.country:
            implied = round(conf - 0.15, 3)
            scores[place.country] = max(scores.get(place.country, 0.0), implied)
    return list(scores.items())


def _topic_scores(data: _Data, headline: str, body: str) -> dict[str, float]:
    counts: dict[str, dict[tuple[str, ...], float]] = {}
    terms = data.topic_terms
    prefixes = data.topic_prefixes
    starts = data.topic_starts.__contains__
    max_len = data.topic_max_len
    for text, weight in ((headline, 2.0), (body, 1.0)):
        stems = _stems(text)
        n = len(stems)
        # Only where a term can begin: most words begin none.
        for i in compress(count(), map(starts, stems)):
            for end in range(i + 1, min(i + max_len, n) + 1):
                phrase = stems[i:end]
                if phrase not in prefixes:
                    break
                bucket = terms.get(phrase)
                if bucket is None:
                    continue
                for code, w in bucket:
                    per = counts.get(code)
                    if per is None:
                        per = counts[code] = {}
                    per[phrase] = per.get(phrase, 0.0) + weight * w
    scores: dict[str, float] = {}
    for code, per in counts.items():
        scores[code] = sum(1.0 + math.log(c) if c >= 1 else c for c in per.values())
    return scores


def _topic_tags(data: _Data, headline: str, body: str) -> list[tuple[str, float]]:
    """(code, confidence) for the level-2 topics the text is most about, with their parents."""
    scores = _topic_scores(data, headline, body)
    level2 = {c: s for c, s in scores.items() if data.topics[c].level == 2}
    ranked = sorted(level2.items(), key=lambda kv: -kv[1])
    out: dict[str, float] = {}
    if ranked:
        best = ranked[0][1]
        for code, score in ranked[:3]:
            if score < 2.0 or score < 0.5 * best:
                break
            conf = round(min(0.95, 0.35 + 0.12 * score), 3)
            out[code] = conf
            top = data.topics[code].top
            top_score = scores.get(top, 0.0)
            out[top] = max(out.get(top, 0.0), round(min(0.97, conf + 0.03 * top_score), 3))
    return list(out.items())


# --------------------------------------------------------------------------------------------
# Wire subjects
# --------------------------------------------------------------------------------------------

_DIGITS = re.compile(r"(\d{8})")


def _subject_kind(subject: Subject) -> tuple[str, str | None]:
    """('medtop'|'subj'|'other', 8-digit code or None)."""
    scheme = (subject.scheme or "").lower()
    code = subject.code or ""
    m = _DIGITS.search(code)
    digits = m.group(1) if m else None
    if "mediatopic" in scheme or "medtop" in scheme or code.lower().startswith("medtop"):
        return ("medtop", digits)
    if "subj" in scheme or code.lower().startswith("subj"):
        return ("subj", digits)
    if digits is not None and not scheme:
        return ("medtop" if digits.startswith("20") else "subj", digits)
    return ("other", digits)


def _subject_tags(data: _Data, subjects: Iterable[Subject]) -> tuple[list[Tag], dict[str, float]]:
    tags: list[Tag] = []
    mapped: dict[str, float] = {}
    for subject in subjects:
        kind, digits = _subject_kind(subject)
        name = subject.name
        target: str | None = None
        if kind == "medtop" and digits in data.topics:
            target = digits
            name = data.topics[digits].label
        elif kind == "subj" and digits is not None:
            top = digits[:2] + "000000"
            label_hit = data.topic_by_label.get((subject.name or "").lower())
            target = label_hit or (top if top in data.topics else None)
        elif subject.name:
            target = data.topic_by_label.get(subject.name.lower())
        if not name:
            name = subject.code or ""
        if not name:
            continue
        tags.append(
            Tag(
                type="subject",
                name=name,
                slug=slugify_tag("subject", name),
                code=subject.code,
                scheme=subject.scheme,
                confidence=1.0,
            )
        )
        if target is not None:
            topic = data.topics[target]
            for code in {topic.code, topic.top, topic.second}:
                if code is not None:
                    mapped[code] = 0.95 if code == topic.code else max(mapped.get(code, 0), 0.9)
    return tags, mapped


# --------------------------------------------------------------------------------------------
# Keywords
# --------------------------------------------------------------------------------------------

_KEYWORD = re.compile(r"[A-Za-z][a-z]{3,}")


def _keyword_tags(headline: str, body: str, consumed: set[str]) -> list[tuple[str, float]]:
    wanted = {w.lower() for w in _KEYWORD.findall(headline)} - STOPWORDS - consumed
    if not wanted:
        return []  # (an all-capitals headline has no candidates)
    counts = Counter(filter(wanted.__contains__, map(str.lower, _KEYWORD.findall(body))))
    ranked = sorted(((c, w) for w, c in counts.items() if c >= 2), key=lambda cw: (-cw[0], cw[1]))
    return [(w, round(min(0.75, 0.45 + 0.05 * c), 3)) for c, w in ranked[:5]]


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _entities(data: _Data, headline: str, body_text: str) -> _Story:
    story = _Story(data)
    letters = [c for c in headline if c.isalpha()]
    shout = bool(letters) and sum(c.isupper() for c in letters) > 0.8 * len(letters)
    tokens = _tokens(headline, shout, data.keep_caps)
    n_head = len(tokens)
    tokens.append(_END_OF_HEADLINE)
    tokens += _tokens(body_text)
    n = len(tokens)
    for m in _RUN.finditer("".join(map(itemgetter(1), tokens))):
        start, end = m.span()
        headline_run = start < n_head
        effects = _run_effects(
            tuple([t[0] for t in tokens[start:end]]),
            headline_run,
            shout and headline_run,
            start > 0 and tokens[start - 1][3],
            end < n and tokens[end][2],
        )
        _apply(effects, story)
    return story


def tag_story(
    headline: str,
    body_text: str,
    wire_subjects: list[Subject],
    keywords: Sequence[str] = (),
    min_confidence: float = 0.5,
) -> list[Tag]:
    """Tags for one story: people, organisations, places, topics, wire subjects and keywords.

    Tags below ``min_confidence`` are dropped; a slug appears at most once (highest confidence).
    Order: people, organisations, places, topics, subjects, keywords; by confidence within each.
    """
    data = _load()
    story = _entities(data, headline or "", body_text or "")
    best: dict[str, Tag] = {}

    def put(
        kind: TagType, name: str, conf: float, code: str | None = None, scheme: str | None = None
    ) -> None:
        if conf < min_confidence or not name.strip():
            return
        slug = slugify_tag(kind, name)
        current = best.get(slug)
        if current is None or conf > current.confidence:
            best[slug] = Tag(
                type=kind, name=name, slug=slug, code=code, scheme=scheme, confidence=conf
            )

    people = _people_tags(story)
    person_words = {w.lower() for name, _ in people for w in name.split()}
    for name, conf in people:
        put("person", name, conf)
    for name, conf in _org_tags(story):
        put("organisation", name, conf)
    for name, conf in _place_tags(story):
        if name.lower() in person_words and conf < 0.8:
            continue  # "Jordan" as a person's name, not the country
        put("place", name, conf)
    subject_tags, mapped = _subject_tags(data, wire_subjects)
    topics = dict(_topic_tags(data, headline or "", body_text or ""))
    for code, conf in mapped.items():
        topics[code] = max(topics.get(code, 0.0), conf)
    for code, conf in topics.items():
        topic = data.topics[code]
        put("topic", topic.label, conf, f"medtop:{code}", MEDTOP_SCHEME)
    for tag in subject_tags:
        current = best.get(tag.slug)
        if current is None:
            best[tag.slug] = tag
    seen_kw: set[str] = set()
    for kw in keywords:
        kw = " ".join(kw.split())
        if kw and kw.lower() not in seen_kw:
            seen_kw.add(kw.lower())
            put("keyword", kw, 1.0)
    consumed = story.consumed | person_words
    for word, conf in _keyword_tags(headline or "", body_text or "", consumed):
        if word not in seen_kw:
            put("keyword", word, conf)
    order = {"person": 0, "organisation": 1, "place": 2, "topic": 3, "subject": 4, "keyword": 5}
    return sorted(best.values(), key=lambda t: (order[t.type], -t.confidence, t.slug))
