"""Render's own Redis keys: the site's listing and the listing pages due a rebuild. No other
service or tool reads them; they ask render's queries (`GET /v1/listing`)."""

from __future__ import annotations

PREFIX = "wirepress:render:"
# Every listed story: article_id -> {"ordering": ..., "entry": ListingEntry} (JSON).
LISTING_ENTRIES = f"{PREFIX}listing:entries"
# Listed stories by when they first ran: article_id -> epoch seconds.
LISTING_ORDER = f"{PREFIX}listing:order"
# Stories taken down, at the ordering of the take-down: article_id -> ordering.
LISTING_WITHDRAWN = f"{PREFIX}listing:withdrawn"
# Bumped on every change to the listing (microseconds, never going back): orders page renders.
LISTING_GENERATION = f"{PREFIX}listing:generation"
# Listing pages due a rebuild (shared/duequeue.py): page name -> due time.
PAGES_DUE = f"{PREFIX}pages-due"
