"""The desk's decisions. Pure: no Redis, no HTTP server (users and attempts are ports).

Sessions are `<payload>.<signature>`: the payload is base64url JSON (user, role, issued,
expires, nonce) and the signature an HMAC-SHA256 of it under the desk's secret, so a cookie
cannot be forged, altered or kept past its expiry. A CSRF token is an HMAC of the session's
nonce: it changes with every sign-in and a page of one session cannot act for another. Before
sign-in the form carries a token tied to a random pre-session cookie (double submit, signed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.desk.ports import ROLES, Attempts, Role, Session, SignInRefused, User, Users

logger = logging.getLogger(__name__)

#: Argon2id with the library's current defaults (RFC 9106's second recommendation).
_HASHER = PasswordHasher()
#: What each role may do. An action not listed is refused to everyone.
PERMISSIONS: Mapping[str, frozenset[Role]] = {
    "read": frozenset({"editor", "admin"}),
    "steer": frozenset({"editor", "admin"}),
    "requeue": frozenset({"admin"}),
    "manage-users": frozenset({"admin"}),
}
MIN_PASSWORD_CHARS = 12
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"a password has at least {MIN_PASSWORD_CHARS} characters")
    return _HASHER.hash(password)


def check_user_name(name: str) -> str:
    """A user name as stored: lower case letters, digits, `.`, `_`, `-`, 2 to 64 of them."""
    clean = name.strip().lower()
    if not 2 <= len(clean) <= 64 or not set(clean) <= _NAME_CHARS:
        raise ValueError("a user name is 2-64 of a-z, 0-9, '.', '_' and '-'")
    return clean


def new_user(name: str, password: str, role: str, now: float) -> User:
    if role not in ROLES:
        raise ValueError(f"a role is one of {', '.join(ROLES)}")
    return User(check_user_name(name), hash_password(password), role, now)


def may(session: Session | None, action: str) -> bool:
    """Whether whoever holds this session may do `action` (nobody may, signed out)."""
    return session is not None and session.role in PERMISSIONS.get(action, frozenset())


# --- sessions and CSRF --------------------------------------------------------------------------


def _sign(secret: bytes, purpose: str, data: bytes) -> str:
    mac = hmac.new(secret, purpose.encode() + b"\0" + data, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue_session(user: User, secret: bytes, now: float, max_age_s: int) -> tuple[Session, str]:
    """A new session for `user`, and its cookie value."""
    session = Session(user.name, user.role, now, now + max_age_s, secrets.token_urlsafe(16))
    payload = json.dumps(
        {"u": session.user, "r": session.role, "i": session.issued_at,
         "e": session.expires_at, "n": session.nonce},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=")
    return session, f"{encoded.decode()}.{_sign(secret, 'session', encoded)}"


def read_session(cookie: str | None, secret: bytes, now: float) -> Session | None:
    """The session a cookie stands for, or None if it is absent, forged, altered or expired."""
    if not cookie or cookie.count(".") != 1:
        return None
    encoded, signature = cookie.split(".")
    if not hmac.compare_digest(signature, _sign(secret, "session", encoded.encode())):
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        session = Session(raw["u"], raw["r"], float(raw["i"]), float(raw["e"]), raw["n"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if session.role not in ROLES or not session.issued_at <= now < session.expires_at:
        return None
    return session


def csrf_token(secret: bytes, nonce: str) -> str:
    """The token forms of a session (or of a pre-session, before sign-in) must carry."""
    return _sign(secret, "csrf", nonce.encode())


def csrf_ok(secret: bytes, nonce: str | None, token: str | None) -> bool:
    return bool(nonce and token) and hmac.compare_digest(str(token), csrf_token(secret, str(nonce)))


# --- sign-in -----------------------------------------------------------------------------------


async def sign_in(
    users: Users,
    attempts: Attempts,
    *,
    name: str,
    password: str,
    address: str,
    limits: tuple[int, int, int],
) -> User:
    """The user whose name and password these are, or SignInRefused.

    `limits`: failures allowed per user name, per address, and the window (seconds). Past
    either, every try is answered 429 until the window ends, right password or not, so a
    guesser learns nothing; the counters are checked before the (deliberately slow) hash.
    """
    per_user, per_address, window_s = limits
    user_name = name.strip().lower()
    for kind, who, allowed in (("user", user_name, per_user), ("address", address, per_address)):
        failures, retry_after = await attempts.failures(kind, who)
        if failures >= allowed:
            logger.warning(
                "sign-in for %s from %s refused: %s failures", user_name, address, failures
            )
            raise SignInRefused(429, "too many failed sign-ins; try again later", retry_after)
    user = await users.get(user_name)
    if not _password_matches(user, password) or user is None:
        for kind, who in (("user", user_name), ("address", address)):
            await attempts.record_failure(kind, who, window_s)
        raise SignInRefused(401, "that user name and password do not match")
    await attempts.clear("user", user_name)
    if _HASHER.check_needs_rehash(user.password_hash):
        await users.set_password_hash(user.name, _HASHER.hash(password))
    return user


_UNKNOWN_USER_HASH: list[str] = []


def _password_matches(user: User | None, password: str) -> bool:
    # An unknown name is checked against a hash too: answering faster would tell who exists.
    if user is None:
        if not _UNKNOWN_USER_HASH:
            _UNKNOWN_USER_HASH.append(_HASHER.hash(secrets.token_urlsafe(16)))
        stored = _UNKNOWN_USER_HASH[0]
    else:
        stored = user.password_hash
    try:
        return _HASHER.verify(stored, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False
