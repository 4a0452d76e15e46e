"""`make chaos`: a bounded load of new stories, corrections and kills against a fresh local stack
while its processes are killed, Valkey is killed and restarted on its data, SeaweedFS is frozen
(SIGSTOP) and killed, and a poison story is put on the ingested stream; then every story a
feed was told was accepted is checked against the bucket.

The stack is the one `make up` runs (supervisord restarts what is killed, as it would on a
machine in production). The feed behaves like a real one: it retries a push that got no answer
or a 503 until it gets a 2xx or a 4xx. Afterwards, once every group is idle and render has no
page due:

* lost: a story whose latest accepted version is not on its page (or whose page is missing);
* duplicated: a version emitted on the ingested stream more than once;
* stale: a page showing an older version than the latest accepted, or other related links than
  enrich last decided for it;
* killed stories: a page still up, or a page anywhere in the bucket linking to one;
* broken internal links in a crawl of every page in the bucket;
* stuck: anything pending or unread in any group;
* dead letters other than the poison's; answers 500 (a 503 while a store is down is the
  designed answer, and the feed retries it);
* the poison's neighbours: push-to-page latency of the stories pushed just after it.

    python -m bench.chaos --short                # what `make test` runs (about two minutes)
    python -m bench.chaos --out bench/results/chaos.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from faststream.redis.parser.binary import BinaryMessageFormatV1
from lxml import html as lxml_html
from pydantic import BaseModel
from redis.asyncio import Redis

from bench.pipeline.stack import BenchStack, follow_on_waiting, fresh_stack, stop_on_sigterm
from bench.pipeline.stories import make_stories
from cli.supervise import Supervisor
from shared.backlog import stream_backlogs
from shared.broker import create_redis, encode_event
from shared.events import ArticleEnriched, ArticleIngested, ArticlePublished
from shared.models import Article, article_id_for, version_ordering
from shared.settings import StorageSettings
from shared.storage import VERSION_META, Storage
from shared.streams import CONSUMER_GROUPS, ENRICHED, INGESTED, PUBLISHED, dead_letter

#: The verdict of a run that broke no promise.
HELD = "held: nothing lost, duplicated, stale or stuck"
#: One step of a schedule: (at second, fault). A plan also says how long a freeze lasts.
Fault = tuple[float, str]


@dataclass(frozen=True)
class Plan:
    pushes: int
    rate: float
    faults: tuple[Fault, ...]
    freeze_s: float
    seed: int = 7
    #: How long the pipeline may take to settle after the load before the run says it did not
    #: (and what was still busy), rather than waiting on.
    settle_within_s: float = 900


FULL = Plan(
    pushes=1200,
    rate=8.0,
    faults=(
        (8, "poison"),
        (20, "kill ingest"),
        (35, "kill enrich"),
        (50, "kill render"),
        (65, "kill publish"),
        (80, "kill valkey"),
        (95, "freeze seaweedfs"),
        (125, "kill seaweedfs"),
    ),
    freeze_s=20,
)
SHORT = Plan(
    pushes=160,
    rate=4.0,
    faults=(
        (3, "poison"),
        (10, "kill enrich"),
        (14, "kill render"),
        (18, "kill publish"),
        (22, "kill ingest"),
        (26, "kill valkey"),
        (31, "freeze seaweedfs"),
        (37, "kill seaweedfs"),
    ),
    freeze_s=4,
    # It settles in about 40 s here: a stall is reported well inside the test's time limit.
    settle_within_s=300,
)
#: A push that got no answer, or a 502/503/504, is sent again after this long, up to this often.
RETRY_S = 0.5
RETRIES = 240


@dataclass
class Push:
    at: float
    doc: dict[str, Any]
    kind: str  # new, correction, kill

    @property
    def guid(self) -> str:
        return str(self.doc["uri"])


@dataclass
class Feed:
    accepted: dict[str, Push] = field(default_factory=dict)  # guid -> latest accepted push
    first_accepted_at: dict[str, float] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    no_answer: int = 0
    refused: list[tuple[str, int, str]] = field(default_factory=list)


PROCESSES = ("valkey", "seaweedfs", "ingest", "enrich", "render", "publish")


def parse_faults(text: str) -> tuple[Fault, ...]:
    """'5:poison,10:freeze valkey,...' as a schedule, in time order; ValueError if unreadable."""
    faults = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        at, _, fault = part.partition(":")
        action, _, name = fault.strip().partition(" ")
        if action == "poison" and not name:
            pass
        elif action not in ("kill", "freeze") or name not in PROCESSES:
            raise ValueError(f"cannot read the fault {part!r}")
        faults.append((float(at), fault.strip()))
    return tuple(sorted(faults))


def plan_pushes(plan: Plan, namespace: str) -> list[Push]:
    """New stories, corrections of earlier ones (a new version and headline) and kills."""
    rng = random.Random(plan.seed)
    stories = make_stories(plan.pushes, plan.seed, namespace)
    pushes: list[Push] = []
    live: list[dict[str, Any]] = []
    for i in range(plan.pushes):
        at = i / plan.rate
        roll = rng.random()
        if live and roll < 0.12:
            earlier = rng.choice(live[:-5] or live)
            corrected = {
                **earlier,
                "version": str(int(earlier["version"]) + 1),
                "headline": f"{earlier['headline']} (corrected {i})",
            }
            live[live.index(earlier)] = corrected
            pushes.append(Push(at, corrected, "correction"))
        elif len(live) > 10 and roll < 0.2:
            victim = live.pop(rng.randrange(len(live) - 5))
            pushes.append(
                Push(
                    at,
                    {**victim, "version": str(int(victim["version"]) + 1), "pubstatus": "canceled"},
                    "kill",
                )
            )
        else:
            doc = {k: v for k, v in stories[i].items() if not k.startswith("_")}
            live.append(doc)
            pushes.append(Push(at, doc, "new"))
    return pushes


async def feed(bench: BenchStack, pushes: list[Push], started: float, record: Feed) -> None:
    token = bench.env["INGEST_TOKEN"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{bench.env['INGEST_URL']}/v1/stories"
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def send(push: Push) -> None:
            await asyncio.sleep(max(0.0, started + push.at - time.monotonic()))
            body = json.dumps(push.doc).encode()
            for _attempt in range(RETRIES):
                try:
                    answer = await client.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    record.no_answer += 1
                    await asyncio.sleep(RETRY_S)
                    continue
                record.statuses[answer.status_code] += 1
                if answer.status_code in (502, 503, 504):
                    await asyncio.sleep(RETRY_S)
                    continue
                if answer.status_code < 300:
                    record.first_accepted_at.setdefault(
                        f"{push.guid}@{push.doc['version']}", time.time()
                    )
                    known = record.accepted.get(push.guid)
                    if known is None or int(known.doc["version"]) <= int(push.doc["version"]):
                        record.accepted[push.guid] = push
                else:
                    record.refused.append((push.guid, answer.status_code, answer.text[:200]))
                return
            record.refused.append((push.guid, 0, "never answered"))

        # Pushes of one story go in order, as a feed sends them; stories side by side.
        by_story: dict[str, list[Push]] = {}
        for push in pushes:
            by_story.setdefault(push.guid, []).append(push)

        async def story_in_order(own: list[Push]) -> None:
            for push in own:
                await send(push)

        await asyncio.gather(*(story_in_order(own) for own in by_story.values()))


def poison_event() -> ArticleIngested:
    """Valid as an event, too deep to sanitise (ingest refuses such a body with a 422)."""
    poison = Article(guid="urn:chaos:poison", headline="Poison", body_html="<ul><li>x" * 20_000)
    return ArticleIngested.about(
        poison, correlation_id="chaos-poison", article=poison, feed="chaos"
    )


async def run_faults(
    bench: BenchStack, plan: Plan, started: float, log: list[dict[str, Any]], redis_url: str
) -> float | None:
    """The schedule, in order; the poison's injection time."""
    supervisor = Supervisor(run_dir=bench.var / "run", log_dir=bench.var / "log")
    poisoned_at = None
    for at, fault in plan.faults:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        began = round(time.monotonic() - started, 1)
        action, _, name = fault.partition(" ")
        states = await asyncio.to_thread(supervisor.states)
        pid = states.get(name, ("", None))[1]
        if action == "poison":
            redis = create_redis(redis_url)
            await redis.xadd(INGESTED, {"__data__": await encode_event(poison_event())})
            await redis.aclose()
            poisoned_at = time.time()
        elif pid is None:
            log.append({"at": began, "fault": fault, "pid": None})
            continue
        elif action == "kill":
            os.kill(pid, signal.SIGKILL)
        elif action == "freeze":
            os.kill(pid, signal.SIGSTOP)
            await asyncio.sleep(plan.freeze_s)
            os.kill(pid, signal.SIGCONT)
        log.append({"at": began, "fault": fault, "pid": pid})
    return poisoned_at


def _events(raw: list[tuple[bytes, dict[bytes, bytes]]], model: type[BaseModel]) -> list[Any]:
    out = []
    for _, fields in raw:
        body, _ = BinaryMessageFormatV1.parse(fields[b"__data__"])
        out.append(model.model_validate_json(body))
    return out


async def settled(
    bench: BenchStack, redis: Redis, within_s: float, busy_at_end: dict[str, Any]
) -> float | None:
    """Wait until every group has nothing unread or pending, enrich has no link refresh
    waiting and render no page due; how long it took, or None (and what was still busy in
    `busy_at_end`) if it did not within `within_s`."""
    started = time.monotonic()
    quiet_since: float | None = None
    while time.monotonic() - started < within_s:
        busy_at_end.clear()
        try:
            backlogs = [b for b in await stream_backlogs(redis) if b.entries]
            busy_at_end["backlogs"] = [str(b) for b in backlogs]
            busy_at_end.update(await follow_on_waiting(bench.env))
        except Exception as exc:  # a store or render restarting: not settled yet
            busy_at_end["unanswered"] = repr(exc)
        idle = not busy_at_end.get("unanswered") and not busy_at_end["backlogs"]
        if idle and busy_at_end["pages_due"] == 0 and busy_at_end["refreshes_waiting"] == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 5:
                return time.monotonic() - started
        else:
            quiet_since = None
        await asyncio.sleep(1)
    return None


def page_key(href: str, page_url: str, site_url: str) -> str | None:
    """The bucket key an internal link points at (a folder is its index.html), else None."""
    absolute = urllib.parse.urljoin(page_url, href.split("#", 1)[0])
    if not absolute.startswith(site_url + "/"):
        return None
    key = urllib.parse.unquote(absolute[len(site_url) + 1 :].split("?", 1)[0])
    return key + "index.html" if key.endswith("/") or not key else key


def crawl(storage: Storage, site_url: str) -> tuple[dict[str, list[str]], set[str]]:
    """Every HTML page's internal links (as keys), and every key in the bucket."""
    keys = set(storage.list_pages())
    links: dict[str, list[str]] = {}
    for key in sorted(keys):
        if not key.endswith(".html"):
            continue
        body = storage.get_page(key)
        if not body:
            continue
        doc = lxml_html.fromstring(body)
        url = f"{site_url}/{key}"
        links[key] = [
            k for href in doc.xpath("//a/@href") if (k := page_key(str(href), url, site_url))
        ]
    return links, keys


def related_on_page(body: bytes, page_url: str, site_url: str) -> set[str]:
    doc = lxml_html.fromstring(body)
    hrefs = doc.xpath(
        "//aside[contains(@class,'read-also')]//a/@href | //aside[@class='related']//a/@href"
    )
    return {k for href in hrefs if (k := page_key(str(href), page_url, site_url))}


@dataclass
class Seen:
    """What the streams say happened, read back after the run."""

    paths: dict[str, str]  # article id -> its page's key
    first_written: dict[tuple[str, str], float]  # (article id, version) -> first written at
    last_decided: dict[str, ArticleEnriched]  # article id -> enrich's latest decision
    duplicated: list[str]


async def read_streams(redis: Redis) -> Seen:
    ingested = _events(await redis.xrange(INGESTED), ArticleIngested)
    emitted = Counter((e.guid, e.version) for e in ingested if e.feed != "chaos")
    seen = Seen({}, {}, {}, sorted(f"{g}@{v}" for (g, v), n in emitted.items() if n > 1))
    for event in _events(await redis.xrange(PUBLISHED), ArticlePublished):
        seen.paths[event.article_id] = event.page_path
        if event.outcome == "written":
            key = (event.article_id, event.version)
            seen.first_written.setdefault(key, event.occurred_at.timestamp())
    for event in _events(await redis.xrange(ENRICHED), ArticleEnriched):
        known = seen.last_decided.get(event.article_id)
        if known is None or event.ordering >= known.ordering:
            seen.last_decided[event.article_id] = event
    return seen


def check_pages(
    storage: Storage, bucket: str, site_url: str, record: Feed, seen: Seen, keys: set[str]
) -> dict[str, list[str]]:
    """Each accepted story's page against what the feed was last told was accepted."""
    found: dict[str, list[str]] = {
        "lost": [], "stale_versions": [], "stale_links": [], "killed_still_up": []
    }  # fmt: skip
    for guid, push in record.accepted.items():
        article_id = article_id_for(guid)
        path = seen.paths.get(article_id)
        if push.doc.get("pubstatus") == "canceled":
            if path is not None and path in keys:
                found["killed_still_up"].append(guid)
            continue
        if path is None or path not in keys:
            found["lost"].append(guid)
            continue
        head = storage.client.head_object(Bucket=bucket, Key=path)
        on_page = head["Metadata"].get(VERSION_META, "").split("|")[0]
        if on_page != version_ordering(str(push.doc["version"]), None).split("|")[0]:
            found["stale_versions"].append(guid)
            continue
        decided = seen.last_decided.get(article_id)
        if decided is not None:
            expected = {link.path for link in decided.read_also + decided.related}
            body = storage.get_page(path) or b""
            if related_on_page(body, f"{site_url}/{path}", site_url) != expected:
                found["stale_links"].append(guid)
    return found


async def dead_letters(redis: Redis) -> dict[str, list[str]]:
    dead: dict[str, list[str]] = {}
    for stream in CONSUMER_GROUPS:
        for _, fields in await redis.xrange(dead_letter(stream)):
            body, _ = BinaryMessageFormatV1.parse(fields[b"data"])
            dead.setdefault(stream, []).append(json.loads(body).get("guid", "?"))
    return dead


def latencies(record: Feed, seen: Seen, poisoned_at: float | None) -> dict[str, Any]:
    """From the feed's 2xx to the page written, per version; and of the poison's neighbours."""
    every, neighbours = [], []
    for key, accepted_at in record.first_accepted_at.items():
        guid, version = key.rsplit("@", 1)
        written = seen.first_written.get((article_id_for(guid), version))
        if written is None:
            continue
        latency = max(0.0, written - accepted_at)
        every.append(latency)
        if poisoned_at is not None and 0 <= accepted_at - poisoned_at <= 5:
            neighbours.append(latency)
    every.sort()
    return {
        "push_to_page_s": {
            "p50": round(statistics.median(every), 2) if every else None,
            "p99": round(every[int(0.99 * (len(every) - 1))], 2) if every else None,
            "max": round(every[-1], 2) if every else None,
        },
        "poison_neighbours_max_s": round(max(neighbours), 2) if neighbours else None,
    }


async def check(bench: BenchStack, record: Feed, poisoned_at: float | None) -> dict[str, Any]:
    redis = create_redis(bench.env["REDIS_URL"])
    site_url, bucket = bench.env["SITE_URL"], bench.env["SITE_BUCKET"]
    storage = Storage(
        StorageSettings.model_validate(
            {
                "s3_endpoint_url": bench.env["S3_ENDPOINT_URL"],
                "site_bucket": bucket,
                "archive_bucket": bench.env["ARCHIVE_BUCKET"],
                "aws_access_key_id": bench.env["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": bench.env["AWS_SECRET_ACCESS_KEY"],
            }
        )
    )
    try:
        seen = await read_streams(redis)
        links, keys = crawl(storage, site_url)
        pages = check_pages(storage, bucket, site_url, record, seen, keys)
        killed_paths = {
            seen.paths[article_id_for(g)]
            for g, p in record.accepted.items()
            if p.doc.get("pubstatus") == "canceled" and article_id_for(g) in seen.paths
        }
        broken = sorted(
            {f"{page} -> {t}" for page, targets in links.items() for t in targets if t not in keys}
        )
        dead = await dead_letters(redis)
        others_dead = {s: [g for g in gs if g != "urn:chaos:poison"] for s, gs in dead.items()}
        return {
            "stories_accepted": len(record.accepted),
            "versions_accepted": len(record.first_accepted_at),
            "answers": dict(sorted(record.statuses.items())),
            "no_answer": record.no_answer,
            "answers_500": record.statuses.get(500, 0),
            "refused": record.refused[:10],
            **pages,
            "duplicated": seen.duplicated,
            "pages_linking_killed": sorted(
                page for page, targets in links.items() if killed_paths & set(targets)
            ),
            "broken_internal_links": broken[:20],
            "broken_internal_link_count": len(broken),
            "stuck": [
                {"stream": b.stream, "group": b.group, "entries": b.entries}
                for b in await stream_backlogs(redis)
                if b.entries
            ],
            "dead_letters": dead,
            "unexpected_dead_letters": {s: g for s, g in others_dead.items() if g},
            "poison_dead_lettered": any("urn:chaos:poison" in g for g in dead.values()),
            **latencies(record, seen, poisoned_at),
            "pages_in_bucket": len(keys),
        }
    finally:
        await redis.aclose()
        storage.close()


def verdict(report: dict[str, Any]) -> list[str]:
    """What is wrong, in words; empty when the run held every promise."""
    wrong = []
    for name in ("lost", "duplicated", "stale_versions", "stale_links", "killed_still_up"):
        if report[name]:
            wrong.append(f"{len(report[name])} {name.replace('_', ' ')}: {report[name][:5]}")
    if report["pages_linking_killed"]:
        wrong.append(f"pages linking killed stories: {report['pages_linking_killed'][:5]}")
    if report["broken_internal_link_count"]:
        wrong.append(f"{report['broken_internal_link_count']} broken internal links")
    if report["stuck"]:
        wrong.append(f"stuck: {report['stuck']}")
    if report["unexpected_dead_letters"]:
        wrong.append(f"dead letters besides the poison: {report['unexpected_dead_letters']}")
    if not report["poison_dead_lettered"]:
        wrong.append("the poison was not dead-lettered")
    if report["answers_500"]:
        wrong.append(f"{report['answers_500']} answers 500")
    if report["refused"]:
        wrong.append(f"pushes refused: {report['refused'][:3]}")
    neighbours = report["poison_neighbours_max_s"]
    if neighbours is not None and neighbours > 10:
        wrong.append(f"the poison's neighbours were up to {neighbours} s late (over 10 s)")
    return wrong


async def chaos(bench: BenchStack, plan: Plan, say: Callable[[str], None]) -> dict[str, Any]:
    pushes = plan_pushes(plan, namespace=f"chaos{int(time.time())}")
    record = Feed()
    faults: list[dict[str, Any]] = []
    started = time.monotonic()
    say(f"{len(pushes)} pushes at {plan.rate}/s, faults: {[f for _, f in plan.faults]}")
    _, poisoned_at = await asyncio.gather(
        feed(bench, pushes, started, record),
        run_faults(bench, plan, started, faults, bench.env["REDIS_URL"]),
    )
    load_s = time.monotonic() - started
    say(f"load done in {load_s:.0f} s; waiting for the pipeline to settle")
    redis = create_redis(bench.env["REDIS_URL"])
    busy: dict[str, Any] = {}
    try:
        settle_s = await settled(bench, redis, plan.settle_within_s, busy)
    finally:
        await redis.aclose()
    if settle_s is None:
        say(f"not settled after {plan.settle_within_s:.0f} s ({busy}); checking the bucket")
    else:
        say(f"settled after {settle_s:.0f} s more; checking the bucket")
    report = await check(bench, record, poisoned_at)
    report.update(
        {
            "load_s": round(load_s, 1),
            "settle_s": None if settle_s is None else round(settle_s, 1),
            "faults": faults,
        }
    )
    wrong = verdict(report)
    if settle_s is None:
        report["busy_when_given_up"] = busy
        report["log_tails"] = bench.log_tail(40)
        wrong.insert(0, f"the pipeline did not settle within {plan.settle_within_s:.0f} s")
    report["verdict"] = wrong or [HELD]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--short", action="store_true", help="the CI schedule (about 2 min)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the stack's files")
    parser.add_argument(
        "--faults",
        help="a schedule of your own: 'SECONDS:ACTION [PROCESS],...', where ACTION is poison, "
        "kill or freeze and PROCESS one of valkey, seaweedfs, ingest, enrich, render, publish; "
        "e.g. '5:poison,10:freeze valkey,20:kill enrich,21:kill render'",
    )
    parser.add_argument("--pushes", type=int, help="how many pushes (default: the schedule's)")
    parser.add_argument("--rate", type=float, help="pushes per second")
    parser.add_argument("--freeze-s", type=float, help="how long a freeze lasts")
    args = parser.parse_args(argv)
    plan = SHORT if args.short else FULL
    if args.faults:
        plan = replace(plan, faults=parse_faults(args.faults))
    plan = replace(
        plan,
        pushes=args.pushes or plan.pushes,
        rate=args.rate or plan.rate,
        freeze_s=args.freeze_s if args.freeze_s is not None else plan.freeze_s,
    )
    stop_on_sigterm()
    # Kept long enough for the checks to read every event of the run.
    os.environ.setdefault("STREAM_RETAIN_S", "86400")

    def say(text: str) -> None:
        print(text, flush=True)

    with fresh_stack({}, keep=args.keep) as bench:
        report = asyncio.run(chaos(bench, plan, say))
    report["plan"] = {
        "pushes": plan.pushes,
        "rate": plan.rate,
        "freeze_s": plan.freeze_s,
        "command": "python -m bench.chaos " + " ".join(argv if argv is not None else sys.argv[1:]),
        "faults": [f"{at:g}:{fault}" for at, fault in plan.faults],
        "cpus": os.cpu_count(),
    }
    text = json.dumps(report, indent=2, default=str)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
    held = report["verdict"] == [HELD]
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
