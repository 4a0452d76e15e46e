"""For ops: what every stream and consumer group is doing, the dead letters and their
requeueing, and replaying an archived payload through ingest.

Streams and their groups are the pipeline's shared ground, so `status` reads them directly;
what a service keeps to itself (enrich's index, render's listing) it asks that service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from cli.editors import requests_for
from cli.settings import ToolSettings
from shared.backlog import list_dead, requeue, stream_status, wait_for_capacity
from shared.broker import create_redis, ensure_groups, publish_events
from shared.clients import EnrichClient, RenderClient, ServiceUnreachable
from shared.events import SiteRebuildRequested
from shared.logging import configure_logging
from shared.streams import REPUBLISH, SITE


def _text(value: Any) -> Any:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


# --- status ------------------------------------------------------------------------------------


async def collect_status(settings: ToolSettings) -> dict[str, Any]:
    redis = create_redis(settings.redis_url)
    enrich = EnrichClient(settings.enrich_url)
    render = RenderClient(settings.render_url)
    report: dict[str, Any] = {}
    try:
        report["streams"] = await stream_status(redis)
        memory = await redis.info("memory")
        report["event_store"] = {
            "used_bytes": int(memory["used_memory"]),
            "max_bytes": int(memory.get("maxmemory") or 0),
        }
        try:
            report["related_index"] = (await enrich.index()).model_dump(mode="json")
        except ServiceUnreachable as exc:
            report["related_index"] = {"error": str(exc)}
        try:
            report["listing"] = (await render.listing()).model_dump(mode="json")
        except ServiceUnreachable as exc:
            report["listing"] = {"error": str(exc)}
        return report
    finally:
        await asyncio.gather(redis.aclose(), enrich.aclose(), render.aclose())


def format_status(report: dict[str, Any]) -> str:
    lines = [
        f"{'stream':<24} {'length':>8} {'dead':>6}  {'group':<8} {'lag':>6} {'pending':>8} "
        f"{'oldest idle':>12} {'consumers':>9}"
    ]
    for entry in report["streams"]:
        groups = entry["groups"] or [None]
        for i, group in enumerate(groups):
            head = (
                f"{entry['stream']:<24} {entry['length']:>8} {entry['dead_letters']:>6}"
                if i == 0
                else " " * 40
            )
            if group is None:
                lines.append(f"{head}  {'-':<8}")
                continue
            idle = group["oldest_pending_idle_ms"]
            lines.append(
                f"{head}  {group['group']:<8} {group['lag'] if group['lag'] is not None else '?':>6} "
                f"{group['pending']:>8} {(f'{idle / 1000:.1f}s' if idle is not None else '-'):>12} "
                f"{group['consumers']:>9}"
            )
    lines.append("")
    lines += _memory_lines(report.get("event_store") or {})
    lines += _index_lines(report.get("related_index") or {})
    lines += _listing_lines(report.get("listing") or {})
    return "\n".join(lines)


#: `wirepress status` warns past this share of Redis's maxmemory (ingest refuses at 85%).
MEMORY_WARNING = 0.7


def _memory_lines(store: dict[str, Any]) -> list[str]:
    used, limit = store.get("used_bytes", 0), store.get("max_bytes", 0)
    if not limit:
        return [f"event store: {used / 2**20:.0f} MB used, NO maxmemory set (unbounded)"]
    share = used / limit
    line = f"event store: {used / 2**20:.0f} MB of {limit / 2**20:.0f} MB ({share:.0%})"
    if share >= MEMORY_WARNING:
        line += " - WARNING: feeds get 503s from 85%; find what is not being acknowledged"
    return [line]


def _index_lines(index: dict[str, Any]) -> list[str]:
    if "error" in index:
        return [f"related-links index: enrich did not answer ({index['error']})"]
    lines = [
        f"related-links index: {index.get('stories', 0)} stories; link refreshes: "
        f"{index.get('refreshes_due', 0)} due, {index.get('refreshes_waiting', 0)} queued"
    ]
    model = index.get("semantic_model")
    if model is None:
        lines.append("semantic model: none yet (fitted once the archive is large enough)")
    else:
        fitted = datetime.fromtimestamp(model["fitted_at"], UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(
            f"semantic model: fitted {fitted} UTC on {model['stories']} stories, "
            f"{model['dims']} dimensions, {model['terms']} terms"
        )
    return lines


def _listing_lines(listing: dict[str, Any]) -> list[str]:
    if "error" in listing:
        return [f"site listing: render did not answer ({listing['error']})"]
    return [
        f"site listing: {listing.get('stories', 0)} stories listed, "
        f"{listing.get('pages_due', 0)} listing pages due for a rebuild "
        f"({listing.get('pages_waiting', 0)} queued, due or not)"
    ]


# --- dead letters ------------------------------------------------------------------------------


# --- commands --------------------------------------------------------------------------------


def status_command(args: argparse.Namespace) -> int:
    report = asyncio.run(collect_status(ToolSettings()))
    print(json.dumps(report, indent=2) if args.json else format_status(report))
    return 0


async def _dead_letters(args: argparse.Namespace, settings: ToolSettings) -> int:
    redis = create_redis(settings.redis_url)
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
            print(json.dumps([asdict(d) for d in dead], indent=2))
            return 0
        for d in dead:
            print(
                f"{d.stream} {d.dead_id} (entry {d.entry_id}, {d.deliveries} deliveries): "
                f"{d.reason}"
            )
        return 0
    finally:
        await redis.aclose()


def dead_letters_command(args: argparse.Namespace) -> int:
    return asyncio.run(_dead_letters(args, ToolSettings()))


def replay_command(args: argparse.Namespace) -> int:
    from services.ingest import IngestSettings, Problem, replay_payload

    settings = IngestSettings()
    configure_logging("replay", settings.log_level, settings.log_json)
    try:
        outcome = asyncio.run(replay_payload(settings, args.raw_key))
    except Problem as problem:
        field = f" (field {problem.field})" if problem.field else ""
        print(
            f"{args.raw_key}: {problem.title} [{problem.status} {problem.slug}]{field}: "
            f"{problem.detail}",
            file=sys.stderr,
        )
        # 75 (EX_TEMPFAIL): the pipeline is busy or down, the same replay can be run again.
        return 75 if problem.status == 503 else 1
    except KeyError:
        print(f"{args.raw_key}: not in the archive", file=sys.stderr)
        return 1
    print(json.dumps(outcome.model_dump(mode="json"), indent=2))
    return 0


# --- rebuilding the site -----------------------------------------------------------------------

#: While the site is rebuilt, no stage is let fall more than this far behind, so fresh stories
#: keep flowing at their usual latency between the rebuild's pages.
REBUILD_MAX_BACKLOG = 200
REBUILD_BATCH = 50
REBUILD_STALL_S = 600.0


async def rebuild_site(
    settings: ToolSettings, on_sent: Callable[[int], None], *, total: Callable[[int], None]
) -> int:
    """Every listing page built again (one command to render), and every story on the site
    rendered and published again from what enrich has stored (no re-tagging, no re-ranking);
    unchanged bytes are not rewritten. Returns how many stories were sent."""
    redis = create_redis(settings.redis_url)
    enrich = EnrichClient(settings.enrich_url)
    sent = 0
    try:
        await ensure_groups(redis)
        command = SiteRebuildRequested(article_id="site", guid="site", version="1")
        await publish_events(redis, SITE, [command], settings.stream_maxlen)
        total((await enrich.index()).stories)
        async for page in enrich.every_story(REBUILD_BATCH):
            live = [record for record in page if record.pubstatus == "usable"]
            await wait_for_capacity(redis, REBUILD_MAX_BACKLOG, timeout_s=REBUILD_STALL_S)
            await publish_events(
                redis, REPUBLISH, requests_for(live, reason="rebuild"), settings.stream_maxlen
            )
            sent += len(live)
            on_sent(len(live))
        return sent
    finally:
        await enrich.aclose()
        await redis.aclose()


def site_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    settings = ToolSettings()
    with tqdm(unit="story", desc="rebuild", disable=args.no_progress) as bar:

        def set_total(count: int) -> None:
            bar.total = count
            bar.refresh()

        def advance(count: int) -> None:
            bar.update(count)

        try:
            sent = asyncio.run(rebuild_site(settings, advance, total=set_total))
        except (ServiceUnreachable, TimeoutError) as exc:
            print(f"the rebuild stopped part-way: {exc}", file=sys.stderr)
            return 1
    print(f"every listing page and {sent} stories are being built again")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    site = sub.add_parser(
        "site",
        help="the whole site: rebuild every page from what is stored",
        description="rebuild: build every listing page, feed and sitemap again, and render and "
        "publish every story again from its stored enrichment (no re-tagging or re-ranking), "
        "e.g. after a template change. Pages whose bytes did not change are not rewritten; "
        "fresh stories keep flowing meanwhile.",
    )
    site.add_argument("action", choices=["rebuild"])
    site.add_argument("--no-progress", action="store_true", help="no progress bar")
    site.set_defaults(func=site_command)

    status = sub.add_parser("status", help="streams, consumer lag, pending and dead letters")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=status_command)

    dead = sub.add_parser("dead-letters", help="list dead-lettered messages, or requeue them")
    dead.add_argument("action", choices=["list", "requeue"])
    dead.add_argument("stream", nargs="?", help="e.g. wirepress:rendered (list: all streams)")
    dead.add_argument("ids", nargs="*", metavar="DEAD_ID", help="requeue: these dead letters")
    dead.add_argument("--all", action="store_true", help="requeue: every dead letter of STREAM")
    dead.add_argument("--limit", type=int, default=100, help="list: per stream")
    dead.add_argument("--json", action="store_true")
    dead.set_defaults(func=dead_letters_command)

    replay = sub.add_parser(
        "replay",
        help="run an archived raw payload through ingest again",
        description="Parse and emit an archived payload exactly as a push would (duplicates are "
        "answered as such). Exits 1 if it is rejected, 75 if the pipeline is unavailable.",
    )
    replay.add_argument("raw_key", metavar="RAW_KEY")
    replay.set_defaults(func=replay_command)
