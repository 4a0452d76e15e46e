"""What the entity rules find in one story, gathered before it is scored into tags.

The rules never write to a `Story` directly: they write to a `Recorder`, whose record of one
capitalised run (its `Effects`) is cached and replayed on the story with `apply`, since a run's
entities depend only on its words and cues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.enrich.tagging.data import Gazetteer, Place, key


@dataclass
class Person:
    tokens: tuple[str, ...]
    strength: float
    mentions: int = 1
    headline: bool = False
    # Where the body first names it, in tokens from the body's start (0: the headline or the
    # dateline).
    first: int = 0


@dataclass
class Found:
    name: str
    strength: float
    mentions: int = 1
    headline: bool = False
    first: int = 0  # as `Person.first`


@dataclass
class Story:
    data: Gazetteer
    places: dict[Place, Found] = field(default_factory=dict)
    orgs: dict[str, Found] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    # Lone capitalised words, (word, in_headline, first): perhaps a surname or short name seen
    # before.
    singles: list[tuple[str, bool, int]] = field(default_factory=list)
    acronyms: list[tuple[str, bool, int]] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)  # lowercased words used by entities
    # Names the story uses as no person's ("hospitals in Corpus Christi"), by key.
    not_people: set[str] = field(default_factory=set)
    # Names of an organisation only in a story about its country ("Treasury"), by key:
    # (key, in_headline, first).
    local_orgs: list[tuple[str, bool, int]] = field(default_factory=list)
    # Where the run being applied starts, in body tokens (0 in the headline and the dateline).
    position: int = 0
    # How many tokens the body has.
    body_tokens: int = 0

    def add_place(self, place: Place, strength: float, headline: bool) -> None:
        found = self.places.get(place)
        if found is None:
            self.places[place] = Found(place.name, strength, 1, headline, self.position)
        else:
            found.strength = max(found.strength, strength)
            found.mentions += 1
            found.headline |= headline

    def add_org(self, name: str, strength: float, headline: bool) -> None:
        org_key = key(name)
        found = self.orgs.get(org_key)
        if found is None:
            self.orgs[org_key] = Found(name, strength, 1, headline, self.position)
        else:
            found.strength = max(found.strength, strength)
            found.mentions += 1
            found.headline |= headline
            # The fullest spelling names the organisation ("Bank of England" over "Bank").
            if len(name) > len(found.name) and strength >= found.strength:
                found.name = name


@dataclass
class Recorder:
    """What capitalised runs add to a story, in order."""

    data: Gazetteer
    places: list[tuple[Place, float, bool]] = field(default_factory=list)
    orgs: list[tuple[str, float, bool]] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    singles: list[tuple[str, bool]] = field(default_factory=list)
    acronyms: list[tuple[str, bool]] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)
    not_people: list[tuple[str, ...]] = field(default_factory=list)
    local_orgs: list[tuple[str, bool]] = field(default_factory=list)

    def add_place(self, place: Place, strength: float, headline: bool) -> None:
        self.places.append((place, strength, headline))

    def add_org(self, name: str, strength: float, headline: bool) -> None:
        self.orgs.append((name, strength, headline))

    def add_person(self, words: list[str], strength: float, headline: bool) -> None:
        self.people.append(Person(tuple(words), strength, 1, headline))

    def consume(self, words: Iterable[str]) -> None:
        """Words used by an entity: never a keyword of the story."""
        self.consumed.update(w.lower() for w in words)


# A run's effects, as plain tuples of strings and numbers (places by number): once cached they
# are nothing the garbage collector has to scan.
Effects = tuple[
    tuple[tuple[int, float, bool], ...],  # places
    tuple[tuple[str, float, bool], ...],  # organisations
    tuple[tuple[tuple[str, ...], float, int, bool], ...],  # people
    tuple[tuple[str, bool], ...],  # singles
    tuple[tuple[str, bool], ...],  # acronyms
    tuple[str, ...],  # consumed
    tuple[tuple[str, ...], ...],  # not people
    tuple[tuple[str, bool], ...],  # local organisation names
]


def effects_of(out: Recorder) -> Effects:
    ids = out.data.place_ids
    return (
        tuple((ids[place], strength, h) for place, strength, h in out.places),
        tuple(out.orgs),
        tuple((p.tokens, p.strength, p.mentions, p.headline) for p in out.people),
        tuple(out.singles),
        tuple(out.acronyms),
        tuple(out.consumed),
        tuple(out.not_people),
        tuple(out.local_orgs),
    )


def apply(effects: Effects, story: Story) -> None:
    places, orgs, people, singles, acronyms, consumed, not_people, local_orgs = effects
    # Each kind keeps its own order; nothing reads one kind while adding another.
    place_list = story.data.place_list
    for index, strength, headline in places:
        story.add_place(place_list[index], strength, headline)
    for name, strength, headline in orgs:
        story.add_org(name, strength, headline)
    at = story.position
    for tokens, strength, mentions, headline in people:
        story.people.append(Person(tokens, strength, mentions, headline, at))
    story.singles += [(word, headline, at) for word, headline in singles]
    story.acronyms += [(word, headline, at) for word, headline in acronyms]
    story.consumed.update(consumed)
    story.not_people.update(key(" ".join(words)) for words in not_people)
    story.local_orgs += [(name_key, headline, at) for name_key, headline in local_orgs]
