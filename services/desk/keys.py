"""The desk's own Redis keys: no other service or tool reads them."""

from __future__ import annotations

# Editors: user name -> JSON {password_hash, role, created_at}.
USERS = "wirepress:desk:users"
# Failed sign-ins in the current window, per user name and per address (counters with a TTL).
FAILURES_PREFIX = "wirepress:desk:signin-failures:"


def failures_key(kind: str, who: str) -> str:
    return f"{FAILURES_PREFIX}{kind}:{who}"
