"""Per-feed authentication of ingest pushes: bearer tokens and both signature schemes."""

from __future__ import annotations

import hmac
import json
from typing import Any

import pytest
from pydantic import ValidationError

from services.ingest.auth import (
    Authenticated,
    Authenticator,
    Credentials,
    superdesk_signature,
    wirepress_signature,
)
from services.ingest.ports import Problem
from services.ingest.settings import FeedConfig, IngestSettings

pytestmark = pytest.mark.unit

NOW = 1_760_000_000
BODY = b'{"uri": "urn:test:1", "headline": "A headline"}'


class MemoryReplayCache:
    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    async def first_seen(self, key: str, ttl_s: int) -> bool:
        if key in self.seen:
            return False
        self.seen[key] = ttl_s
        return True


FEEDS = (
    FeedConfig(name="default", secret="default-token", auth=("bearer",)),
    FeedConfig(name="superdesk", secret="123456789", auth=("superdesk-signature",)),
    FeedConfig(name="wire", secret="wire-secret", auth=("bearer", "wirepress-signature")),
    FeedConfig(name="agency", secret="agency-secret", auth=("wirepress-signature",)),
)


@pytest.fixture
def cache() -> MemoryReplayCache:
    return MemoryReplayCache()


@pytest.fixture
def auth(cache: MemoryReplayCache) -> Authenticator:
    return Authenticator(FEEDS, skew_s=300, replay_cache=cache)


async def check(
    auth: Authenticator,
    headers: dict[str, str],
    body: bytes = BODY,
    now: float = NOW,
    query_feed: str | None = None,
) -> Authenticated:
    return await auth.authenticate(Credentials.from_request(headers, query_feed), body, now=now)


async def refused(auth: Authenticator, headers: dict[str, str], **kwargs: Any) -> Problem:
    with pytest.raises(Problem) as caught:
        await check(auth, headers, **kwargs)
    return caught.value


def signed(secret: str, body: bytes = BODY, t: int = NOW) -> dict[str, str]:
    return {"X-Wirepress-Signature": wirepress_signature(secret, body, t)}


# --- the signature formats ----------------------------------------------------------------------


def test_superdesk_test_vector() -> None:
    assert (
        superdesk_signature("123456789", b"test payload")
        == "sha1=8be62a607898504f87559cb52dc23f9ebee65a21"
    )


def test_wirepress_signature_format_is_documented_hmac_of_timestamp_dot_body() -> None:
    import hashlib

    expected = hmac.new(b"k", b"1700000000.payload", hashlib.sha256).hexdigest()
    assert wirepress_signature("k", b"payload", 1700000000) == f"t=1700000000,sha256={expected}"


async def test_superdesk_signature_accepted_with_its_test_vector(auth: Authenticator) -> None:
    headers = {"X-Superdesk-Signature": "sha1=8be62a607898504f87559cb52dc23f9ebee65a21"}
    result = await check(auth, headers, body=b"test payload")
    assert result.feed.name == "superdesk"
    assert result.methods == ("superdesk-signature",)
    # Upper-case hex is the same signature.
    upper = {"x-superdesk-signature": "sha1=8BE62A607898504F87559CB52DC23F9EBEE65A21"}
    assert (await check(auth, upper, body=b"test payload")).feed.name == "superdesk"


async def test_superdesk_signature_over_another_body_is_forbidden(auth: Authenticator) -> None:
    headers = {"X-Superdesk-Signature": "sha1=8be62a607898504f87559cb52dc23f9ebee65a21"}
    problem = await refused(auth, headers, body=b"test payload!")
    assert problem.status == 403


# --- bearer ------------------------------------------------------------------------------------


async def test_bearer_token_identifies_its_feed(auth: Authenticator) -> None:
    assert (await check(auth, {"Authorization": "Bearer default-token"})).feed.name == "default"
    assert (await check(auth, {"authorization": "bearer wire-secret"})).feed.name == "wire"


async def test_missing_credentials_is_401_with_a_challenge(auth: Authenticator) -> None:
    problem = await refused(auth, {})
    assert problem.status == 401
    assert dict(problem.headers)["WWW-Authenticate"].startswith("Bearer")
    basic = await refused(auth, {"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status == 401


async def test_wrong_bearer_token_is_401_invalid_token(auth: Authenticator) -> None:
    problem = await refused(auth, {"Authorization": "Bearer nope"})
    assert problem.status == 401
    assert 'error="invalid_token"' in dict(problem.headers)["WWW-Authenticate"]


async def test_a_signature_only_feed_secret_is_not_a_bearer_token(auth: Authenticator) -> None:
    assert (await refused(auth, {"Authorization": "Bearer 123456789"})).status == 401
    assert (await refused(auth, {"Authorization": "Bearer agency-secret"})).status == 401


# --- wirepress signature -----------------------------------------------------------------------


async def test_wirepress_signature_valid(auth: Authenticator) -> None:
    result = await check(auth, signed("agency-secret"))
    assert result.feed.name == "agency"
    assert result.methods == ("wirepress-signature",)


async def test_wirepress_signature_wrong_secret_or_body_is_403(auth: Authenticator) -> None:
    assert (await refused(auth, signed("not-the-secret"))).status == 403
    problem = await refused(auth, signed("agency-secret"), body=BODY + b" ")
    assert problem.status == 403
    assert problem.slug == "bad-signature"


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 10**6])
async def test_wirepress_signature_outside_the_skew_is_refused(
    auth: Authenticator, cache: MemoryReplayCache, offset: int
) -> None:
    # Expired (a captured request replayed later) and from the future alike.
    problem = await refused(auth, signed("agency-secret", t=NOW + offset))
    assert problem.status == 403
    assert problem.slug == "signature-expired"
    assert not cache.seen  # nothing remembered for a request that was refused anyway


@pytest.mark.parametrize("offset", [-300, 0, 300])
async def test_wirepress_signature_inside_the_skew_is_accepted(
    auth: Authenticator, offset: int
) -> None:
    assert (await check(auth, signed("agency-secret", t=NOW + offset))).feed.name == "agency"


async def test_replayed_signed_request_is_refused_inside_the_window(
    auth: Authenticator, cache: MemoryReplayCache
) -> None:
    headers = signed("agency-secret")
    assert (await check(auth, headers)).feed.name == "agency"
    problem = await refused(auth, headers, now=NOW + 10)
    assert problem.status == 403
    assert problem.slug == "signature-replayed"
    # Remembered for as long as the signature could be accepted: until t + skew.
    [ttl] = cache.seen.values()
    assert 300 <= ttl <= 301
    # The same story signed again with a new timestamp is a new request.
    assert (await check(auth, signed("agency-secret", t=NOW + 1), now=NOW + 10)).feed


@pytest.mark.parametrize(
    "header",
    [
        "sha256=abc",
        f"t={NOW}",
        f"t=yesterday,sha256={'0' * 64}",
        f"t={NOW},sha256={'z' * 64}",
        f"t={NOW},t={NOW},sha256={'0' * 64}",
        "",
        "garbage",
    ],
)
async def test_malformed_wirepress_signature(auth: Authenticator, header: str) -> None:
    problem = await refused(auth, {"X-Wirepress-Signature": header or " ", "Authorization": ""})
    assert problem.status in (401, 403)
    if header:
        assert problem.status == 403


async def test_feed_named_by_header_or_query(auth: Authenticator) -> None:
    headers = {**signed("wire-secret"), "X-Wirepress-Feed": "wire"}
    assert (await check(auth, headers)).feed.name == "wire"
    by_query = signed("wire-secret", t=NOW + 1)
    assert (await check(auth, by_query, query_feed="wire")).feed.name == "wire"


async def test_unknown_feed_is_refused_like_a_bad_signature(auth: Authenticator) -> None:
    headers = {**signed("agency-secret"), "X-Wirepress-Feed": "nobody"}
    problem = await refused(auth, headers)
    assert problem.status == 403
    assert problem.slug == "bad-signature"


async def test_named_feed_must_allow_the_method(auth: Authenticator) -> None:
    # "default" allows bearer only: a signature with its secret is not accepted for it.
    headers = {**signed("default-token"), "X-Wirepress-Feed": "default"}
    assert (await refused(auth, headers)).status == 403
    superdesk = {
        "X-Superdesk-Signature": superdesk_signature("123456789", BODY),
        "X-Wirepress-Feed": "agency",
    }
    assert (await refused(auth, superdesk)).status == 403


async def test_every_presented_credential_must_verify_for_one_feed(auth: Authenticator) -> None:
    both = {"Authorization": "Bearer wire-secret", **signed("wire-secret")}
    result = await check(auth, both)
    assert result.feed.name == "wire"
    assert set(result.methods) == {"bearer", "wirepress-signature"}
    mixed = {"Authorization": "Bearer default-token", **signed("agency-secret", t=NOW + 2)}
    assert (await refused(auth, mixed)).status == 403
    bad_signature = {"Authorization": "Bearer wire-secret", **signed("nope", t=NOW + 3)}
    assert (await refused(auth, bad_signature)).status == 403


# --- constant time -----------------------------------------------------------------------------


class CompareSpy:
    def __init__(self) -> None:
        self.calls: list[tuple[bytes, bytes]] = []
        self.real = hmac.compare_digest

    def __call__(self, a: bytes, b: bytes) -> bool:
        self.calls.append((a, b))
        return self.real(a, b)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> CompareSpy:
    compare = CompareSpy()
    monkeypatch.setattr(hmac, "compare_digest", compare)
    return compare


async def test_bearer_compares_every_candidate_in_constant_time(
    auth: Authenticator, spy: CompareSpy
) -> None:
    # The first feed matches, yet the other bearer feed is still compared: no early exit.
    assert (await check(auth, {"Authorization": "Bearer default-token"})).feed.name == "default"
    assert len(spy.calls) == 2
    # Hashed first, so both sides are the same length whatever the token's length.
    assert all(len(a) == len(b) == 32 for a, b in spy.calls)
    spy.calls.clear()
    await refused(auth, {"Authorization": "Bearer x"})
    assert len(spy.calls) == 2


async def test_signatures_compare_every_candidate_with_compare_digest(
    auth: Authenticator, spy: CompareSpy
) -> None:
    # Two feeds allow wirepress signatures; with no feed named, both are compared.
    await check(auth, signed("wire-secret"))
    assert len(spy.calls) == 2
    spy.calls.clear()
    await check(auth, {"X-Superdesk-Signature": superdesk_signature("123456789", BODY)})
    assert len(spy.calls) == 1
    spy.calls.clear()
    # A named feed: only its secret is compared.
    await check(auth, {**signed("agency-secret", t=NOW + 5), "X-Wirepress-Feed": "agency"})
    assert len(spy.calls) == 1


# --- settings ----------------------------------------------------------------------------------


def test_feeds_from_json_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    feeds = {
        "superdesk": {"secret": "s1", "auth": ["superdesk-signature"], "default_tz": "Europe/Oslo"},
        "wire": {"secret": "s2", "auth": ["bearer", "wirepress-signature"]},
    }
    monkeypatch.setenv("INGEST_FEEDS", json.dumps(feeds))
    monkeypatch.delenv("INGEST_TOKEN", raising=False)
    settings = IngestSettings(wirepress_env="production")
    names = [f.name for f in settings.feeds()]
    assert names == ["superdesk", "wire"]
    assert settings.ingest_feeds["superdesk"].default_tz == "Europe/Oslo"
    assert "s1" not in repr(settings)  # secrets never printed


def test_ingest_token_is_the_default_bearer_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INGEST_FEEDS", raising=False)
    settings = IngestSettings(wirepress_env="production", ingest_token="tok")
    [feed] = settings.feeds()
    assert (feed.name, feed.auth, feed.secret.get_secret_value()) == ("default", ("bearer",), "tok")


def test_no_secret_outside_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INGEST_FEEDS", raising=False)
    monkeypatch.delenv("INGEST_TOKEN", raising=False)
    production = IngestSettings(wirepress_env="production")
    assert production.feeds() == ()
    with pytest.raises(RuntimeError, match="INGEST_FEEDS"):
        production.require_feeds()
    assert IngestSettings(wirepress_env="dev").feeds()[0].name == "default"


@pytest.mark.parametrize(
    "feeds",
    [
        {"a": {"secret": "same"}, "b": {"secret": "same"}},  # bearer tokens must identify a feed
        {"a": {"secret": "x", "auth": ["basic"]}},
        {"a": {"secret": "x", "auth": []}},
        {"a": {"secret": " "}},
        {"a": {"secret": "x", "default_tz": "Mars/Olympus"}},
        {"a b": {"secret": "x"}},
        {"a": {"name": "b", "secret": "x"}},
        {"default": {"secret": "x"}},  # clashes with INGEST_TOKEN's feed
    ],
)
def test_bad_feed_configurations_fail_at_start(
    monkeypatch: pytest.MonkeyPatch, feeds: dict[str, Any]
) -> None:
    monkeypatch.delenv("INGEST_FEEDS", raising=False)
    with pytest.raises(ValidationError):
        IngestSettings(wirepress_env="production", ingest_token="tok", ingest_feeds=feeds)
