"""The archive's related-links index: inverted postings, BM25 with pseudo-relevance feedback,
and the blend with the semantic model and sentence vectors.

Adding a story touches only its own terms and tags: document frequencies, the collection size and
the mean length are running counters and idf is computed from them at query time, so an add
costs O(terms of the story) whatever the archive size. Removing tombstones a slot; ``compact``
drops the dead postings off the hot path.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from services.enrich.relevance import params, semantic
from services.enrich.relevance.features import StoryFeatures
from services.enrich.relevance.semantic import SemanticModel, TermSnapshot
from services.enrich.relevance.text import hamming

#: Postings lists at least this long keep a cache of their BM25 impacts (float32 per posting).
_IMPACT_CACHE_MIN = 1024


class Scored(NamedTuple):
    story_id: str
    #: Ranking score (pass 2, with tag/recency bonuses), relative to the query's own score.
    score: float
    #: Direct text similarity (pass 1) relative to the query's self-score; the threshold applies
    #: to this one.
    direct: float


def _idf(n_docs: float, df: float) -> float:
    """BM25 idf (Lucene's non-negative variant)."""
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def _sat(tf: float, norm: float) -> float:
    return tf * (params.K1 + 1.0) / (tf + norm)


class _Grow:
    """A numpy column that grows by doubling (amortised O(1) append)."""

    __slots__ = ("data", "n")

    def __init__(self, dtype: npt.DTypeLike, fill: Any) -> None:
        self.data: np.ndarray = np.full(1024, fill, dtype=dtype)
        self.n = 0

    @classmethod
    def filled(cls, n: int, dtype: npt.DTypeLike, fill: Any) -> _Grow:
        grown = cls(dtype, fill)
        grown.data = np.full(max(1024, 2 * n), fill, dtype=dtype)
        grown.n = n
        return grown

    def append(self, value: Any) -> None:
        if self.n == len(self.data):
            new = np.empty(2 * len(self.data), dtype=self.data.dtype)
            new[: self.n] = self.data
            self.data = new
        self.data[self.n] = value
        self.n += 1

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.n]


class _GrowRows:
    """A growable float16 matrix of fixed row width (sentence embeddings, one row per slot)."""

    __slots__ = ("data", "n")

    def __init__(self, width: int) -> None:
        self.data: np.ndarray = np.zeros((1024, width), dtype=np.float16)
        self.n = 0

    @classmethod
    def zeros(cls, rows: int, width: int) -> _GrowRows:
        grown = cls(width)
        grown.data = np.zeros((max(1024, 2 * rows), width), dtype=np.float16)
        grown.n = rows
        return grown

    def append(self, row: np.ndarray | None) -> None:
        if self.n == len(self.data):
            new = np.zeros((2 * len(self.data), self.data.shape[1]), dtype=np.float16)
            new[: self.n] = self.data
            self.data = new
        if row is not None:
            self.data[self.n] = row
        self.n += 1


@dataclass
class _Postings:
    docs: array[int] = field(default_factory=lambda: array("i"))
    tfs: array[float] = field(default_factory=lambda: array("f"))
    df: int = 0  # live documents only (tombstoned ones stay in the arrays until compact())
    # Cached BM25 impacts (K1+1) tf / (tf + norm_d) for long lists, for the first n postings,
    # valid for one generation of length norms (see RelatedIndex._impacts).
    impact: np.ndarray | None = None
    impact_gen: int = -1


class RelatedIndex:
    """In-memory inverted index of stories for relatedness queries.

    Memory per story: one posting (int32 slot + float32 weighted tf) per distinct term, the same
    again in the forward index (needed for ``remove`` and for READ ALSO placement), its tag ids and
    a few fixed-size columns (length, time, simhash, group, live flag); with sentence embeddings,
    2 bytes per dimension more (768 bytes for a 384-d model).
    """

    def __init__(self) -> None:
        self._term_ids: dict[str, int] = {}
        self._postings: list[_Postings] = []
        self._tag_ids: dict[str, int] = {}
        #: Tag slug by id (ids are never reused), so a story's tags read back cheaply.
        self._tag_names: list[str] = []
        self._tag_df: list[int] = []
        self._slot_of: dict[str, int] = {}
        self._ids: list[str] = []
        self._group_ids: dict[str, int] = {}
        self._group_keys: list[str] = []
        self._fwd_terms: list[array[int]] = []
        self._fwd_tfs: list[array[float]] = []
        self._doc_tags: list[tuple[int, ...]] = []
        self._dl = _Grow(np.float32, 0.0)
        self._df_col = _Grow(np.int32, 0)
        self._alive = _Grow(np.bool_, False)
        self._pub = _Grow(np.float64, np.nan)
        self._sig = _Grow(np.uint64, 0)
        self._group = _Grow(np.int32, -1)
        self._n_live = 0
        self._total_dl = 0.0
        self._dead_postings = 0
        self._names_cache: list[str] | None = None
        self._norms_cache: tuple[float, int, np.ndarray] | None = None
        self._norms_gen = 0
        # Sentence embeddings (optional): created with the first story that has one; the model
        # of that story is the index's, vectors of any other model are ignored.
        self._emb: _GrowRows | None = None
        self._emb_ok = _Grow(np.bool_, False)
        self._emb_model: str | None = None
        # The archive's own latent semantic model (see semantic.py), once one has been fitted;
        # one float16 row per slot, folded in as stories arrive.
        self._semantic: SemanticModel | None = None
        self._sem: _GrowRows | None = None
        self._sem_ok = _Grow(np.bool_, False)

    # -- maintenance ------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n_live

    def __contains__(self, story_id: object) -> bool:
        return story_id in self._slot_of

    def group_of(self, story_id: str) -> str | None:
        """The group key (group id, or own id) of an indexed story; None if not indexed."""
        slot = self._slot_of.get(story_id)
        if slot is None:
            return None
        return self._group_keys[slot]

    def _intern_group(self, key: str) -> int:
        gid = self._group_ids.get(key)
        if gid is None:
            gid = self._group_ids[key] = len(self._group_ids)
        return gid

    def add(self, features: StoryFeatures) -> None:
        """Index a story (replacing any earlier entry with the same id). O(terms of the story)."""
        if features.story_id in self._slot_of:
            self.remove(features.story_id)
        slot = len(self._ids)
        self._ids.append(features.story_id)
        self._slot_of[features.story_id] = slot
        terms = features.terms
        fwd_t = array("i")
        fwd_f = array("f")
        for term, tf in terms.items():
            tid = self._term_ids.get(term)
            if tid is None:
                tid = self._term_ids[term] = len(self._postings)
                self._postings.append(_Postings())
                self._df_col.append(0)
            p = self._postings[tid]
            p.docs.append(slot)
            p.tfs.append(tf)
            p.df += 1
            self._df_col.data[tid] += 1
            fwd_t.append(tid)
            fwd_f.append(tf)
        self._fwd_terms.append(fwd_t)
        self._fwd_tfs.append(fwd_f)
        tag_ids = []
        for tag in features.tags:
            tg = self._tag_ids.get(tag)
            if tg is None:
                tg = self._tag_ids[tag] = len(self._tag_df)
                self._tag_names.append(tag)
                self._tag_df.append(0)
            self._tag_df[tg] += 1
            tag_ids.append(tg)
        self._doc_tags.append(tuple(tag_ids))
        dl = float(sum(terms.values()))
        self._dl.append(dl)
        self._alive.append(True)
        self._pub.append(np.nan if features.published is None else features.published)
        self._sig.append(np.uint64(features.simhash))
        self._group.append(self._intern_group(features.group_key))
        self._group_keys.append(features.group_key)
        self._add_vector(features)
        self._add_semantic(features)
        self._n_live += 1
        self._total_dl += dl

    def _vector_of(self, features: StoryFeatures) -> np.ndarray | None:
        """The story's vector if it is comparable with the index's (same model and width)."""
        vec = features.vector
        if vec is None or self._emb is None:
            return None
        if features.embedding_model != self._emb_model or len(vec) != self._emb.data.shape[1]:
            return None
        return vec

    def _add_vector(self, features: StoryFeatures) -> None:
        vec = features.vector
        if vec is not None and self._emb is None:
            self._emb = _GrowRows(len(vec))
            self._emb_model = features.embedding_model
            for _ in range(len(self._ids) - 1):  # slots indexed before the first vector
                self._emb.append(None)
        vec = self._vector_of(features)
        if self._emb is not None:
            self._emb.append(vec)
        self._emb_ok.append(vec is not None)

    def _add_semantic(self, features: StoryFeatures) -> None:
        vec = self._semantic.fold_in(features.terms) if self._semantic is not None else None
        if self._sem is not None:
            self._sem.append(vec)
        self._sem_ok.append(vec is not None)

    @property
    def semantic_model(self) -> SemanticModel | None:
        return self._semantic

    def term_snapshot(
        self, max_stories: int | None = None, among: np.ndarray | None = None
    ) -> TermSnapshot:
        """The terms of the live stories (or of the slots marked in ``among``), only the
        ``max_stories`` most recently published if given, for fitting or projecting in a worker
        thread (see :class:`~services.enrich.semantic.TermSnapshot`)."""
        slots = np.flatnonzero(self._alive.view if among is None else among)
        if max_stories is not None and len(slots) > max_stories:
            published = self._pub.data[slots]
            when = np.where(np.isnan(published), -np.inf, published)
            recent = np.argsort(when, kind="stable")[len(slots) - max_stories :]
            slots = np.sort(slots[recent])
        return TermSnapshot(
            slots=slots,
            terms=[self._fwd_terms[s] for s in slots.tolist()],
            tfs=[self._fwd_tfs[s] for s in slots.tolist()],
            names=self._term_names(),
        )

    def semantic_snapshots(self) -> tuple[TermSnapshot, TermSnapshot]:
        """(the stories a fit reads: the SEMANTIC_MAX_STORIES most recent, every other live
        story), for :func:`semantic.fit_archive` in a worker thread."""
        recent = self.term_snapshot(semantic.SEMANTIC_MAX_STORIES)
        older = self._alive.view.copy()
        older[recent.slots] = False
        return recent, self.term_snapshot(among=older)

    def install_semantic(
        self, model: SemanticModel, slots: np.ndarray, vectors: np.ndarray
    ) -> None:
        """Use ``model`` from now on. ``vectors`` are the stories of ``slots`` in it (from
        :func:`semantic.fit_archive` or :func:`semantic.project`, in a worker thread, on a
        snapshot); the few live stories added since the snapshot are folded in here."""
        n_slots = len(self._ids)
        alive = self._alive.view
        covered = np.zeros(n_slots, dtype=bool)
        covered[slots] = True
        rows = _GrowRows.zeros(n_slots, model.dims)
        rows.data[slots] = vectors
        names = self._term_names()
        for slot in np.flatnonzero(alive & ~covered).tolist():
            terms = {
                names[tid]: tf
                for tid, tf in zip(self._fwd_terms[slot], self._fwd_tfs[slot], strict=True)
            }
            vec = model.fold_in(terms)
            if vec is not None:
                rows.data[slot] = vec
        ok = _Grow.filled(n_slots, np.bool_, False)
        ok.data[:n_slots] = alive & (np.linalg.norm(rows.data[:n_slots], axis=1) > 0.0)
        self._semantic, self._sem, self._sem_ok = model, rows, ok

    def fit_semantic(self, now: float | None = None) -> SemanticModel | None:
        """Fit and install a model of the stories indexed now (in-process; the service fits in
        a worker thread through :meth:`term_snapshot`). None, and nothing changes, when the
        index is too small for one."""
        recent, rest = self.semantic_snapshots()
        fitted = semantic.fit_archive(
            recent, rest, now=datetime.now(UTC).timestamp() if now is None else now
        )
        if fitted is None:
            return None
        model, slots, vectors = fitted
        self.install_semantic(model, slots, vectors)
        return model

    def remove(self, story_id: str) -> bool:
        """Withdraw a story (killed, withheld, or replaced by a corrected version)."""
        slot = self._slot_of.pop(story_id, None)
        if slot is None:
            return False
        self._alive.data[slot] = False
        for tid in self._fwd_terms[slot]:
            self._postings[tid].df -= 1
            self._df_col.data[tid] -= 1
        for tg in self._doc_tags[slot]:
            self._tag_df[tg] -= 1
        self._dead_postings += len(self._fwd_terms[slot])
        self._fwd_terms[slot] = array("i")
        self._fwd_tfs[slot] = array("f")
        self._doc_tags[slot] = ()
        self._emb_ok.data[slot] = False
        self._sem_ok.data[slot] = False
        self._n_live -= 1
        self._total_dl -= float(self._dl.data[slot])
        return True

    def dead_share(self) -> float:
        """Share of postings that belong to removed stories (a hint for when to compact())."""
        live = sum(len(f) for f in self._fwd_terms)
        total = live + self._dead_postings
        return self._dead_postings / total if total else 0.0

    def compact(self) -> None:
        """Drop tombstoned postings. O(index size): run off the hot path, e.g. nightly."""
        alive = self._alive.view
        for p in self._postings:
            docs = np.frombuffer(p.docs, dtype=np.int32) if len(p.docs) else None
            if docs is None:
                continue
            keep = alive[docs]
            if keep.all():
                continue
            tfs = np.frombuffer(p.tfs, dtype=np.float32)
            new_docs, new_tfs = array("i"), array("f")
            new_docs.frombytes(docs[keep].tobytes())
            new_tfs.frombytes(tfs[keep].tobytes())
            del docs, tfs
            p.docs, p.tfs = new_docs, new_tfs
            p.impact = None
        self._dead_postings = 0

    # -- lookups ----------------------------------------------------------------------------

    def key_terms(self, story_id: str, limit: int = 40) -> dict[str, float]:
        """A stored story's most characteristic terms, weight = saturated tf x current idf."""
        slot = self._slot_of.get(story_id)
        if slot is None:
            return {}
        names = self._term_names()
        n = max(self._n_live, 1)
        norm = self._norm(float(self._dl.data[slot]))
        w = {
            names[tid]: _sat(tf, norm) * _idf(n, self._postings[tid].df)
            for tid, tf in zip(self._fwd_terms[slot], self._fwd_tfs[slot], strict=True)
        }
        return dict(heapq.nlargest(limit, w.items(), key=lambda kv: kv[1]))

    def tags_of(self, story_id: str) -> tuple[str, ...]:
        """A stored story's tag slugs."""
        slot = self._slot_of.get(story_id)
        if slot is None:
            return ()
        return tuple(self._tag_names[tg] for tg in self._doc_tags[slot])

    def _term_names(self) -> list[str]:
        cached = self._names_cache
        if cached is None or len(cached) != len(self._term_ids):
            cached = [""] * len(self._term_ids)
            for t, i in self._term_ids.items():
                cached[i] = t
            self._names_cache = cached
        return cached

    def _norm(self, dl: float) -> float:
        avgdl = self._total_dl / self._n_live if self._n_live else max(dl, 1.0)
        return params.K1 * (1.0 - params.B + params.B * dl / max(avgdl, 1e-9))

    # -- querying ---------------------------------------------------------------------------

    def query(
        self,
        features: StoryFeatures,
        k: int = 5,
        exclude: Collection[str] = frozenset(),
        *,
        min_score: float | None = None,
    ) -> list[Scored]:
        """The ``k`` stories most related to ``features``, best first.

        Never returns the story itself, another version of it (same group), anything in
        ``exclude``, a near-duplicate of the query, or two near-duplicates of each other.
        Candidates whose direct relative score is below ``min_score`` (default
        MIN_RELATIVE_SCORE; 0 disables) are dropped, so fewer than ``k`` may come back.

        Two passes over the postings: (1) BM25 with the story's top MAX_QUERY_TERMS terms gives
        the *direct* score; (2) the query vector is blended with the vectors of its best
        FEEDBACK_DOCS direct matches (Rocchio pseudo-relevance feedback) and the postings are
        scored again; pass 2 orders the results. Feedback docs must themselves clear the
        threshold, so an unrelated story is not "expanded" towards whatever matched it weakly.
        """
        threshold = params.MIN_RELATIVE_SCORE if min_score is None else min_score
        if k <= 0 or self._n_live == 0:
            return []
        q_slot = self._slot_of.get(features.story_id)
        self_score, weighted = self._query_terms(features, in_index=q_slot is not None)
        if self_score <= 0.0 or not weighted:
            return []
        norms = self._doc_norms()
        direct = self._accumulate([(w, tid) for w, tid, _ in weighted], norms)
        self._mask(direct, features, q_slot, exclude)
        direct /= np.float32(self_score)
        ranking = direct
        if params.FEEDBACK_DOCS > 0:
            expanded, self_exp = self._expand(direct, weighted, norms, threshold)
            if expanded and self_exp > 0.0:
                ranking = self._accumulate(expanded, norms)
                self._mask(ranking, features, q_slot, exclude)
                ranking /= np.float32(self_exp)
                # Only stories that also match directly can be linked (see docstring).
                ranking[direct < max(threshold, 1e-9)] = 0.0
        return self._finish(features, ranking, direct, k, threshold)

    def _query_terms(
        self, features: StoryFeatures, *, in_index: bool
    ) -> tuple[float, list[tuple[float, int, float]]]:
        """The query story's self-score, and its top MAX_QUERY_TERMS terms that another story
        has, as (idf x query tf, term id, saturated query tf)."""
        # Statistics as if the query were part of the collection, so that its self-score and
        # hence the relative scale are the same whether or not it has been indexed yet.
        n = self._n_live + (0 if in_index else 1)
        q_terms = features.terms
        q_norm = self._norm(float(sum(q_terms.values())))
        self_score = 0.0
        weighted: list[tuple[float, int, float]] = []
        for term, qtf in q_terms.items():
            tid = self._term_ids.get(term)
            df = self._postings[tid].df if tid is not None else 0
            df_eff = df + (0 if in_index else 1)
            w = _idf(n, df_eff) * qtf
            sat_q = _sat(qtf, q_norm)  # the query story scored as a document
            self_score += w * sat_q
            if tid is not None and df_eff > 1:  # someone else has it: can match
                weighted.append((w, tid, sat_q))
        if len(weighted) > params.MAX_QUERY_TERMS:
            weighted = heapq.nlargest(params.MAX_QUERY_TERMS, weighted)
        return self_score, weighted

    def _accumulate(self, terms: Sequence[tuple[float, int]], norms: np.ndarray) -> np.ndarray:
        """Sum of w(t) x BM25-saturated tf(t, d) over the given terms, for every slot."""
        acc = np.zeros(len(self._ids), dtype=np.float32)
        for w, tid in terms:
            p = self._postings[tid]
            docs = np.frombuffer(p.docs, dtype=np.int32)
            if len(docs) >= _IMPACT_CACHE_MIN:
                acc[docs] += np.float32(w) * self._impacts(p, docs, norms)
            else:
                tfs = np.frombuffer(p.tfs, dtype=np.float32)
                acc[docs] += np.float32(w * (params.K1 + 1.0)) * tfs / (tfs + norms[docs])
                del tfs
            del docs  # release the buffer export so the array can grow again
        return acc

    def _impacts(self, p: _Postings, docs: np.ndarray, norms: np.ndarray) -> np.ndarray:
        """Impacts of a long postings list, cached and extended only by the postings added
        since (amortised O(new postings)); recomputed when the length norms are recomputed."""
        have = 0 if p.impact is None or p.impact_gen != self._norms_gen else len(p.impact)
        if have == len(docs) and p.impact is not None:
            return p.impact
        tfs = np.frombuffer(p.tfs, dtype=np.float32)[have:]
        new = (np.float32(params.K1 + 1.0) * tfs / (tfs + norms[docs[have:]])).astype(np.float32)
        p.impact = new if have == 0 or p.impact is None else np.concatenate([p.impact, new])
        p.impact_gen = self._norms_gen
        return p.impact

    def _mask(
        self,
        acc: np.ndarray,
        features: StoryFeatures,
        q_slot: int | None,
        exclude: Collection[str],
    ) -> None:
        acc *= self._alive.view
        gid = self._group_ids.get(features.group_key)
        if gid is not None:
            acc[self._group.view == gid] = 0.0
        if q_slot is not None:
            acc[q_slot] = 0.0
        for sid in exclude:
            s = self._slot_of.get(sid)
            if s is not None:
                acc[s] = 0.0

    def _expand(
        self,
        direct: np.ndarray,
        weighted: Sequence[tuple[float, int, float]],
        norms: np.ndarray,
        threshold: float,
    ) -> tuple[list[tuple[float, int]], float]:
        """Rocchio: (1 - beta) q/|q| + beta x score-weighted mean of feedback docs' d/|d|, where
        vectors hold idf x saturated tf; the top FEEDBACK_TERMS terms of the blend, and the
        blend's self-score (its score against the same blend of the stories' saturated tfs, the
        "centroid story"), which keeps pass-2 scores on the scale of pass 1. Empty when no story
        clears the threshold (then pass 1 stands)."""
        eligible = int(np.count_nonzero(direct >= max(threshold, 1e-9)))
        r = min(params.FEEDBACK_DOCS, eligible)
        if r == 0:
            return [], 0.0
        fb = np.argpartition(-direct, r - 1)[:r]
        fb_w = direct[fb].astype(np.float64)
        fb_w /= fb_w.sum()
        q_t = np.fromiter((tid for _, tid, _ in weighted), dtype=np.int64, count=len(weighted))
        q_w = np.fromiter((w for w, _, _ in weighted), dtype=np.float64, count=len(weighted))
        q_s = np.fromiter((sq for _, _, sq in weighted), dtype=np.float64, count=len(weighted))
        parts_t = [q_t]
        parts_w = [(1.0 - params.FEEDBACK_WEIGHT) * q_w / np.linalg.norm(q_w)]
        parts_s = [(1.0 - params.FEEDBACK_WEIGHT) * q_s]
        n = max(self._n_live, 1)
        slots = fb.tolist()
        lens = np.fromiter((len(self._fwd_terms[x]) for x in slots), dtype=np.int64, count=r)
        t = np.frombuffer(b"".join(self._fwd_terms[x].tobytes() for x in slots), dtype=np.int32)
        tf = np.frombuffer(b"".join(self._fwd_tfs[x].tobytes() for x in slots), dtype=np.float32)
        tf64 = tf.astype(np.float64)
        owner = np.repeat(np.arange(r), lens)
        d = self._df_col.data[t]
        sat = tf64 * (params.K1 + 1.0) / (tf64 + norms[fb][owner])
        v = np.log(1.0 + (n - d + 0.5) / (d + 0.5)) * sat
        nv = np.sqrt(np.bincount(owner, weights=v * v, minlength=r))
        scale = np.divide(params.FEEDBACK_WEIGHT * fb_w, nv, out=np.zeros(r), where=nv > 0)
        parts_t.append(t.astype(np.int64))
        parts_w.append(v * scale[owner])
        parts_s.append(params.FEEDBACK_WEIGHT * sat * np.where(nv > 0, fb_w, 0.0)[owner])
        uniq, inv = np.unique(np.concatenate(parts_t), return_inverse=True)
        agg = np.bincount(inv, weights=np.concatenate(parts_w))
        agg_sat = np.bincount(inv, weights=np.concatenate(parts_s))
        m = min(params.FEEDBACK_TERMS, len(uniq))
        sel = np.argpartition(-agg, m - 1)[:m]
        sel = sel[agg[sel] > 0.0]
        return [(float(agg[i]), int(uniq[i])) for i in sel], float(agg[sel] @ agg_sat[sel])

    def _doc_norms(self) -> np.ndarray:
        """Per-slot BM25 length norms; recomputed in full only when the mean length has moved by
        more than 1 % (rare once an archive is large), otherwise extended for new slots."""
        avgdl = self._total_dl / max(self._n_live, 1)
        n_slots = len(self._ids)
        cache = self._norms_cache
        if cache is not None:
            c_avg, c_n, c_norms = cache
            if abs(c_avg - avgdl) <= 0.01 * avgdl:
                if c_n == n_slots:
                    return c_norms
                extra = (
                    params.K1 * (1.0 - params.B + params.B * self._dl.data[c_n:n_slots] / c_avg)
                ).astype(np.float32)
                c_norms = np.concatenate([c_norms, extra])
                self._norms_cache = (c_avg, n_slots, c_norms)
                return c_norms
        norms = (params.K1 * (1.0 - params.B + params.B * self._dl.view / max(avgdl, 1e-9))).astype(
            np.float32
        )
        self._norms_cache = (avgdl, n_slots, norms)
        self._norms_gen += 1
        return norms

    def _blend(
        self, features: StoryFeatures, rescored: list[tuple[float, int]]
    ) -> tuple[list[tuple[float, int]], set[int]]:
        """Blend the candidates' text scores (scaled to the best candidate's) with the cosine
        similarities of the latent semantic model and of sentence embeddings, when the index has
        them: a weighted mean of the signals present (TEXT/SEMANTIC/EMBED_WEIGHT). A candidate
        without a vector keeps its text score in that signal's place. Costs one (pool x dims)
        product per signal, whatever the archive size. Also the slots the semantic model finds
        about something else (cosine under SEMANTIC_MIN_COSINE): never linked."""
        slots = np.fromiter((slot for _, slot in rescored), dtype=np.int64, count=len(rescored))
        text = np.fromiter((s for s, _ in rescored), dtype=np.float64, count=len(rescored))
        text /= max(float(text.max()), 1e-12)
        total, weight = params.TEXT_WEIGHT * text, params.TEXT_WEIGHT
        signals = (
            (self._semantic_vector_of(features), self._sem, self._sem_ok, params.SEMANTIC_WEIGHT),
            (self._vector_of(features), self._emb, self._emb_ok, params.EMBED_WEIGHT),
        )
        unlike: set[int] = set()
        for q_vec, rows, ok, w in signals:
            if q_vec is None or rows is None or w <= 0.0:
                continue
            cos = rows.data[slots].astype(np.float32) @ q_vec.astype(np.float32)
            has = ok.data[slots]
            if rows is self._sem:
                unlike = set(slots[has & (cos < params.SEMANTIC_MIN_COSINE)].tolist())
            total = total + w * np.where(has, cos.astype(np.float64), text)
            weight += w
        if weight == params.TEXT_WEIGHT:
            return rescored, unlike
        blended = total / weight
        pairs = zip(blended.tolist(), slots.tolist(), strict=True)
        return [(float(b), slot) for b, slot in pairs], unlike

    def _semantic_vector_of(self, features: StoryFeatures) -> np.ndarray | None:
        model = self._semantic
        if model is None or self._sem is None:
            return None
        slot = self._slot_of.get(features.story_id)
        if slot is not None and self._sem_ok.data[slot]:
            row: np.ndarray = self._sem.data[slot]  # folded in when it was added
            return row.astype(np.float32)
        return model.fold_in(features.terms)

    def _finish(
        self,
        features: StoryFeatures,
        ranking: np.ndarray,
        direct: np.ndarray,
        k: int,
        threshold: float,
    ) -> list[Scored]:
        """Top of ``ranking`` -> tag and recency bonuses -> blend -> near-duplicate filtering."""
        rescored = self._with_bonuses(features, self._candidates(ranking), ranking)
        unlike: set[int] = set()
        if rescored:
            rescored, unlike = self._blend(features, rescored)
        rescored.sort(key=lambda x: (-x[0], x[1]))
        return self._pick(features.simhash, rescored, direct, k, threshold, unlike)

    def _candidates(self, ranking: np.ndarray) -> list[int]:
        """The slots of the CANDIDATE_POOL best positive scores, in no particular order."""
        pool = params.CANDIDATE_POOL
        live = np.flatnonzero(ranking > 0.0)
        if len(live) > pool:
            live = live[np.argpartition(-ranking[live], pool - 1)[:pool]]
        slots: list[int] = live.tolist()
        return slots

    def _with_bonuses(
        self, features: StoryFeatures, slots: Sequence[int], ranking: np.ndarray
    ) -> list[tuple[float, int]]:
        """(score, slot) with the shared-tag and recency bonuses applied."""
        n = max(self._n_live, 1)
        tag_w = {
            self._tag_ids[t]: _idf(n, self._tag_df[self._tag_ids[t]])
            for t in features.tags
            if t in self._tag_ids
        }
        tag_scale = math.log1p(n)
        tag_boost = params.TAG_BOOST
        recency_boost, half_life = params.RECENCY_BOOST, params.RECENCY_HALF_LIFE_S
        q_pub = features.published
        rescored: list[tuple[float, int]] = []
        for slot in slots:
            s = float(ranking[slot])
            if tag_w and tag_boost:
                shared = tag_w.keys() & set(self._doc_tags[slot])
                if shared:
                    info = sum(tag_w[t] for t in shared) / tag_scale
                    s *= 1.0 + tag_boost * min(1.0, info)
            if q_pub is not None:
                pub = float(self._pub.data[slot])
                if not math.isnan(pub):
                    s *= 1.0 + recency_boost * 2.0 ** (-abs(pub - q_pub) / half_life)
            rescored.append((s, slot))
        return rescored

    def _pick(
        self,
        q_sig: int,
        rescored: Sequence[tuple[float, int]],
        direct: np.ndarray,
        k: int,
        threshold: float,
        unlike: set[int],
    ) -> list[Scored]:
        """The best ``k`` that clear the threshold, skipping near-duplicates of the query (simhash
        ``q_sig``) and of stories already picked, and those the semantic model finds unlike it."""
        max_hamming = params.NEAR_DUP_HAMMING
        picked: list[Scored] = []
        picked_sigs: list[int] = []
        for s, slot in rescored:
            d = float(direct[slot])
            if d < threshold or d <= 0.0 or (threshold > 0.0 and slot in unlike):
                continue
            sig = int(self._sig.data[slot])
            if q_sig and hamming(sig, q_sig) <= max_hamming:
                continue
            if any(hamming(sig, ps) <= max_hamming for ps in picked_sigs):
                continue
            picked.append(Scored(self._ids[slot], round(s, 6), round(d, 6)))
            picked_sigs.append(sig)
            if len(picked) == k:
                break
        return picked
