"""The site benchmark's stories: the pipeline benchmark's synthetic ninjs stories, dated so the
newest runs just before now, one every `spacing` before it, and (for the in-process parts) the
listing entries render would keep of them, made by the services' own code: ingest's parser,
enrich's tagger and sections, render's listing entry."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.pipeline.stories import make_stories
from services.enrich.handlers import page_path_for, tags_for
from services.enrich.sections import section_for
from services.ingest.formats import parse_story
from services.render.handlers import listing_entry
from shared.events import ArticleEnriched
from shared.models import ListingEntry
from shared.sections import load_sections

#: A story every seven minutes: ~205 a day, a 50k-story archive spans eight months.
SPACING = timedelta(minutes=7)


def dated(stories: list[dict[str, Any]], newest: datetime, spacing: timedelta = SPACING) -> None:
    """Date the stories in place, oldest first, the last at `newest`."""
    for index, story in enumerate(stories):
        when = newest - spacing * (len(stories) - 1 - index)
        stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        story["firstcreated"] = story["versioncreated"] = stamp


def archive_stories(count: int, seed: int, newest: datetime) -> list[dict[str, Any]]:
    """`count` stories, oldest first, the newest at `newest` (without the generator's `_words`)."""
    stories = make_stories(count, seed, f"archive{seed}")
    for story in stories:
        story.pop("_words", None)
    dated(stories, newest)
    return stories


def new_stories(count: int, seed: int, at: datetime) -> list[dict[str, Any]]:
    """`count` stories that run now (all at `at`, a second apart), new to every archive."""
    stories = make_stories(count, seed + 1_000_003, f"new{seed}")
    for story in stories:
        story.pop("_words", None)
    dated(stories, at, timedelta(seconds=1))
    return stories


def enriched(story: dict[str, Any]) -> ArticleEnriched:
    """What enrich would emit for a story first pushed (no related links: the benchmark's
    archives are listings, not a related-links index)."""
    article = parse_story(json.dumps(story).encode(), "application/json").article
    tags = tags_for(article)
    return ArticleEnriched(
        article_id=article.article_id,
        guid=article.guid,
        version=article.version,
        article=article,
        ordering=article.ordering,
        page_path=page_path_for(article),
        tags=tags,
        section=section_for(tags, load_sections()),
    )


def _entries_of(stories: Sequence[dict[str, Any]]) -> list[str]:
    return [listing_entry(enriched(story)).model_dump_json() for story in stories]


def listing_entries(stories: Sequence[dict[str, Any]]) -> list[ListingEntry]:
    """The listing entry of each story, tagged on every core (50k stories take about a minute)."""
    chunk = 500
    parts = [stories[i : i + chunk] for i in range(0, len(stories), chunk)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        dumped = [line for part in pool.map(_entries_of, parts) for line in part]
    return [ListingEntry.model_validate_json(line) for line in dumped]
