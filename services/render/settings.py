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
    # Stories on each listing page (the index and every archive page).
    listing_page_size: int = Field(default=20, ge=1, le=500)
