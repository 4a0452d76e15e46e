"""What render's decisions need from the outside world, and the types that cross over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from shared.events import Event
from shared.models import ListingEntry

#: Puts events on a stream, outside a consumer's handler (shared.broker.publish_events).
Emit = Callable[[str, Sequence[Event]], Awaitable[None]]


class PagesDue(Protocol):
    async def take(self) -> tuple[list[str], object]:
        """Listing pages due a rebuild now, leased; and the lease, to confirm."""

    async def done(self, lease: object) -> None: ...


@dataclass(frozen=True)
class SiteChange:
    """A story listed (its page is up at `ordering`) or delisted (taken down at it)."""

    op: Literal["list", "delist"]
    article_id: str
    ordering: str
    entry: ListingEntry | None = None


class SiteListing(Protocol):
    """The site's listings: what is in each, newest or oldest first, and what changed."""

    async def apply(
        self, change: SiteChange, listings: Sequence[str], extra_due: Sequence[str], due_at: float
    ) -> bool:
        """Apply a change unless a newer one about the story was applied already: the story is
        then in exactly `listings` (none when delisted). Every listing it is or was in, and the
        `extra_due` site pages, are due a build at `due_at`, in the same step. True if it
        changed anything."""

    async def generation(self) -> int: ...

    async def size(self, listing: str) -> int: ...

    async def ids(
        self, listing: str, start: int, stop: int, *, newest_first: bool
    ) -> list[str]: ...

    async def since(self, listing: str, epoch_s: float, limit: int) -> list[str]: ...

    async def entries(self, ids: Sequence[str], *, with_content: bool) -> list[ListingEntry]: ...

    async def dirt(self, listing: str) -> tuple[int | None, str, int]: ...

    async def built(self, listing: str, version: str, pages: int) -> None: ...

    async def forget_built(self) -> None: ...

    async def listings(self) -> list[str]: ...

    async def month_lastmods(self) -> dict[str, float]: ...

    async def front_pins(self) -> dict[str, list[str]]:
        """Every curated front: its pinned stories, in order."""

    async def change_front(
        self, front: str, change: Callable[[list[str]], list[str]], due_at: float
    ) -> list[str]:
        """Apply `change` to a front's pins atomically (none left: the front is the newest
        stories again); its index page is then due a build at `due_at`, as a newer page than
        the one built before. The pins kept."""
