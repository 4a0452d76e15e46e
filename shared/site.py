"""Where readers find a page: the one place a page's URL is built from the site's base URL."""

from __future__ import annotations


def page_url(site_url: str, page_path: str) -> str:
    """Absolute URL of a page in the site bucket; a URL that is already absolute is kept."""
    if page_path.startswith(("http://", "https://")):
        return page_path
    return f"{site_url.rstrip('/')}/{page_path.lstrip('/')}"
