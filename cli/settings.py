"""What the command line needs to know of a running stack: where Redis and storage are, and
where each service answers (`source var/stack.env` sets all of it for the local stack)."""

from __future__ import annotations

from shared.settings import ServiceSettings, SiteSettings, StorageSettings


class ToolSettings(ServiceSettings, StorageSettings, SiteSettings):
    ingest_url: str = "http://127.0.0.1:8080"
    ingest_token: str | None = None
    # Where enrich and render answer their queries (any replica, e.g. behind a Service).
    enrich_url: str = "http://127.0.0.1:8082"
    render_url: str = "http://127.0.0.1:8083"

    def require_ingest_token(self) -> str:
        if not self.ingest_token:
            raise SystemExit("INGEST_TOKEN must be set (source var/stack.env for the local stack)")
        return self.ingest_token
