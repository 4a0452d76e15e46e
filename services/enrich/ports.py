"""What enrich's decisions need from the outside world, one port per job, and the types that
cross over. The app gives Redis-backed ones (`adapters.py`); tests give in-memory ones."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from services.enrich.relevance import Embedder, LinkPicks, StoryFeatures
from services.enrich.tagging.names import DecideNames, Naming
from shared.cpu import CpuRunner, InPlace
from shared.events import Event, WriteOnAck
from shared.models import Article, Tag
from shared.queries import StoryRecord
from shared.sections import Sections, load_sections

#: Puts events on a stream, outside a consumer's handler (shared.broker.publish_events).
Emit = Callable[[str, Sequence[Event]], Awaitable[None]]


@dataclass(frozen=True)
class Overrides:
    """What editors decided about one story, kept across its versions; `taken_down`: every
    version stays off the site until an editor restores it."""

    pinned: tuple[str, ...] = ()
    banned: tuple[str, ...] = ()
    removed_tags: tuple[str, ...] = ()
    taken_down: bool = False


@dataclass(frozen=True)
class Recorded:
    """What the story records say about a version of a story they were just given."""

    page_path: str
    stale: bool  # an older version than one already recorded: never overwrites it
    corrected: bool  # an earlier version was recorded before this one
    overrides: Overrides = field(default_factory=lambda: Overrides())


@dataclass(frozen=True)
class StoryEdits:
    """An editor's changes to a story's overrides, as one republish request carries them."""

    pin: tuple[str, ...] = ()
    ban: tuple[str, ...] = ()
    unpin: tuple[str, ...] = ()
    unban: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    restore_tags: tuple[str, ...] = ()
    #: True: take it down; False: put it back; None: leave as it is.
    taken_down: bool | None = None

    def __bool__(self) -> bool:
        return any(
            (self.pin, self.ban, self.unpin, self.unban, self.remove_tags, self.restore_tags)
        ) or (self.taken_down is not None)

    def applied_to(self, current: Overrides) -> Overrides:
        """Pins first in the order given (so pinning again reorders), then the earlier pins;
        a story banned is unpinned, one pinned is unbanned (banning wins when an edit does both)."""
        pinned = [
            p
            for p in dict.fromkeys([*self.pin, *current.pinned])
            if p not in self.unpin and p not in self.ban
        ]
        banned = [
            b
            for b in dict.fromkeys([*current.banned, *self.ban])
            if b not in self.unban and (b in self.ban or b not in self.pin)
        ]
        removed = [
            t
            for t in dict.fromkeys([*current.removed_tags, *self.remove_tags])
            if t not in self.restore_tags
        ]
        return Overrides(
            pinned=tuple(pinned),
            banned=tuple(banned),
            removed_tags=tuple(removed),
            taken_down=current.taken_down if self.taken_down is None else self.taken_down,
        )


@dataclass(frozen=True)
class StoredStory:
    article: Article
    page_path: str
    corrected: bool
    pinned: tuple[str, ...] = ()
    banned: tuple[str, ...] = ()
    # Tag slugs an editor removed from it (kept across versions).
    removed_tags: tuple[str, ...] = ()
    # What the last enrichment of this version found: its tags, and its links as a signature.
    tags: tuple[Tag, ...] | None = None
    links: tuple[str, ...] = ()
    # The revision of that enrichment (`LinkGraph.enrichment_write`): what it was emitted at.
    revision: int = 0


@dataclass(frozen=True)
class LinkTarget:
    """What a page shows of a story it links to."""

    article_id: str
    headline: str
    page_path: str
    excerpt: str
    published_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class EnrichConfig:
    read_also: int = 2
    related_posts: int = 5
    # Optional sentence embeddings, blended into the ranking of the best text candidates.
    embedder: Embedder | None = None
    sections: Sections = field(default_factory=load_sections)
    # Embargoes are judged against this clock (tests give a fixed one).
    clock: Callable[[], datetime] = _now
    # A large body is read in a worker process, within a time budget (shared.cpu).
    cpu: CpuRunner = field(default_factory=InPlace)


class StoryRecords(Protocol):
    """Every story seen: its latest version, page path, status and what links to it show."""

    async def record(
        self, article: Article, page_path: str, excerpt: str, *, held: bool = False
    ) -> Recorded:
        """Keep this version unless a newer one is kept; `held`: under embargo, so no page may
        link to it yet."""

    async def load(self, article_id: str) -> StoredStory | None:
        """The story as stored; one an editor took down comes back with pubstatus canceled."""

    async def edit(self, article_id: str, edits: StoryEdits) -> Overrides | None:
        """Apply an editor's changes (atomically, against concurrent ones); a story taken down
        is recorded canceled, one restored gets its own status back at its next `record`.
        None when the archive does not hold the story."""

    async def targets(self, article_ids: Sequence[str]) -> dict[str, LinkTarget]:
        """The stories among these that are on the site, as links show them."""

    async def records(self, article_ids: Sequence[str]) -> list[StoryRecord]:
        """What is on record of each of these stories that is known."""


class LinkIndex(Protocol):
    """The related-links index every replica ranks against."""

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

    async def stored_features(self, article_id: str) -> StoryFeatures | None: ...


class LinkGraph(Protocol):
    """Which stories link to which, so a kill or a correction finds every page to fix."""

    async def enrichment_write(
        self,
        source_id: str,
        tags: Sequence[Tag],
        links: Sequence[str],
        target_ids: Sequence[str],
        version_order: str,
    ) -> tuple[int, WriteOnAck]:
        """A new decision about a story's tags and links: its revision, higher than any this
        story was given before (pages rendered from a later decision replace those from an
        earlier one, never the other way round), and the writes that keep its tags, link
        signature and the stories it links to (and the reverse links). They are made when the
        message that decided them is acknowledged, and only if no later decision (the
        version's `version_order`, then the revision) was kept first."""

    async def linked_by(self, article_id: str) -> list[str]: ...


class RefreshQueue(Protocol):
    """Stories whose links are due a refresh."""

    async def schedule(self, article_ids: Sequence[str], reason: str) -> None:
        """Republish these stories soon; a story already waiting keeps its place (one refresh
        per story per interval, however many new stories relate to it)."""

    async def due(self) -> int: ...

    async def take(self) -> tuple[list[str], object]:
        """Refreshes due now, leased; and the lease, to confirm once they are sent."""

    async def done(self, lease: object) -> None: ...


class ReleaseQueue(Protocol):
    """Stories under embargo, due out at their embargo's time."""

    async def schedule_at(self, article_ids: Iterable[str], due_at: float) -> None:
        """Due then; a story already waiting keeps the earlier of its two times."""

    async def due(self) -> int: ...

    async def take(self) -> tuple[list[str], object]: ...

    async def done(self, lease: object) -> None: ...


class TagBans(Protocol):
    """Tags editors banned outright: enrich gives them to no story."""

    async def banned(self) -> frozenset[str]:
        """The banned slugs (a replica may answer from a copy a couple of seconds old)."""

    async def change(self, ban: Sequence[str], unban: Sequence[str]) -> None: ...


class TagNames(Protocol):
    """The name book (`tagging.names`): the slug and name each entity's tag keeps across the
    archive."""

    async def settle(self, lookup: Sequence[str], decide: DecideNames) -> Naming:
        """``decide`` on what the book has of the ``lookup`` keys (and the names of the slugs
        they lead to), and write what it says the book should learn, as one step: if another
        replica writes meanwhile, decide again on what it wrote."""


@dataclass(frozen=True)
class Archive:
    """Everything enrich keeps, by job."""

    stories: StoryRecords
    index: LinkIndex
    links: LinkGraph
    refreshes: RefreshQueue
    releases: ReleaseQueue
    tag_bans: TagBans
    tag_names: TagNames
