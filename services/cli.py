"""`wirepress`: run a service, set up storage, republish, inspect the streams, run a local stack."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.logging import configure_logging
from shared.settings import Settings

logger = logging.getLogger(__name__)

SERVICE_APPS = {
    "ingest": "services.ingest.app",
    "enrich": "services.enrich.app",
    "render": "services.render.app",
    "publish": "services.publish.app",
}


def _serve(args: argparse.Namespace) -> int:
    import importlib

    import uvicorn

    settings = Settings()
    configure_logging(args.service, settings.log_level, settings.log_json)
    module = importlib.import_module(SERVICE_APPS[args.service])
    app = module.create_app(settings)
    if args.service == "ingest":
        host, port = settings.ingest_host, args.port or settings.ingest_port
    else:
        host, port = settings.health_host, args.port or settings.health_port
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )
    return 0


def _init(args: argparse.Namespace) -> int:
    from shared.broker import create_redis, ensure_groups
    from shared.storage import Storage

    settings = Settings()
    configure_logging("init", settings.log_level)
    storage = Storage(settings)
    storage.ensure_buckets()
    storage.close()

    async def groups() -> None:
        redis = create_redis(settings)
        try:
            await ensure_groups(redis)
        finally:
            await redis.aclose()

    asyncio.run(groups())
    print(f"buckets {settings.site_bucket}, {settings.archive_bucket} and consumer groups ready")
    return 0


def _republish(args: argparse.Namespace) -> int:
    from shared.republish import request_republish

    if not args.all and not args.article_ids:
        print("name one or more ARTICLE_IDs, or --all", file=sys.stderr)
        return 2
    settings = Settings()
    configure_logging("republish", settings.log_level)
    count, missing = asyncio.run(
        request_republish(
            settings,
            None if args.all else args.article_ids,
            pin=args.pin or [],
            ban=args.ban or [],
        )
    )
    for article_id in missing:
        print(f"not in the archive: {article_id}", file=sys.stderr)
    print(f"republish requested for {count} stories")
    return 1 if missing else 0


def _status(args: argparse.Namespace) -> int:
    from shared.status import collect_status, format_status

    settings = Settings()
    report = asyncio.run(collect_status(settings))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_status(report))
    return 0


def _push(args: argparse.Namespace) -> int:
    from shared.push import push_paths, wait_published

    settings = Settings()
    url = args.url or os.environ.get("INGEST_URL") or f"http://127.0.0.1:{settings.ingest_port}"
    token = args.token or settings.require_ingest_token()
    results = push_paths([Path(p) for p in args.paths], url, token)
    bad = [r for r in results if r["http_status"] >= 400]
    for result in bad:
        print(f"rejected {result['file']}: {result['detail']}", file=sys.stderr)
    print(
        f"pushed {len(results)} files: {len(results) - len(bad)} accepted or duplicate, "
        f"{len(bad)} rejected"
    )
    if args.wait:
        waiting = [r for r in results if r["http_status"] < 400 and r.get("pubstatus") == "usable"]
        missing = asyncio.run(wait_published(settings, waiting, args.timeout))
        if missing:
            print(f"{len(missing)} stories not published after {args.timeout}s", file=sys.stderr)
            return 1
        print(f"all {len(waiting)} stories are on the site")
    return 1 if bad else 0


def _stack(args: argparse.Namespace) -> int:
    from shared import stack

    root = Path(args.root).resolve()
    if args.action == "up":
        return stack.up(root)
    if args.action == "down":
        return stack.down(root)
    return stack.status(root)


def _url_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wirepress", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=sorted(SERVICE_APPS))
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_serve)

    init = sub.add_parser("init", help="create the buckets and every consumer group (idempotent)")
    init.set_defaults(func=_init)

    republish = sub.add_parser("republish", help="re-render and re-publish stored stories")
    republish.add_argument("article_ids", nargs="*", metavar="ARTICLE_ID")
    republish.add_argument("--all", action="store_true", help="every story in the archive")
    republish.add_argument(
        "--pin",
        action="append",
        metavar="ARTICLE_ID",
        help="put this story first among the related links",
    )
    republish.add_argument(
        "--ban", action="append", metavar="ARTICLE_ID", help="never link this story"
    )
    republish.set_defaults(func=_republish)

    status = sub.add_parser("status", help="streams, consumer lag, pending and dead letters")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)

    push = sub.add_parser("push", help="push story files (or folders of them) to ingest")
    push.add_argument("paths", nargs="+")
    push.add_argument("--url", default=None, help="ingest base URL (default $INGEST_URL)")
    push.add_argument("--token", default=None, help="feed token (default $INGEST_TOKEN)")
    push.add_argument("--wait", action="store_true", help="wait until every story is published")
    push.add_argument("--timeout", type=float, default=120.0)
    push.set_defaults(func=_push)

    stack_cmd = sub.add_parser(
        "stack", help="local stack without Docker: valkey, SeaweedFS, services"
    )
    stack_cmd.add_argument("action", choices=["up", "down", "status"])
    stack_cmd.add_argument("--root", default=".", help="project root (var/ lives here)")
    stack_cmd.set_defaults(func=_stack)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: Any = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
