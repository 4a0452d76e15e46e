"""Ingest's own Redis keys: no other service or tool reads them."""

from __future__ import annotations

# Every guid+version accepted, so a repeat is answered as a duplicate: one hash per story,
# version -> raw archive key.
VERSIONS_PREFIX = "wirepress:versions:"
# Signatures seen inside the clock-skew window (SET NX EX), so a captured push cannot be replayed.
SEEN_SIGNATURE_PREFIX = "wirepress:ingest:signature:"


def versions_key(article_id: str) -> str:
    return f"{VERSIONS_PREFIX}{article_id}"
