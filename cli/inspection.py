"""Reading what the services would make of something, without a running stack: a wire file as
ingest reads it (`parse`), the tags enrich gives it (`tag`), and related links for a corpus
ranked as enrich ranks them (`related`). Each uses the service's public entry points, so it
gives exactly what the service gives."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cli.feed import content_type_for


def _parsed_file(args: argparse.Namespace) -> list[Any] | None:
    """The stories in a file, read by ingest's own parser; None (error printed) when refused."""
    from services.ingest import Problem, parse_payload

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


def parse_command(args: argparse.Namespace) -> int:
    stories = _parsed_file(args)
    if stories is None:
        return 1
    articles = [story.article.model_dump(mode="json") for story in stories]
    print(json.dumps(_one_or_many(articles), indent=2, ensure_ascii=False))
    return 0


def tag_command(args: argparse.Namespace) -> int:
    from services.enrich import tags_for

    stories = _parsed_file(args)
    if stories is None:
        return 1
    tagged = []
    for story in stories:
        entry = [tag.model_dump(mode="json") for tag in tags_for(story.article)]
        tagged.append(entry if len(stories) == 1 else {"guid": story.article.guid, "tags": entry})
    print(json.dumps(_one_or_many(tagged), indent=2, ensure_ascii=False))
    return 0


def related_command(args: argparse.Namespace) -> int:
    from services.enrich import load_embedder, related_for_corpus

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

    embedder = load_embedder() if args.embeddings else None
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


def _file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument(
        "--content-type", default=None, help="media type (default: guessed from the extension)"
    )
    parser.add_argument(
        "--tz", default="UTC", help="IANA zone for timestamps without one (default UTC)"
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parse = sub.add_parser(
        "parse",
        help="print a wire file's normalised article(s) as JSON",
        description="Parse a ninjs, NITF or NewsML-G2 file exactly as ingest does and print the "
        "article as JSON (a list when a newsMessage carries several). Exits 1 if refused.",
    )
    _file_arguments(parse)
    parse.set_defaults(func=parse_command)

    tag = sub.add_parser("tag", help="print the tags enrich gives a wire file's story")
    _file_arguments(tag)
    tag.set_defaults(func=tag_command)

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
    related.set_defaults(func=related_command)
