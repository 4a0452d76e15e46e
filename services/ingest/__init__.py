"""Ingest: consumes HTTP pushes from wire feeds; emits wirepress:ingested.

Authenticates each feed, archives the raw payload, reads ninjs 1.x/2.x/3.x, Superdesk ninjs, NITF
and NewsML-G2 into one article model, refuses bad input with RFC 9457 problem+json, and emits one
`ArticleIngested` per guid and version. Run it with `python -m services.ingest`
(`services.ingest.app:create_app`). The names below are its public entry points: `wirepress parse`
reads a file exactly as a push would be read, `wirepress replay` runs an archived payload again.
"""

from typing import TYPE_CHECKING, Any

from services.ingest.handlers import parse_payload
from services.ingest.ports import Problem
from services.ingest.settings import DEV_INGEST_TOKEN, IngestSettings

if TYPE_CHECKING:
    from services.ingest.app import replay_payload

__all__ = ["DEV_INGEST_TOKEN", "IngestSettings", "Problem", "parse_payload", "replay_payload"]


def __getattr__(name: str) -> Any:
    # The wiring (Redis, S3, HTTP) loads only for what needs it: reading a file does not.
    if name == "replay_payload":
        from services.ingest.app import replay_payload

        return replay_payload
    raise AttributeError(name)
