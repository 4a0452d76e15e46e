"""Keywords: the wire's own, plus a few salient words of the headline repeated in the body."""

from __future__ import annotations

import re
from collections import Counter
from itertools import chain

from services.enrich.text import STOPWORDS, word_list

# The wire's own keywords are the editors' word.
WIRE_KEYWORD = 1.0
# A headline word repeated in the body: from a floor, more with each repeat, but never near a
# named entity's confidence (it is only a word).
SALIENT_FLOOR = 0.45
SALIENT_PER_MENTION = 0.05
MAX_SALIENT = 0.75
# A word said once in the body may be incidental.
MIN_BODY_MENTIONS = 2
# A few: keywords say what the story is about, not every word it uses.
MAX_SALIENT_WORDS = 5

# The service's stopwords plus newswire filler (numbers, days, units, 'company', 'officials').
KEYWORD_STOPWORDS = STOPWORDS | word_list("keyword_stoplist.txt")
# Words of four letters or more, lowercase after the first: an all-capitals headline has none.
_KEYWORD = re.compile(r"[A-Za-z][a-z]{3,}")


def salient_words(headline: str, consumed: set[str], *texts: str) -> list[tuple[str, float]]:
    """(word, confidence) for the headline's words repeated in ``texts`` (the dateline, the
    body), leaving out stopwords and the words of the story's entities (``consumed``)."""
    wanted = {w.lower() for w in _KEYWORD.findall(headline)} - KEYWORD_STOPWORDS - consumed
    if not wanted:
        return []  # (an all-capitals headline has no candidates)
    words = chain.from_iterable(map(_KEYWORD.findall, texts))
    counts = Counter(filter(wanted.__contains__, map(str.lower, words)))
    ranked = sorted(
        ((c, w) for w, c in counts.items() if c >= MIN_BODY_MENTIONS),
        key=lambda cw: (-cw[0], cw[1]),
    )
    return [
        (w, round(min(MAX_SALIENT, SALIENT_FLOOR + SALIENT_PER_MENTION * c), 3))
        for c, w in ranked[:MAX_SALIENT_WORDS]
    ]
