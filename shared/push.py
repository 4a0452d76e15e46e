"""A feed client: push story files to ingest over HTTP, and wait until they are on the site.

`wirepress push` (used by `make run`) and `wirepress import` (bulk backfill) both push through
`push_files`, so every file goes through ingest's HTTP endpoint: authentication, the raw archive,
parsing and the duplicate check, exactly as a feed's push would.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from shared import keys
from shared.backlog import stream_backlogs
from shared.broker import create_redis
from shared.models import version_ordering
from shared.settings import Settings

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


async def wait_published(
    settings: Settings, stories: Iterable[tuple[str, str]], within_s: float
) -> WaitOutcome:
    """Wait until every story pushed as usable, given as (article id, version pushed), is
    listed on the site and the front page published shows that list. A story the archive holds
    at the same or a later version that is off the site (a kill pushed before, say) is not
    waited for. Missing: those not listed in time (all of them if the front page lags)."""
    redis = create_redis(settings)
    deadline = time.monotonic() + within_s
    pushed = dict(stories)
    waiting = set(pushed)
    withdrawn: set[str] = set()
    try:
        while waiting and time.monotonic() < deadline:
            ids = sorted(waiting)
            present = await redis.hmget(keys.SITE_ENTRIES, ids)
            waiting = {i for i, p in zip(ids, present, strict=True) if p is None}
            withdrawn |= await _withdrawn(redis, {i: pushed[i] for i in waiting})
            waiting -= withdrawn
            if waiting:
                await asyncio.sleep(0.25)
        # Then until the pages that link them are refreshed too, and the front page shows it all.
        while not waiting and not (
            await _pipeline_idle(redis) and await _front_page_current(redis)
        ):
            if time.monotonic() > deadline:
                return WaitOutcome(sorted(set(pushed) - withdrawn), sorted(withdrawn))
            await asyncio.sleep(0.25)
        return WaitOutcome(sorted(waiting), sorted(withdrawn))
    finally:
        await redis.aclose()


async def _withdrawn(redis: Any, versions: dict[str, str]) -> set[str]:
    """Those stories whose version on record, the pushed one or later, is off the site."""
    if not versions:
        return set()
    async with redis.pipeline(transaction=False) as pipe:
        for article_id in versions:
            pipe.hmget(keys.article_key(article_id), ["ordering", "status"])
        rows = await pipe.execute()
    out = set()
    for (article_id, version), (ordering, status) in zip(versions.items(), rows, strict=True):
        if ordering is None or status in (None, b"usable"):
            continue
        recorded = ordering.decode().split("|")[0]
        if recorded >= version_ordering(version, None).split("|")[0]:
            out.add(article_id)
    return out


async def _pipeline_idle(redis: Any) -> bool:
    """No link refresh waiting, and every group has read and acknowledged everything."""
    if await redis.zcard(keys.REFRESH_DUE):
        return False
    return all(backlog.entries == 0 for backlog in await stream_backlogs(redis))


async def _front_page_current(redis: Any) -> bool:
    """The front page in the bucket was rendered from the latest list of stories on the site."""
    generation = int(await redis.get(keys.SITE_GENERATION) or 0)
    page = await redis.hget(keys.PUBLISHED_PAGES, keys.FRONT_PAGE)
    return bool(page) and int(json.loads(page)["ordering"]) >= generation
