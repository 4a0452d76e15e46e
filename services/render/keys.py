"""Render's own Redis keys: the site's listings and the pages due a build. No other service or
tool reads them; they ask render's queries (`GET /v1/listing`)."""

from __future__ import annotations

PREFIX = "wirepress:render:"
# --- the whole site's listings -----------------------------------------------------------------
# Every listed story's entry (ListingEntry JSON without its body), and its sanitised body (zlib).
SITE_ENTRIES = f"{PREFIX}site:entries"
SITE_CONTENT = f"{PREFIX}site:content"
# The ordering each listed story is listed at, and each one taken down, at the take-down's.
SITE_ORDERING = f"{PREFIX}site:ordering"
SITE_WITHDRAWN = f"{PREFIX}site:withdrawn"
# Each story's listings (JSON list of listing keys), so a change knows what it leaves.
SITE_MEMBERSHIPS = f"{PREFIX}site:memberships"
# One sorted set per listing: article_id -> when it first ran (epoch seconds).
SITE_LISTING_PREFIX = f"{PREFIX}site:listing:"
# Per listing: the lowest rank (0 = oldest) changed since its pages were last built, a counter
# of its changes, and how many archive pages were last published.
SITE_DIRTY = f"{PREFIX}site:dirty"
SITE_VERSIONS = f"{PREFIX}site:versions"
SITE_PAGES = f"{PREFIX}site:pages"
# Per month listing: when a story in it last changed (epoch seconds), for the sitemap index.
SITE_MONTH_LASTMOD = f"{PREFIX}site:month-lastmod"
# Bumped on every change (microseconds, never going back): orders the renders of site pages.
SITE_GENERATION = f"{PREFIX}site:generation"
# The fronts editors curate: listing key (home, section/<slug>) -> JSON list of article ids.
SITE_FRONT_PINS = f"{PREFIX}site:front-pins"
# Listings and site pages due a build (shared/duequeue.py): key -> due time.
SITE_DUE = f"{PREFIX}site:due"


def listing_key(listing: str) -> str:
    return f"{SITE_LISTING_PREFIX}{listing}"
