"""Settings, read from the environment (or a `.env`-style file) when a service is created, never at import.

Secrets have no defaults, except when `WIREPRESS_ENV=dev`, where the local development values apply.
"""

from __future__ import annotations

import os
import socket
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_INGEST_TOKEN = "dev-ingest-token"


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
    ingest_token: str | None = None
    ingest_max_body_bytes: int = 5 * 1024 * 1024

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
    # Ingest answers 503 once the enrich group lags by more than this many entries, so trimming
    # at `stream_maxlen` never drops an unread story.
    ingest_max_lag: int = 50_000
    shutdown_grace_s: float = 10.0

    related_posts: int = 5
    read_also: int = 2

    log_level: str = "INFO"
    log_json: bool = False

    @model_validator(mode="after")
    def _secrets_outside_dev(self) -> Settings:
        if self.wirepress_env == "dev":
            if self.ingest_token is None:
                self.ingest_token = DEV_INGEST_TOKEN
        return self

    def require_ingest_token(self) -> str:
        if not self.ingest_token:
            raise RuntimeError(
                "INGEST_TOKEN must be set (it has a default only with WIREPRESS_ENV=dev)"
            )
        return self.ingest_token

    def page_url(self, page_path: str) -> str:
        return f"{self.site_url.rstrip('/')}/{page_path}"
