"""What the ranking knows about one story, computed once when it arrives and stored with it."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from services.enrich.relevance import params
from services.enrich.relevance.text import analyze, simhash


@runtime_checkable
class Embedder(Protocol):
    """A sentence-embedding model: texts -> unit-length float32 vectors (one row per text).

    Optional: the ranking works without one. ``name`` identifies the model, so that vectors of
    different models are never compared (a story embedded by another model counts as having no
    vector). ``services.enrich.relevance.embeddings.MiniLMEmbedder`` is the implementation."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _pack_vector(vec: npt.ArrayLike) -> bytes:
    """Unit vector -> little-endian float16 bytes (2 bytes a dimension; cosines move < 1e-3)."""
    v = np.asarray(vec, dtype=np.float32).ravel()
    n = float(np.linalg.norm(v))
    if n > 0.0:
        v = v / n
    return v.astype("<f2").tobytes()


@dataclass(frozen=True)
class StoryFeatures:
    """What the relevance engine knows about one story; JSON-serialisable via to_dict/from_dict."""

    story_id: str
    title_tf: Mapping[str, int]
    body_tf: Mapping[str, int]
    tags: tuple[str, ...] = ()
    published: float | None = None
    simhash: int = 0
    paragraphs: tuple[tuple[str, ...], ...] = ()
    group_id: str | None = None
    #: Optional sentence embedding: unit vector as little-endian float16 bytes, and its model.
    embedding: bytes = b""
    embedding_model: str | None = None

    @property
    def vector(self) -> np.ndarray | None:
        """The sentence embedding as float32, or None when the story has none."""
        if not self.embedding:
            return None
        return np.frombuffer(self.embedding, dtype="<f2").astype(np.float32)

    @cached_property
    def terms(self) -> dict[str, float]:
        """Field-weighted term frequencies: body count + TITLE_WEIGHT x title count."""
        out: dict[str, float] = {t: float(c) for t, c in self.body_tf.items()}
        title_weight = params.TITLE_WEIGHT
        for t, c in self.title_tf.items():
            out[t] = out.get(t, 0.0) + title_weight * c
        return out

    @property
    def group_key(self) -> str:
        """Versions of one story share this key (the story id when it has no group)."""
        return self.group_id if self.group_id is not None else self.story_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "story_id": self.story_id,
            "group_id": self.group_id,
            "title_tf": dict(self.title_tf),
            "body_tf": dict(self.body_tf),
            "tags": list(self.tags),
            "published": self.published,
            "simhash": f"{self.simhash:016x}",  # hex: JSON numbers lose precision past 2**53
            "paragraphs": [list(p) for p in self.paragraphs],
            # Optional (absent in features written before embeddings existed).
            **(
                {
                    "embedding": base64.b64encode(self.embedding).decode("ascii"),
                    "embedding_model": self.embedding_model,
                }
                if self.embedding
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StoryFeatures:
        pub = d.get("published")
        return cls(
            story_id=str(d["story_id"]),
            group_id=d.get("group_id"),
            title_tf={str(k): int(v) for k, v in d.get("title_tf", {}).items()},
            body_tf={str(k): int(v) for k, v in d.get("body_tf", {}).items()},
            tags=tuple(str(t) for t in d.get("tags", ())),
            published=None if pub is None else float(pub),
            simhash=int(str(d.get("simhash", "0")), 16),
            paragraphs=tuple(tuple(str(t) for t in p) for p in d.get("paragraphs", ())),
            embedding=base64.b64decode(d["embedding"]) if d.get("embedding") else b"",
            embedding_model=d.get("embedding_model") if d.get("embedding") else None,
        )


def features_for(
    story_id: str,
    title: str,
    body_text: str,
    paragraphs: Sequence[str],
    tags: Sequence[str],
    published: float | None,
    group_id: str | None = None,
    *,
    embedder: Embedder | None = None,
    embedding: npt.ArrayLike | None = None,
) -> StoryFeatures:
    """Compute a story's features. ``body_text`` may be empty, then the paragraphs are used.

    With an ``embedder``, the story also gets a sentence embedding of ``title + body`` (or pass
    a precomputed ``embedding`` of the same text, e.g. from a batch; it is then labelled with
    ``embedder.name`` when an embedder is given as well)."""
    joined = "\n\n".join(paragraphs)
    para_tokens = [analyze(p) for p in paragraphs]
    para_terms = tuple(tuple(sorted(set(tokens))) for tokens in para_tokens)
    if not body_text.strip() or body_text == joined:
        # Words never run across a paragraph break, so the body's terms are the paragraphs'.
        body_text = joined
        body_terms = [t for tokens in para_tokens for t in tokens]
    else:
        body_terms = analyze(body_text)
    packed, model = b"", None
    if embedding is None and embedder is not None:
        embedding = embedder.embed([f"{title}\n{body_text}"])[0]
    if embedding is not None:
        packed = _pack_vector(embedding)
        model = embedder.name if embedder is not None else "unnamed"
    return StoryFeatures(
        story_id=story_id,
        group_id=group_id,
        title_tf=dict(Counter(analyze(title))),
        body_tf=dict(Counter(body_terms)),
        tags=tuple(dict.fromkeys(t.strip().lower() for t in tags if t.strip())),
        published=published,
        simhash=simhash(f"{title}\n{body_text}"),
        paragraphs=para_terms,
        embedding=packed,
        embedding_model=model,
    )
