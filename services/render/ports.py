"""What render's decisions need from the outside world, and the types that cross over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from shared.events import Event
from shared.models import ListingEntry

#: Puts events on a stream, outside a consumer's handler (shared.broker.publish_events).
Emit = Callable[[str, Sequence[Event]], Awaitable[None]]

#: The listing pages render keeps: today the front page.
FRONT_PAGE = "index"


@dataclass(frozen=True)
class ListingChange:
    """A story listed (its page is up at `ordering`) or delisted (taken down at it)."""

    op: Literal["list", "delist"]
    article_id: str
    ordering: str
    entry: ListingEntry | None = None


@dataclass(frozen=True)
class ListingSnapshot:
    """The newest stories listed, as of one listing generation."""

    generation: int
    entries: Sequence[ListingEntry]


class Listing(Protocol):
    async def apply(self, change: ListingChange, pages: Sequence[str], due_at: float) -> bool:
        """Apply a change unless a newer one about the story was applied already; when it
        changes the listing, the `pages` it touches are due a rebuild at `due_at` (in the same
        step, so a crash never leaves a change with no rebuild). True if it changed anything."""

    async def newest(self, limit: int) -> ListingSnapshot: ...


class PagesDue(Protocol):
    async def take(self) -> tuple[list[str], object]:
        """Listing pages due a rebuild now, leased; and the lease, to confirm."""

    async def done(self, lease: object) -> None: ...
