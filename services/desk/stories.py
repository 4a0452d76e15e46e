"""What the desk makes of the events it follows: each story's state, its status on the site, its
timeline, and the words its headline is found by. Pure: the index (a port) stores what these
decide.

Events arrive from three streams in any order (a version's publish outcome may come before the
desk has read its enrichment); each change only moves a story forward: content from a version at
least as new as the one shown, a publish outcome from a decision at least as new as the last.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace

from services.desk.ports import DeskStory, LinkView, Status, TagView, TimelineEntry
from shared.events import ArticleEnriched, ArticleIngested, ArticlePublished
from shared.models import RelatedLink
from shared.queries import StoryRecord

#: Versions kept per story (a story corrected more often than this shows its latest ones).
MAX_VERSIONS = 50
#: Words too common to find a headline by.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
    ]
)
MAX_QUERY_WORDS = 8
_WORD = re.compile(r"[^\W_]+")

Change = Callable[[DeskStory | None], DeskStory | None]


def _first_seen(event: ArticleIngested | ArticleEnriched | ArticlePublished) -> DeskStory:
    """A story the desk hears of for the first time, by whichever event comes first."""
    return DeskStory(article_id=event.article_id, guid=event.guid, headline="", version="")


def words(text: str) -> list[str]:
    """The words of a headline or a search, folded: lower case, accents off, stop words and
    single letters out (numbers stay: "G7", "2026")."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    found = (w for w in _WORD.findall(plain) if w not in STOP_WORDS)
    return list(dict.fromkeys(w for w in found if len(w) > 1 or w.isdigit()))


def status_of(story: DeskStory, now: float) -> Status:
    """Failed while a stage has given up on it since its last publish outcome; then what that
    outcome says; before any, embargoed (its time ahead) or pending."""
    if story.failed_at is not None and (
        story.outcome_at is None or story.failed_at > story.outcome_at
    ):
        return "failed"
    if story.outcome == "withdrawn":
        return "withheld" if story.pubstatus == "withheld" else "killed"
    if story.outcome in ("written", "unchanged"):
        return "corrected" if story.corrected else "live"
    if story.embargo_until is not None and story.embargo_until > now:
        return "embargoed"
    return "pending"


def _with_version(story: DeskStory, version: str, at: float) -> DeskStory:
    if any(v == version for v, _ in story.versions):
        return story
    return replace(story, versions=((*story.versions, (version, at))[-MAX_VERSIONS:]))


def on_ingested(event: ArticleIngested) -> tuple[Change, TimelineEntry]:
    article = event.article
    at = event.occurred_at.timestamp()
    sort_at = (article.versioncreated or event.occurred_at).timestamp()

    def change(story: DeskStory | None) -> DeskStory:
        story = story or _first_seen(event)
        story = _with_version(story, event.version, at)
        if story.ordering and article.ordering < story.ordering:
            return story  # an older version, late: on record, not shown
        return replace(
            story,
            headline=article.headline,
            version=event.version,
            ordering=article.ordering,
            pubstatus=article.pubstatus,
            feed=event.feed,
            raw_key=event.raw_key or story.raw_key,
            byline=article.byline or "",
            embargo_until=article.embargoed.timestamp() if article.embargoed else None,
            sort_at=max(story.sort_at, sort_at),
        )

    entry = TimelineEntry(
        stage="ingested",
        at=at,
        version=event.version,
        outcome=article.pubstatus,
        correlation_id=event.correlation_id,
        detail=f"from feed {event.feed}"
        + (f", embargoed until {article.embargoed.isoformat()}" if article.embargoed else ""),
    )
    return change, entry


def why(link: RelatedLink) -> str:
    """A link's reason as the story page says it."""
    reason = link.why
    if reason is None:
        return ""
    if reason.pinned:
        return "pinned by an editor"
    parts = [f"similarity {reason.score:.2f}"] if reason.score is not None else []
    if reason.shared_tags:
        parts.append("shared tags " + ", ".join(reason.shared_tags[:4]))
    if reason.shared_terms:
        parts.append("shared words " + ", ".join(reason.shared_terms))
    return "; ".join(parts)


def on_enriched(event: ArticleEnriched) -> tuple[Change, TimelineEntry]:
    article = event.article
    at = event.occurred_at.timestamp()

    def change(story: DeskStory | None) -> DeskStory:
        story = story or _first_seen(event)
        story = _with_version(story, event.version, at)
        if story.ordering and article.ordering < story.ordering:
            return story
        links = [
            LinkView(link.article_id, link.headline, link.path, link.after_paragraph, why(link))
            for link in event.read_also
        ] + [
            LinkView(link.article_id, link.headline, link.path, why=why(link))
            for link in event.related
        ]
        return replace(
            story,
            headline=article.headline,
            version=event.version,
            ordering=article.ordering,
            pubstatus=article.pubstatus,
            corrected=event.corrected,
            section_slug=event.section.slug if event.section else "",
            section_name=event.section.name if event.section else "",
            tags=tuple(TagView(t.slug, t.name, t.type) for t in event.tags),
            links=tuple(links),
            page_path=event.page_path,
            byline=article.byline or "",
            embargo_until=article.embargoed.timestamp() if article.embargoed else None,
            sort_at=max(story.sort_at, (article.versioncreated or event.occurred_at).timestamp()),
        )

    entry = TimelineEntry(
        stage="enriched",
        at=at,
        version=event.version,
        outcome=event.reason,
        correlation_id=event.correlation_id,
        detail=f"{len(event.tags)} tags, {len(event.read_also)} READ ALSO, "
        f"{len(event.related)} related"
        + (f", section {event.section.name}" if event.section else ""),
    )
    return change, entry


def on_published(event: ArticlePublished) -> tuple[Change, list[TimelineEntry]]:
    at = event.occurred_at.timestamp()

    def change(story: DeskStory | None) -> DeskStory | None:
        story = story or _first_seen(event)
        if event.outcome == "stale" or event.ordering < story.published_ordering:
            return None
        up = event.outcome in ("written", "unchanged")
        return replace(
            story,
            published_ordering=event.ordering,
            outcome=event.outcome,
            outcome_at=at,
            page_path=event.page_path,
            url=event.url,
            first_published_at=(
                story.first_published_at if story.first_published_at is not None or not up else at
            ),
            last_published_at=at if up else story.last_published_at,
            headline=story.headline or (event.listing.headline if event.listing else ""),
        )

    entries = []
    if event.rendered_at is not None:
        entries.append(
            TimelineEntry(
                stage="rendered",
                at=event.rendered_at.timestamp(),
                version=event.version,
                outcome="withdrawn" if event.outcome == "withdrawn" else "page",
                correlation_id=event.correlation_id,
            )
        )
    entries.append(
        TimelineEntry(
            stage="published",
            at=at,
            version=event.version,
            outcome=event.outcome,
            correlation_id=event.correlation_id,
            detail=event.url,
        )
    )
    return change, entries


def on_failure(
    article_id: str, guid: str, version: str, group: str, reason: str, at: float, cid: str
) -> tuple[Change, TimelineEntry]:
    """A stage gave up on a message about the story (a dead letter)."""

    def change(story: DeskStory | None) -> DeskStory:
        if story is None:
            story = DeskStory(article_id=article_id, guid=guid, headline=guid, version=version)
        return replace(story, failed_at=at, failure=f"{group}: {reason}"[:500])

    entry = TimelineEntry(
        stage="failed",
        at=at,
        version=version,
        outcome=f"dead letter in {group}",
        correlation_id=cid,
        detail=reason[:500],
    )
    return change, entry


def memberships(story: DeskStory, status: str) -> set[str]:
    """The index sets a story belongs to (`keys.member_key`), listed under `status`."""
    found = {f"status:{status}"}
    if story.section_slug:
        found.add(f"section:{story.section_slug}")
    found.update(f"tag:{tag.slug}" for tag in story.tags)
    found.update(f"word:{word}" for word in words(story.headline))
    return found


def on_record(record: StoryRecord, url: str, now: float) -> Change:
    """A story as enrich's archive has it, for one the desk has not followed (it was added to a
    running site, or was stopped while events were trimmed): listed or brought up to that
    version, until its own events fill in its tags, links and timeline."""
    published = record.published_at.timestamp() if record.published_at else None
    off = record.pubstatus in ("canceled", "withheld") or record.taken_down
    held = record.pubstatus == "embargoed"

    def change(story: DeskStory | None) -> DeskStory | None:
        if story is not None and record.ordering <= story.ordering:
            return None
        base = story or DeskStory(
            article_id=record.article_id,
            guid=record.guid,
            headline=record.headline,
            version=record.version,
            sort_at=published or now,
            first_published_at=published if not off and not held else None,
        )
        return replace(
            _with_version(base, record.version, published or now),
            headline=record.headline,
            version=record.version,
            ordering=record.ordering,
            pubstatus=record.pubstatus if not held else "usable",
            corrected=record.corrected,
            outcome="" if held else "withdrawn" if off else "written",
            page_path=record.page_path,
            url=url,
            last_published_at=published if not off and not held else base.last_published_at,
            outcome_at=base.outcome_at if held else (published or now),
            embargo_until=record.embargoed.timestamp() if record.embargoed else None,
        )

    return change
