"""The one content hash: SHA-256 as hex. Story ids, archive keys and page comparisons use it."""

from __future__ import annotations

import hashlib


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
