"""Latent semantic analysis (LSA) of the archive itself: the second signal of the related-links
ranking, beside BM25 (see ``index.RelatedIndex``).

BM25 matches words; two stories about one subject often share few of them ("takeover" /
"acquire" / "bid", "crude" / "oil" / "barrel"). A truncated SVD of the archive's tf-idf matrix
learns which terms occur together across the whole archive and maps each story to a short dense
vector in which such stories are close. Nothing is downloaded or trained elsewhere: the model is
the archive's own, refitted as it grows, so it speaks the archive's vocabulary and topics.

* :func:`fit` — randomised SVD (Halko, Martinsson & Tropp 2011; seeded, so one snapshot always
  gives one model) of the most recent ``SEMANTIC_MAX_STORIES`` stories: sublinear tf x idf, rows
  L2-normalised, terms in fewer than ``SEMANTIC_MIN_DF`` stories left out. O(postings x dims):
  ~0.4 s at 10k stories, ~2.4 s at 100k (bench), off the hot path.
* :meth:`SemanticModel.fold_in` — a story's vector: its tf-idf row times the term vectors,
  normalised. O(terms of the story x dims) whatever the archive size, so a story added after the
  fit gets a vector at once (words the model has never seen simply do not count).
* :func:`refit_due` — when to fit again (the archive grew by a fifth, or a day has passed).

Pure numpy/scipy: no I/O here (the archive keeps the model in Redis, see
``services/enrich/archive.py``).
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

__all__ = [
    "SEMANTIC_DIMS",
    "SEMANTIC_MIN_STORIES",
    "SemanticModel",
    "TermSnapshot",
    "fit",
    "fit_archive",
    "project",
    "refit_due",
]

#: Dimensions of the latent space. LSA's textbook range is 50-300; fewer dimensions stand for
#: broader subjects. On the tuning queries (bench "ablation") 32-100 all gained over BM25 alone
#: by z > 8, fewer dimensions slightly more; 64 is the middle of that range rather than its
#: best point on Reuters (65 topics), so that an archive with many more subjects keeps them apart.
SEMANTIC_DIMS = 64
#: Below this many stories an SVD learns the accidents of a few stories, not subjects: no model,
#: the ranking is BM25 alone.
SEMANTIC_MIN_STORIES = 200
#: The fit reads at most this many of the most recent stories (cost bounded however large the
#: archive grows; older stories still get vectors by folding in).
SEMANTIC_MAX_STORIES = 100_000
#: Terms in fewer stories than this carry no co-occurrence to learn from.
SEMANTIC_MIN_DF = 2
#: Refit once the archive has grown by this factor since the last fit (a geometric schedule, so
#: the fitting work per story stays constant as the archive grows) ...
REFIT_GROWTH = 1.2
#: ... or once the model is this old and the archive has changed (new names and subjects).
REFIT_AGE_S = 24 * 3600.0

_OVERSAMPLE = 10
_POWER_ITERATIONS = 2


@dataclass(frozen=True)
class TermSnapshot:
    """The index's stories as term ids and weighted term frequencies, taken on the event loop
    (references only: a story's arrays are never changed in place) so that fitting or projecting
    can run in a worker thread while the index goes on changing."""

    slots: np.ndarray  # int64, the index slots of the stories below, in order
    terms: Sequence[array[int]]  # per story: term ids (int32)
    tfs: Sequence[array[float]]  # per story: weighted term frequencies (float32)
    names: Sequence[str]  # term id -> term


@dataclass(frozen=True, eq=False)
class SemanticModel:
    """Term -> latent vector, and the idf the model was fitted with."""

    model_id: str
    terms: tuple[str, ...]
    idf: np.ndarray  # float32, one per term
    vectors: np.ndarray  # float32, terms x dims
    stories: int  # how many stories it was fitted on (at most SEMANTIC_MAX_STORIES)
    fitted_at: float  # unix time
    archive_stories: int  # live stories in the archive when it was fitted (>= stories)

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    @cached_property
    def row_of(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.terms)}

    def fold_in(self, terms: Mapping[str, float]) -> np.ndarray | None:
        """A story's unit vector from its (field-weighted) term frequencies; None when the model
        knows none of its terms."""
        row_of = self.row_of
        rows, tfs = [], []
        for term, tf in terms.items():
            r = row_of.get(term)
            if r is not None and tf > 0:
                rows.append(r)
                tfs.append(tf)
        if not rows:
            return None
        idx = np.asarray(rows, dtype=np.int64)
        w = (1.0 + np.log(np.maximum(np.asarray(tfs, dtype=np.float32), 1.0))) * self.idf[idx]
        w_norm = float(np.linalg.norm(w))
        if w_norm == 0.0:  # only terms every fitted story has: no direction
            return None
        vec = (w / w_norm) @ self.vectors[idx]
        n = float(np.linalg.norm(vec))
        return (vec / n).astype(np.float32) if n > 0.0 else None

    # -- storage (the archive keeps it in one Redis hash) ---------------------------------------

    def to_fields(self) -> dict[str, bytes]:
        meta = {
            "model_id": self.model_id,
            "stories": self.stories,
            "archive_stories": self.archive_stories,
            "fitted_at": self.fitted_at,
            "dims": self.dims,
            "terms": len(self.terms),
        }
        return {
            "meta": json.dumps(meta).encode(),
            "terms": "\n".join(self.terms).encode(),
            "idf": self.idf.astype("<f4").tobytes(),
            # float16 halves the size; cosines move by < 1e-3.
            "vectors": self.vectors.astype("<f2").tobytes(),
        }

    @classmethod
    def from_fields(cls, fields: Mapping[bytes, bytes]) -> SemanticModel:
        meta = json.loads(fields[b"meta"])
        terms = tuple(fields[b"terms"].decode().split("\n")) if meta["terms"] else ()
        vectors = np.frombuffer(fields[b"vectors"], dtype="<f2").astype(np.float32)
        return cls(
            model_id=str(meta["model_id"]),
            terms=terms,
            idf=np.frombuffer(fields[b"idf"], dtype="<f4").astype(np.float32),
            vectors=vectors.reshape(len(terms), int(meta["dims"])),
            stories=int(meta["stories"]),
            fitted_at=float(meta["fitted_at"]),
            archive_stories=int(meta.get("archive_stories", meta["stories"])),
        )


def refit_due(model: SemanticModel | None, live_stories: int, now: float) -> bool:
    """Growth is measured against the archive the model was fitted in, not the (capped) sample
    it was fitted on: an archive past the cap is refitted on growth like any other."""
    if live_stories < SEMANTIC_MIN_STORIES:
        return False
    if model is None:
        return True
    if live_stories >= REFIT_GROWTH * model.archive_stories:
        return True
    return now - model.fitted_at >= REFIT_AGE_S and live_stories != model.archive_stories


def _flatten(snapshot: TermSnapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(story row of each posting, term id, tf), over the snapshot's stories."""
    lens = np.fromiter((len(t) for t in snapshot.terms), dtype=np.int64, count=len(snapshot.terms))
    tids = np.frombuffer(b"".join(t.tobytes() for t in snapshot.terms), dtype=np.int32)
    tfs = np.frombuffer(b"".join(f.tobytes() for f in snapshot.tfs), dtype=np.float32)
    owner = np.repeat(np.arange(len(lens)), lens)
    return owner, tids, tfs


def _tfidf(
    owner: np.ndarray, cols: np.ndarray, tfs: np.ndarray, idf: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Rows: stories, columns: model terms; sublinear tf x idf, rows L2-normalised."""
    vals = (1.0 + np.log(np.maximum(tfs, 1.0))) * idf[cols]
    norms = np.sqrt(np.bincount(owner, weights=vals * vals, minlength=shape[0]))
    vals = vals / np.where(norms > 0.0, norms, 1.0)[owner]
    return sp.csr_matrix((vals.astype(np.float32), (owner, cols)), shape=shape)


def _unit_rows(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return (m / np.where(n > 0.0, n, 1.0)).astype(np.float32)


def fit(
    snapshot: TermSnapshot,
    *,
    now: float,
    dims: int | None = None,
    seed: int = 0,
    archive_stories: int = 0,
) -> tuple[SemanticModel, np.ndarray] | None:
    """Fit a model on the snapshot's stories; also returns their vectors (one row per snapshot
    slot, in order), so the fitting process need not fold them in again. None when there are
    too few stories or terms for ``dims`` (default SEMANTIC_DIMS) dimensions. ``archive_stories``:
    how many live stories the archive holds, when the snapshot is a sample of it."""
    dims = SEMANTIC_DIMS if dims is None else dims
    n = len(snapshot.terms)
    if n < max(SEMANTIC_MIN_STORIES, 2 * dims):
        return None
    owner, tids, tfs = _flatten(snapshot)
    df = np.bincount(tids, minlength=len(snapshot.names))
    kept = np.flatnonzero(df >= SEMANTIC_MIN_DF)
    if len(kept) < 2 * dims:
        return None
    col_of = np.full(len(df), -1, dtype=np.int64)
    col_of[kept] = np.arange(len(kept))
    cols = col_of[tids]
    keep = cols >= 0
    idf = np.log(n / df[kept]).astype(np.float32)
    x = _tfidf(owner[keep], cols[keep], tfs[keep], idf, (n, len(kept)))
    # Randomised range finder with power iterations, then an exact SVD of the small projection.
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(
        x @ rng.standard_normal((x.shape[1], dims + _OVERSAMPLE)).astype(np.float32)
    )
    for _ in range(_POWER_ITERATIONS):
        z, _ = np.linalg.qr(x.T @ q)
        q, _ = np.linalg.qr(x @ z)
    _, _, vt = np.linalg.svd((x.T @ q).T, full_matrices=False)
    vectors = np.ascontiguousarray(vt[:dims].T, dtype=np.float32)
    names = snapshot.names
    model = SemanticModel(
        model_id=f"{now:.3f}-{n}",
        terms=tuple(names[int(t)] for t in kept),
        idf=idf,
        vectors=vectors,
        stories=n,
        fitted_at=now,
        archive_stories=max(archive_stories, n),
    )
    return model, _unit_rows(np.asarray(x @ vectors))


def project(snapshot: TermSnapshot, model: SemanticModel) -> np.ndarray:
    """The snapshot's stories folded into ``model`` (one unit row per story; zeros for a story
    with no term the model knows): what ``fold_in`` gives, for many stories at once."""
    n = len(snapshot.terms)
    owner, tids, tfs = _flatten(snapshot)
    row_of = model.row_of
    lut = np.fromiter(
        (row_of.get(name, -1) for name in snapshot.names), dtype=np.int64, count=len(snapshot.names)
    )
    cols = lut[tids] if len(tids) else np.zeros(0, dtype=np.int64)
    keep = cols >= 0
    x = _tfidf(owner[keep], cols[keep], tfs[keep], model.idf, (n, len(model.terms)))
    return _unit_rows(np.asarray(x @ model.vectors))


def fit_archive(
    recent: TermSnapshot,
    rest: TermSnapshot,
    *,
    now: float,
    dims: int | None = None,
) -> tuple[SemanticModel, np.ndarray, np.ndarray] | None:
    """Fit on ``recent`` and fold ``rest`` (the archive's older stories) into the result: the
    model, and every snapshot story's slot and vector. All of it meant for a worker thread."""
    fitted = fit(recent, now=now, dims=dims, archive_stories=len(recent.slots) + len(rest.slots))
    if fitted is None:
        return None
    model, vectors = fitted
    if not len(rest.slots):
        return model, recent.slots, vectors
    return (
        model,
        np.concatenate([recent.slots, rest.slots]),
        np.concatenate([vectors, project(rest, model)]),
    )
