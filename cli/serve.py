"""Running the services: `wirepress serve SERVICE` (what `python -m services.SERVICE` does) and
`wirepress init` (the buckets and every consumer group, before anything starts)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
from typing import Any

from cli.settings import ToolSettings
from shared.broker import create_redis, ensure_groups
from shared.logging import configure_logging
from shared.runner import serve
from shared.storage import Storage

#: Each service: its app module and its settings class.
SERVICES: dict[str, tuple[str, str]] = {
    "ingest": ("services.ingest.app", "services.ingest.settings:IngestSettings"),
    "enrich": ("services.enrich.app", "services.enrich.settings:EnrichSettings"),
    "render": ("services.render.app", "services.render.settings:RenderSettings"),
    "publish": ("services.publish.app", "services.publish.settings:PublishSettings"),
}


def _settings_class(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def serve_command(args: argparse.Namespace) -> int:
    app_module, settings_path = SERVICES[args.service]
    settings = _settings_class(settings_path)()
    create_app = importlib.import_module(app_module).create_app
    if args.service == "ingest":
        host, port = settings.ingest_host, args.port or settings.ingest_port
    else:
        host, port = settings.health_host, args.port or settings.health_port
    serve(args.service, create_app, settings, host=host, port=port)
    return 0


def initialise(settings: ToolSettings) -> None:
    """Both buckets and every consumer group (idempotent)."""
    storage = Storage(settings)
    try:
        storage.ensure_buckets()
    finally:
        storage.close()

    async def groups() -> None:
        redis = create_redis(settings.redis_url)
        try:
            await ensure_groups(redis)
        finally:
            await redis.aclose()

    asyncio.run(groups())


def init_command(args: argparse.Namespace) -> int:
    settings = ToolSettings()
    configure_logging("init", settings.log_level)
    initialise(settings)
    print(f"buckets {settings.site_bucket}, {settings.archive_bucket} and consumer groups ready")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve_cmd = sub.add_parser("serve", help="run one service in the foreground")
    serve_cmd.add_argument("service", choices=sorted(SERVICES))
    serve_cmd.add_argument("--port", type=int, default=None)
    serve_cmd.set_defaults(func=serve_command)

    init = sub.add_parser("init", help="create the buckets and every consumer group (idempotent)")
    init.set_defaults(func=init_command)
