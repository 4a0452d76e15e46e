"""For the wire feed: push story files to ingest over HTTP, and wait until they are on the site.

`wirepress push` (used by `make run`) and `wirepress import` (bulk backfill) both push through
`push_files`, so every file goes through ingest's HTTP endpoint: authentication, the raw archive,
parsing and the duplicate check, exactly as a feed's push would. `--wait` asks render whether each
story is listed (its page is up), and then waits until nothing is left anywhere in the pipeline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from redis.asyncio import Redis

from cli.settings import ToolSettings
from shared.backlog import stream_backlogs
from shared.broker import create_redis
from shared.clients import EnrichClient, RenderClient, ServiceUnreachable
from shared.models import version_ordering

CONTENT_TYPES = {
    ".json": "application/json",
    ".ninjs": "application/json",
    ".xml": "application/xml",
    ".nitf": "application/xml",
    ".newsml": "application/xml",
    ".g2": "application/xml",
}
# Sent when the extension says nothing: ingest then tells the format from the payload itself.
UNKNOWN_CONTENT_TYPE = "application/octet-stream"
# How often a push refused with 503 (pipeline busy or down) is tried again, and the longest wait.
MAX_ATTEMPTS = 6
MAX_RETRY_WAIT_S = 30.0

Outcome = Literal["accepted", "duplicate", "rejected"]


def content_type_for(path: Path) -> str | None:
    """The media type a file's extension suggests, or None when it suggests nothing."""
    return CONTENT_TYPES.get(path.suffix.lower())


def story_files(paths: Iterable[Path]) -> list[Path]:
    """Files named on the command line, and the story files (by extension) in named folders."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in CONTENT_TYPES))
        else:
            found.append(path)
    return found


def folder_files(folder: Path) -> list[Path]:
    """Every regular file in a folder (not hidden ones), in name order, whatever its extension."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


@dataclass(frozen=True)
class PushResult:
    file: str
    http_status: int  # 0 when ingest could not be reached at all
    outcome: Outcome
    detail: str = ""
    article_id: str | None = None
    version: str | None = None
    pubstatus: str | None = None
    raw_key: str | None = None


def _result(path: Path, response: httpx.Response) -> PushResult:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    if status >= 400:
        detail = f"{status} {body.get('title', response.reason_phrase)}: {body.get('detail', '')}"
        if body.get("field"):
            detail += f" (field {body['field']})"
        return PushResult(str(path), status, "rejected", detail, raw_key=body.get("raw_key"))
    return PushResult(
        str(path),
        status,
        "accepted" if status == 202 else "duplicate",
        article_id=body.get("article_id"),
        version=body.get("version"),
        pubstatus=body.get("pubstatus"),
        raw_key=body.get("raw_key"),
    )


def _retry_wait(response: httpx.Response | None, attempt: int) -> float:
    header = response.headers.get("retry-after", "") if response is not None else ""
    wait = float(header) if header.isdigit() else 2.0**attempt
    return min(wait, MAX_RETRY_WAIT_S)


def push_file(
    client: httpx.Client, path: Path, token: str, sleep: Callable[[float], None] = time.sleep
) -> PushResult:
    """Push one file; a 503 or an unreachable ingest is retried, honouring Retry-After."""
    content = path.read_bytes()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": content_type_for(path) or UNKNOWN_CONTENT_TYPE,
    }
    for attempt in range(MAX_ATTEMPTS):
        try:
            response = client.post("/v1/stories", content=content, headers=headers)
        except httpx.TransportError as exc:
            if attempt == MAX_ATTEMPTS - 1:
                return PushResult(str(path), 0, "rejected", f"ingest unreachable: {exc}")
            sleep(_retry_wait(None, attempt))
            continue
        if response.status_code != 503 or attempt == MAX_ATTEMPTS - 1:
            return _result(path, response)
        sleep(_retry_wait(response, attempt))
    raise AssertionError("unreachable")


def push_files(
    files: Iterable[Path],
    url: str,
    token: str,
    on_result: Callable[[PushResult], None] | None = None,
) -> list[PushResult]:
    """Push files one after another (so versions of a story arrive in file order)."""
    results: list[PushResult] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for path in files:
            result = push_file(client, path, token)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def summary(results: list[PushResult]) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for result in results:
        counts[result.outcome] += 1
    return counts


@dataclass(frozen=True)
class WaitOutcome:
    missing: list[str]  # not on the site in time
    withdrawn: list[str]  # not to be on the site: a later (or this) version killed or withheld it


def _version_part(ordering: str) -> str:
    # A push names only its version, not the time it was made: compare the version numbers.
    return ordering.split("|")[0]


async def wait_published(
    settings: ToolSettings, stories: Iterable[tuple[str, str]], within_s: float
) -> WaitOutcome:
    """Wait until every story pushed as usable, given as (article id, version pushed), is
    listed on the site at that version or a later one, and then until the pipeline has nothing
    left to do (every stream read, no link refresh or listing page waiting), so the pages that
    link them and the front page are current too. A story taken down at that version or a later
    one (a kill pushed before, say) is not waited for. Missing: those not listed in time (all of
    them if the pipeline does not settle)."""
    deadline = time.monotonic() + within_s
    pushed = {article_id: _version_part(version_ordering(v, None)) for article_id, v in stories}
    waiting = set(pushed)
    withdrawn: set[str] = set()
    render = RenderClient(settings.render_url)
    enrich = EnrichClient(settings.enrich_url)
    redis = create_redis(settings.redis_url)
    try:
        while waiting and time.monotonic() < deadline:
            with contextlib.suppress(ServiceUnreachable):  # render restarting: ask again
                for state in await render.states(sorted(waiting)):
                    version = pushed[state.article_id]
                    listed, gone = state.listed_ordering, state.withdrawn_ordering
                    if listed is not None and _version_part(listed) >= version:
                        waiting.discard(state.article_id)
                    elif gone is not None and _version_part(gone) >= version:
                        waiting.discard(state.article_id)
                        withdrawn.add(state.article_id)
            if waiting:
                await asyncio.sleep(0.25)
        settled = 0
        # Idle twice in a row: work moving from a stream to a queue between two reads is seen.
        while not waiting and settled < 2:
            if time.monotonic() > deadline:
                return WaitOutcome(sorted(set(pushed) - withdrawn), sorted(withdrawn))
            try:
                idle = await _pipeline_idle(redis, enrich, render)
            except ServiceUnreachable:
                idle = False
            settled = settled + 1 if idle else 0
            await asyncio.sleep(0.25)
        return WaitOutcome(sorted(waiting), sorted(withdrawn))
    finally:
        await asyncio.gather(render.aclose(), enrich.aclose(), redis.aclose())


async def _pipeline_idle(redis: Redis, enrich: EnrichClient, render: RenderClient) -> bool:
    """No link refresh or listing page waiting, and then every group has read and acknowledged
    everything (queues first: work leaves a queue only after it is on a stream)."""
    if (await enrich.index()).refreshes_waiting or (await render.listing()).pages_due:
        return False
    return all(backlog.entries == 0 for backlog in await stream_backlogs(redis))


# --- commands --------------------------------------------------------------------------------


def _ingest_target(args: argparse.Namespace, settings: ToolSettings) -> tuple[str, str]:
    return args.url or settings.ingest_url, args.token or settings.require_ingest_token()


def push_command(args: argparse.Namespace) -> int:
    settings = ToolSettings()
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


def import_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    folder = Path(args.dir)
    if not folder.is_dir():
        print(f"{folder} is not a folder", file=sys.stderr)
        return 2
    settings = ToolSettings()
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


def _ingest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None, help="ingest base URL (default $INGEST_URL)")
    parser.add_argument("--token", default=None, help="feed bearer token (default $INGEST_TOKEN)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    push = sub.add_parser("push", help="push story files (or folders of them) to ingest")
    push.add_argument("paths", nargs="+")
    _ingest_arguments(push)
    push.add_argument(
        "--wait",
        action="store_true",
        help="wait until every story is published, the pages linking it refreshed and the "
        "front page current",
    )
    push.add_argument("--timeout", type=float, default=120.0)
    push.set_defaults(func=push_command)

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
    bulk.set_defaults(func=import_command)
