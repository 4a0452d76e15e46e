"""What the command line needs to know of a running stack: where Redis and storage are, and
where each service answers (`source var/stack.env` sets all of it for the local stack)."""

from __future__ import annotations

from pydantic import model_validator

from services.ingest import DEV_INGEST_TOKEN
from shared.settings import ServiceSettings, SiteSettings, StorageSettings


class ToolSettings(ServiceSettings, StorageSettings, SiteSettings):
    ingest_url: str = "http://127.0.0.1:8080"
    ingest_token: str | None = None
    # Where enrich and render answer their queries (any replica, e.g. behind a Service).
    enrich_url: str = "http://127.0.0.1:8082"
    render_url: str = "http://127.0.0.1:8083"

    @model_validator(mode="after")
    def _dev_token(self) -> ToolSettings:
        # The token ingest itself accepts with WIREPRESS_ENV=dev and nothing configured.
        if self.wirepress_env == "dev" and self.ingest_token is None:
            self.ingest_token = DEV_INGEST_TOKEN
        return self

    def require_ingest_token(self) -> str:
        if not self.ingest_token:
            raise SystemExit("INGEST_TOKEN must be set (source var/stack.env for the local stack)")
        return self.ingest_token
