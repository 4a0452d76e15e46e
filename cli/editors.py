"""For editors: publish stored stories again, with pins, bans and tag removals, without
re-ingesting them (the desk, `services/desk`, sends the same commands and more).

A republish is a command on `wirepress:republish` naming a story by id; enrich, which owns the
archive, resolves it. The ids are checked against enrich's archive first (its query API), so an
editor hears at once about a story it does not hold. A bulk run waits whenever the pipeline is
too far behind, so it never pushes a stream past its trim length nor makes ingest turn feeds away.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import AsyncIterator, Sequence

from redis.asyncio import Redis

from cli.settings import ToolSettings
from shared.backlog import BULK_SHARE, wait_for_capacity
from shared.broker import create_redis, ensure_groups, publish_events
from shared.clients import EnrichClient, ServiceUnreachable
from shared.events import ArticleRepublishRequested
from shared.logging import configure_logging
from shared.models import as_article_id
from shared.queries import StoryRecord
from shared.streams import REPUBLISH, Backlog

logger = logging.getLogger(__name__)

#: Bulk republishing checks the pipeline's backlog every this many requests ...
PACE_EVERY = 500
#: ... and gives up when no room has come in this long (a stage is probably stopped).
PACE_TIMEOUT_S = 600.0


def _log_wait(backlog: Backlog) -> None:
    logger.info("waiting before republishing more: %s", backlog)


def requests_for(
    records: Sequence[StoryRecord],
    *,
    pin: Sequence[str] = (),
    ban: Sequence[str] = (),
    reason: str = "editor",
    unpin: Sequence[str] = (),
    unban: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
    restore_tags: Sequence[str] = (),
) -> list[ArticleRepublishRequested]:
    """The same commands the desk sends (`services.desk.actions`), one per story."""
    return [
        ArticleRepublishRequested(
            article_id=record.article_id,
            guid=record.guid,
            version=record.version,
            reason=reason,
            pin=[as_article_id(p) for p in pin],
            ban=[as_article_id(b) for b in ban],
            unpin=[as_article_id(p) for p in unpin],
            unban=[as_article_id(b) for b in unban],
            remove_tags=list(remove_tags),
            restore_tags=list(restore_tags),
            requested_by=f"cli:{getpass.getuser()}",
        )
        for record in records
    ]


async def send_requests(
    redis: Redis,
    requests: Sequence[ArticleRepublishRequested],
    maxlen: int,
    *,
    max_backlog: int | None = None,
    pace_every: int = PACE_EVERY,
) -> None:
    """Emit republish requests; given ``max_backlog`` (a bulk run), first wait, and again every
    ``pace_every`` requests, until every stage is under BULK_SHARE of it."""
    for start in range(0, len(requests), pace_every):
        if max_backlog is not None:
            await wait_for_capacity(
                redis,
                int(max_backlog * BULK_SHARE),
                timeout_s=PACE_TIMEOUT_S,
                on_wait=_log_wait,
            )
        await publish_events(redis, REPUBLISH, requests[start : start + pace_every], maxlen)


async def _records(
    enrich: EnrichClient, names: Sequence[str] | None
) -> AsyncIterator[list[StoryRecord]]:
    if names is None:
        async for page in enrich.every_story(PACE_EVERY):
            yield page
    else:
        yield await enrich.stories(names)


async def request_republish(
    settings: ToolSettings,
    names: Sequence[str] | None,
    *,
    pin: Sequence[str] = (),
    ban: Sequence[str] = (),
    unpin: Sequence[str] = (),
    unban: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
    restore_tags: Sequence[str] = (),
) -> tuple[int, list[str]]:
    """`wirepress republish`: the requests sent (every story when `names` is None), and the
    names enrich's archive does not hold."""
    bulk = names is None or len(names) > PACE_EVERY
    redis = create_redis(settings.redis_url)
    enrich = EnrichClient(settings.enrich_url)
    sent, known = 0, set()
    try:
        # Before the first entry: a stream this creates gets its groups from its beginning.
        await ensure_groups(redis)
        async for records in _records(enrich, names):
            known |= {record.article_id for record in records}
            requests = requests_for(
                records, pin=pin, ban=ban, unpin=unpin, unban=unban,
                remove_tags=remove_tags, restore_tags=restore_tags,
            )  # fmt: skip
            await send_requests(
                redis,
                requests,
                settings.stream_maxlen,
                max_backlog=settings.ingest_max_lag if bulk else None,
            )
            sent += len(requests)
    finally:
        await enrich.aclose()
        await redis.aclose()
    return sent, [name for name in names or () if as_article_id(name) not in known]


def republish_command(args: argparse.Namespace) -> int:
    if not args.all and not args.article_ids:
        print("name one or more ARTICLE_IDs, or --all", file=sys.stderr)
        return 2
    settings = ToolSettings()
    configure_logging("republish", settings.log_level)
    try:
        count, missing = asyncio.run(
            request_republish(
                settings,
                None if args.all else args.article_ids,
                pin=args.pin or [],
                ban=args.ban or [],
                unpin=args.unpin or [],
                unban=args.unban or [],
                remove_tags=args.remove_tag or [],
                restore_tags=args.restore_tag or [],
            )
        )
    except TimeoutError as exc:
        print(f"republishing stopped part-way: {exc}", file=sys.stderr)
        return 1
    except ServiceUnreachable as exc:
        print(f"enrich did not answer, nothing more was sent: {exc}", file=sys.stderr)
        return 1
    for name in missing:
        print(f"not in the archive: {name}", file=sys.stderr)
    print(f"republish requested for {count} stories")
    return 1 if missing else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    republish.add_argument(
        "--unpin", action="append", metavar="ARTICLE_ID", help="no longer pin this story"
    )
    republish.add_argument(
        "--unban", action="append", metavar="ARTICLE_ID", help="let this story be linked again"
    )
    republish.add_argument(
        "--remove-tag", action="append", metavar="SLUG", help="take this tag off the story"
    )
    republish.add_argument(
        "--restore-tag", action="append", metavar="SLUG", help="give a removed tag back"
    )
    republish.set_defaults(func=republish_command)
