"""Render's settings: the site's URL and name, its sections, and how listing pages are built."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings, SiteSettings


class RenderSettings(ServiceSettings, SiteSettings):
    site_name: str = "Wirepress"
    # The sections config (shared/sections.py): the site's nav and front-page blocks. None: the
    # default file, `shared/data/sections.toml`.
    sections_file: Path | None = None
    # A listing page is rebuilt this long after the first change that touches it, so a burst of
    # stories costs one rebuild, not one each: the front page is at most this much behind.
    listing_debounce_s: float = Field(default=1.0, ge=0.0)
    # Site pages are built only while publish is at most this many entries behind on the rendered
    # stream: under load, the changes that arrive meanwhile are built together (a listing once
    # per round of publish's, not once per debounce), so the site's cost per story falls as the
    # rate rises instead of its pages queueing behind older copies of themselves.
    # Above `wirepress site rebuild`'s own limit (200), so a rebuild never holds the site back.
    site_build_max_backlog: int = Field(default=300, ge=1)
    # Stories on each listing page (the index and every archive page).
    listing_page_size: int = Field(default=20, ge=1, le=500)
