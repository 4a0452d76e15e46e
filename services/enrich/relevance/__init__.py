"""Relevance engine for READ ALSO inserts and Related Posts: pure Python + numpy, incremental.

Pipeline per story:

1. :func:`analyze` (``text.py``) turns text into stemmed content terms (lowercase, accents folded,
   stopwords and plain numbers dropped, years kept, Porter stems).
2. :func:`features_for` (``features.py``) builds a JSON-serialisable :class:`StoryFeatures`:
   title and body term counts, tag slugs from the tagger, publication time, a 64-bit simhash of
   word 3-shingles (for near-duplicate detection) and the term sets of each paragraph (for placing
   READ ALSO inserts).
3. :class:`RelatedIndex` (``index.py``) keeps an inverted index (term -> postings of (doc slot,
   weighted tf)) and a small forward index. ``add`` touches only the new story's own terms and
   tags: document frequencies, the collection size and the mean length are running counters, and
   idf is computed from them at query time, so adding costs O(terms of the story) whatever the
   archive size. ``remove`` tombstones a slot and decrements the counters of the story's own
   terms.
4. ``query`` scores candidates with BM25 where the query is the whole story: the query's terms are
   weighted by idf x saturated tf (so long stories don't drown in their own frequent words), only
   the ``MAX_QUERY_TERMS`` highest-weighted terms are looked up (MoreLikeThis-style), postings are
   accumulated with numpy. The top candidates get a multiplicative bonus for shared tags and a
   mild one for closeness in time, then a relevance threshold and near-duplicate filtering.
   The scores of those top candidates only are blended with the cosine similarity in the
   archive's own latent semantic model (:mod:`~services.enrich.relevance.semantic`, once fitted)
   and, optionally, of sentence vectors from an :class:`Embedder` (``SEMANTIC_WEIGHT``,
   ``EMBED_WEIGHT``): one small matrix product per query whatever the archive size.
5. :func:`pick_links` (``picks.py``) turns a ranking into READ ALSO inserts (placed by
   :func:`place_read_also`) and Related Posts, with editor pins and bans.

Scores are reported *relative to the query's self-score* (the BM25 score the story would get
against itself with the same idf), so they are scale-free: 1.0 means "as similar as the story is
to itself", independent of story length, archive size or vocabulary. The threshold
``MIN_RELATIVE_SCORE`` is expressed on that scale (see its comment in ``params.py``, with every
other tunable parameter and how it was chosen).

:func:`related_for_corpus` (``corpus.py``) ranks a JSONL corpus the way the service ranks its
archive (`wirepress related --corpus`). ``embeddings.py`` is the optional sentence-embedding
model; it is not imported here, as it needs an extra install.

This package must stay free of I/O and of the service stack (no faststream, redis, boto3).
"""

from __future__ import annotations

from services.enrich.relevance import semantic
from services.enrich.relevance.corpus import related_for_corpus
from services.enrich.relevance.features import Embedder, StoryFeatures, features_for
from services.enrich.relevance.index import RelatedIndex, Scored
from services.enrich.relevance.params import MIN_RELATIVE_SCORE
from services.enrich.relevance.picks import LinkPicks, LinkReason, pick_links, place_read_also
from services.enrich.relevance.text import analyze

__all__ = [
    "MIN_RELATIVE_SCORE",
    "Embedder",
    "LinkPicks",
    "LinkReason",
    "RelatedIndex",
    "Scored",
    "StoryFeatures",
    "analyze",
    "features_for",
    "pick_links",
    "place_read_also",
    "related_for_corpus",
    "semantic",
]
