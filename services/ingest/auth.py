"""Who is pushing: per-feed authentication of ingest requests. Pure logic, no I/O of its own.

Three ways for a feed to prove itself, each allowed per feed in `INGEST_FEEDS` (FeedConfig.auth):

``bearer``
    ``Authorization: Bearer <secret>``. The token alone identifies the feed, so no two
    bearer feeds share a secret (the settings refuse that).

``superdesk-signature``
    Superdesk's HTTP push signature: ``X-Superdesk-Signature: sha1=<hex>`` where ``<hex>`` is the
    HMAC-SHA1 of the raw request body keyed with the feed's secret. It carries no timestamp, so it
    cannot expire; a replayed push is caught later as a duplicate guid+version instead.

``wirepress-signature``
    Our own: ``X-Wirepress-Signature: t=<unix seconds>,sha256=<hex>`` where ``<hex>`` is the
    HMAC-SHA256, keyed with the feed's secret, of the ASCII timestamp, a dot and the raw body::

        signed = f"{t}.".encode() + body
        hex = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()

    ``t`` must be within ``ingest_signature_skew_s`` (default 300 s) of ingest's clock, either
    way, so a captured request cannot be replayed later; inside that window every signature is
    remembered and accepted once, so it cannot be replayed then either. A client retrying a push
    signs it again with a fresh ``t``.

For signatures the feed is named by the ``X-Wirepress-Feed`` header or the ``?feed=`` query
parameter; when it is not, every feed allowing that method is tried. Every candidate secret is
compared (with `hmac.compare_digest`), without stopping at the first match, so how long an
answer takes says nothing about which feed or how much of a signature matched.

No credentials at all is 401; a bearer token that matches no feed is 401 too (RFC 6750's
``invalid_token``: it identifies nobody); a signature that does not verify, is expired or
replayed, or names a feed not allowed to use it, is 403. All credentials a request presents must
verify, and for the same feed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.ingest.ports import Problem, ReplayCache
from services.ingest.settings import AuthMethod, FeedConfig

logger = logging.getLogger(__name__)

BEARER: AuthMethod = "bearer"
SUPERDESK: AuthMethod = "superdesk-signature"
WIREPRESS: AuthMethod = "wirepress-signature"

AUTHORIZATION = "authorization"
SUPERDESK_HEADER = "x-superdesk-signature"
WIREPRESS_HEADER = "x-wirepress-signature"
FEED_HEADER = "x-wirepress-feed"

_SHA1_HEX = re.compile(r"^sha1=([0-9a-fA-F]{40})$")
_WIREPRESS_PART = re.compile(r"^(t|sha256)=(.+)$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
# Up to year 5138: enough digits for any real clock, few enough that int() stays cheap.
_UNIX_SECONDS = re.compile(r"^[0-9]{1,11}$")


@dataclass(frozen=True)
class Credentials:
    """What a request presents, read from its headers before the body is read."""

    bearer: str | None = None
    authorization_scheme: str | None = None
    superdesk: str | None = None
    wirepress: str | None = None
    feed_name: str | None = None

    @classmethod
    def from_request(cls, headers: Mapping[str, str], query_feed: str | None = None) -> Credentials:
        lowered = {k.lower(): v for k, v in headers.items()}
        bearer = scheme = None
        authorization = lowered.get(AUTHORIZATION, "").strip()
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer":
                bearer = value.strip()
        return cls(
            bearer=bearer,
            authorization_scheme=scheme,
            superdesk=lowered.get(SUPERDESK_HEADER, "").strip() or None,
            wirepress=lowered.get(WIREPRESS_HEADER, "").strip() or None,
            feed_name=(lowered.get(FEED_HEADER) or query_feed or "").strip() or None,
        )

    @property
    def signed(self) -> bool:
        return self.superdesk is not None or self.wirepress is not None

    @property
    def present(self) -> bool:
        return self.bearer is not None or self.signed


@dataclass(frozen=True)
class Authenticated:
    feed: FeedConfig
    methods: tuple[AuthMethod, ...]


def superdesk_signature(secret: str, body: bytes) -> str:
    """The `X-Superdesk-Signature` value for a body: `sha1=<hex HMAC-SHA1>`."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def wirepress_signature(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Wirepress-Signature` value for a body signed at `timestamp` (unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},sha256={digest}"


def _unauthenticated(detail: str, error: str | None = None) -> Problem:
    challenge = 'Bearer realm="wirepress-ingest"'
    if error:
        challenge += f', error="{error}"'
    return Problem(
        401,
        "unauthenticated",
        "Authentication required",
        detail,
        headers=(("WWW-Authenticate", challenge),),
    )


def _forbidden(detail: str, slug: str = "forbidden") -> Problem:
    return Problem(403, slug, "Signature refused", detail)


class Authenticator:
    """Checks a request's credentials against the configured feeds."""

    def __init__(
        self, feeds: Sequence[FeedConfig], *, skew_s: int, replay_cache: ReplayCache
    ) -> None:
        self.feeds = tuple(feeds)
        self.skew_s = skew_s
        self.replay_cache = replay_cache
        self._by_name = {f.name: f for f in self.feeds}

    def precheck(self, credentials: Credentials) -> FeedConfig | None:
        """Before the body is read: refuse requests without credentials or with a bad bearer token.

        Returns the bearer token's feed, if there is one; signatures need the body.
        """
        if not credentials.present:
            if credentials.authorization_scheme:
                raise _unauthenticated(
                    f"the {credentials.authorization_scheme} scheme is not accepted: send "
                    "Authorization: Bearer <token> or a signature header",
                    "invalid_request",
                )
            raise _unauthenticated(
                "send Authorization: Bearer <token>, X-Wirepress-Signature or X-Superdesk-Signature"
            )
        if credentials.bearer is None:
            return None
        feed = self._bearer_feed(credentials.bearer)
        if feed is None:
            raise _unauthenticated("the bearer token is not valid for any feed", "invalid_token")
        return feed

    async def authenticate(
        self, credentials: Credentials, body: bytes, *, now: float
    ) -> Authenticated:
        """Verify every credential the request presents; raise a 401/403 problem otherwise."""
        bearer_feed = self.precheck(credentials)
        found: list[tuple[AuthMethod, FeedConfig]] = []
        if bearer_feed is not None:
            found.append((BEARER, bearer_feed))
        if credentials.superdesk is not None:
            found.append((SUPERDESK, self._superdesk_feed(credentials, body)))
        if credentials.wirepress is not None:
            found.append((WIREPRESS, await self._wirepress_feed(credentials, body, now)))
        names = {feed.name for _, feed in found}
        if len(names) != 1:
            raise _forbidden("the credentials presented belong to different feeds")
        return Authenticated(feed=found[0][1], methods=tuple(method for method, _ in found))

    # --- the methods -----------------------------------------------------------------------

    def _bearer_feed(self, token: str) -> FeedConfig | None:
        # Hash both sides first: compare_digest then compares equal lengths, so even the
        # token's length is not revealed by timing.
        presented = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        match: FeedConfig | None = None
        for feed in self.feeds:
            if not feed.allows(BEARER):
                continue
            expected = hashlib.sha256(feed.secret.get_secret_value().encode()).digest()
            if hmac.compare_digest(presented, expected) and match is None:
                match = feed
        return match

    def _candidates(self, credentials: Credentials, method: AuthMethod) -> list[FeedConfig]:
        if credentials.feed_name is None:
            candidates = [f for f in self.feeds if f.allows(method)]
            if not candidates:
                raise _forbidden(f"no feed accepts {method}")
            return candidates
        feed = self._by_name.get(credentials.feed_name)
        # An unknown feed and a feed that may not use this method get the same answer as a
        # wrong signature would: the refusal does not tell which feed names exist.
        if feed is None or not feed.allows(method):
            raise _forbidden(
                f"the {method} does not verify for feed {credentials.feed_name!r}",
                "bad-signature",
            )
        return [feed]

    def _superdesk_feed(self, credentials: Credentials, body: bytes) -> FeedConfig:
        assert credentials.superdesk is not None
        candidates = self._candidates(credentials, SUPERDESK)
        matched = _SHA1_HEX.match(credentials.superdesk)
        if not matched:
            raise _forbidden("X-Superdesk-Signature must be sha1=<40 hex digits>", "bad-signature")
        presented = matched.group(1).lower().encode()
        match: FeedConfig | None = None
        for feed in candidates:
            expected = superdesk_signature(feed.secret.get_secret_value(), body)[5:].encode()
            if hmac.compare_digest(presented, expected) and match is None:
                match = feed
        if match is None:
            raise _forbidden("the X-Superdesk-Signature does not verify", "bad-signature")
        return match

    async def _wirepress_feed(
        self, credentials: Credentials, body: bytes, now: float
    ) -> FeedConfig:
        assert credentials.wirepress is not None
        candidates = self._candidates(credentials, WIREPRESS)
        timestamp, digest = _parse_wirepress(credentials.wirepress)
        # The signature is checked before the clock: a forged header learns nothing about skew.
        presented = digest.encode()
        match: FeedConfig | None = None
        for feed in candidates:
            expected = wirepress_signature(feed.secret.get_secret_value(), body, timestamp)
            expected_digest = expected.rsplit("sha256=", 1)[1].encode()
            if hmac.compare_digest(presented, expected_digest) and match is None:
                match = feed
        if match is None:
            raise _forbidden("the X-Wirepress-Signature does not verify", "bad-signature")
        if abs(now - timestamp) > self.skew_s:
            raise _forbidden(
                f"the signature's timestamp t={timestamp} is more than {self.skew_s}s from "
                "our clock: sign the request again",
                "signature-expired",
            )
        # Remember the signature until it would expire anyway; a second use inside the window
        # is a replay (a legitimate retry signs again with a fresh timestamp).
        ttl = max(1, int(timestamp + self.skew_s - now) + 1)
        if not await self.replay_cache.first_seen(f"{match.name}:{digest}", ttl):
            logger.warning("replayed X-Wirepress-Signature refused for feed %s", match.name)
            raise _forbidden(
                "this signed request was already received: sign it again with a new timestamp",
                "signature-replayed",
            )
        return match


def _parse_wirepress(header: str) -> tuple[int, str]:
    parts: dict[str, str] = {}
    for part in header.split(","):
        matched = _WIREPRESS_PART.match(part.strip())
        if not matched or matched.group(1) in parts:
            parts = {}
            break
        parts[matched.group(1)] = matched.group(2).strip()
    timestamp, digest = parts.get("t", ""), parts.get("sha256", "")
    if not _UNIX_SECONDS.match(timestamp) or not _HEX64.match(digest):
        raise _forbidden(
            "X-Wirepress-Signature must be t=<unix seconds>,sha256=<64 hex digits>",
            "bad-signature",
        )
    return int(timestamp), digest.lower()
