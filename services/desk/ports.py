"""What the desk's decisions need from the outside world, and the types that cross over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["editor", "admin"]
ROLES: tuple[Role, ...] = ("editor", "admin")


@dataclass(frozen=True)
class User:
    """An editor who may sign in: the name, the Argon2 hash of the password, the role."""

    name: str
    password_hash: str
    role: Role
    created_at: float


@dataclass(frozen=True)
class Session:
    """Who is signed in, as their cookie says: valid until `expires_at` (epoch seconds)."""

    user: str
    role: Role
    issued_at: float
    expires_at: float
    #: Random per sign-in: the CSRF token is derived from it, so tokens die with the session.
    nonce: str
    #: A machine calling with a bearer token, not a browser: no cookie, so no CSRF check.
    machine: bool = False


@dataclass(frozen=True)
class MachineToken:
    """A token a newsroom tool calls the API with: only its SHA-256 is kept."""

    name: str
    sha256: str
    role: Role
    created_at: float


class SignOuts(Protocol):
    """Sessions ended by signing out: their cookie, replayed, is refused until it expires."""

    async def sign_out(self, nonce: str, expires_at: float) -> None: ...

    async def signed_out(self, nonce: str) -> bool: ...


class Tokens(Protocol):
    async def put(self, token: MachineToken) -> bool:
        """False if the name is taken."""

    async def by_hash(self, sha256: str) -> MachineToken | None: ...

    async def revoke(self, name: str) -> bool: ...


class SignInRefused(Exception):
    """A sign-in that does not get a session: wrong credentials (401) or too many failures
    (429, `retry_after_s`)."""

    def __init__(self, status: int, reason: str, retry_after_s: int | None = None) -> None:
        self.status = status
        self.reason = reason
        self.retry_after_s = retry_after_s
        super().__init__(reason)


class Users(Protocol):
    async def get(self, name: str) -> User | None: ...

    async def put(self, user: User) -> bool:
        """Store a user; False if the name is taken (an existing user is never overwritten)."""

    async def set_password_hash(self, name: str, password_hash: str) -> None:
        """A rehash of a stored password with today's parameters (same password)."""


class Attempts(Protocol):
    """Failed sign-ins counted in a window: one counter per user name, one per address."""

    async def failures(self, kind: str, who: str) -> tuple[int, int]:
        """How many failures in the current window, and the seconds until it ends."""

    async def record_failure(self, kind: str, who: str, window_s: int) -> None: ...

    async def clear(self, kind: str, who: str) -> None: ...


# --- the desk's view of every story ------------------------------------------------------------

#: What the list filters by: a story's state on the site as the desk last saw it.
Status = Literal["pending", "live", "corrected", "embargoed", "withheld", "killed", "failed"]
STATUSES: tuple[Status, ...] = (
    "live",
    "corrected",
    "killed",
    "embargoed",
    "withheld",
    "failed",
    "pending",
)


@dataclass(frozen=True)
class TagView:
    slug: str
    name: str
    type: str


@dataclass(frozen=True)
class LinkView:
    """A related link as the site shows it: READ ALSO when `after_paragraph` is set."""

    article_id: str
    headline: str
    path: str
    after_paragraph: int | None = None
    #: Why enrich picked it, in words for editors ("" for links kept from before).
    why: str = ""


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a story: in which stage, when, with what outcome."""

    stage: str  # ingested, enriched, rendered, published, failed, or desk (an editor's action)
    at: float
    version: str
    outcome: str
    correlation_id: str
    detail: str = ""


@dataclass(frozen=True)
class DeskStory:
    """What the desk knows of a story, from the events it has followed."""

    article_id: str
    guid: str
    headline: str
    version: str
    #: The ordering of the latest version seen (shared.models.version_ordering).
    ordering: str = ""
    #: The decision ordering of the last publish outcome applied (stale ones are ignored).
    published_ordering: str = ""
    pubstatus: str = "usable"
    corrected: bool = False
    outcome: str = ""  # the last publish outcome: written, unchanged or withdrawn
    section_slug: str = ""
    section_name: str = ""
    tags: tuple[TagView, ...] = ()
    links: tuple[LinkView, ...] = ()
    page_path: str = ""
    url: str = ""
    feed: str = ""
    raw_key: str = ""
    byline: str = ""
    embargo_until: float | None = None
    #: When the story's latest version was made (or first seen): the list's order.
    sort_at: float = 0.0
    first_published_at: float | None = None
    last_published_at: float | None = None
    failed_at: float | None = None
    failure: str = ""
    versions: tuple[tuple[str, float], ...] = ()  # (version, first seen), oldest first
    #: The status it is listed under in the index (a status can change with time alone: an
    #: embargo passing), so the next change takes it out of the right set.
    indexed_status: str = ""
    #: When the last publish outcome (written, unchanged, withdrawn) was applied.
    outcome_at: float | None = None


@dataclass(frozen=True)
class StoryQuery:
    """A page of the story list: every filter optional, newest first."""

    text: str = ""
    status: str = ""
    section: str = ""
    tag: str = ""
    since: float | None = None
    until: float | None = None
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class StoryList:
    total: int
    stories: list[DeskStory]


class StoryIndex(Protocol):
    """The desk's index of every story, kept from the events and searched for the list."""

    async def update(
        self,
        article_id: str,
        change: Callable[[DeskStory | None], DeskStory | None],
        *entries: TimelineEntry,
    ) -> DeskStory | None:
        """Apply `change` to the story as stored (None: not known yet), atomically against
        concurrent updates, keep its list memberships in step, and add `entries` to its
        timeline (in order). `change` returning None leaves the story as it was."""

    async def get(self, article_id: str) -> DeskStory | None: ...

    async def timeline(self, article_id: str) -> list[TimelineEntry]:
        """Newest first."""

    async def search(self, query: StoryQuery) -> StoryList: ...

    async def ids(self, *, section: str = "", tag: str = "") -> list[str]:
        """Every story in a section, with a tag, or (neither given) every story."""

    async def sections(self) -> dict[str, str]:
        """Sections seen: slug -> name."""

    async def stories(self, article_ids: list[str]) -> list[DeskStory]:
        """Those of these stories the desk knows, in this order."""

    async def remember_tag_ban(self, slug: str, article_ids: list[str]) -> None:
        """The stories that carried a tag as it was banned outright."""

    async def tag_ban(self, slug: str) -> list[str]: ...

    async def forget_tag_ban(self, slug: str) -> None: ...

    async def backfilled(self) -> bool:
        """Whether the stories enrich held when the desk first ran were listed."""

    async def mark_backfilled(self) -> None: ...


@dataclass(frozen=True)
class AuditRecord:
    """Who did what, when, to which story (or stories)."""

    at: float
    user: str
    role: str
    action: str
    target: str  # an article id, `section:<slug>`, `tag:<slug>`, `all`, a dead letter
    detail: str
    correlation_id: str


class AuditLog(Protocol):
    async def record(self, entry: AuditRecord) -> None: ...

    async def latest(self, limit: int, before: str | None = None) -> list[tuple[str, AuditRecord]]:
        """Newest first, each with its id (pass the last as `before` for the next page)."""


@dataclass(frozen=True)
class Job:
    """A republish of many stories: how far it has got."""

    job_id: str
    label: str
    total: int
    sent: int
    done: int
    started_at: float
    user: str
    finished: bool
    #: Why it stopped before sending everything ("" while it runs, or once done).
    error: str = ""


class Jobs(Protocol):
    async def start(self, job: Job) -> None: ...

    async def sent(self, job_id: str, count: int, *, finished: bool = False) -> None: ...

    async def done(self, job_id: str) -> None:
        """One story of the job is on the site again (a no-op for an unknown id)."""

    async def failed(self, job_id: str, error: str) -> None:
        """The job stopped part-way, and why."""

    async def get(self, job_id: str) -> Job | None: ...

    async def recent(self, limit: int) -> list[Job]: ...
