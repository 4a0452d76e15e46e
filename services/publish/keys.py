"""Publish's own Redis keys: no other service or tool reads them."""

from __future__ import annotations

# What publish last wrote to each page: path -> {etag, ordering, sha256} (JSON).
PAGES = "wirepress:publish:pages"
# The ordering at which each story was taken down: article_id -> ordering.
TOMBSTONES = "wirepress:tombstones"


def page_lock(article_id: str) -> str:
    """The lock one story's page is written under (see shared/locks.py)."""
    return f"publish:{article_id}"
