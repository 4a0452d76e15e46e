"""Render's settings: the site's URL and name, and how listing pages are rebuilt."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, SiteSettings


class RenderSettings(ServiceSettings, SiteSettings):
    site_name: str = "Wirepress"
    # A listing page is rebuilt this long after the first change that touches it, so a burst of
    # stories costs one rebuild, not one each: the front page is at most this much behind.
    listing_debounce_s: float = Field(default=1.0, ge=0.0)
    # Stories on the front page.
    front_page_stories: int = Field(default=40, ge=1)
