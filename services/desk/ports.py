"""What the desk's decisions need from the outside world, and the types that cross over."""

from __future__ import annotations

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
