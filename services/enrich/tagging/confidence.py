"""How sure the tagger is of an entity: a base per kind of evidence, raised by repetition.

The bases are set in the module of each idea (people, organisations, places, known names); the
bonuses for repetition and for the headline, and the cut-off, are the same for every entity.
"""

from __future__ import annotations

from typing import Protocol


class Mentioned(Protocol):
    """How an entity is mentioned in a story."""

    @property
    def mentions(self) -> int: ...
    @property
    def headline(self) -> bool: ...
    @property
    def first(self) -> int: ...


# Tags below this are dropped by default: a cue-less name-shaped phrase (0.45 with both names)
# needs a second mention or the headline to pass, an unmatched acronym (0.42) a third mention or
# the headline, a lone demonym (0.55) passes.
MIN_CONFIDENCE = 0.5
# Each mention after the first: the story keeps coming back to it.
MENTION_BONUS = 0.05
# At most three mentions' worth, so repetition alone never outranks a strong cue.
MAX_MENTION_BONUS = 0.15
# An entity in the headline is what the story is about.
HEADLINE_BONUS = 0.1
# Rules are never certain; only the wire's own subjects and keywords reach 1.0.
MAX_ENTITY_CONFIDENCE = 0.98


def confidence(base: float, mentioned: Mentioned, body_tokens: int) -> float:
    """An entity's confidence from its base, its number of mentions and whether it is in the
    headline, to three decimals."""
    mentions, headline = mentioned.mentions, mentioned.headline
    bonus = min(MAX_MENTION_BONUS, MENTION_BONUS * (mentions - 1)) + (
        HEADLINE_BONUS if headline else 0.0
    )
    return round(min(MAX_ENTITY_CONFIDENCE, base + bonus), 3)
