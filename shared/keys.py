"""Redis keys that more than one service (or a tool) reads: spelled once, here."""

from __future__ import annotations

# The front page's source: publish lists each story on the site; render reads the list.
SITE_ENTRIES = "wirepress:site:entries"  # hash article_id -> JSON entry
SITE_ORDER = "wirepress:site:order"  # zset article_id -> published time (epoch seconds)
SITE_GENERATION = "wirepress:site:generation"  # bumped on every change to the list

# Enrich's archive of stories seen: the stored article behind every page (used by republish).
ARTICLE_PREFIX = "wirepress:article:"  # hash per article_id
ARTICLE_IDS = "wirepress:articles"  # set of every article_id in the archive

# Ingest's record of every guid+version accepted, so a repeat is answered as a duplicate.
VERSIONS_PREFIX = "wirepress:versions:"  # hash per article_id: version -> raw archive key

# Enrich's queue of stories whose related links are due for a refresh (zset id -> due time).
REFRESH_DUE = "wirepress:enrich:refresh-due"
# Enrich's related-links index: every indexed story's features (hash article_id -> JSON), and the
# archive's latent semantic model (hash: meta, terms, idf, vectors; see services/enrich/semantic.py).
FEATURES = "wirepress:enrich:features"
SEMANTIC_MODEL = "wirepress:enrich:semantic-model"

# Publish's record of each page it wrote: path -> {etag, ordering, sha256}. The front page's
# ordering is the site generation it was rendered from.
PUBLISHED_PAGES = "wirepress:publish:pages"
FRONT_PAGE = "index.html"

# Publish's tombstones: the ordering at which a story was taken down.
TOMBSTONES = "wirepress:tombstones"
LOCK_PREFIX = "wirepress:lock:"


def article_key(article_id: str) -> str:
    return f"{ARTICLE_PREFIX}{article_id}"


def versions_key(article_id: str) -> str:
    return f"{VERSIONS_PREFIX}{article_id}"
