"""A feed client: push story files to ingest, and wait until they are on the site."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from shared import keys
from shared.broker import create_redis
from shared.settings import Settings

CONTENT_TYPES = {".json": "application/json", ".xml": "application/xml", ".nitf": "application/xml"}


def story_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in CONTENT_TYPES))
        else:
            found.append(path)
    return found


def push_paths(paths: Iterable[Path], url: str, token: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for path in story_files(paths):
            content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
            response = client.post(
                "/v1/stories",
                content=path.read_bytes(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
            )
            body = response.json() if response.content else {}
            results.append(
                {
                    "file": str(path),
                    "http_status": response.status_code,
                    "detail": body.get("detail", ""),
                    **{k: body.get(k) for k in ("article_id", "version", "status", "pubstatus")},
                }
            )
    return results


async def wait_published(
    settings: Settings, pushed: list[dict[str, Any]], timeout: float
) -> list[str]:
    """Wait until every pushed story is listed on the site; return the ids still missing."""
    redis = create_redis(settings)
    deadline = time.monotonic() + timeout
    waiting = {r["article_id"] for r in pushed if r.get("article_id")}
    try:
        while waiting and time.monotonic() < deadline:
            ids = sorted(waiting)
            present = await redis.hmget(keys.SITE_ENTRIES, ids)
            waiting = {i for i, p in zip(ids, present, strict=True) if p is None}
            if waiting:
                await asyncio.sleep(0.25)
        return sorted(waiting)
    finally:
        await redis.aclose()
