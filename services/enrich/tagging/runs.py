"""From text to a story's entities: each capitalised run of the headline, the dateline and the
body is analysed once (memoised), and its entities are added to the story.

A run is tried, in order, as: a known place or organisation as a whole; a person after a title;
an organisation by an organisation word; else known names inside it, and people among the rest.
"""

from __future__ import annotations

import re
from functools import lru_cache
from operator import itemgetter

from services.enrich.tagging.data import Gazetteer, gazetteer, key
from services.enrich.tagging.known import AS_WRITTEN, lookup, segment_known
from services.enrich.tagging.lexicon import (
    ADJECTIVE_ENDS,
    CONNECTORS,
    EVENT_WORDS,
    LEGAL_SUFFIXES,
    MONTHS_DAYS,
    ORG_NOUNS,
    ORG_WORDS,
    SHIP_PREFIXES,
    STOP_CAPS,
    TITLES,
)
from services.enrich.tagging.organisations import org_word_run
from services.enrich.tagging.people import (
    NO_CUE,
    ORG_CUE,
    PERSON_CUE,
    PLACE_CUE,
    Cue,
    name_blocks,
    title_cue,
)
from services.enrich.tagging.story import Effects, Recorder, Story, apply, effects_of
from services.enrich.tagging.tokens import RUN, SENTENCE_BREAK, TokInfo, is_shouted, tokens

_code = itemgetter(1)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _strip_openers(data: Gazetteer, words: list[str]) -> list[str]:
    """Leading sentence openers, months and the like are not part of any name, unless the run
    as it stands is a known name ("The Hague"); nor are adjectives such as "London-based"."""
    while words and (
        (words[0].lower() in STOP_CAPS and lookup(data, words) is None)
        or words[0].lower().endswith(ADJECTIVE_ENDS)
    ):
        words = words[1:]
    return words


def names_event(words: list[str]) -> bool:
    """The run names an event, a competition, a treaty, a law, a facility or a ship ("World Cup",
    "Uruguay Round", "Treaty of Rome", "HMS Victory"): no person, organisation or place, nor the
    place inside it."""
    lower = [w.lower() for w in words]
    if len(lower) > 1 and (
        lower[0] in SHIP_PREFIXES or (lower[0] in EVENT_WORDS and lower[1] == "of")
    ):
        return True
    return any(w in EVENT_WORDS for w in lower[1:])


_COMPANY_ENDS = frozenset(
    [
        "international",
        "services",
        "group",
        "holdings",
        "systems",
        "technologies",
        "motors",
        "industries",
        "airlines",
        "airways",
        "partners",
        "capital",
        "energy",
        "pharmaceuticals",
    ]
)


def _split_at(words: list[str]) -> tuple[int, int]:
    """Where a run is two names, and how many joining words lie between them (0, 0: one)."""
    k = _of_the_split(words)
    if k:
        return k, 2
    k = _titled_and_split(words) or _and_split(words)
    return (k, 1) if k else (0, 0)


def _of_the_split(words: list[str]) -> int:
    """Where "of the" or "for the" joins two names rather than sits inside one: only a body's
    name goes on through them ("Office for the Coordination of Humanitarian Affairs", "Kiel
    Institute for the World Economy"), not "Arsenal for the Premier League" nor "Zelensky of
    the Servant of the People party"."""
    lower = [w.lower() for w in words]
    for k in range(1, len(lower) - 2):
        if lower[k] in ("of", "for") and lower[k + 1] == "the":
            return 0 if any(w in ORG_WORDS for w in lower[:k]) else k
    return 0


def _titled_and_split(words: list[str]) -> int:
    """Where "and" joins two titled names: "Finance Minister Gerhard Stoltenberg and Bundesbank
    President Karl Otto Poehl" is two people."""
    lower = [w.lower() for w in words]
    if "and" not in lower[1:-1]:
        return 0
    k = lower.index("and", 1)
    titled = any(w in TITLES for w in lower[:k]) and any(w in TITLES for w in lower[k + 1 :])
    return k if titled else 0


def _and_split(words: list[str]) -> int:
    """Where "and" joins two names rather than sits inside one: "Hershey and Mondelez
    International", not "Procter and Gamble" nor "Department of Health and Human Services" (the
    part before names no organisation by its words, the part after does by its last)."""
    lower = [w.lower() for w in words]
    if "and" not in lower[1:-1]:
        return 0
    k = lower.index("and", 1)
    if any(w in ORG_WORDS for w in lower[:k]):
        return 0
    # A company's ending, not a committee's or an authority's, whose one word governs both
    # halves ("Competition and Markets Authority", "Business and Trade Committee").
    return k if lower[-1] in LEGAL_SUFFIXES or lower[-1] in _COMPANY_ENDS else 0


def analyse_run(
    story: Recorder,
    words: list[str],
    headline: bool,
    shout: bool,
    before: Cue,
    after: Cue,
) -> None:
    """One capitalised run; ``before`` and ``after``: what the words beside it say of it (see
    `context`)."""
    words = _strip_openers(story.data, words)
    if not words:
        return
    # Split at month and day names ("Monday President Ruto ..."), and the connectors before
    # them ("the Federation on Monday").
    for k, w in enumerate(words):
        if k and w.lower() in MONTHS_DAYS:
            head = words[:k]
            while head and head[-1].lower() in CONNECTORS:
                head = head[:-1]
            analyse_run(story, head, headline, shout, before, NO_CUE)
            analyse_run(story, words[k + 1 :], headline, shout, NO_CUE, after)
            return
    if names_event(words) and lookup(story.data, words) is None:
        # "the Uruguay Round of the General Agreement on Tariffs and Trade": the event's name
        # ends where "of the" brings in another.
        lower = [w.lower() for w in words]
        for k in range(1, len(lower) - 2):
            if lower[k] == "of" and lower[k + 1] == "the":
                analyse_run(story, words[k + 2 :], headline, shout, NO_CUE, after)
                break
        return
    if lookup(story.data, words) is not None:
        segment_known(story, words, headline, AS_WRITTEN)
        return
    name_key = key(" ".join(words))
    if name_key in story.data.local_orgs:
        story.local_orgs.append((name_key, headline))
        story.consume(words)
        return
    k, joining = _split_at(words)
    if k:
        analyse_run(story, words[:k], headline, shout, before, NO_CUE)
        analyse_run(story, words[k + joining :], headline, shout, NO_CUE, after)
        return
    if title_cue(story, words, headline) or org_word_run(story, words, headline):
        return
    blocks = segment_known(story, words, headline, AS_WRITTEN)
    name_blocks(story, blocks, headline, shout, before, after)


# Newswire repeats its runs ("the Federal Reserve", "Finance Minister ..."): a run's entities
# depend only on its words and cues, so a run seen before replays its effects.
@lru_cache(maxsize=1 << 12)
def _run_effects(
    words: tuple[str, ...], headline: bool, shout: bool, before: Cue, after: Cue
) -> Effects:
    out = Recorder(gazetteer())
    analyse_run(out, list(words), headline, shout, before, after)
    return effects_of(out)


def _lower(tok: TokInfo) -> str | None:
    """A lowercase word's text, else None."""
    return tok[0] if tok[1] in "oKOPT" and tok[0][:1].isalpha() else None


def cue_before(toks: list[TokInfo], start: int) -> Cue:
    """What the word before a run says of it: a speech verb or a lowercase title makes it a
    person ("said Jane Doe", "governor Satoshi Sumita"), an organisation noun an organisation
    ("its operator Halcyon Lunar"), "in" a place ("hospitals in Corpus Christi")."""
    if start == 0:
        return NO_CUE
    prev = toks[start - 1]
    if prev[3]:
        return PERSON_CUE
    if prev[0] == ",":
        return _role_before_comma(toks, start - 1)
    word = _lower(prev)
    if word is None:
        return NO_CUE
    if word in TITLES:
        return PERSON_CUE
    if word in ORG_NOUNS:
        return ORG_CUE
    return PLACE_CUE if word == "in" else NO_CUE


# A title this many words before the comma still introduces the name after it ("its governor,
# Robin Leigh-Pemberton, said"; "Minister of International Trade and Industry, Hajime Tamura").
_ROLE_REACH = 6


def _role_before_comma(toks: list[TokInfo], comma: int) -> Cue:
    """A title among the words before the comma, in their sentence."""
    for k in range(comma - 1, max(-1, comma - 1 - _ROLE_REACH), -1):
        word = _text(toks[k])
        if word is None or (k < comma - 1 and toks[k][1] in "eE"):
            return NO_CUE
        if word in TITLES:
            return PERSON_CUE
    return NO_CUE


# After ", a" / ", the" and the like, a title this many words on still describes the name
# (", an analyst at", ", the bank's chief economist").
_APPOSITIVE_REACH = 4
_ARTICLES = frozenset({"a", "an", "the", "its", "his", "her", "their", "whose"})


def _text(tok: TokInfo) -> str | None:
    """Any word's text, lowercased; None for punctuation and numbers."""
    return tok[0].lower() if tok[0][:1].isalpha() else None


def cue_after(toks: list[TokInfo], end: int) -> Cue:
    """What the words after a run say of it: a speech verb, or an apposition that is a role
    (", said", ", who", ", chairman of", ", President of the Commission", ", an analyst at"),
    make it a person; a lowercase title right after makes it an organisation, the title's
    employer ("Gor Mahia striker ...")."""
    n = len(toks)
    if end >= n:
        return NO_CUE
    nxt = toks[end]
    if nxt[2]:
        return PERSON_CUE
    word = _lower(nxt)
    if word is not None:
        return ORG_CUE if word in TITLES else NO_CUE
    if nxt[0] != "," or end + 1 >= n:
        return NO_CUE
    after = toks[end + 1]
    first = _text(after)
    if first is None:
        return NO_CUE
    if after[2] or first == "who":
        return PERSON_CUE
    if first in TITLES:
        # A capitalised one only as a role ("President of ..."), not a name ("General Motors").
        lowercase = after[1] not in "CE"
        return PERSON_CUE if lowercase or (end + 2 < n and toks[end + 2][0] == "of") else NO_CUE
    if first in _ARTICLES:
        for tok in toks[end + 2 : end + 2 + _APPOSITIVE_REACH]:
            word = _text(tok)
            if word is None:
                break
            if word in TITLES:
                return PERSON_CUE
    return NO_CUE


# A dateline says where a story was filed: it names places (and now and then an organisation's
# home), never a person, so only the names the gazetteers know count there ("Cape Canaveral"
# is not somebody because it is two capitalised words); and so in a Title-Case subhead or
# headline, whose every word is capitalised.
@lru_cache(maxsize=1 << 10)
def _known_names_effects(words: tuple[str, ...], headline: bool) -> Effects:
    out = Recorder(gazetteer())
    known = _strip_openers(out.data, list(words))
    if known:
        for block in segment_known(out, known, headline, AS_WRITTEN):
            if len(block) == 1:
                place = out.data.dateline_places.get(key(block[0]).rstrip("."))
                if place is not None:
                    out.add_place(place, AS_WRITTEN, headline)
    return effects_of(out)


# A subhead is short, and only its small words are lowercase.
MAX_SUBHEAD_WORDS = 14
_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "off",
        "on",
        "onto",
        "or",
        "over",
        "per",
        "the",
        "to",
        "up",
        "upon",
        "via",
        "vs",
        "with",
        "amid",
        "after",
        "before",
    ]
)
_WORDS = re.compile(r"[^\W\d_][\w'\u2019-]*")


def is_title_case(line: str) -> bool:
    """A line in Title Case ("Escalating Tensions On The Border"), as subheads and some
    headlines are: its capitals mark no names, so only the names the gazetteers know count."""
    text = line.strip()
    if not text or text[-1] in '.!?:"\u201d' or len(text.split()) > MAX_SUBHEAD_WORDS:
        return False
    content = [w for w in _WORDS.findall(text) if w.lower() not in _SMALL_WORDS]
    return len(content) >= 2 and all(w[0].isupper() for w in content)


def _story_tokens(
    data: Gazetteer, headline: str, dateline: str | None, body: str
) -> tuple[list[TokInfo], int, int, list[tuple[int, int]], bool]:
    """The headline's, the dateline's and the body's tokens, each text (and each paragraph) a
    sentence of its own; also where the headline's tokens end and the body's start, the spans
    read for known names only (the dateline, Title-Case subheads and headline), and whether the
    headline is all capitals."""
    shout = is_shouted(headline)
    toks = tokens(headline, shout, data.keep_caps)
    n_head = len(toks)
    known_only = [(0, n_head)] if not shout and is_title_case(headline) else []
    toks.append(SENTENCE_BREAK)
    if dateline:
        # Else "NAIROBI" and "Police said ..." run on into an organisation "Nairobi Police".
        start = len(toks)
        toks += tokens(dateline)
        known_only.append((start, len(toks)))
        toks.append(SENTENCE_BREAK)
    body_start = len(toks)
    # A paragraph (or a subhead) ends where a blank line does, full stop or not: "Pressure on
    # the Bank" above "The figures came ..." is no "Bank The".
    for paragraph in _PARAGRAPH_BREAK.split(body):
        start = len(toks)
        toks += tokens(paragraph)
        if is_title_case(paragraph):
            known_only.append((start, len(toks)))
        toks.append(SENTENCE_BREAK)
    return toks, n_head, body_start, known_only, shout


# Government bodies list their remits with commas: "Ministry of Culture, Sports and Tourism",
# "Culture, Media and Sport Committee". Parts this short at most.
_MAX_REMIT_WORDS = 4


def _one_name_across_comma(
    data: Gazetteer, first: tuple[str, ...], second: tuple[str, ...]
) -> bool:
    """Whether two runs a comma parts are one body's name: "Ministry of Culture" + "Sports and
    Tourism", or "Culture" + "Media and Sport Committee"; not "the Bank of England, Barclays
    and HSBC" (a known name, then a list of bodies)."""
    low1 = [w.lower() for w in first]
    low2 = [w.lower() for w in second]
    if "and" not in low2 or len(second) > _MAX_REMIT_WORDS + 1 or lookup(data, first):
        return False
    org_then_of = any(w in ORG_WORDS and "of" in low1[k + 1 :] for k, w in enumerate(low1))
    if org_then_of and not any(w in ORG_WORDS for w in low2):
        return True  # "Ministry of Culture, Sports and Tourism"
    return (
        len(first) <= 2
        and low2[-1] in ORG_WORDS
        and not any(w in ORG_WORDS for w in low1)
        and all(lookup(data, [w]) is None for w in first)
    )  # "Culture, Media and Sport Committee"


def entities(data: Gazetteer, headline: str, dateline: str | None, body: str) -> Story:
    """Everything the capitalised runs of the story name."""
    story = Story(data)
    toks, n_head, body_start, known_only, shout = _story_tokens(data, headline, dateline, body)
    story.body_tokens = len(toks) - body_start
    spans = iter(known_only)
    span = next(spans, None)
    runs = [m.span() for m in RUN.finditer("".join(map(_code, toks)))]
    i = 0
    while i < len(runs):
        start, end = runs[i]
        while span is not None and span[1] <= start:
            span = next(spans, None)
        words = tuple([t[0] for t in toks[start:end]])
        story.position = max(0, start - body_start)
        headline_run = start < n_head
        i += 1
        if span is not None and span[0] <= start:
            apply(_known_names_effects(words, headline_run), story)
            continue
        if i < len(runs) and runs[i][0] == end + 1 and toks[end][0] == ",":
            more = tuple([t[0] for t in toks[runs[i][0] : runs[i][1]]])
            if _one_name_across_comma(data, words, more):
                words = (*words[:-1], words[-1] + ",", *more)
                end = runs[i][1]
                i += 1
        effects = _run_effects(
            words,
            headline_run,
            shout and headline_run,
            cue_before(toks, start),
            cue_after(toks, end),
        )
        apply(effects, story)
    return story
