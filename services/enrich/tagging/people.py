"""People: capitalised names with a cue, a title or honorific before them ("President", "Finance
Minister", "Mr") or a speech verb beside them ("..., said Jane Doe"). Mentions are clustered by
surname within the story, so "Zelensky", "President Zelensky" and "Volodymyr Zelensky" are one
tag, named by the longest form seen."""

from __future__ import annotations

from collections.abc import Sequence

from services.enrich.tagging.confidence import confidence
from services.enrich.tagging.data import is_acronym, key
from services.enrich.tagging.known import AFTER_TITLED_NAME, AS_WRITTEN, lookup, segment_known
from services.enrich.tagging.lexicon import (
    ADJECTIVE_ENDS,
    HONORIFICS,
    NAME_ENDS,
    NAME_PARTICLES,
    NAME_SUFFIXES,
    OFFICE_WORDS,
    ORG_WORDS,
    PLACE_WORDS,
    STOP_CAPS,
    TITLES,
)
from services.enrich.tagging.names import loose
from services.enrich.tagging.organisations import org_word_run
from services.enrich.tagging.story import Person, Recorder, Story

# After an honorific ("Mr", "Dame"), which only ever stands before a person.
PERSON_WITH_HONORIFIC = 0.8
# After a title ("President", "analyst"), which mostly does; "Chief Executive" may precede a
# company, so a name that is also a known place or body is not taken.
PERSON_WITH_TITLE = 0.75
# Two to four name-shaped words beside a speech verb ("..., said Jane Doe").
NAME_BY_SPEECH_VERB = 0.62
# One name-shaped word beside a speech verb ("Smith said"): as often a company ("Chrysler
# said"), so it only counts when a stronger mention of the same name makes it a surname.
WORD_BY_SPEECH_VERB = 0.45
# Two to four name-shaped words with no cue: only ever a further mention of a cued name.
NAME_SHAPED = 0.4
# Strengths from here up come with a title, or a full name with a speech verb: a person needs
# one such mention.
CUED = 0.5
# A first name and surname are surer than a surname alone.
FULL_NAME_BONUS = 0.05
# A name-shaped run right after an organisation noun or right before a title ("its operator
# Halcyon Lunar", "Gor Mahia striker Brian Wekesa"): an organisation, as sure as an
# organisation word makes one.
NAME_WITH_ORG_CUE = 0.6
# What the words beside a capitalised run say it is (`runs.cue_before`, `runs.cue_after`).
Cue = str
NO_CUE: Cue = ""
PERSON_CUE: Cue = "person"
ORG_CUE: Cue = "organisation"
PLACE_CUE: Cue = "place"
# Longer than this after a title is a title phrase or a list, not one name.
MAX_NAME_WORDS = 4


def looks_like_name(words: Sequence[str]) -> bool:
    for w in words:
        lw = w.lower()
        if lw in NAME_PARTICLES:
            continue
        if lw in STOP_CAPS or lw in ORG_WORDS or lw in TITLES or lw in OFFICE_WORDS:
            return False
        if lw in PLACE_WORDS:
            return False
        if not w[0].isupper() or any(c.isdigit() for c in w):
            return False
        if lw.endswith(ADJECTIVE_ENDS):
            return False  # "AI-generated", "Kenyan-born"
        if w.isupper() and len(w) > 2 and "." not in w:  # an acronym, not a name
            return False
    return True


def _name_after_title(
    story: Recorder, words: list[str], lower: list[str], title_at: int, headline: bool
) -> list[str]:
    """The words after the title phrase, up to a connector such as "of" ("Zelensky of
    Ukraine"); known names after the connector are recorded."""
    name_start = title_at + 1
    while name_start < len(words) and (
        lower[name_start] in OFFICE_WORDS
        or lower[name_start] in NAME_ENDS
        or lower[name_start] in TITLES
    ):
        name_start += 1
    name = words[name_start:]
    for k, w in enumerate(name):
        if w.lower() in NAME_ENDS:
            rest = name[k + 1 :]
            if rest:
                segment_known(story, rest, headline, AFTER_TITLED_NAME)
            return name[:k]
    return name


def title_cue(story: Recorder, words: list[str], headline: bool) -> bool:
    """A person named after the last title of the run ("Finance Minister Njuguna Ndung'u"); what
    stands before the title may be an organisation or a known name ("IMF Managing Director")."""
    lower = [w.lower() for w in words]
    title_at = max((k for k, w in enumerate(lower) if w in TITLES), default=-1)
    if title_at < 0 or title_at >= len(words) - 1:
        return False
    name = _name_after_title(story, words, lower, title_at, headline)
    if not (name and looks_like_name(name) and len(name) <= MAX_NAME_WORDS):
        return False
    honorific = lower[title_at] in HONORIFICS
    if not honorific and lookup(story.data, name) is not None:
        return False
    story.add_person(name, PERSON_WITH_HONORIFIC if honorific else PERSON_WITH_TITLE, headline)
    story.consume(name)
    pre = words[:title_at]
    # The rest of the title phrase ("Chief Financial Officer"): no name of its own.
    while pre and (pre[-1].lower() in TITLES or pre[-1].lower() in OFFICE_WORDS):
        pre = pre[:-1]
    if pre and not org_word_run(story, pre, headline):
        segment_known(story, pre, headline, AS_WRITTEN)
    return True


def name_blocks(
    story: Recorder, blocks: list[list[str]], headline: bool, shout: bool, before: Cue, after: Cue
) -> None:
    """The blocks of a run left between known names: a name-shaped block may be a person (with
    a person cue beside the run), an organisation (with an organisation's), a lone word an
    acronym or a further mention of a name (a surname, a company's short name)."""
    speech = PERSON_CUE in (before, after)
    if len(blocks) == 1 and not shout and looks_like_name(blocks[0]):
        # A single word before a role is as often an adjective ("the Californian driver").
        if before == ORG_CUE or (after == ORG_CUE and len(blocks[0]) > 1):
            story.add_org(" ".join(blocks[0]), NAME_WITH_ORG_CUE, headline)
            story.consume(blocks[0])
            return
        if before == PLACE_CUE:
            story.not_people.append(tuple(blocks[0]))
            return
    for parts in blocks:
        if len(parts) == 1:
            word = parts[0]
            if is_acronym(word) and len(word) >= 2 and word.isupper():
                story.acronyms.append((word, headline))
            elif speech and not shout and looks_like_name(parts) and len(blocks) == 1:
                story.add_person(parts, WORD_BY_SPEECH_VERB, headline)
            else:
                story.singles.append((word, headline))
            continue
        if 2 <= len(parts) <= MAX_NAME_WORDS and not shout and looks_like_name(parts):
            story.add_person(parts, NAME_BY_SPEECH_VERB if speech else NAME_SHAPED, headline)


def _clusters(story: Story) -> tuple[dict[str, Person], list[str]]:
    """The story's people clustered by surname (by first name and surname where two first
    names differ), in order of first cluster."""
    clusters: dict[str, Person] = {}
    order: list[str] = []
    # A full name's other words, to the one cluster that has them: "Ms Lee" is "Lee Seon-hwa",
    # "Ms Tran" is "Tran Minh Chau" (family name first), "Ms Ilanga" is "Albertine Ilanga
    # Bokele". None where two clusters share the word.
    other_words: dict[str, str | None] = {}
    # Longest names first, so that "Zelensky" joins "Volodymyr Zelensky".
    for person in sorted(story.people, key=lambda p: -len(p.tokens)):
        toks = [t for t in person.tokens if t.lower() not in NAME_SUFFIXES] or list(person.tokens)
        surname = loose(toks[-1])
        first = loose(toks[0]) if len(toks) > 1 else None
        cluster = surname
        if first is None and surname not in clusters and other_words.get(surname):
            cluster = other_words[surname] or surname
        if first is not None and surname in clusters:
            other = clusters[surname].tokens
            if len(other) > 1 and loose(other[0])[:1] != first[:1]:
                cluster = f"{first} {surname}"  # a different person with the same surname
        found = clusters.get(cluster)
        if found is None:
            # Named as written, a suffix kept: "Ferdinand Marcos Jr" is not his father.
            clusters[cluster] = Person(
                person.tokens, person.strength, 1, person.headline, person.first
            )
            order.append(cluster)
            for word in toks[:-1]:
                word_key = loose(word)
                if word.lower() not in NAME_PARTICLES:
                    other_words[word_key] = cluster if word_key not in other_words else None
        else:
            found.mentions += 1
            found.strength = max(found.strength, person.strength)
            found.headline |= person.headline
            found.first = min(found.first, person.first)
    # Bare surnames elsewhere in the story are further mentions.
    for word, headline, at in story.singles:
        word_key = loose(word)
        found = clusters.get(word_key) or clusters.get(other_words.get(word_key) or "")
        if found is not None:
            found.mentions += 1
            found.headline |= headline
            found.first = min(found.first, at)
    return clusters, order


def people_tags(story: Story) -> list[tuple[str, float]]:
    """(name, confidence) of the story's people."""
    clusters, order = _clusters(story)
    org_firsts = {key(f.name.split()[0]) for f in story.orgs.values() if f.name.split()}
    out = []
    for cluster in order:
        p = clusters[cluster]
        base = p.strength + (FULL_NAME_BONUS if len(p.tokens) > 1 else 0.0)
        if p.strength < CUED:
            # No title, honorific or speech verb anywhere in the story: "Harambee Stars", "Coast
            # Guard", "Corpus Christi" and Title-Case subheads are name-shaped too, and "Chrysler
            # said" is as often a company.
            continue
        if key(p.tokens[0]) in org_firsts:
            continue  # "Caesars World" seen as an organisation elsewhere in the story
        if key(" ".join(p.tokens)) in story.not_people:
            continue  # "Corpus Christi said", and "hospitals in Corpus Christi"
        out.append((" ".join(p.tokens), confidence(base, p, story.body_tokens)))
    return out
