"""Logging set-up shared by the services: one line per record, the article id and the
correlation id on every line.

Code logs with `logging.getLogger(__name__)` and `%s` arguments. The delivery layer (per message)
and ingest (per request) set the story's ids for everything logged while it is handled
(`log_context`); `extra={"article_id": ...}` names another one. Records with neither show `-`.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime

_article_id: ContextVar[str] = ContextVar("article_id", default="-")
_correlation_id: ContextVar[str] = ContextVar("correlation_id", default="-")


class log_context:
    """Every record logged inside (in this task) carries these ids.

    A class, not @contextmanager: contextlib sets `__traceback__` on an exception passing
    through, which a frozen-dataclass exception (ingest's Problem) refuses."""

    def __init__(self, article_id: str | None = None, correlation_id: str | None = None) -> None:
        self._values = ((_article_id, article_id), (_correlation_id, correlation_id))
        self._tokens: list[tuple[ContextVar[str], Token[str]]] = []

    def __enter__(self) -> None:
        self._tokens = [(var, var.set(value)) for var, value in self._values if value]

    def __exit__(self, *exc: object) -> None:
        for var, token in reversed(self._tokens):
            var.reset(token)


class _ArticleContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "article_id"):
            record.article_id = _article_id.get()
        if not hasattr(record, "correlation_id"):
            record.correlation_id = _correlation_id.get()
        if not hasattr(record, "service"):
            record.service = _service_name
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": getattr(record, "service", "-"),
            "logger": record.name,
            "article_id": getattr(record, "article_id", "-"),
            "correlation_id": getattr(record, "correlation_id", "-"),
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_service_name = "-"


def configure_logging(service: str, level: str = "INFO", as_json: bool = False) -> None:
    global _service_name
    _service_name = service
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ArticleContext())
    if as_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(service)s %(name)s "
                "[article=%(article_id)s corr=%(correlation_id)s] %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream logs every message it handles; at our volumes that costs 15-35% CPU.
    logging.getLogger("faststream.access").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
