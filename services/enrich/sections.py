"""Which section of the site a story belongs in, from its Media Topics (`shared/sections.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from services.enrich.tagging import topic_ancestors
from shared.models import Section, Tag
from shared.sections import Sections

MEDTOP_PREFIX = "medtop:"


def section_for(tags: Sequence[Tag], sections: Sections) -> Section:
    """Each topic tag votes, with its confidence, for the section of the most specific listed
    code it is or falls under; the most votes win, a tie goes to the section listed first, and a
    story whose topics lead nowhere goes in the default section. A broad topic the tagger adds
    because a narrower one of the story implies it does not vote a second time."""
    section_of: dict[str, int] = {}
    for position, rule in enumerate(sections.rules):
        for code in rule.topics:
            section_of.setdefault(code, position)
    chains = [
        (tag, topic_ancestors(tag.code.removeprefix(MEDTOP_PREFIX)))
        for tag in tags
        if tag.type == "topic" and tag.code and tag.code.startswith(MEDTOP_PREFIX)
    ]
    implied = {code for _, chain in chains for code in chain[1:]}
    votes: dict[int, float] = {}
    for tag, chain in chains:
        if len(chain) == 1 and chain[0] in implied:
            continue
        for code in chain:
            if code in section_of:
                votes[section_of[code]] = votes.get(section_of[code], 0.0) + tag.confidence
                break
    if not votes:
        return sections.default
    best = max(votes, key=lambda position: (votes[position], -position))
    return sections.rules[best].section
