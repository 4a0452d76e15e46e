"""Publish's settings: the site bucket, how long readers' caches keep pages, the site's URL."""

from __future__ import annotations

from shared.settings import ServiceSettings, SiteSettings, StorageSettings


class PublishSettings(ServiceSettings, StorageSettings, SiteSettings):
    page_cache_control: str = "public, max-age=60, stale-while-revalidate=600"
    # Listing pages change with every story: readers' caches keep them for less.
    site_cache_control: str = "public, max-age=30"
    # S3 writes wait on the network, not the CPU: this many stories are written at once.
    publish_concurrency: int = 16
