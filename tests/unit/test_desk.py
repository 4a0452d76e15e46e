"""The desk's pure decisions: sessions, CSRF, permissions, sign-in limits."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from services.desk.handlers import (
    csrf_ok,
    csrf_token,
    issue_session,
    may,
    new_user,
    read_session,
    sign_in,
)
from services.desk.ports import SignInRefused, User
from services.desk.settings import DeskSettings

pytestmark = pytest.mark.unit

SECRET = b"s" * 32
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def editor() -> User:
    return new_user("Ada", "correct horse battery", "editor", NOW)


def test_a_session_cookie_is_read_back_until_it_expires_and_not_after(editor: User) -> None:
    session, cookie = issue_session(editor, SECRET, NOW, max_age_s=3600)
    assert read_session(cookie, SECRET, NOW + 10) == session
    assert session.user == "ada" and session.role == "editor"
    assert read_session(cookie, SECRET, NOW + 3600) is None  # expired
    assert read_session(cookie, SECRET, NOW - 1) is None  # not yet issued (a clock skew trick)


def test_a_forged_altered_or_foreign_session_is_refused(editor: User) -> None:
    _, cookie = issue_session(editor, SECRET, NOW, max_age_s=3600)
    payload, signature = cookie.split(".")
    raw = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw["r"] = "admin"  # promote oneself
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
    for bad in (f"{forged}.{signature}", cookie + "x", "", "a.b", "no-dot", None):
        assert read_session(bad, SECRET, NOW) is None, bad
    assert read_session(cookie, b"t" * 32, NOW) is None  # signed with another secret


def test_csrf_tokens_belong_to_one_session(editor: User) -> None:
    first, _ = issue_session(editor, SECRET, NOW, max_age_s=3600)
    second, _ = issue_session(editor, SECRET, NOW, max_age_s=3600)
    token = csrf_token(SECRET, first.nonce)
    assert csrf_ok(SECRET, first.nonce, token)
    assert not csrf_ok(SECRET, second.nonce, token)  # another sign-in's page
    assert not csrf_ok(SECRET, first.nonce, None)
    tampered = token[:-1] + ("B" if token.endswith("A") else "A")  # never the token itself
    assert not csrf_ok(SECRET, first.nonce, tampered)
    assert not csrf_ok(SECRET, None, token)


def test_roles_may_what_they_are_for(editor: User) -> None:
    admin = new_user("root", "correct horse battery", "admin", NOW)
    editing, _ = issue_session(editor, SECRET, NOW, 60)
    administering, _ = issue_session(admin, SECRET, NOW, 60)
    assert may(editing, "steer") and not may(editing, "requeue")
    assert not may(editing, "manage-users")
    assert may(administering, "requeue") and may(administering, "manage-users")
    assert not may(None, "read")
    assert not may(administering, "no-such-action")


def test_users_need_a_real_name_a_long_password_and_a_role() -> None:
    for name, password, role in (
        ("x", "correct horse battery", "editor"),
        ("has space", "correct horse battery", "editor"),
        ("ada", "short", "editor"),
        ("ada", "correct horse battery", "owner"),
    ):
        with pytest.raises(ValueError):
            new_user(name, password, role, NOW)


def test_the_secret_has_no_default_outside_local_dev() -> None:
    with pytest.raises(ValidationError, match="DESK_SECRET"):
        DeskSettings(wirepress_env="production", desk_secret=None)
    with pytest.raises(ValidationError, match="32"):
        DeskSettings(wirepress_env="production", desk_secret="too short")
    dev = DeskSettings(wirepress_env="dev", desk_secret=None)
    assert dev.secret() and dev.desk_secure_cookies is False
    assert DeskSettings(wirepress_env="production", desk_secret="p" * 40).desk_secure_cookies


class MemoryUsers:
    def __init__(self, *users: User) -> None:
        self.users = {u.name: u for u in users}

    async def get(self, name: str) -> User | None:
        return self.users.get(name)

    async def put(self, user: User) -> bool:
        return self.users.setdefault(user.name, user) is user

    async def set_password_hash(self, name: str, password_hash: str) -> None:
        self.users[name] = User(name, password_hash, self.users[name].role, 0)


class MemoryAttempts:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    async def failures(self, kind: str, who: str) -> tuple[int, int]:
        return self.counts.get((kind, who), 0), 900

    async def record_failure(self, kind: str, who: str, window_s: int) -> None:
        self.counts[(kind, who)] = self.counts.get((kind, who), 0) + 1

    async def clear(self, kind: str, who: str) -> None:
        self.counts.pop((kind, who), None)


async def test_failed_sign_ins_lock_the_name_and_the_address_out(editor: User) -> None:
    users, attempts = MemoryUsers(editor), MemoryAttempts()
    limits = (3, 5, 900)

    async def attempt(name: str, password: str, address: str = "10.0.0.1") -> User:
        return await sign_in(
            users, attempts, name=name, password=password, address=address, limits=limits
        )

    assert (await attempt("ADA ", "correct horse battery")).name == "ada"
    for _ in range(3):
        with pytest.raises(SignInRefused) as wrong:
            await attempt("ada", "guess")
        assert wrong.value.status == 401
    # Locked out, even with the right password (a guesser learns nothing), from anywhere.
    with pytest.raises(SignInRefused) as locked:
        await attempt("ada", "correct horse battery", "10.0.0.9")
    assert locked.value.status == 429 and locked.value.retry_after_s == 900
    # An address trying many names is locked out too, for every name.
    for name in ("bob", "carol"):
        with pytest.raises(SignInRefused):
            await attempt(name, "guess")
    with pytest.raises(SignInRefused) as by_address:
        await attempt("dave", "guess")
    assert by_address.value.status == 429
    # Unknown names fail like wrong passwords.
    with pytest.raises(SignInRefused) as unknown:
        await attempt("nobody", "guess", "10.0.0.2")
    assert unknown.value.status == 401
