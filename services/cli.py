"""`wirepress`: run a service, set up storage, republish, inspect the streams, run a local stack."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
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
    from shared.stack import initialise

    settings = Settings()
    configure_logging("init", settings.log_level)
    initialise(settings)
    print(f"buckets {settings.site_bucket}, {settings.archive_bucket} and consumer groups ready")
    return 0


def _republish(args: argparse.Namespace) -> int:
    from shared.republish import request_republish

    if not args.all and not args.article_ids:
        print("name one or more ARTICLE_IDs, or --all", file=sys.stderr)
        return 2
    settings = Settings()
    configure_logging("republish", settings.log_level)
    try:
        count, missing = asyncio.run(
            request_republish(
                settings,
                None if args.all else args.article_ids,
                pin=args.pin or [],
                ban=args.ban or [],
            )
        )
    except TimeoutError as exc:
        print(f"republishing stopped part-way: {exc}", file=sys.stderr)
        return 1
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


def _ingest_target(args: argparse.Namespace, settings: Settings) -> tuple[str, str]:
    url = args.url or os.environ.get("INGEST_URL") or f"http://127.0.0.1:{settings.ingest_port}"
    return url, args.token or settings.require_ingest_token()


def _dead_letters(args: argparse.Namespace) -> int:
    from shared.broker import create_redis
    from shared.deadletters import list_dead, requeue

    settings = Settings()

    async def run() -> int:
        redis = create_redis(settings)
        try:
            if args.action == "requeue":
                if not args.stream:
                    print("name the stream to requeue on", file=sys.stderr)
                    return 2
                if not args.all and not args.ids:
                    print("name dead-letter ids, or --all", file=sys.stderr)
                    return 2
                moved = await requeue(
                    redis, args.stream, None if args.all else args.ids, settings.stream_maxlen
                )
                print(f"requeued {moved} messages on {args.stream}")
                return 0
            dead = await list_dead(redis, [args.stream] if args.stream else None, args.limit)
            if args.json:
                print(json.dumps([d.__dict__ for d in dead], indent=2))
            for d in [] if args.json else dead:
                print(
                    f"{d.stream} {d.dead_id} (entry {d.entry_id}, {d.deliveries} deliveries): {d.reason}"
                )
            return 0
        finally:
            await redis.aclose()

    return asyncio.run(run())


def _push(args: argparse.Namespace) -> int:
    from shared.push import push_files, story_files, summary, wait_published

    settings = Settings()
    url, token = _ingest_target(args, settings)
    results = push_files(story_files(Path(p) for p in args.paths), url, token)
    counts = summary(results)
    for result in results:
        if result.outcome == "rejected":
            print(f"rejected {result.file}: {result.detail}", file=sys.stderr)
    print(
        f"pushed {len(results)} files: {counts['accepted'] + counts['duplicate']} accepted or "
        f"duplicate, {counts['rejected']} rejected"
    )
    if args.wait:
        waiting = [
            (r.article_id, r.version or "")
            for r in results
            if r.outcome != "rejected" and r.pubstatus == "usable" and r.article_id
        ]
        outcome = asyncio.run(wait_published(settings, waiting, args.timeout))
        if outcome.missing:
            print(
                f"{len(outcome.missing)} stories not published after {args.timeout}s",
                file=sys.stderr,
            )
            return 1
        shown = len(dict(waiting)) - len(outcome.withdrawn)
        withdrawn = (
            f" ({len(outcome.withdrawn)} more were killed or withheld by a later version)"
            if outcome.withdrawn
            else ""
        )
        print(f"all {shown} stories are on the site{withdrawn}")
    return 1 if counts["rejected"] else 0


def _import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from shared.push import PushResult, folder_files, push_files, summary

    folder = Path(args.dir)
    if not folder.is_dir():
        print(f"{folder} is not a folder", file=sys.stderr)
        return 2
    settings = Settings()
    url, token = _ingest_target(args, settings)
    files = folder_files(folder)
    with tqdm(total=len(files), unit="file", desc="import", disable=args.no_progress) as bar:

        def advance(result: PushResult) -> None:
            bar.update(1)
            bar.set_postfix_str(result.outcome, refresh=False)

        results = push_files(files, url, token, on_result=advance)
    counts = summary(results)
    print(
        f"imported {len(results)} files: {counts['accepted']} accepted, "
        f"{counts['duplicate']} duplicate, {counts['rejected']} rejected"
    )
    rejected = [r for r in results if r.outcome == "rejected"]
    if rejected:
        print("rejected:", file=sys.stderr)
        for result in rejected:
            archived = f" [archived as {result.raw_key}]" if result.raw_key else ""
            print(f"  {result.file}: {result.detail}{archived}", file=sys.stderr)
    return 1 if rejected else 0


def _parsed_file(args: argparse.Namespace) -> list[Any] | None:
    """The stories in a file, read by ingest's own parser; None (error printed) when refused."""
    from services.ingest.handlers import Problem, parse_payload
    from shared.push import content_type_for

    path = Path(args.file)
    try:
        payload = path.read_bytes()
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return None
    content_type = args.content_type or content_type_for(path)
    try:
        return parse_payload(payload, content_type, default_tz=args.tz)
    except Problem as problem:
        where = f" (field {problem.field})" if problem.field else ""
        print(
            f"{path}: {problem.title} [{problem.status} {problem.slug}]{where}: {problem.detail}",
            file=sys.stderr,
        )
        return None
    except ValueError as exc:  # a time zone that does not exist
        print(f"{path}: {exc}", file=sys.stderr)
        return None


def _one_or_many(items: list[Any]) -> Any:
    # One story (nearly every file): its JSON; a G2 newsMessage with several: a list of them.
    return items[0] if len(items) == 1 else items


def _parse(args: argparse.Namespace) -> int:
    stories = _parsed_file(args)
    if stories is None:
        return 1
    articles = [story.article.model_dump(mode="json") for story in stories]
    print(json.dumps(_one_or_many(articles), indent=2, ensure_ascii=False))
    return 0


def _tag(args: argparse.Namespace) -> int:
    from services.enrich.tagging import tag_story
    from shared.html import plain_text, sanitize_body

    stories = _parsed_file(args)
    if stories is None:
        return 1
    tagged = []
    for story in stories:
        article = story.article
        body_text = plain_text(sanitize_body(article.body_html))
        tags = tag_story(article.headline, body_text, list(article.subjects), article.keywords)
        entry = [tag.model_dump(mode="json") for tag in tags]
        tagged.append(entry if len(stories) == 1 else {"guid": article.guid, "tags": entry})
    print(json.dumps(_one_or_many(tagged), indent=2, ensure_ascii=False))
    return 0


def _related(args: argparse.Namespace) -> int:
    from services.enrich.relevance import related_for_corpus

    path = Path(args.corpus)

    def records() -> Iterator[dict[str, Any]]:
        with path.open(encoding="utf-8") as corpus:
            for number, line in enumerate(corpus, 1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise SystemExit(f"{path}:{number}: not JSON: {exc}") from exc

    embedder = None
    if args.embeddings:
        from services.enrich.app import load_embedder

        embedder = load_embedder()
    try:
        for entry in related_for_corpus(records(), args.k, embedder=embedder):
            sys.stdout.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours.
        sys.stderr.close()
        return 0
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _replay(args: argparse.Namespace) -> int:
    import uuid

    from botocore.exceptions import ClientError

    from services.ingest.app import running_acceptor
    from services.ingest.handlers import Problem

    settings = Settings()
    configure_logging("replay", settings.log_level, settings.log_json)

    async def replay() -> Any:
        async with running_acceptor(settings) as (acceptor, _):
            return await acceptor.replay(args.raw_key, uuid.uuid4().hex)

    try:
        outcome = asyncio.run(replay())
    except Problem as problem:
        print(
            f"{args.raw_key}: {problem.title} [{problem.status} {problem.slug}]"
            f"{f' (field {problem.field})' if problem.field else ''}: {problem.detail}",
            file=sys.stderr,
        )
        # 75 (EX_TEMPFAIL): the pipeline is busy or down, the same replay can be run again.
        return 75 if problem.status == 503 else 1
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey", "NotFound"):
            print(f"{args.raw_key}: not in the archive", file=sys.stderr)
            return 1
        raise
    print(json.dumps(outcome.model_dump(mode="json"), indent=2))
    return 0


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


def _ingest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None, help="ingest base URL (default $INGEST_URL)")
    parser.add_argument("--token", default=None, help="feed bearer token (default $INGEST_TOKEN)")


def _file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument(
        "--content-type", default=None, help="media type (default: guessed from the extension)"
    )
    parser.add_argument(
        "--tz", default="UTC", help="IANA zone for timestamps without one (default UTC)"
    )


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

    dead = sub.add_parser("dead-letters", help="list dead-lettered messages, or requeue them")
    dead.add_argument("action", choices=["list", "requeue"])
    dead.add_argument("stream", nargs="?", help="e.g. wirepress:rendered (list: all streams)")
    dead.add_argument("ids", nargs="*", metavar="DEAD_ID", help="requeue: these dead letters")
    dead.add_argument("--all", action="store_true", help="requeue: every dead letter of STREAM")
    dead.add_argument("--limit", type=int, default=100, help="list: per stream")
    dead.add_argument("--json", action="store_true")
    dead.set_defaults(func=_dead_letters)

    push = sub.add_parser("push", help="push story files (or folders of them) to ingest")
    push.add_argument("paths", nargs="+")
    _ingest_arguments(push)
    push.add_argument(
        "--wait",
        action="store_true",
        help="wait until every story is published, the pages linking it refreshed and the front page current",
    )
    push.add_argument("--timeout", type=float, default=120.0)
    push.set_defaults(func=_push)

    bulk = sub.add_parser(
        "import",
        help="push every file in a folder through ingest's HTTP endpoint (backfill)",
        description="Push every file in DIR to ingest, in name order, as a feed would: each "
        "is authenticated, archived, parsed and checked for duplicates. Pushes refused with "
        "503 are retried after Retry-After. Exits 1 if any file was rejected.",
    )
    bulk.add_argument("dir", metavar="DIR")
    _ingest_arguments(bulk)
    bulk.add_argument("--no-progress", action="store_true", help="no progress bar")
    bulk.set_defaults(func=_import)

    parse = sub.add_parser(
        "parse",
        help="print a wire file's normalised article(s) as JSON",
        description="Parse a ninjs, NITF or NewsML-G2 file exactly as ingest does and print the "
        "article as JSON (a list when a newsMessage carries several). Exits 1 if refused.",
    )
    _file_arguments(parse)
    parse.set_defaults(func=_parse)

    replay = sub.add_parser(
        "replay",
        help="run an archived raw payload through ingest again",
        description="Parse and emit an archived payload exactly as a push would (duplicates are "
        "answered as such). Exits 1 if it is rejected, 75 if the pipeline is unavailable.",
    )
    replay.add_argument("raw_key", metavar="RAW_KEY")
    replay.set_defaults(func=_replay)

    tag = sub.add_parser("tag", help="print the tags enrich would give a wire file's story")
    _file_arguments(tag)
    tag.set_defaults(func=_tag)

    related = sub.add_parser(
        "related", help="related stories for every record of a JSON-lines corpus, as JSON lines"
    )
    related.add_argument("--corpus", required=True, metavar="FILE.jsonl")
    related.add_argument("--k", type=int, default=5, help="related stories per record")
    related.add_argument(
        "--embeddings",
        action="store_true",
        help="blend sentence embeddings, as the service does with ENRICH_EMBEDDINGS=true",
    )
    related.set_defaults(func=_related)

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
