"""English stemming for the related-links index and the topic tagger: Porter's 1980 algorithm
("An algorithm for suffix stripping", Program 14(3)) as Snowball implements it in C (PyStemmer's
"porter"), with words of two letters or fewer kept as they are ("us", "vs", "is" stay whole,
where Snowball's porter would cut them to "u", "v", "i").

It replaced a stemmer of our own in pure Python (kept as the benchmark's baseline in
`bench/porter_python.py`): the same stem for every one of Reuters-21578's 20,347 words, so the
same index terms and the same precision@5, at 2.7 µs a word uncached instead of 16.8 (`python -m
bench.stemmer`, `bench/results/stemmer.json`). Results are memoised: newswire vocabularies are
Zipfian, so most calls are a dict lookup.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import Stemmer

__all__ = ["stem"]

# A PyStemmer object is not safe to share between threads: one per thread.
_local = threading.local()


def _porter() -> Stemmer.Stemmer:
    porter = getattr(_local, "porter", None)
    if porter is None:
        porter = _local.porter = Stemmer.Stemmer("porter")
    return porter


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter stem of a lowercase word; words of ≤ 2 letters, and any that is not all letters,
    are returned unchanged."""
    if len(word) <= 2 or not word.isalpha():
        return word
    return str(_porter().stemWord(word))
