"""Republish requests: re-render and re-publish stored stories without re-ingesting them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from shared import keys
from shared.backlog import BULK_SHARE, Backlog, wait_for_capacity
from shared.broker import create_broker, create_redis
from shared.events import ArticleRepublishRequested
from shared.models import Article, article_id_for
from shared.settings import Settings
from shared.streams import REPUBLISH

logger = logging.getLogger(__name__)


def _log_wait(backlog: Backlog) -> None:
    logger.info("waiting before republishing more: %s", backlog)


def _as_article_id(given: str) -> str:
    """Editors may name a story by its article id or by its guid."""
    return (
        given
        if len(given) == 16 and all(c in "0123456789abcdef" for c in given)
        else article_id_for(given)
    )


async def build_requests(
    redis: Redis,
    article_ids: Sequence[str] | None,
    *,
    pin: Sequence[str] = (),
    ban: Sequence[str] = (),
    reason: str = "editor",
) -> tuple[list[ArticleRepublishRequested], list[str]]:
    """One request per stored story (every story when `article_ids` is None), and the ids the
    archive does not know."""
    if article_ids is None:
        wanted = sorted(m.decode() for m in await redis.smembers(keys.ARTICLE_IDS))
    else:
        wanted = [_as_article_id(given) for given in article_ids]
    requests: list[ArticleRepublishRequested] = []
    missing: list[str] = []
    async with redis.pipeline(transaction=False) as pipe:
        for article_id in wanted:
            pipe.hget(keys.article_key(article_id), "article")
        stored = await pipe.execute()
    for article_id, raw in zip(wanted, stored, strict=True):
        if raw is None:
            missing.append(article_id)
            continue
        article = Article.model_validate_json(raw)
        requests.append(
            ArticleRepublishRequested(
                article_id=article_id,
                guid=article.guid,
                version=article.version,
                reason=reason,
                pin=[_as_article_id(p) for p in pin],
                ban=[_as_article_id(b) for b in ban],
            )
        )
    return requests, missing


#: Bulk republishing checks the pipeline's backlog every this many requests ...
PACE_EVERY = 500
#: ... and gives up when no room has come in this long (a stage is probably stopped).
PACE_TIMEOUT_S = 600.0


async def send_requests(
    broker: Any,
    requests: Sequence[ArticleRepublishRequested],
    maxlen: int,
    *,
    redis: Redis | None = None,
    max_backlog: int | None = None,
    pace_every: int = PACE_EVERY,
) -> None:
    """Emit republish requests. A bulk run (more than ``pace_every``), given ``redis`` and
    ``max_backlog``, waits every ``pace_every`` requests until every stage is under
    BULK_SHARE of ``max_backlog``: `republish --all` on a large archive never pushes a stream
    past the length at which it is trimmed, nor makes ingest turn feeds away."""
    pace = redis is not None and max_backlog is not None and len(requests) > pace_every
    for i, request in enumerate(requests):
        if pace and i % pace_every == 0:
            assert redis is not None and max_backlog is not None
            await wait_for_capacity(
                redis,
                int(max_backlog * BULK_SHARE),
                timeout_s=PACE_TIMEOUT_S,
                on_wait=_log_wait,
            )
        await broker.publish(
            request.model_dump_json().encode(),
            stream=REPUBLISH,
            maxlen=maxlen,
            headers={"content-type": "application/json"},
            correlation_id=request.correlation_id,
        )


async def request_republish(
    settings: Settings,
    article_ids: Sequence[str] | None,
    *,
    pin: Sequence[str] = (),
    ban: Sequence[str] = (),
    reason: str = "editor",
) -> tuple[int, list[str]]:
    """`wirepress republish`: emit the requests; returns how many, and the unknown ids."""
    redis = create_redis(settings)
    broker = create_broker(settings)
    await broker.connect()
    try:
        requests, missing = await build_requests(
            redis, article_ids, pin=pin, ban=ban, reason=reason
        )
        await send_requests(
            broker,
            requests,
            settings.stream_maxlen,
            redis=redis,
            max_backlog=settings.ingest_max_lag,
        )
        return len(requests), missing
    finally:
        await broker.stop()
        await redis.aclose()
