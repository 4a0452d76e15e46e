"""Running one service process: logging set up, then its ASGI app under uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from starlette.applications import Starlette

from shared.logging import configure_logging
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def serve(
    name: str,
    create_app: Callable[[S], Starlette],
    settings: S,
    *,
    host: str | None = None,
    port: int | None = None,
) -> None:
    """Serve `create_app(settings)` until SIGTERM; in-flight work gets the grace period to end.

    Consumer services listen on HEALTH_HOST:HEALTH_PORT (health and queries) unless told."""
    configure_logging(name, settings.log_level, settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=host or settings.health_host,
        port=port or settings.health_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
        # Named, not "auto": a missing install fails at start instead of quietly costing ~15%.
        loop="uvloop",
        http="httptools",
    )
