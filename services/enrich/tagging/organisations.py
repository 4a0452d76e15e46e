"""Organisations: runs built on an organisation word ("... Corp", "... Ministry", "Bank of ..."),
the curated list's bodies (see `known`), and acronyms linked to long forms within the story
("North Atlantic Treaty Organization (NATO)", or an acronym spelling a long form's initials)."""

from __future__ import annotations

from services.enrich.tagging.confidence import confidence
from services.enrich.tagging.data import key
from services.enrich.tagging.known import INSIDE_ORG_NAME, KNOWN_ORG, lookup, segment_known
from services.enrich.tagging.lexicon import CONNECTORS, LEGAL_SUFFIXES, ORG_WORDS
from services.enrich.tagging.story import Found, Recorder, Story

# A name built on an organisation word ("Kenya Revenue Authority"): usually a body, but the word
# may be part of something else ("Union Square", "Bank Holiday").
ORG_WORD_NAME = 0.65
# ... ending in a legal form ("Texaco Inc"): only ever a company.
LEGAL_NAME = 0.75
# An acronym of three letters or more that spells no long form of the story and is no place:
# as often a ticker, a unit or shouting as a body, so it takes repetition or the headline.
UNMATCHED_ACRONYM = 0.42


def strip_legal(words: list[str]) -> list[str]:
    """``words`` without a final legal form, nor the connector before it ("Rothschild & Co")."""
    while len(words) > 1 and words[-1].lower().rstrip(",") in LEGAL_SUFFIXES:
        words = words[:-1]
        while len(words) > 1 and words[-1].lower() in CONNECTORS:
            words = words[:-1]
    return words


def org_word_run(story: Recorder, words: list[str], headline: bool) -> bool:
    """Record an organisation if ``words`` (two or more) contain an organisation word."""
    lower = [w.lower() for w in words]
    if len(words) < 2 or not any(w in ORG_WORDS for w in lower):
        return False
    name_words = strip_legal(list(words))
    legal = len(name_words) < len(words)
    # Places inside an organisation's name count, more weakly ("Bank of Japan").
    inner = [w for w in name_words if w.lower() not in ORG_WORDS]
    if inner:
        segment_known(story, inner, headline, INSIDE_ORG_NAME)
    known = lookup(story.data, name_words)
    if known is not None and isinstance(known[0], str):
        story.add_org(known[0], KNOWN_ORG, headline)
    else:
        story.add_org(" ".join(name_words), LEGAL_NAME if legal else ORG_WORD_NAME, headline)
    story.consume(lower)
    return True


def initials(name: str) -> str:
    """A long form's initials, connectors skipped: "Bank of Japan" -> "BJ"."""
    return "".join(
        w[0].upper() for w in name.split() if w.lower() not in CONNECTORS and w[0].isalpha()
    )


def _link_acronyms(story: Story) -> None:
    """An acronym is a further mention of the long form it spells ("IMF") or of itself; else,
    unless it is a place ("US"), an organisation of its own, if long enough to be one."""
    orgs = story.orgs
    by_initials = {initials(f.name): f for f in orgs.values() if len(f.name.split()) >= 2}
    for acronym, headline, at in story.acronyms:
        letters = acronym.replace(".", "").replace("&", "")
        found = by_initials.get(letters)
        if found is None:
            found = orgs.get(key(acronym))
        if found is not None:
            found.mentions += 1
            found.headline |= headline
            found.first = min(found.first, at)
        elif acronym not in story.data.places_exact and len(letters) >= 3:
            story.position = at
            story.add_org(acronym, UNMATCHED_ACRONYM, headline)


def _count_short_names(story: Story) -> None:
    """A company's short name repeated is a further mention ("Texaco Inc ... Texaco said")."""
    firsts: dict[str, Found] = {}
    for f in story.orgs.values():
        words = f.name.split()
        if len(words) >= 2 and words[0].lower() not in ORG_WORDS and words[0][0].isupper():
            firsts.setdefault(key(words[0]), f)
    for word, headline, at in story.singles:
        found = firsts.get(key(word))
        if found is not None:
            found.mentions += 1
            found.headline |= headline
            found.first = min(found.first, at)


def _story_countries(story: Story) -> dict[str, int]:
    """How often the story names each country, itself or by its places."""
    counts: dict[str, int] = {}
    for place, found in story.places.items():
        if place.country:
            counts[place.country] = counts.get(place.country, 0) + found.mentions
    return counts


def _resolve_local_names(story: Story) -> None:
    """ "Treasury", "Senate": the body of that name in the country the story is most about; none
    if that country has no body of that name in the list."""
    if not story.local_orgs:
        return
    countries = _story_countries(story)
    top = max(countries.values(), default=0)
    # Only the country the story is most about: a Brazilian story that mentions Washington once
    # has Brazil's Congress in it, not the U.S. one.
    main = {country for country, count in countries.items() if count == top}
    for name_key, headline, at in story.local_orgs:
        candidates = [c for c in story.data.local_orgs[name_key] if c[1] in main]
        if candidates:
            story.position = at
            story.add_org(candidates[0][0], KNOWN_ORG, headline)


def org_tags(story: Story) -> list[tuple[str, float]]:
    """(name, confidence) of the story's organisations."""
    _resolve_local_names(story)
    _link_acronyms(story)
    _count_short_names(story)
    return [(f.name, confidence(f.strength, f, story.body_tokens)) for f in story.orgs.values()]
