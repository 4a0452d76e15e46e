"""Enrich's settings: how many links a story gets, and how the shared index is kept."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings


class EnrichSettings(ServiceSettings):
    related_posts: int = Field(default=5, ge=0)
    read_also: int = Field(default=2, ge=0)
    # Blend a sentence-embedding model (all-MiniLM-L6-v2) into related-link ranking. Off by
    # default: on top of the archive's semantic model it adds +0.002 precision@5 on Reuters
    # (within noise) for ~25-70 ms CPU per story and a 1.3 GB install.
    enrich_embeddings: bool = False
    # How often a replica checks whether the archive's semantic model is due for a refit (one
    # replica fits at a time; see relevance/semantic.py for when one is due).
    semantic_refit_check_s: float = Field(default=60.0, gt=0)
    # A story's links are refreshed this long after a strongly related story arrives, so a burst
    # of related stories costs one republish, not one each.
    related_refresh_delay_s: float = Field(default=30.0, ge=0)
    # The site's sections and the Media Topics that lead to each (shared/data/sections.toml).
    sections_file: Path | None = None
    # How often a replica looks for embargoes that have ended: a released story goes out
    # within about this long of its time.
    release_poll_s: float = Field(default=0.25, gt=0)
