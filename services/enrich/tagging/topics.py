"""Topics: IPTC Media Topics (`data/mediatopics.csv`, CC BY 4.0 IPTC) matched by their labels and
those of their narrower topics, plus curated newswire terms (`data/topic_terms.json`), scored
per level-2 topic with the level-1 parent added."""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from itertools import compress, count

from services.enrich.stemmer import stem
from services.enrich.tagging.data import load_once
from services.enrich.text import DATA_DIR, fold, word_list

MEDTOP_SCHEME = "http://cv.iptc.org/newscodes/mediatopic/"

# A term's weight. A level-2 (or deeper) label, or a curated term, points at one topic...
TERM_WEIGHT = 1.0
# ... a level-1 label is broad ("economy, business and finance").
TOP_LABEL_WEIGHT = 0.5
# A headline states what the story is about: its terms count twice.
HEADLINE_WEIGHT = 2.0
BODY_WEIGHT = 1.0
# A topic needs this much to be tagged (two distinct terms, or one in the headline and again in
# the body; one headline term alone scores 1.69)...
MIN_TOPIC_SCORE = 2.0
# ... and half the best topic's score: the story's main topics, not every passing word.
RELATIVE_TO_BEST = 0.5
# At most this many level-2 topics: beyond three, a story is about none of them in particular.
MAX_TOPICS = 3
# Confidence grows with the score, from a floor that a bare MIN_TOPIC_SCORE lifts to 0.59.
TOPIC_FLOOR = 0.35
TOPIC_PER_SCORE = 0.12
MAX_TOPIC = 0.95
# The level-1 parent is surer than its child, more so with evidence of its own.
PARENT_PER_SCORE = 0.03
MAX_PARENT = 0.97
# Single stems shorter than this ("tv", "ai") match too many unrelated words.
MIN_STEM_CHARS = 3

# Label words that carry no topic by themselves (`data/generic_label_parts.txt`).
GENERIC_LABEL_PARTS = word_list("generic_label_parts.txt")
_LABEL_PARTS = re.compile(r",\s*|\s+and\s+")
# Words without trailing apostrophes or hyphens (as "[a-z][a-z'-]*" with them stripped).
_WORD = re.compile(r"[a-z][a-z'-]*(?<=[a-z])")


@dataclass(frozen=True)
class Topic:
    code: str
    label: str
    level: int
    parent: str | None
    top: str  # level-1 ancestor code
    second: str | None  # level-2 ancestor code (None for level-1 topics)


@dataclass
class TopicIndex:
    topics: dict[str, Topic] = field(default_factory=dict)
    by_label: dict[str, str] = field(default_factory=dict)  # lowercase label -> code
    # stemmed phrase -> list of (level-2 or level-1 code, weight)
    terms: dict[tuple[str, ...], list[tuple[str, float]]] = field(default_factory=dict)
    max_len: int = 1
    # Every leading part of a term in terms, so a scan stops as soon as no term can match.
    prefixes: set[tuple[str, ...]] = field(default_factory=set)
    starts: set[str] = field(default_factory=set)

    def add_term(self, phrase: str, code: str, weight: float) -> None:
        stems = _stems(phrase)
        if not stems or (len(stems) == 1 and len(stems[0]) < MIN_STEM_CHARS):
            return
        bucket = self.terms.setdefault(stems, [])
        if all(c != code for c, _ in bucket):
            bucket.append((code, weight))
        self.max_len = max(self.max_len, len(stems))
        self.prefixes.update(stems[:k] for k in range(1, len(stems) + 1))
        self.starts.add(stems[0])


def _stems(text: str) -> tuple[str, ...]:
    return tuple(map(stem, _WORD.findall(fold(text).lower())))


def _read_topics(index: TopicIndex) -> None:
    with (DATA_DIR / "mediatopics.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    parent_of = {r["code"]: (r["parent"] or None) for r in rows}
    for r in rows:
        if r["retired"]:
            continue
        chain = [r["code"]]
        while (p := parent_of.get(chain[-1])) is not None and p not in chain:
            chain.append(p)  # (one row, "Freemasonry", names itself as its parent)
        if int(r["level"]) != len(chain):
            continue  # inconsistent row: skip rather than misfile
        second = chain[-2] if len(chain) >= 2 else None
        parent = chain[1] if len(chain) > 1 else None
        topic = Topic(r["code"], r["label_en"], int(r["level"]), parent, chain[-1], second)
        index.topics[topic.code] = topic
        index.by_label.setdefault(topic.label.lower(), topic.code)


def _add_labels(index: TopicIndex) -> None:
    """Each topic's label, and its parts split on commas and "and", as terms of its level-2
    ancestor (or of itself at level 1)."""
    for topic in index.topics.values():
        target = topic.second or topic.code
        weight = TERM_WEIGHT if topic.level >= 2 else TOP_LABEL_WEIGHT
        parts = [topic.label]
        for piece in _LABEL_PARTS.split(topic.label):
            if piece and piece.lower() not in GENERIC_LABEL_PARTS and piece != topic.label:
                parts.append(piece)
        for part in parts:
            index.add_term(part, target, weight)


def _add_curated(index: TopicIndex) -> None:
    curated = json.loads((DATA_DIR / "topic_terms.json").read_text(encoding="utf-8"))["terms"]
    level2 = {t.label.lower(): t.code for t in index.topics.values() if t.level == 2}
    for label, terms in curated.items():
        code = level2.get(label)
        if code is None:
            continue
        for term in terms:
            index.add_term(term, code, TERM_WEIGHT)


def _build() -> TopicIndex:
    index = TopicIndex()
    _read_topics(index)
    _add_labels(index)
    _add_curated(index)
    return index


#: The Media Topics and their terms, read on the first call and kept for the process.
topic_index = load_once(_build)


def _count_terms(
    index: TopicIndex, text: str, weight: float, counts: dict[str, dict[tuple[str, ...], float]]
) -> None:
    """Add ``weight`` per occurrence of each term in ``text`` to its topics' counts."""
    terms = index.terms
    prefixes = index.prefixes
    max_len = index.max_len
    stems = _stems(text)
    n = len(stems)
    # Only where a term can begin: most words begin none.
    for i in compress(count(), map(index.starts.__contains__, stems)):
        for end in range(i + 1, min(i + max_len, n) + 1):
            phrase = stems[i:end]
            if phrase not in prefixes:
                break
            bucket = terms.get(phrase)
            if bucket is None:
                continue
            for code, w in bucket:
                per = counts.get(code)
                if per is None:
                    per = counts[code] = {}
                per[phrase] = per.get(phrase, 0.0) + weight * w


def _topic_scores(index: TopicIndex, weighted: tuple[tuple[str, float], ...]) -> dict[str, float]:
    counts: dict[str, dict[tuple[str, ...], float]] = {}
    for text, weight in weighted:
        _count_terms(index, text, weight, counts)
    # Each distinct term counts, its repeats less and less.
    return {
        code: sum(1.0 + math.log(c) if c >= 1 else c for c in per.values())
        for code, per in counts.items()
    }


def topic_tags(index: TopicIndex, headline: str, *texts: str) -> list[tuple[str, float]]:
    """(code, confidence) for the level-2 topics the story is most about, with their parents.
    ``texts`` are the rest of the story (the dateline, the body), each a text of its own."""
    weighted = ((headline, HEADLINE_WEIGHT), *((t, BODY_WEIGHT) for t in texts))
    scores = _topic_scores(index, weighted)
    level2 = {c: s for c, s in scores.items() if index.topics[c].level == 2}
    ranked = sorted(level2.items(), key=lambda kv: -kv[1])
    out: dict[str, float] = {}
    if not ranked:
        return []
    best = ranked[0][1]
    for code, score in ranked[:MAX_TOPICS]:
        if score < MIN_TOPIC_SCORE or score < RELATIVE_TO_BEST * best:
            break
        conf = round(min(MAX_TOPIC, TOPIC_FLOOR + TOPIC_PER_SCORE * score), 3)
        out[code] = conf
        top = index.topics[code].top
        top_score = scores.get(top, 0.0)
        parent = round(min(MAX_PARENT, conf + PARENT_PER_SCORE * top_score), 3)
        out[top] = max(out.get(top, 0.0), parent)
    return list(out.items())


def topic_ancestors(code: str) -> tuple[str, ...]:
    """A Media Topic code and its broader codes, the most specific first ("20000763",
    "20000756", "13000000"); empty for a code the vocabulary does not have."""
    topics = topic_index().topics
    chain: list[str] = []
    current = topics.get(code)
    while current is not None and current.code not in chain:
        chain.append(current.code)
        current = topics.get(current.parent) if current.parent else None
    return tuple(chain)
