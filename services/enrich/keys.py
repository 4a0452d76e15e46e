"""Enrich's own Redis keys: no other service or tool reads them; they ask enrich's queries
(`GET /v1/stories/{id}`, `GET /v1/index`, ...)."""

from __future__ import annotations

# The archive of stories seen: a hash per story (its latest version as JSON, page path, status,
# link text, pins and bans, its tags and link signature), and the set of every story's id.
ARTICLE_PREFIX = "wirepress:article:"
ARTICLE_IDS = "wirepress:articles"
# The related-links index: every indexed story's features (article_id -> JSON), the log stream
# of index changes every replica follows ({op: add|remove|model, id}), and the archive's latent
# semantic model (hash: meta, terms, idf, vectors; see relevance/semantic.py).
FEATURES = "wirepress:enrich:features"
INDEX_LOG = "wirepress:enrich:index-log"
SEMANTIC_MODEL = "wirepress:enrich:semantic-model"
# Per story, the stories whose pages link to it.
LINKED_BY_PREFIX = "wirepress:enrich:linked-by:"
# In a story's hash: the ordering (`shared.models.decision_ordering`) of the enrichment whose
# links, tags and targets it holds.
LINKS_ORDERING = "links_ordering"
# Stories whose links are due a refresh (shared/duequeue.py): article_id -> due time.
REFRESH_DUE = "wirepress:enrich:refresh-due"
# Stories under embargo (shared/duequeue.py): article_id -> when the embargo ends.
RELEASE_DUE = "wirepress:enrich:release-due"
# Tag slugs editors banned outright: enrich gives them to no story.
BANNED_TAGS = "wirepress:enrich:banned-tags"
# The name book (tagging/names.py): lookup key -> JSON {slug, single}, and slug -> the name its
# tag shows; one hash tag, since they are written together under WATCH.
TAG_NAME_KEYS = "wirepress:{enrich-tag-names}:keys"
TAG_NAMES = "wirepress:{enrich-tag-names}:names"
# The lock one replica fits the semantic model under (shared/locks.py).
SEMANTIC_FIT_LOCK = "enrich:semantic-fit"


def article_key(article_id: str) -> str:
    return f"{ARTICLE_PREFIX}{article_id}"
