"""Enrichment: tag a story, pick its related links from the shared archive, hand it to render.

Pure decisions over ports (`services.enrich.ports`): the app gives Redis-backed ones, tests give
in-memory ones.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from slugify import slugify

from services.enrich.ports import (
    Archive,
    Emit,
    EnrichConfig,
    LinkTarget,
    RefreshQueue,
    ReleaseQueue,
    StoredStory,
    StoryEdits,
    StoryRecords,
    TagNames,
)
from services.enrich.relevance import (
    Embedder,
    LinkPicks,
    LinkReason,
    StoryFeatures,
    features_for,
)
from services.enrich.sections import section_for
from services.enrich.tagging import tag_story
from services.enrich.tagging.names import canonical_tags, register_keys
from services.enrich.text import StoryText, story_text
from shared.errors import PermanentError
from shared.events import (
    ArticleEnriched,
    ArticleIngested,
    ArticleRepublishRequested,
    Output,
    WriteOnAck,
)
from shared.models import Article, LinkWhy, RelatedLink, Tag, article_id_for, decision_ordering
from shared.streams import ENRICHED, REPUBLISH

logger = logging.getLogger(__name__)

MAX_SLUG_CHARS = 80
# Republish reasons that come from the system itself rather than an editor.
REFRESH_REASONS = frozenset({"related-refresh", "link-changed"})
# An embargoed story's time has come.
RELEASE_REASON = "embargo-lifted"
# Render and publish again from what is stored, without re-tagging or re-ranking (a template
# changed): `wirepress site rebuild`.
REBUILD_REASON = "rebuild"
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


async def archive_names(tags: Sequence[Tag], names: TagNames) -> list[Tag]:
    """``tags`` under the slugs and names the archive knows their entities by (`tagging.names`),
    and the name book told what they teach it."""
    lookup = sorted({k for tag in tags for k in register_keys(tag)})
    naming = await names.settle(lookup, partial(canonical_tags, tags))
    return naming.tags


async def prepared_text(article: Article, config: EnrichConfig) -> StoryText:
    """`story_text`, in a worker process within a time budget when the body is large."""
    return await config.cpu.run(len(article.body_html), story_text, article)


def is_held(article: Article, config: EnrichConfig) -> bool:
    """Under embargo now: kept, but on no page, listing, feed or link until it is lifted. (A
    kill or a hold is never held back: what is up must come down at once.)"""
    return article.on_site and article.held_at(config.clock())


async def hold(article: Article, archive: Archive) -> None:
    """Keep an embargoed story out of every ranking, and due out at its embargo's time."""
    assert article.embargoed is not None
    await archive.index.unindex(article.article_id)
    await archive.releases.schedule_at([article.article_id], article.embargoed.timestamp())
    logger.info(
        "v%s under embargo until %s: held",
        article.version,
        article.embargoed.isoformat(),
        extra={"article_id": article.article_id},
    )


@dataclass(frozen=True)
class Enrichment:
    """A decision about a story's tags and links: the event that carries it on, and the writes
    that keep it, made as the message that led to it is acknowledged (none for a rebuild, which
    decides nothing new)."""

    event: ArticleEnriched
    write: WriteOnAck | None = None

    def outputs(self, reason: str, pushed_at: datetime | None = None) -> list[Output]:
        event = self.event.model_copy(update={"reason": reason, "pushed_at": pushed_at})
        return [(ENRICHED, event), *([self.write] if self.write else [])]


async def handle_ingested(
    event: ArticleIngested, archive: Archive, config: EnrichConfig = DEFAULT_CONFIG
) -> list[Output]:
    article = event.article
    text = await prepared_text(article, config)
    held = is_held(article, config)
    recorded = await archive.stories.record(
        article, page_path_for(article), text.excerpt, held=held
    )
    overrides = recorded.overrides
    if overrides.taken_down:
        # An editor took the story down: this version goes out as a kill would.
        article = article.model_copy(update={"pubstatus": "canceled"})
        held = False
    if recorded.stale:
        logger.info(
            "v%s is older than the version on record: not enriched (ingest keeps its raw copy)",
            article.version,
            extra={"article_id": article.article_id},
        )
        return []
    if held:
        # An earlier version already out stays as it was; this one waits for its time.
        await hold(article, archive)
        return []
    stored = StoredStory(
        article=article,
        page_path=recorded.page_path,
        corrected=recorded.corrected,
        pinned=overrides.pinned,
        banned=overrides.banned,
        removed_tags=overrides.removed_tags,
    )
    return await publish_story(
        stored, archive, event.correlation_id, config, text=text, pushed_at=event.occurred_at
    )


async def publish_story(
    stored: StoredStory,
    archive: Archive,
    correlation_id: str,
    config: EnrichConfig,
    *,
    text: StoryText | None = None,
    reason: str = "ingested",
    pushed_at: datetime | None = None,
) -> list[Output]:
    """A story going out (new, corrected, released from embargo, killed): enriched, and the
    pages it changes scheduled for a refresh."""
    article = stored.article
    enrichment = await enrich(stored, archive, correlation_id, config, text=text)
    assert enrichment is not None
    enriched = enrichment.event
    if article.on_site:
        # The stories this one relates to most now have a better link to show: refresh them.
        await archive.refreshes.schedule(strongly_related(enriched), "related-refresh")
    if not article.on_site or stored.corrected:
        # Killed or withheld: every page that links to it must lose the link; corrected: its
        # headline on those pages must follow.
        linking = await archive.links.linked_by(article.article_id)
        await archive.refreshes.schedule(linking, "link-changed")
    return enrichment.outputs(reason, pushed_at)


def strongly_related(enriched: ArticleEnriched, limit: int = 3) -> list[str]:
    """The few stories worth republishing when this one arrives: its READ ALSO picks (they
    cleared the higher bar) and its best Related Post."""
    ids = [link.article_id for link in enriched.read_also] + [
        link.article_id for link in enriched.related[:1]
    ]
    return list(dict.fromkeys(ids))[:limit]


async def handle_republish(
    event: ArticleRepublishRequested, archive: Archive, config: EnrichConfig = DEFAULT_CONFIG
) -> list[Output]:
    """Re-enrich a stored story. Republishing never schedules further refreshes, so one new story
    cannot set off a cascade of republishing across the archive.

    A refresh (the system's own republish when links may have changed) reuses the stored tags and
    features and publishes nothing if the links came out the same; an editor's republish redoes
    everything.
    """
    if event.ban_tags or event.unban_tags:
        await archive.tag_bans.change(event.ban_tags, event.unban_tags)
    edits = edits_in(event)
    if edits and await archive.stories.edit(event.article_id, edits) is None:
        raise PermanentError(f"article {event.article_id} is not in the archive")
    stored = await archive.stories.load(event.article_id)
    if stored is None:
        raise PermanentError(f"article {event.article_id} is not in the archive")
    if event.embargo_until is not None:
        return await _move_embargo(stored, event, archive, config)
    if event.restore:
        # Its own status back on record (usable, withheld, or held if its embargo is ahead).
        text = await prepared_text(stored.article, config)
        held = is_held(stored.article, config)
        await archive.stories.record(stored.article, stored.page_path, text.excerpt, held=held)
    article = stored.article
    if is_held(article, config):
        # Whatever asked (a release come early, an editor, a refresh): not before its time.
        await hold(article, archive)
        return []
    if event.takedown or event.restore:
        # Off the site (or back on it) the way a kill (or a new story) goes: every page that
        # links to it loses the link (or may gain it).
        return await publish_story(stored, archive, event.correlation_id, config, reason="editor")
    if event.reason == RELEASE_REASON:
        # Its time has come: out as a new story would be, linked and linking.
        text = await prepared_text(article, config)
        await archive.stories.record(article, stored.page_path, text.excerpt)
        return await publish_story(
            stored, archive, event.correlation_id, config, reason=RELEASE_REASON, text=text
        )
    mode = "rebuild" if event.reason == REBUILD_REASON else None
    refresh = event.reason in REFRESH_REASONS
    enrichment = await enrich(
        stored, archive, event.correlation_id, config, refresh=refresh, mode=mode
    )
    if enrichment is None:
        return []
    return enrichment.outputs(event.reason)


def edits_in(event: ArticleRepublishRequested) -> StoryEdits:
    """The changes to a story's overrides a republish request carries."""
    return StoryEdits(
        pin=tuple(event.pin),
        ban=tuple(event.ban),
        unpin=tuple(event.unpin),
        unban=tuple(event.unban),
        remove_tags=tuple(event.remove_tags),
        restore_tags=tuple(event.restore_tags),
        taken_down=True if event.takedown else False if event.restore else None,
    )


async def _move_embargo(
    stored: StoredStory,
    event: ArticleRepublishRequested,
    archive: Archive,
    config: EnrichConfig,
) -> list[Output]:
    """A held story's embargo ends at a new time: held until then, or out now if it has come."""
    assert event.embargo_until is not None
    if not is_held(stored.article, config):
        raise PermanentError(f"article {event.article_id} is not under embargo: nothing to move")
    article = stored.article.model_copy(update={"embargoed": event.embargo_until})
    text = await prepared_text(article, config)
    held = is_held(article, config)
    await archive.stories.record(article, stored.page_path, text.excerpt, held=held)
    if held:
        await hold(article, archive)
        return []
    # The editors' pins, bans and removed tags go out with it.
    moved = replace(stored, article=article)
    return await publish_story(
        moved, archive, event.correlation_id, config, reason=RELEASE_REASON, text=text
    )


async def enrich(
    stored: StoredStory,
    archive: Archive,
    correlation_id: str,
    config: EnrichConfig = DEFAULT_CONFIG,
    *,
    refresh: bool = False,
    text: StoryText | None = None,
    mode: str | None = None,
) -> Enrichment | None:
    """Tag and link a story. With `refresh`, returns None when its links have not changed since
    they were last emitted; with mode "rebuild", the stored tags and links are used as they
    are, at their own revision."""
    article = stored.article
    if mode == "rebuild" and stored.tags is not None:
        return Enrichment(await _as_stored(stored, archive, correlation_id, config))
    features = (
        await archive.index.stored_features(article.article_id)
        if refresh and stored.tags is not None and article.on_site
        else None
    )
    unwanted = set(stored.removed_tags) | await archive.tag_bans.banned()
    if features is not None and stored.tags is not None:
        tags = [tag for tag in stored.tags if tag.slug not in unwanted]
    else:
        tags, features = await _analyse(
            article,
            text or await prepared_text(article, config),
            archive,
            config.embedder,
            unwanted,
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
        read_also_links, related_links = links_of(picks, targets, config)
    signature = link_signature(read_also_links, related_links)
    if refresh and signature == stored.links:
        # Kept only once the decision was emitted: a retry after a crash never lands here.
        return None
    revision, write = await archive.links.enrichment_write(
        article.article_id,
        tags,
        signature,
        [link.article_id for link in read_also_links + related_links],
        article.ordering,
    )
    event = enriched_event(
        stored, correlation_id, config, tags, read_also_links, related_links, revision
    )
    return Enrichment(event, write)


def enriched_event(
    stored: StoredStory,
    correlation_id: str,
    config: EnrichConfig,
    tags: Sequence[Tag],
    read_also: Sequence[RelatedLink],
    related: Sequence[RelatedLink],
    revision: int,
) -> ArticleEnriched:
    article = stored.article
    return ArticleEnriched.about(
        article,
        correlation_id=correlation_id,
        article=article,
        ordering=decision_ordering(article.ordering, revision),
        revision=revision,
        page_path=stored.page_path,
        tags=list(tags),
        read_also=list(read_also),
        related=list(related),
        corrected=stored.corrected,
        section=section_for(tags, config.sections),
    )


async def _as_stored(
    stored: StoredStory, archive: Archive, correlation_id: str, config: EnrichConfig
) -> ArticleEnriched:
    """The story as last enriched: its stored tags, and its stored links with what their
    targets show now (a target gone off the site since is left out)."""
    saved = [parse_link(signature) for signature in stored.links]
    targets = await archive.stories.targets([link.article_id for link in saved])
    read_also: list[RelatedLink] = []
    related: list[RelatedLink] = []
    for link in saved:
        target = targets.get(link.article_id)
        if target is None:
            continue
        fresh = _link(target, after_paragraph=link.after_paragraph)
        (read_also if link.after_paragraph is not None else related).append(fresh)
    return enriched_event(
        stored, correlation_id, config, stored.tags or (), read_also, related, stored.revision
    )


async def _analyse(
    article: Article,
    text: StoryText,
    archive: Archive,
    embedder: Embedder | None,
    unwanted: set[str],
) -> tuple[list[Tag], StoryFeatures | None]:
    """Tags (less those editors removed or banned), and relevance features for a story on the
    site (indexed as a side effect); a story off the site (killed, withheld) leaves the index."""
    tags = await archive_names(tags_for(article, text), archive.tag_names)
    tags = [tag for tag in tags if tag.slug not in unwanted]
    if not article.on_site:
        await archive.index.unindex(article.article_id)
        return tags, None
    features = relevance_features(article, text, tags, embedder)
    await archive.index.index(features)
    return tags, features


def relevance_features(
    article: Article, text: StoryText, tags: Sequence[Tag], embedder: Embedder | None = None
) -> StoryFeatures:
    """What the related-links index ranks a story by."""
    published = article.published_at.timestamp() if article.published_at else None
    return features_for(
        article.article_id,
        article.headline,
        text.body_text,
        text.paragraphs,
        tag_slugs(tags),
        published,
        group_id=article.article_id,
        embedder=embedder,
    )


def links_of(
    picks: LinkPicks, targets: Mapping[str, LinkTarget], config: EnrichConfig
) -> tuple[list[RelatedLink], list[RelatedLink]]:
    """The READ ALSO and Related Posts links of the picks whose targets are known."""
    read_also = [
        _link(targets[sid], after_paragraph=position, reason=picks.reasons.get(sid))
        for sid, position in picks.read_also[: config.read_also]
        if sid in targets
    ]
    related = [
        _link(targets[sid], reason=picks.reasons.get(sid))
        for sid in picks.related[: config.related_posts]
        if sid in targets
    ]
    return read_also, related


def parse_link(signature: str) -> RelatedLink:
    """A link back from its signature (`link_signature`)."""
    head, rest = signature.split("|", 1)
    headline, path = rest.rsplit("|", 1)  # a headline may hold a "|", a page path never does
    article_id, _, position = head.partition("@")
    return RelatedLink(
        article_id=article_id,
        headline=headline,
        path=path,
        after_paragraph=None if position in ("", "None") else int(position),
    )


def link_signature(
    read_also: Sequence[RelatedLink], related: Sequence[RelatedLink]
) -> tuple[str, ...]:
    """What a page shows of its links: if this is unchanged, so is the page."""
    return tuple(
        f"{link.article_id}@{link.after_paragraph}|{link.headline}|{link.path}"
        for link in (*read_also, *related)
    )


def _link(
    target: LinkTarget, after_paragraph: int | None = None, reason: LinkReason | None = None
) -> RelatedLink:
    return RelatedLink(
        article_id=target.article_id,
        headline=target.headline,
        path=target.page_path,
        excerpt=target.excerpt,
        after_paragraph=after_paragraph,
        published_at=target.published_at,
        why=LinkWhy(
            pinned=reason.pinned,
            score=reason.score,
            shared_tags=list(reason.shared_tags),
            shared_terms=list(reason.shared_terms),
        )
        if reason is not None
        else None,
    )


async def send_due_releases(releases: ReleaseQueue, stories: StoryRecords, emit: Emit) -> int:
    """Embargoes that have come to an end, as requests to publish their stories; how many.
    They never wait for the pipeline: an embargo ends at its time."""
    if not await releases.due():
        return 0
    due, lease = await releases.take()
    requests = [
        ArticleRepublishRequested(
            article_id=record.article_id,
            guid=record.guid,
            version=record.version,
            reason=RELEASE_REASON,
        )
        for record in await stories.records(due)
    ]
    await emit(REPUBLISH, requests)
    await releases.done(lease)
    return len(requests)


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
