"""Ingest's settings: the feeds allowed to push and how each proves itself, body limits, the
raw archive. Secrets have no defaults, except with `WIREPRESS_ENV=dev`."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from shared.settings import ServiceSettings, StorageSettings

DEV_INGEST_TOKEN = "dev-ingest-token"
# The feed `INGEST_TOKEN` stands for: configurations from before per-feed secrets keep working.
DEFAULT_FEED = "default"

# How a feed may prove who it is (see services/ingest/auth.py for the exact formats).
AuthMethod = Literal["bearer", "superdesk-signature", "wirepress-signature"]


class FeedConfig(BaseModel):
    """One feed allowed to push to ingest: its name, its secret and how it may authenticate.

    In `INGEST_FEEDS` (JSON) feeds are keyed by name, which then need not be repeated:
    `{"superdesk": {"secret": "...", "auth": ["superdesk-signature"], "default_tz": "Europe/Oslo"}}`
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Names travel in headers, query strings and S3 metadata: keep them plain.
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    secret: SecretStr
    auth: tuple[AuthMethod, ...] = Field(default=("bearer",), min_length=1)
    # The IANA zone this feed's timestamps are in when they carry no zone of their own.
    default_tz: str = "UTC"

    @field_validator("secret")
    @classmethod
    def _secret_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("a feed secret cannot be empty")
        return value

    @field_validator("auth")
    @classmethod
    def _unique_methods(cls, value: tuple[AuthMethod, ...]) -> tuple[AuthMethod, ...]:
        return tuple(dict.fromkeys(value))

    @field_validator("default_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # A wrong zone would shift every zone-less timestamp of the feed: fail at start-up.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def allows(self, method: AuthMethod) -> bool:
        return method in self.auth


class IngestSettings(ServiceSettings, StorageSettings):
    ingest_host: str = "127.0.0.1"
    ingest_port: int = 8080
    # One bearer-token feed named "default"; kept so single-feed set-ups need no JSON.
    ingest_token: str | None = None
    # Every other feed, as JSON keyed by feed name (see FeedConfig).
    ingest_feeds: dict[str, FeedConfig] = Field(default_factory=dict)
    # A signed push older or newer than this (against our clock) is refused: captured requests
    # cannot be replayed later, and identical ones are remembered for this long.
    ingest_signature_skew_s: int = Field(default=300, ge=1, le=3600)
    ingest_max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    # A 202 is answered once Redis has fsynced the story's stream entry to its append-only file
    # (WAITAOF), waiting up to this long; 503 if it has not. With `appendfsync everysec` a
    # crash of the Redis host could otherwise lose the last second of acknowledged stories.
    # 0: answer once the entry is written (a Redis without an append-only file).
    ingest_wait_aof_ms: int = Field(default=1500, ge=0)
    # Feeds get 503s once Redis uses more than this share of its `maxmemory` (with
    # `noeviction` it would refuse the pipeline's own writes at the limit).
    ingest_max_memory_use: float = Field(default=0.85, gt=0, le=1)

    @field_validator("ingest_feeds", mode="before")
    @classmethod
    def _feed_names_from_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        named: dict[str, Any] = {}
        for key, feed in value.items():
            if isinstance(feed, dict):
                if feed.get("name", key) != key:
                    raise ValueError(f"feed {key!r} is named {feed['name']!r}: use one name")
                feed = {**feed, "name": key}
            named[key] = feed
        return named

    @model_validator(mode="after")
    def _secrets_outside_dev(self) -> IngestSettings:
        # Only when nothing is configured: a dev stack with real feeds gets no guessable one.
        if self.wirepress_env == "dev" and self.ingest_token is None and not self.ingest_feeds:
            self.ingest_token = DEV_INGEST_TOKEN
        if self.ingest_token is not None and DEFAULT_FEED in self.ingest_feeds:
            raise ValueError(
                f"INGEST_TOKEN defines the feed {DEFAULT_FEED!r}; INGEST_FEEDS must not as well"
            )
        bearer_secrets = [f.secret.get_secret_value() for f in self.feeds() if f.allows("bearer")]
        # A bearer token is how ingest tells feeds apart: two feeds cannot share one.
        if len(bearer_secrets) != len(set(bearer_secrets)):
            raise ValueError("two feeds that allow bearer auth share a secret")
        return self

    def feeds(self) -> tuple[FeedConfig, ...]:
        """Every configured feed, the INGEST_TOKEN one (named "default") first."""
        configured = tuple(self.ingest_feeds.values())
        if self.ingest_token:
            default = FeedConfig(
                name=DEFAULT_FEED, secret=SecretStr(self.ingest_token), auth=("bearer",)
            )
            return (default, *configured)
        return configured

    def require_feeds(self) -> tuple[FeedConfig, ...]:
        feeds = self.feeds()
        if not feeds:
            raise RuntimeError(
                "no ingest feed is configured: set INGEST_FEEDS (JSON) or INGEST_TOKEN "
                "(secrets have defaults only with WIREPRESS_ENV=dev)"
            )
        return feeds
