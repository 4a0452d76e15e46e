"""The desk's settings: where it listens, the secret its cookies are signed with, how long a
session lasts, how many failed sign-ins are let through, where enrich answers and where the raw
archive is (the queue links dead letters to their payloads). The secret has no default except
with `WIREPRESS_ENV=dev`."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from shared.settings import ServiceSettings, SiteSettings, StorageSettings

DEV_DESK_SECRET = "dev-desk-secret-not-for-production"


class DeskSettings(ServiceSettings, StorageSettings, SiteSettings):
    desk_host: str = "127.0.0.1"
    desk_port: int = 8085
    # Where enrich answers its queries (a story's pins, bans and removed tags; banned tags).
    enrich_url: str = "http://127.0.0.1:8082"
    # Where render answers its queries (the fronts editors curate).
    render_url: str = "http://127.0.0.1:8083"
    # Events about stories handled at once, per stream followed.
    desk_concurrency: int = Field(default=4, ge=1)
    # A search's result set is kept this long, so its next pages are cheap (0: never kept).
    desk_query_cache_s: int = Field(default=3, ge=0)
    # How often the dead-letter streams are read for stories that failed.
    desk_dead_letter_poll_s: float = Field(default=2.0, gt=0)
    # A bulk republish sends this many requests at a time, each batch only once every stage is
    # under half of INGEST_MAX_LAG behind (fresh news keeps the other half).
    desk_republish_batch: int = Field(default=500, ge=1)
    # Signs session cookies and CSRF tokens; at least 32 characters.
    desk_secret: SecretStr | None = None
    # A session ends this long after sign-in, whatever happens meanwhile.
    desk_session_max_age_s: int = Field(default=8 * 3600, ge=60)
    # Cookies only over HTTPS: on unless set, except in local dev (http://127.0.0.1).
    desk_secure_cookies: bool | None = None
    # This many failed sign-ins for one user name, or from one address, within the window
    # lock further tries out (429) until the window ends.
    desk_max_failures_per_user: int = Field(default=5, ge=1)
    desk_max_failures_per_address: int = Field(default=20, ge=1)
    desk_failure_window_s: int = Field(default=900, ge=1)

    @model_validator(mode="after")
    def _secret_outside_dev(self) -> DeskSettings:
        if self.desk_secure_cookies is None:
            self.desk_secure_cookies = self.wirepress_env != "dev"
        if self.desk_secret is None and self.wirepress_env == "dev":
            self.desk_secret = SecretStr(DEV_DESK_SECRET)
        if self.desk_secret is None:
            raise ValueError("DESK_SECRET is required outside WIREPRESS_ENV=dev")
        if len(self.desk_secret.get_secret_value()) < 32:
            raise ValueError("DESK_SECRET must be at least 32 characters")
        return self

    def secret(self) -> bytes:
        assert self.desk_secret is not None
        return self.desk_secret.get_secret_value().encode("utf-8")
