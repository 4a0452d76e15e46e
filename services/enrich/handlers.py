"""Enrichment: tag a story, pick its related links from the shared archive, hand it to render.

The archive is a port (`Archive`): the app gives a Redis-backed one, tests give an in-memory one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from slugify import slugify

from services.enrich.relevance import Embedder, LinkPicks, StoryFeatures, features_for
from services.enrich.tagging import tag_story
from shared.errors import PermanentError
from shared.events import ArticleEnriched, ArticleIngested, ArticleRepublishRequested
from shared.html import make_excerpt, plain_text, sanitize_body, split_blocks
from shared.models import Article, RelatedLink, Tag, article_id_for
from shared.streams import ENRICHED

logger = logging.getLogger(__name__)

MAX_SLUG_CHARS = 80
EXCERPT_CHARS = 220
# Republish reasons that come from the system itself rather than an editor.
REFRESH_REASONS = frozenset({"related-refresh", "link-changed"})


@dataclass(frozen=True)
class Recorded:
    """What the archive says about a version of a story it was just given."""

    page_path: str
    stale: bool  # an older version than one already recorded: never overwrites it
    corrected: bool  # an earlier version was recorded before this one


@dataclass(frozen=True)
class StoredStory:
    article: Article
    page_path: str
    corrected: bool
    pinned: tuple[str, ...] = ()
    banned: tuple[str, ...] = ()
    # What the last enrichment of this version found: its tags, and its links as a signature.
    tags: tuple[Tag, ...] | None = None
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnrichConfig:
    read_also: int = 2
    related_posts: int = 5
    # Optional sentence embeddings, blended into the ranking of the best text candidates.
    embedder: Embedder | None = None


DEFAULT_CONFIG = EnrichConfig()


@dataclass(frozen=True)
class LinkTarget:
    article_id: str
    headline: str
    page_path: str
    excerpt: str
    published_at: datetime | None


class Archive(Protocol):
    async def record(self, article: Article, page_path: str, excerpt: str) -> Recorded: ...

    async def load(self, article_id: str) -> StoredStory | None: ...

    async def set_overrides(
        self, article_id: str, pinned: list[str], banned: list[str]
    ) -> None: ...

    async def index(self, features: StoryFeatures) -> None: ...

    async def unindex(self, article_id: str) -> None: ...

    async def pick(
        self,
        features: StoryFeatures,
        pinned: Sequence[str],
        banned: Sequence[str],
        read_also: int,
        related_posts: int,
    ) -> LinkPicks: ...

    async def targets(self, article_ids: Sequence[str]) -> dict[str, LinkTarget]: ...

    async def stored_features(self, article_id: str) -> StoryFeatures | None: ...

    async def save_enrichment(
        self, source_id: str, tags: Sequence[Tag], links: Sequence[str], target_ids: Sequence[str]
    ) -> None:
        """Keep a story's tags and link signature, and which stories it links to now (so a kill
        or a correction finds every page to fix)."""

    async def linked_by(self, article_id: str) -> list[str]: ...

    async def schedule_refresh(self, article_ids: Sequence[str], reason: str) -> None:
        """Republish these stories soon; a story already waiting keeps its place (one refresh
        per story per interval, however many new stories relate to it)."""


@dataclass(frozen=True)
class StoryText:
    """A story's body as text, worked out once: the blocks render will show (READ ALSO positions
    count them), their plain text, and the excerpt other pages show under a link to it."""

    paragraphs: list[str]
    body_text: str
    excerpt: str

    @classmethod
    def of(cls, article: Article) -> StoryText:
        paragraphs = [plain_text(block) for block in split_blocks(sanitize_body(article.body_html))]
        lead = article.description or next((p for p in paragraphs if p), "")
        return cls(paragraphs, "\n\n".join(paragraphs), make_excerpt(lead, EXCERPT_CHARS))


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


async def handle_ingested(
    event: ArticleIngested, archive: Archive, config: EnrichConfig = DEFAULT_CONFIG
) -> list[tuple[str, ArticleEnriched]]:
    article = event.article
    text = StoryText.of(article)
    recorded = await archive.record(article, page_path_for(article), text.excerpt)
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
        await archive.schedule_refresh(strongly_related(enriched), "related-refresh")
    if not article.on_site or recorded.corrected:
        # Killed or withheld: every page that links to it must lose the link; corrected: its
        # headline on those pages must follow.
        await archive.schedule_refresh(await archive.linked_by(article.article_id), "link-changed")
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
        await archive.set_overrides(event.article_id, event.pin, event.ban)
    stored = await archive.load(event.article_id)
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
        await archive.stored_features(article.article_id)
        if refresh and stored.tags is not None and article.on_site
        else None
    )
    if features is not None and stored.tags is not None:
        tags = list(stored.tags)
    else:
        tags, features = await _analyse(
            article, text or StoryText.of(article), archive, config.embedder
        )
    read_also_links: list[RelatedLink] = []
    related_links: list[RelatedLink] = []
    if features is not None:
        # The editor's pins, then the related items the story itself names, then the ranking.
        pinned = list(stored.pinned) + [article_id_for(guid) for guid in article.related_guids]
        picks = await archive.pick(
            features, pinned, stored.banned, config.read_also, config.related_posts
        )
        targets = await archive.targets([sid for sid, _ in picks.read_also] + list(picks.related))
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
    await archive.save_enrichment(
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
    paragraphs, body_text = text.paragraphs, text.body_text
    # The dateline names where the story happened; it raises place recall from 0.54 to 0.82 on
    # Reuters (bench/bench_tagging.py).
    tagged_text = f"{article.located}\n\n{body_text}" if article.located else body_text
    tags = tag_story(article.headline, tagged_text, article.subjects, article.keywords)
    if not article.on_site:
        await archive.unindex(article.article_id)
        return tags, None
    published = article.published_at.timestamp() if article.published_at else None
    features = features_for(
        article.article_id,
        article.headline,
        body_text,
        paragraphs,
        tag_slugs(tags),
        published,
        group_id=article.article_id,
        embedder=embedder,
    )
    await archive.index(features)
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
