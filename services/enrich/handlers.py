"""Enrichment: tag a story, pick its related links from the shared archive, hand it to render.

Pure decisions over ports (`services.enrich.ports`): the app gives Redis-backed ones, tests give
in-memory ones.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from slugify import slugify

from services.enrich.ports import (
    Archive,
    Emit,
    EnrichConfig,
    LinkTarget,
    RefreshQueue,
    StoredStory,
    StoryRecords,
)
from services.enrich.relevance import Embedder, StoryFeatures, features_for
from services.enrich.tagging import tag_story
from services.enrich.text import StoryText, story_text
from shared.errors import PermanentError
from shared.events import ArticleEnriched, ArticleIngested, ArticleRepublishRequested
from shared.models import Article, RelatedLink, Tag, article_id_for
from shared.streams import ENRICHED, REPUBLISH

logger = logging.getLogger(__name__)

MAX_SLUG_CHARS = 80
# Republish reasons that come from the system itself rather than an editor.
REFRESH_REASONS = frozenset({"related-refresh", "link-changed"})
DEFAULT_CONFIG = EnrichConfig()


def page_path_for(article: Article) -> str:
    """A stable, readable key: the month the story first ran, its first headline, and its id.

    It is computed once, from the first version seen, so corrections keep their URL.
    """
    when = article.published_at
    month = f"{when:%Y/%m}" if when else "undated"
    slug = slugify(article.headline, max_length=MAX_SLUG_CHARS, word_boundary=True) or "story"
    return f"{month}/{slug}-{article.article_id[:8]}/index.html"


def tag_slugs(tags: Sequence[Tag]) -> list[str]:
    return [tag.slug for tag in tags if tag.type != "keyword"]


def tags_for(article: Article, text: StoryText | None = None) -> list[Tag]:
    """The tags enrich gives a story (and `wirepress tag` prints)."""
    text = text or story_text(article)
    return tag_story(
        text.headline, text.body_text, article.subjects, article.keywords, dateline=text.dateline
    )


async def handle_ingested(
    event: ArticleIngested, archive: Archive, config: EnrichConfig = DEFAULT_CONFIG
) -> list[tuple[str, ArticleEnriched]]:
    article = event.article
    text = story_text(article)
    recorded = await archive.stories.record(article, page_path_for(article), text.excerpt)
    if recorded.stale:
        logger.info(
            "v%s is older than the version on record: not enriched (ingest keeps its raw copy)",
            article.version,
            extra={"article_id": article.article_id},
        )
        return []
    stored = StoredStory(
        article=article, page_path=recorded.page_path, corrected=recorded.corrected
    )
    enriched = await enrich(stored, archive, event.correlation_id, config, text=text)
    assert enriched is not None
    if article.on_site:
        # The stories this one relates to most now have a better link to show: refresh them.
        await archive.refreshes.schedule(strongly_related(enriched), "related-refresh")
    if not article.on_site or recorded.corrected:
        # Killed or withheld: every page that links to it must lose the link; corrected: its
        # headline on those pages must follow.
        linking = await archive.links.linked_by(article.article_id)
        await archive.refreshes.schedule(linking, "link-changed")
    return [(ENRICHED, enriched)]


def strongly_related(enriched: ArticleEnriched, limit: int = 3) -> list[str]:
    """The few stories worth republishing when this one arrives: its READ ALSO picks (they
    cleared the higher bar) and its best Related Post."""
    ids = [link.article_id for link in enriched.read_also] + [
        link.article_id for link in enriched.related[:1]
    ]
    return list(dict.fromkeys(ids))[:limit]


async def handle_republish(
    event: ArticleRepublishRequested, archive: Archive, config: EnrichConfig = DEFAULT_CONFIG
) -> list[tuple[str, ArticleEnriched]]:
    """Re-enrich a stored story. Republishing never schedules further refreshes, so one new story
    cannot set off a cascade of republishing across the archive.

    A refresh (the system's own republish when links may have changed) reuses the stored tags and
    features and publishes nothing if the links came out the same; an editor's republish redoes
    everything.
    """
    if event.pin or event.ban:
        await archive.stories.set_overrides(event.article_id, event.pin, event.ban)
    stored = await archive.stories.load(event.article_id)
    if stored is None:
        raise PermanentError(f"article {event.article_id} is not in the archive")
    refresh = event.reason in REFRESH_REASONS
    enriched = await enrich(stored, archive, event.correlation_id, config, refresh=refresh)
    if enriched is None:
        return []
    return [(ENRICHED, enriched.model_copy(update={"reason": event.reason}))]


async def enrich(
    stored: StoredStory,
    archive: Archive,
    correlation_id: str,
    config: EnrichConfig = DEFAULT_CONFIG,
    *,
    refresh: bool = False,
    text: StoryText | None = None,
) -> ArticleEnriched | None:
    """Tag and link a story. With `refresh`, returns None when its links have not changed."""
    article = stored.article
    features = (
        await archive.index.stored_features(article.article_id)
        if refresh and stored.tags is not None and article.on_site
        else None
    )
    if features is not None and stored.tags is not None:
        tags = list(stored.tags)
    else:
        tags, features = await _analyse(
            article, text or story_text(article), archive, config.embedder
        )
    read_also_links: list[RelatedLink] = []
    related_links: list[RelatedLink] = []
    if features is not None:
        # The editor's pins, then the related items the story itself names, then the ranking.
        pinned = list(stored.pinned) + [article_id_for(guid) for guid in article.related_guids]
        picks = await archive.index.pick(
            features, pinned, stored.banned, config.read_also, config.related_posts
        )
        wanted = [sid for sid, _ in picks.read_also] + list(picks.related)
        targets = await archive.stories.targets(wanted)
        read_also_links = [
            _link(targets[sid], after_paragraph=position)
            for sid, position in picks.read_also[: config.read_also]
            if sid in targets
        ]
        related_links = [
            _link(targets[sid]) for sid in picks.related[: config.related_posts] if sid in targets
        ]
    signature = link_signature(read_also_links, related_links)
    if refresh and signature == stored.links:
        return None
    await archive.links.save_enrichment(
        article.article_id,
        tags,
        signature,
        [link.article_id for link in read_also_links + related_links],
    )
    return ArticleEnriched.about(
        article,
        correlation_id=correlation_id,
        article=article,
        ordering=article.ordering,
        page_path=stored.page_path,
        tags=tags,
        read_also=read_also_links,
        related=related_links,
        corrected=stored.corrected,
    )


async def _analyse(
    article: Article, text: StoryText, archive: Archive, embedder: Embedder | None
) -> tuple[list[Tag], StoryFeatures | None]:
    """Tags, and relevance features for a story on the site (indexed as a side effect); a story
    off the site (killed, withheld) leaves the index."""
    tags = tags_for(article, text)
    if not article.on_site:
        await archive.index.unindex(article.article_id)
        return tags, None
    published = article.published_at.timestamp() if article.published_at else None
    features = features_for(
        article.article_id,
        article.headline,
        text.body_text,
        text.paragraphs,
        tag_slugs(tags),
        published,
        group_id=article.article_id,
        embedder=embedder,
    )
    await archive.index.index(features)
    return tags, features


def link_signature(
    read_also: Sequence[RelatedLink], related: Sequence[RelatedLink]
) -> tuple[str, ...]:
    """What a page shows of its links: if this is unchanged, so is the page."""
    return tuple(
        f"{link.article_id}@{link.after_paragraph}|{link.headline}|{link.path}"
        for link in (*read_also, *related)
    )


def _link(target: LinkTarget, after_paragraph: int | None = None) -> RelatedLink:
    return RelatedLink(
        article_id=target.article_id,
        headline=target.headline,
        path=target.page_path,
        excerpt=target.excerpt,
        after_paragraph=after_paragraph,
        published_at=target.published_at,
    )


async def send_due_refreshes(
    refreshes: RefreshQueue,
    stories: StoryRecords,
    emit: Emit,
    pipeline_behind: Callable[[], Awaitable[bool]],
) -> int:
    """Turn the link refreshes due now into republish requests; how many were sent.

    They wait while the pipeline is behind (they stay due, none is lost), and are leased, not
    taken: a crash before they are sent leaves them to come due again."""
    if not await refreshes.due() or await pipeline_behind():
        return 0
    due, lease = await refreshes.take()
    if not due:
        return 0
    requests = [
        ArticleRepublishRequested(
            article_id=record.article_id,
            guid=record.guid,
            version=record.version,
            reason="related-refresh",
        )
        for record in await stories.records(due)
    ]
    await emit(REPUBLISH, requests)
    await refreshes.done(lease)
    logger.info("republishing %s stories whose related links changed", len(requests))
    return len(requests)
