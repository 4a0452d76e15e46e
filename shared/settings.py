"""Settings, read from the environment (or a `.env`-style file) when a service is created,
never at import.

Secrets have no defaults, except when `WIREPRESS_ENV=dev`, where the local development values apply.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    def _unique_methods(cls, value: tuple[str, ...]) -> tuple[str, ...]:
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


def default_consumer_name() -> str:
    """One name per replica: the container's host name plus the process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    wirepress_env: Literal["dev", "production"] = "production"

    redis_url: str = "redis://127.0.0.1:6379/0"

    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    site_bucket: str = "wirepress-site"
    # Raw payloads and other private data live in their own bucket, which the site never serves.
    archive_bucket: str = "wirepress-archive"
    # Where readers find the site: page links are built on it.
    site_url: str = "http://127.0.0.1:8333/wirepress-site"
    page_cache_control: str = "public, max-age=60, stale-while-revalidate=600"
    site_cache_control: str = "public, max-age=30"

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

    # Consumer services answer /healthz here (ingest answers it on its own port).
    health_host: str = "127.0.0.1"
    health_port: int = 8081

    consumer_name: str = Field(default_factory=default_consumer_name)
    # Up to this many entries are read in one go: a replica never grabs the whole backlog.
    max_records: int = 50
    poll_block_ms: int = 200
    # A message pending this long (its consumer failed or died) is claimed by another replica.
    claim_idle_ms: int = 15_000
    claim_poll_ms: int = 1_000
    # After this many deliveries a message goes to the dead-letter stream.
    max_deliveries: int = 5
    stream_maxlen: int = 100_000
    # Ingest answers 503, and republishing and link refreshes wait, once any stage (enrich,
    # render, publish) is more than this many entries behind on its stream, so trimming at
    # `stream_maxlen` never drops an unread story (shared/backlog.py).
    ingest_max_lag: int = 50_000
    shutdown_grace_s: float = 10.0

    related_posts: int = 5
    # Blend a sentence-embedding model (all-MiniLM-L6-v2) into related-link ranking. Off by
    # default: on top of the archive's semantic model it adds +0.002 precision@5 on Reuters
    # (within noise) for ~25-70 ms CPU per story and a 1.3 GB install.
    enrich_embeddings: bool = False
    # How often an enrich replica checks whether the archive's semantic model is due for a refit
    # (one replica fits at a time; see services/enrich/semantic.py for when one is due).
    semantic_refit_check_s: float = 60.0
    # A story's links are refreshed this long after a strongly related story arrives, so a burst
    # of related stories costs one republish, not one each.
    related_refresh_delay_s: float = 30.0
    read_also: int = 2

    log_level: str = "INFO"
    log_json: bool = False

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
    def _secrets_outside_dev(self) -> Settings:
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

    def require_ingest_token(self) -> str:
        if not self.ingest_token:
            raise RuntimeError(
                "INGEST_TOKEN must be set (it has a default only with WIREPRESS_ENV=dev)"
            )
        return self.ingest_token

    def page_url(self, page_path: str) -> str:
        return f"{self.site_url.rstrip('/')}/{page_path}"
