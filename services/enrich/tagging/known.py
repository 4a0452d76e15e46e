"""Known names: the gazetteers' places and organisations spelled out by words of a run."""

from __future__ import annotations

from collections.abc import Sequence

from services.enrich.tagging.data import Gazetteer, Place, key
from services.enrich.tagging.story import Recorder

# An organisation of the curated list, named by its name, an alias or an acronym: a list
# written for newswire, but a name can still be something else ("Shell" the word in a headline).
KNOWN_ORG = 0.85

# How much a known name counts, by where it stands in a run. Standing alone, fully:
AS_WRITTEN = 1.0
# After a titled person's name ("Zelensky of Ukraine"): the name may be part of a longer title.
AFTER_TITLED_NAME = 0.9
# Inside an organisation's name ("Bank of Japan"): the body is about the place, the story less.
INSIDE_ORG_NAME = 0.75

#: A known name: an organisation's canonical name or a place, and how strongly it says so.
Known = tuple[str | Place, float]


def lookup(data: Gazetteer, words: Sequence[str]) -> Known | None:
    """A known place or organisation spelled exactly by ``words``."""
    text = " ".join(words)
    org = data.orgs_exact.get(text)
    if org is not None:
        return (org, KNOWN_ORG)
    place = data.places_exact.get(text)
    if place is not None:
        return place
    text_key = key(text)
    org = data.orgs.get(text_key)
    if org is not None:
        return (org, KNOWN_ORG)
    return data.places.get(text_key)


def segment_known(
    story: Recorder, words: Sequence[str], headline: bool, factor: float
) -> list[list[str]]:
    """Greedy longest match of known places and organisations in ``words``, recorded at
    ``factor`` times their strength; returns the blocks of words left between them."""
    data = story.data
    leftovers: list[list[str]] = []
    block: list[str] = []
    i, n = 0, len(words)
    keys = list(map(key, words))
    while i < n:
        hit = _longest_known(data, words, keys, i)
        if hit is None:
            block.append(words[i])
            i += 1
            continue
        if block:
            leftovers.append(block)
            block = []
        length, (value, strength) = hit
        if isinstance(value, Place):
            story.add_place(value, strength * factor, headline)
        else:
            story.add_org(value, strength * factor, headline)
        story.consume(words[i : i + length])
        i += length
    if block:
        leftovers.append(block)
    return leftovers


def _longest_known(
    data: Gazetteer, words: Sequence[str], keys: list[str], i: int
) -> tuple[int, Known] | None:
    for length in range(_reach(data, keys, i, min(data.max_ngram, len(words) - i)), 0, -1):
        found = lookup(data, words[i : i + length])
        if found is not None:
            return length, found
    return None


def _reach(data: Gazetteer, keys: list[str], i: int, top: int) -> int:
    """How many words from ``i`` (at most ``top``) could name something known: no longer window
    can. The keys of the words, joined, are the key of the words joined, unless one is empty."""
    window = keys[i : i + top]
    if not all(window):
        return top
    reach = 0
    chain = ""
    for k, word_key in enumerate(window):
        chain = f"{chain} {word_key}" if k else word_key
        if chain not in data.key_prefixes:
            break
        reach = k + 1
    return min(top, max(reach, data.exact_max_words))
