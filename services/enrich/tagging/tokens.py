"""Tokens, and the capitalised runs in which names are looked for.

A token is reduced to what the entity rules need: its text (a trailing sentence period, a
possessive "'s" removed), a one-letter code, and whether it is a speech verb. The codes of a
text's tokens are joined into one string, and `RUN` finds the capitalised runs in it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from services.enrich.tagging.lexicon import (
    ABBREVIATIONS,
    CONNECTORS,
    NAME_PARTICLES,
    SPEECH_VERBS,
)

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
# not end a sentence). Codes: C capitalised word, E one ending a sentence or a possessive, K
# connector, P name particle (a connector too), O "of" or "for" (one too), T "the", e a lowercase
# word ending a sentence, p a lowercase possessive, o other.
TokInfo = tuple[str, str, bool, bool]

# A run: a capitalised word, then capitalised words and connectors followed by one (a run of
# name particles too: "Ursula von der Leyen"; "the" only after "of" or "for": "Democratic
# Republic of the Congo", "Office for the Coordination of Humanitarian Affairs", not "... 4 p.m.
# CDT the National Hurricane Center said" nor "the World Bank and the Inter-American Development
# Bank"), ending at (and including) a word that ends a sentence. Same as scanning the tokens one
# by one.
RUN = re.compile(r"E|C(?:C|[KO](?=[CE])|OT(?=[CE])|P+(?=[CE]))*E?")
# Put between texts that are sentences of their own (headline, dateline, body): no run crosses
# it, and it is no speech verb.
SENTENCE_BREAK: TokInfo = (".", "o", False, False)

_POSSESSIVES = ("'s", "\u2019s")


def _word(raw: str, shout: bool, keep_caps: frozenset[str]) -> tuple[str, bool, bool]:
    """A token that starts with a letter (it never strips down to nothing) as the rules read it,
    whether it ends a sentence, and whether it is a possessive."""
    ends = possessive = False
    word = raw
    if word.endswith(".") and word.lower() not in ABBREVIATIONS and word.count(".") == 1:
        word = word[:-1]
        ends = True
    for poss in _POSSESSIVES:
        if word.endswith(poss):
            word = word[: -len(poss)]
            possessive = True
    word = word.rstrip("'\u2019")
    # An all-capitals headline says nothing by its capitals, except in known acronyms.
    if shout and word.isupper() and word not in keep_caps:
        word = word.capitalize() if len(word) > 1 else word
    return word, ends, possessive


def tok_info(raw: str, shout: bool, keep_caps: frozenset[str]) -> TokInfo:
    if raw[0].isalpha():
        text, ends, possessive = _word(raw, shout, keep_caps)
        cap = text[0].isupper()
    else:
        # Never capitalised; "&" is still a connector.
        text, ends, possessive, cap = raw, raw in ".!?", False, False
    lower = text.lower()
    if cap:
        # A possessive ends a name: "Russia's Kursk region", "the Bank's Monetary Policy
        # Committee" are two names each, not one.
        code = "E" if ends or possessive else "C"
    elif ends and raw[0].isalpha():
        code = "e"  # "... the research team. Tchoumba said": nothing of the name after it
    elif possessive:
        code = "p"  # "the company's": says nothing of the name after it
    elif lower in NAME_PARTICLES:
        code = "P"
    elif lower == "the":
        code = "T"
    elif lower in ("of", "for"):
        code = "O"
    elif lower in CONNECTORS:
        code = "K"
    else:
        code = "o"
    verb = lower in SPEECH_VERBS
    return (text, code, verb, verb and not (ends or possessive))


# Newswire vocabularies are Zipfian: most tokens of a story were seen in earlier ones.
@lru_cache(maxsize=1 << 14)
def _plain_tok(raw: str) -> TokInfo:
    return tok_info(raw, False, frozenset())


def tokens(
    text: str, shout: bool = False, keep_caps: frozenset[str] = frozenset()
) -> list[TokInfo]:
    raws = _TOKEN.findall(text)
    if shout:
        return [tok_info(raw, True, keep_caps) for raw in raws]
    return list(map(_plain_tok, raws))


def is_shouted(headline: str) -> bool:
    """An all-capitals headline (more than 80% of its letters), whose capitals mark no names."""
    letters = [c for c in headline if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) > 0.8 * len(letters)
