"""The gazetteers, loaded once: places (`data/places.json`) and organisations
(`data/organisations.json`), indexed for the lookups a capitalised run needs.

Acronyms ("US", "NATO") are indexed as written, everything else by its folded lowercase key, so
"Kyiv", "KYIV" and "Kyïv" meet but "US" is never "us".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from services.enrich.text import DATA_DIR, fold

T = TypeVar("T")

# How strongly a name in the gazetteer says "this place": its own name or an alias fully...
NAME = 1.0
# ... a demonym less so ("Ukrainian officials" may be speaking anywhere).
DEMONYM = 0.7

# When two places share a name: countries before cities before states before regions
# ("Georgia" the country, "Washington" the city, "New York" the city).
_KIND_RANK = {"country": 3, "state": 1, "city": 2, "region": 0}


def load_once(build: Callable[[], T]) -> Callable[[], T]:
    """``build()`` on the first call, from any thread; its result, without a lock, after it."""
    lock = threading.Lock()
    built: list[T] = []

    def get() -> T:
        if built:
            return built[0]
        with lock:
            if not built:
                built.append(build())
        return built[0]

    return get


@lru_cache(maxsize=1 << 13)
def key(text: str) -> str:
    """How a name is looked up: accents folded, lowercase, whitespace collapsed."""
    return " ".join(fold(text).lower().split())


def is_acronym(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters) and len(letters) <= 6


@dataclass(frozen=True)
class Place:
    name: str
    kind: str  # country | state | city | region
    country: str | None


@dataclass
class Gazetteer:
    # key: folded lowercase phrase, value: (place, strength): NAME, or DEMONYM.
    places: dict[str, tuple[Place, float]] = field(default_factory=dict)
    places_exact: dict[str, tuple[Place, float]] = field(default_factory=dict)
    orgs: dict[str, str] = field(default_factory=dict)  # folded lowercase alias -> name
    orgs_exact: dict[str, str] = field(default_factory=dict)  # acronym (case-sensitive) -> name
    max_ngram: int = 1
    # Every place once, numbered (equal places share a number), so cached run effects can name
    # places by number.
    place_list: list[Place] = field(default_factory=list)
    place_ids: dict[Place, int] = field(default_factory=dict)
    # Every leading run of words of a key in places or orgs, and the most words an exact key has:
    # a window of words that is not such a prefix (or short enough) cannot be looked up.
    key_prefixes: set[str] = field(default_factory=set)
    exact_max_words: int = 1
    # Acronyms an all-capitals headline keeps as they are.
    keep_caps: frozenset[str] = frozenset()
    # Names an organisation has only in a story about its country ("Treasury"), by key:
    # (organisation, country) for each.
    local_orgs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Names a place has in a dateline only ("WESTPORT, Conn."), by key, a final period dropped.
    dateline_places: dict[str, Place] = field(default_factory=dict)


def _read(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _place_rank(place: Place, strength: float) -> tuple[float, int]:
    return (strength, _KIND_RANK[place.kind])


def _add_places(data: Gazetteer, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        place = Place(entry["name"], entry["kind"], entry.get("country"))
        names = [(entry["name"], NAME)] + [(a, NAME) for a in entry["aliases"]]
        names += [(d, DEMONYM) for d in entry.get("demonyms", [])]
        for name, strength in names:
            exact = is_acronym(name) and len(name) <= 4
            index = data.places_exact if exact else data.places
            name_key = name if exact else key(name)
            current = index.get(name_key)
            # Countries beat cities and states of the same name; names beat demonyms.
            if current is None or _place_rank(place, strength) > _place_rank(*current):
                index[name_key] = (place, strength)
            data.max_ngram = max(data.max_ngram, len(name.split()))
        for alias in entry.get("dateline_aliases", []):
            data.dateline_places[key(alias).rstrip(".")] = place


def _add_orgs(data: Gazetteer, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        data.orgs[key(entry["name"])] = entry["name"]
        for alias in entry["aliases"]:
            data.orgs[key(alias)] = entry["name"]
            data.max_ngram = max(data.max_ngram, len(alias.split()))
        for acronym in entry["acronyms"]:
            data.orgs_exact[acronym] = entry["name"]
        for alias in entry.get("local_aliases", []):
            data.local_orgs.setdefault(key(alias), []).append((entry["name"], entry["country"]))


def _index(data: Gazetteer) -> None:
    data.keep_caps = frozenset(data.orgs_exact) | frozenset(data.places_exact)
    for place, _ in (*data.places.values(), *data.places_exact.values()):
        if place not in data.place_ids:
            data.place_ids[place] = len(data.place_list)
            data.place_list.append(place)
    for name_key in (*data.places, *data.orgs):
        parts = name_key.split(" ")
        data.key_prefixes.update(" ".join(parts[:k]) for k in range(1, len(parts) + 1))
    data.exact_max_words = 1 + max((k.count(" ") for k in data.keep_caps), default=0)


def _build() -> Gazetteer:
    data = Gazetteer()
    _add_places(data, _read("places.json")["places"])
    _add_orgs(data, _read("organisations.json")["organisations"])
    _index(data)
    return data


#: The gazetteers, read on the first call and kept for the life of the process.
gazetteer = load_once(_build)
