"""Our Porter stemmer in pure Python against PyStemmer's (Snowball, in C), at equal
related-link precision: the measurement by which the service's stemmer became PyStemmer's.

Issue 15 asks whether a maintained library should replace what we wrote by hand. Three
questions, on the Reuters-21578 stories `make bench-enrich` uses:

1. Do they stem alike? Every distinct word of the corpus through ours (`bench/porter_python.py`),
   the service's now (PyStemmer's "porter" with words of ≤ 2 letters kept whole, as ours kept
   them), PyStemmer's "porter" as it is and its "english" (Porter2): share of words and of
   tokens that stem as ours did.
2. What does stemming cost a story? Index terms are memoised per raw word
   (`relevance.text._normalise`), so a story stems only the words never seen before: the misses
   per story over the corpus in arrival order, times each stemmer's cost per word.
3. Precision@5 of the service's ranking (`bench.enrich.service_picks`) with each stemmer in
   place of ours in the relevance analyser (the topic tagger keeps ours: it stems its lexicon).

From the repository root:

    python -m bench.stemmer --out bench/results/stemmer.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import Stemmer

from bench import enrich as bench_enrich
from bench import porter_python as ours
from services.enrich import stemmer as service
from services.enrich.relevance import text as relevance_text

ROOT = Path(__file__).resolve().parents[1]


def words_of(recs: list[dict[str, Any]]) -> list[list[str]]:
    """Each story's alphabetic raw words, in order, as the analyser sees them."""
    return [
        [w for w in relevance_text._raw_words(f"{r['title']}\n{r['body']}") if w.isalpha()]
        for r in recs
    ]


def agreement(stories: list[list[str]], other: Callable[[str], str]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for words in stories:
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    same = [w for w in counts if ours.stem(w) == other(w)]
    tokens = sum(counts.values())
    return {
        "distinct_words": len(counts),
        "same_share_of_words": round(len(same) / len(counts), 4),
        "same_share_of_tokens": round(sum(counts[w] for w in same) / tokens, 4),
    }


def cost_per_word_us(words: list[str], fn: Callable[[str], str], rounds: int = 3) -> float:
    """Uncached cost of one word, the best of `rounds` passes over distinct words."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for w in words:
            fn(w)
        best = min(best, time.perf_counter() - t0)
    return round(1e6 * best / len(words), 3)


def misses_per_story(stories: list[list[str]]) -> dict[str, float]:
    """New words a story brings once the memo has seen the stories before it."""
    seen: set[str] = set()
    misses = []
    for words in stories:
        fresh = {w for w in words if w not in seen}
        misses.append(len(fresh))
        seen |= fresh
    tail = misses[len(misses) // 2 :]  # the second half: an archive already running
    return {
        "tokens_per_story": round(sum(map(len, stories)) / len(stories), 1),
        "misses_per_story_all": round(sum(misses) / len(misses), 2),
        "misses_per_story_second_half": round(sum(tail) / len(tail), 2),
    }


@contextmanager
def stemming_with(fn: Callable[[str], str]) -> Iterator[None]:
    # The relevance analyser's stemmer only: the topic tagger stems its lexicon once, at import,
    # and a lexicon stemmed one way cannot match text stemmed another.
    saved = getattr(relevance_text, "stem")  # noqa: B009
    setattr(relevance_text, "stem", fn)  # noqa: B010
    relevance_text._normalise.cache_clear()
    try:
        yield
    finally:
        setattr(relevance_text, "stem", saved)  # noqa: B010
        relevance_text._normalise.cache_clear()


def precision_with(recs: list[dict[str, Any]], fn: Callable[[str], str]) -> dict[str, Any]:
    labels = {r["id"]: r["subcategory"] for r in recs}
    queries, _ = bench_enrich.query_sets(recs)
    with stemming_with(fn):
        t0 = time.perf_counter()
        picks = bench_enrich.service_picks(recs, queries, 5)[0]
        seconds = time.perf_counter() - t0
    return {**bench_enrich.precision(picks, labels, queries), "seconds": round(seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    recs = bench_enrich.load(bench_enrich.DATASET)
    stories = words_of(recs)
    distinct = sorted({w for words in stories for w in words})
    stemmers = {
        "ours (Porter 1980, pure Python, until December 2026)": ours.stem.__wrapped__,
        "the service's (PyStemmer porter, <= 2 letters whole)": service.stem.__wrapped__,
        "PyStemmer porter": Stemmer.Stemmer("porter", 0).stemWord,
        "PyStemmer english (Porter2)": Stemmer.Stemmer("english", 0).stemWord,
    }
    result: dict[str, Any] = {
        "benchmark": "Porter stemmer: ours against PyStemmer (python -m bench.stemmer)",
        "pystemmer": Stemmer.version(),
        "stories": len(recs),
        "memo": misses_per_story(stories),
        "stemmers": {},
    }
    for name, fn in stemmers.items():
        cost = cost_per_word_us(distinct, fn)
        row = {
            "uncached_us_per_word": cost,
            "us_per_story_second_half": round(
                cost * result["memo"]["misses_per_story_second_half"], 1
            ),
            "agreement_with_ours": agreement(stories, fn),
            "precision_at_5": precision_with(recs, fn),
        }
        result["stemmers"][name] = row
        print(name, json.dumps(row), flush=True)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
