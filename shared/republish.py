"""Republish requests: re-render and re-publish stored stories without re-ingesting them."""

from __future__ import annotations

import json
from collections.abc import Sequence

from shared import keys
from shared.broker import create_broker, create_redis
from shared.events import ArticleRepublishRequested
from shared.models import Article, article_id_for
from shared.settings import Settings
from shared.streams import REPUBLISH


async def request_republish(
    settings: Settings,
    article_ids: Sequence[str] | None,
    *,
    pin: Sequence[str] = (),
    ban: Sequence[str] = (),
    reason: str = "editor",
) -> tuple[int, list[str]]:
    """Emit one republish request per story (every story when `article_ids` is None).

    An id may also be given as the story's guid. Returns how many were requested and which ids
    the archive does not know.
    """
    redis = create_redis(settings)
    broker = create_broker(settings)
    await broker.connect()
    try:
        if article_ids is None:
            wanted = sorted(m.decode() for m in await redis.smembers(keys.ARTICLE_IDS))
        else:
            wanted = [
                given if await redis.exists(keys.article_key(given)) else article_id_for(given)
                for given in article_ids
            ]
        missing: list[str] = []
        count = 0
        for article_id in wanted:
            raw = await redis.hget(keys.article_key(article_id), "article")
            if raw is None:
                missing.append(article_id)
                continue
            article = Article.model_validate(json.loads(raw))
            request = ArticleRepublishRequested(
                article_id=article_id,
                guid=article.guid,
                version=article.version,
                reason=reason,
                pin=[article_id_for(p) if ":" in p else p for p in pin],
                ban=[article_id_for(b) if ":" in b else b for b in ban],
            )
            await broker.publish(
                request.model_dump_json().encode(),
                stream=REPUBLISH,
                maxlen=settings.stream_maxlen,
                headers={"content-type": "application/json"},
                correlation_id=request.correlation_id,
            )
            count += 1
        return count, missing
    finally:
        await broker.stop()
        await redis.aclose()
