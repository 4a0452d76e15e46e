"""From text to a story's entities: each capitalised run of the headline, the dateline and the
body is analysed once (memoised), and its entities are added to the story.

A run is tried, in order, as: a known place or organisation as a whole; a person after a title;
an organisation by an organisation word; else known names inside it, and people among the rest.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter

from services.enrich.tagging.data import Gazetteer, gazetteer
from services.enrich.tagging.known import AS_WRITTEN, lookup, segment_known
from services.enrich.tagging.lexicon import MONTHS_DAYS, STOP_CAPS
from services.enrich.tagging.organisations import org_word_run
from services.enrich.tagging.people import name_blocks, title_cue
from services.enrich.tagging.story import Effects, Recorder, Story, apply, effects_of
from services.enrich.tagging.tokens import RUN, SENTENCE_BREAK, TokInfo, is_shouted, tokens

_code = itemgetter(1)


def _strip_openers(data: Gazetteer, words: list[str]) -> list[str]:
    """Leading sentence openers, months and the like are not part of any name, unless the run
    as it stands is a known name ("The Hague")."""
    while words and words[0].lower() in STOP_CAPS and lookup(data, words) is None:
        words = words[1:]
    return words


def analyse_run(
    story: Recorder,
    words: list[str],
    headline: bool,
    shout: bool,
    speech_before: bool,
    speech_after: bool,
) -> None:
    """One capitalised run; ``speech_*``: a speech verb stands beside it ("..., said Jane Doe")."""
    words = _strip_openers(story.data, words)
    if not words:
        return
    # Split at month and day names ("Monday President Ruto ...").
    for k, w in enumerate(words):
        if k and w.lower() in MONTHS_DAYS:
            analyse_run(story, words[:k], headline, shout, speech_before, False)
            analyse_run(story, words[k + 1 :], headline, shout, False, speech_after)
            return
    if lookup(story.data, words) is not None:
        segment_known(story, words, headline, AS_WRITTEN)
        return
    if title_cue(story, words, headline) or org_word_run(story, words, headline):
        return
    blocks = segment_known(story, words, headline, AS_WRITTEN)
    name_blocks(story, blocks, headline, shout, speech_after or speech_before)


# Newswire repeats its runs ("the Federal Reserve", "Finance Minister ..."): a run's entities
# depend only on its words and cues, so a run seen before replays its effects.
@lru_cache(maxsize=1 << 12)
def _run_effects(
    words: tuple[str, ...], headline: bool, shout: bool, speech_before: bool, speech_after: bool
) -> Effects:
    out = Recorder(gazetteer())
    analyse_run(out, list(words), headline, shout, speech_before, speech_after)
    return effects_of(out)


# A dateline says where a story was filed: it names places (and now and then an organisation's
# home), never a person, so only the names the gazetteers know count there ("Cape Canaveral"
# is not somebody because it is two capitalised words).
@lru_cache(maxsize=1 << 10)
def _dateline_effects(words: tuple[str, ...]) -> Effects:
    out = Recorder(gazetteer())
    known = _strip_openers(out.data, list(words))
    if known:
        segment_known(out, known, False, AS_WRITTEN)
    return effects_of(out)


def _story_tokens(
    data: Gazetteer, headline: str, dateline: str | None, body: str
) -> tuple[list[TokInfo], int, int, bool]:
    """The headline's, the dateline's and the body's tokens, each text a sentence of its own;
    also where the headline's and the dateline's tokens end, and whether the headline is all
    capitals."""
    shout = is_shouted(headline)
    toks = tokens(headline, shout, data.keep_caps)
    n_head = len(toks)
    toks.append(SENTENCE_BREAK)
    if dateline:
        # Else "NAIROBI" and "Police said ..." run on into an organisation "Nairobi Police".
        toks += tokens(dateline)
        toks.append(SENTENCE_BREAK)
    n_dateline = len(toks)
    toks += tokens(body)
    return toks, n_head, n_dateline, shout


def entities(data: Gazetteer, headline: str, dateline: str | None, body: str) -> Story:
    """Everything the capitalised runs of the story name."""
    story = Story(data)
    toks, n_head, n_dateline, shout = _story_tokens(data, headline, dateline, body)
    n = len(toks)
    for m in RUN.finditer("".join(map(_code, toks))):
        start, end = m.span()
        words = tuple([t[0] for t in toks[start:end]])
        if n_head < start < n_dateline:
            apply(_dateline_effects(words), story)
            continue
        headline_run = start < n_head
        effects = _run_effects(
            words,
            headline_run,
            shout and headline_run,
            start > 0 and toks[start - 1][3],
            end < n and toks[end][2],
        )
        apply(effects, story)
    return story
