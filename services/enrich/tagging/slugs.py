"""Tag slugs: the stable, URL-safe key a tag is stored, linked and deduplicated by."""

from __future__ import annotations

import re
from functools import lru_cache

from services.enrich.text import fold

_NON_SLUG = re.compile(r"[^a-z0-9]+")


# Every tag of every story is slugged, and names repeat across stories.
@lru_cache(maxsize=1 << 12)
def slugify_tag(type: str, name: str) -> str:
    """A stable, URL-safe slug: ``slugify_tag("place", "Ukraine") == "place-ukraine"``.

    Accents are folded, apostrophes dropped, anything else non-alphanumeric becomes one hyphen.
    """
    text = fold(name).lower().replace("'", "").replace("\u2019", "")
    body = _NON_SLUG.sub("-", text).strip("-")
    kind = _NON_SLUG.sub("-", type.lower()).strip("-")
    return f"{kind}-{body}" if body else kind
