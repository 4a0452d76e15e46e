"""Text analysis for ranking: words -> index terms, and the simhash that spots re-filed copies.

Terms are lowercase, accent-folded Porter stems without stopwords or plain numbers (years are
kept): the words two stories on one subject share, whatever their inflection or spelling.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import numpy as np

from services.enrich.stemmer import stem
from services.enrich.text import STOPWORDS, fold

_APOS = "\u2019"  # typographic apostrophe
_WORD = re.compile(r"[^\W_]+(?:[.',\u2019][^\W_]+)*\.?")
_ACRONYM = re.compile(r"^(?:[a-z]\.){2,}$|^(?:[a-z]\.)+[a-z]$")
_NUMBER = re.compile(r"^[0-9][0-9.,]*$")
_SHINGLE = 3


def _raw_words(text: str) -> list[str]:
    # Lowercased before folding, so that Zelenskyy's "é"s match their ASCII spellings.
    return _WORD.findall(fold(text.lower()))


@lru_cache(maxsize=200_000)
def _normalise(word: str) -> str | None:
    """One raw word -> one index term, or None when it carries no topical signal."""
    if _ACRONYM.match(word):  # u.s. -> us, u.k. -> uk (checked before stopwords: "us" != "u.s.")
        return word.replace(".", "")
    word = word.rstrip(".")
    if word.endswith(("'s", _APOS + "s")):
        word = word[:-2]
    if word in STOPWORDS:
        return None
    if _NUMBER.match(word):
        # Plain quantities (155,221 bags; 5.93 mln) are noise for topicality; years are not.
        if len(word) == 4 and word.isdigit() and 1800 <= int(word) <= 2099:
            return word
        return None
    word = word.replace("'", "").replace(_APOS, "").replace(",", "").replace(".", "")
    if len(word) < 2:
        return None
    if word.isalpha():
        s = stem(word)
        return s if len(s) >= 2 and s not in STOPWORDS else None
    return word  # alphanumerics: g7, f16, covid19, 737max


def analyze(text: str) -> list[str]:
    """Tokenise and normalise ``text`` into index terms, in order, repeats kept."""
    out: list[str] = []
    for w in _raw_words(text):
        t = _normalise(w)
        if t is not None:
            out.append(t)
    return out


def _stable_hash64(s: str) -> int:
    # Not hash(): simhashes are stored with the features and must survive a restart.
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")


def simhash(text: str) -> int:
    """64-bit simhash of word 3-shingles (all words, numbers and stopwords kept: near-duplicates
    share wording, while two templated earnings reports differ in their names and figures)."""
    words = _raw_words(text)
    if not words:
        return 0
    if len(words) < _SHINGLE:
        shingles = [" ".join(words)]
    else:
        shingles = [" ".join(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)]
    hashes = np.fromiter((_stable_hash64(s) for s in shingles), dtype=np.uint64)
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(shingles)
    packed = np.packbits(votes > 0, bitorder="little")
    return int.from_bytes(packed.tobytes(), "little")


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
