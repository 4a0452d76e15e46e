"""Settings every service shares, read from the environment when a service is created, never at
import. Each service adds its own in `services/<name>/settings.py` and validates only those:
render never parses ingest's feed secrets.

Secrets have no defaults, except when `WIREPRESS_ENV=dev`, where the local development values apply.
"""

from __future__ import annotations

import os
import socket
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.cpu import CpuPool

#: Connections one process may open to Redis (`shared.broker.create_redis`).
DEFAULT_REDIS_CONNECTIONS = 256


def default_consumer_name() -> str:
    """One name per replica: the container's host name plus the process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


class ServiceSettings(BaseSettings):
    """What every service process needs: Redis, delivery, its HTTP port, logging."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    wirepress_env: Literal["dev", "production"] = "production"

    redis_url: str = "redis://127.0.0.1:6379/0"
    # Connections this process may hold open to Redis; past it, commands wait their turn.
    redis_max_connections: int = Field(default=DEFAULT_REDIS_CONNECTIONS, ge=4)

    # Consumer services answer /healthz and their queries here (ingest answers on its own port).
    health_host: str = "127.0.0.1"
    health_port: int = 8081

    consumer_name: str = Field(default_factory=default_consumer_name)
    # Up to this many entries are read in one go: a replica never grabs the whole backlog.
    max_records: int = Field(default=50, ge=1)
    poll_block_ms: int = Field(default=200, ge=1)
    # A message pending this long (its consumer failed or died) is claimed by another replica.
    claim_idle_ms: int = Field(default=15_000, ge=1)
    claim_poll_ms: int = Field(default=1_000, ge=1)
    # After this many deliveries a message goes to the dead-letter stream.
    max_deliveries: int = Field(default=5, ge=1)
    stream_maxlen: int = Field(default=100_000, ge=1)
    # Entries every group has acknowledged are dropped from the streams a service consumes once
    # they are this old (shared.backlog.trim_acknowledged), checked every `stream_trim_every_s`.
    stream_retain_s: float = Field(default=300.0, ge=0)
    # An observer group (the desk) stopped this long no longer keeps entries from being trimmed.
    stream_observer_retain_s: float = Field(default=600.0, ge=0)
    stream_trim_every_s: float = Field(default=10.0, gt=0)
    # Ingest answers 503, and republishing and link refreshes wait, once any stage is more than
    # this many entries behind on its stream, so trimming at `stream_maxlen` never drops an
    # unread story (shared/backlog.py).
    ingest_max_lag: int = Field(default=50_000, ge=1)
    shutdown_grace_s: float = 10.0
    # CPU-heavy work on a large input (parsing, sanitising) runs in this many worker processes
    # (0: in place), and a call past its budget is stopped (shared/cpu.py): a story that still
    # overruns fails its delivery, and is dead-lettered after `max_deliveries`.
    cpu_workers: int = Field(default=1, ge=0)
    cpu_budget_s: float = Field(default=10.0, gt=0)
    # Inputs smaller than this are handled in place: a worker round trip would cost more.
    cpu_inline_below_bytes: int = Field(default=256 * 1024, ge=0)

    log_level: str = "INFO"
    log_json: bool = False

    def cpu_pool(self) -> CpuPool:
        """The process's pool for CPU-heavy calls, as these settings size it."""
        return CpuPool(
            workers=self.cpu_workers,
            budget_s=self.cpu_budget_s,
            inline_below=self.cpu_inline_below_bytes,
        )


class StorageSettings(BaseSettings):
    """Where the S3-compatible storage is, and its buckets."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    site_bucket: str = "wirepress-site"
    # Raw payloads and other private data live in their own bucket, which the site never serves.
    archive_bucket: str = "wirepress-archive"


class SiteSettings(BaseSettings):
    """Where readers find the site: page links are built on it (`shared.site.page_url`)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    site_url: str = "http://127.0.0.1:8333/wirepress-site"
