"""The measurement run: push the stories to ingest, follow `wirepress:published` until every one
is written, wait for the pipeline to settle, and take the CPU counters around it."""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from faststream.redis.parser.binary import BinaryMessageFormatV1
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bench.pipeline import redis_commands
from bench.pipeline.stack import (
    BenchStack,
    cpu_seconds,
    follow_on_waiting,
    machine_busy_seconds,
    start_profilers,
    stop_profilers,
)
from bench.pipeline.stories import make_stories
from shared.broker import DATA_FIELD, create_redis
from shared.clients import ServiceUnreachable
from shared.events import ArticlePublished
from shared.models import article_id_for
from shared.streams import CONSUMER_GROUPS, OBSERVERS, PUBLISHED, dead_letter

# An article id and the JSON body pushed for it.
Body = tuple[str, bytes]
#: The longest wait for the stack to go idle (the 10k run's site pages took 236 s after its
#: burst); past it the run goes on and its results say so (`settled_within_limit`).
SETTLE_LIMIT_S = 600


@dataclass
class Run:
    accepted_at: dict[str, float] = field(default_factory=dict)  # article_id -> wall time of 202
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    first_sent: float = 0.0
    last_answer: float = 0.0
    published_at: dict[str, float] = field(default_factory=dict)  # article_id -> occurred_at
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)


@dataclass
class Snapshot:
    """CPU counters at one moment: every process of the stack, the bench itself, the machine."""

    processes: dict[str, float | None]
    own_cpu: float  # utime + stime of this process
    loadavg: tuple[float, float, float]
    machine_busy: float

    @classmethod
    def take(cls, pids: dict[str, int]) -> Snapshot:
        processes = {name: cpu_seconds(pid) for name, pid in pids.items()}
        own = resource.getrusage(resource.RUSAGE_SELF)
        return cls(processes, own.ru_utime + own.ru_stime, os.getloadavg(), machine_busy_seconds())


@dataclass
class Counters:
    """The counters around the measured part."""

    before: Snapshot
    after: Snapshot  # when the last story was first written (or the wait timed out)
    settled: dict[str, float | None]  # processes' CPU once the pipeline was idle again
    wall_s: float  # from the first push to `after`
    settle_s: float  # from `after` to `settled`


@dataclass
class Measurement:
    """Everything one run observed; `report` turns it into figures."""

    run: Run
    counters: Counters
    warmup: int  # stories pushed before measuring
    stories: int  # stories measured
    words: list[int]  # per story, warm-up included
    body_sizes: list[int]  # bytes of each JSON body, warm-up included
    pids: dict[str, int]  # every process of the stack, replicas included
    dead_letters: dict[str, int]  # dead-letter stream -> entries
    profile_dir: Path | None
    archive: dict[str, Any]  # the archive pushed before the warm-up, and how long it took
    # S3 requests the services made for the measured stories, by service and operation.
    s3_requests: dict[str, float] | None
    # Valkey commands and bytes per story by service, when Valkey counts them per connection.
    valkey_per_story: dict[str, Any] | None


# --------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], article_id: str, body: bytes, run: Run
) -> None:
    """One story, retried on connection errors and 503s (up to 20 attempts)."""
    for attempt in range(20):
        try:
            response = await client.post("/v1/stories", content=body, headers=headers)
        except httpx.HTTPError as exc:
            run.retries += 1
            if attempt == 19:
                run.errors.append(f"{article_id}: {exc!r}")
            await asyncio.sleep(0.2)
            continue
        now = time.time()
        run.statuses[response.status_code] += 1
        if response.status_code == 503:
            run.retries += 1
            await asyncio.sleep(0.5)
            continue
        if response.status_code == 202:
            run.accepted_at[article_id] = now
        else:
            run.errors.append(f"{article_id}: HTTP {response.status_code} {response.text}")
        run.last_answer = now
        return


async def push_all(
    client: httpx.AsyncClient,
    token: str,
    bodies: list[Body],
    concurrency: int,
    rate: float,
    run: Run,
) -> None:
    """`concurrency` senders; closed loop, or open at `rate` stories/s when it is above 0."""
    queue: asyncio.Queue[tuple[int, str, bytes]] = asyncio.Queue()
    for i, (article_id, body) in enumerate(bodies):
        queue.put_nowait((i, article_id, body))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start = time.monotonic()
    run.first_sent = time.time()

    async def sender() -> None:
        while not queue.empty():
            i, article_id, body = queue.get_nowait()
            if rate > 0:  # open loop: story i is due at start + i/rate, whatever came before
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await _post(client, headers, article_id, body, run)

    await asyncio.gather(*(sender() for _ in range(concurrency)))


# --------------------------------------------------------------------------------------------
# Following the published stream
# --------------------------------------------------------------------------------------------


def _published(fields: dict[bytes, bytes]) -> ArticlePublished:
    body, _ = BinaryMessageFormatV1.parse(fields[DATA_FIELD])
    return ArticlePublished.model_validate_json(body)


async def _read_published(
    redis: Redis, position: str, block_ms: int
) -> list[tuple[str, dict[bytes, bytes]]]:
    """The entries of the published stream after `position` (waiting up to `block_ms`)."""
    reply = await redis.xread({PUBLISHED: position}, count=1000, block=block_ms)
    return [
        (entry_id.decode(), fields)
        for _stream, entries in reply or []
        for entry_id, fields in entries
    ]


async def follow_published(
    redis: Redis, wanted: set[str], run: Run, done: asyncio.Event, start_id: str = "0"
) -> str:
    """Read the published stream from `start_id` until every wanted article was written."""
    last = start_id
    while not done.is_set():
        for entry_id, fields in await _read_published(redis, last, 500):
            last = entry_id
            event = _published(fields)
            if event.article_id not in wanted:
                continue
            run.outcomes[event.outcome] += 1
            if event.outcome == "written" and event.article_id not in run.published_at:
                run.published_at[event.article_id] = event.occurred_at.timestamp()
        if wanted.issubset(run.published_at):
            break
    return last


async def _busy_groups(redis: Redis) -> bool:
    """Whether any consumer group but the observers (the desk) has lag or pending entries."""
    for stream in CONSUMER_GROUPS:
        with contextlib.suppress(ResponseError):
            for group in await redis.xinfo_groups(stream):
                if group["name"].decode() in OBSERVERS.get(stream, ()):
                    continue
                if (group.get("lag") or 0) or group.get("pending"):
                    return True
    return False


async def settle(
    redis: Redis,
    env: dict[str, str],
    position: str,
    wanted: set[str] | None,
    run: Run | None,
    quiet: float,
    limit: float,
) -> str:
    """Wait until the pipeline is idle: no consumer group with lag or pending entries, no site
    page due or link refresh waiting, and nothing new on the published stream for `quiet`
    seconds. Returns the stream position."""
    start = last_activity = time.monotonic()
    while time.monotonic() - start < limit:
        for entry_id, fields in await _read_published(redis, position, 250):
            position = entry_id
            last_activity = time.monotonic()
            if run is not None:
                event = _published(fields)
                if wanted is None or event.article_id in wanted:
                    run.outcomes[event.outcome] += 1
        if await _busy_groups(redis) or await _follow_on_busy(env):
            last_activity = time.monotonic()
        if time.monotonic() - last_activity >= quiet:
            return position
    print(f"  not idle after {limit:.0f}s: going on regardless", file=sys.stderr, flush=True)
    return position


async def _follow_on_busy(env: dict[str, str]) -> bool:
    """Render has site pages due or enrich refreshes waiting (or one did not answer)."""
    try:
        return any((await follow_on_waiting(env)).values())
    except ServiceUnreachable:  # a service that does not answer is not idle
        return True


async def dead_letters(redis: Redis) -> dict[str, int]:
    """XLEN of every dead-letter stream that exists."""
    counts = {}
    for stream in CONSUMER_GROUPS:
        key = dead_letter(stream)
        if await redis.exists(key):
            counts[key] = int(await redis.xlen(key))
    return counts


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def per_second(times: list[float], origin: float) -> list[int]:
    if not times:
        return []
    bins = [0] * (int(max(times) - origin) + 1)
    for t in times:
        bins[max(0, int(t - origin))] += 1
    return bins


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def bodies_of(args: argparse.Namespace) -> tuple[list[Body], list[int]]:
    """The warm-up and measured stories' bodies, and each story's word count."""
    return _bodies(make_stories(args.stories + args.warmup, args.seed, f"s{args.seed}"))


def archive_of(args: argparse.Namespace) -> list[Body]:
    """The stories on the site before the warm-up (none by default)."""
    return _bodies(make_stories(args.archive, args.seed + 1, f"a{args.seed}"))[0]


def _bodies(stories: list[dict[str, Any]]) -> tuple[list[Body], list[int]]:
    words = [s.pop("_words") for s in stories]
    bodies = [
        (article_id_for(s["uri"]), json.dumps(s, ensure_ascii=False).encode()) for s in stories
    ]
    return bodies, words


async def _push_and_settle(
    client: httpx.AsyncClient,
    env: dict[str, str],
    redis: Redis,
    bodies: list[Body],
    concurrency: int,
    args: argparse.Namespace,
    position: str = "0",
    timeout_s: float | None = None,
) -> str:
    """Push the stories, wait until they are written and the follow-on work they set off (front
    page, link refreshes) is done. Returns the published stream's position."""
    if bodies:
        run = Run()
        await push_all(client, env["INGEST_TOKEN"], bodies, concurrency, 0, run)
        done = asyncio.Event()
        position = await asyncio.wait_for(
            follow_published(redis, set(run.accepted_at), run, done, position),
            timeout_s or args.timeout,
        )
    return await settle(redis, env, position, None, None, args.settle, SETTLE_LIMIT_S)


async def s3_requests(client: httpx.AsyncClient, env: dict[str, str]) -> dict[str, float] | None:
    """Every S3 request the services have made so far, by service and operation (from their
    `wirepress_s3_requests_total`); None if one did not answer."""
    urls = {
        "ingest": env["INGEST_URL"],
        "publish": f"http://127.0.0.1:{env['PUBLISH_PORT']}",
        "desk": env["DESK_URL"],
    }
    made: dict[str, float] = collections.defaultdict(float)
    for service, url in urls.items():
        try:
            text = (await client.get(f"{url}/metrics")).text
        except httpx.HTTPError:
            return None
        for family in text_string_to_metric_families(text):
            if family.name == "wirepress_s3_requests":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        made[f"{service} {sample.labels['operation']}"] += sample.value
    return made


async def _print_progress(run: Run, t0: float) -> None:
    while True:
        await asyncio.sleep(5)
        print(
            f"  {time.monotonic() - t0:6.1f}s accepted {len(run.accepted_at):5d}"
            f"  written {len(run.published_at):5d}",
            flush=True,
        )


async def _push_and_follow(
    client: httpx.AsyncClient,
    token: str,
    redis: Redis,
    measured: list[Body],
    run: Run,
    position: str,
    args: argparse.Namespace,
) -> tuple[set[str], str]:
    """Push the measured stories while following the published stream, until every accepted
    one is written or `args.timeout` passes. Returns the stories waited for and the position."""
    wanted = {article_id for article_id, _ in measured}
    done = asyncio.Event()
    reader = asyncio.create_task(follow_published(redis, wanted, run, done, position))
    ticker = asyncio.create_task(_print_progress(run, time.monotonic()))
    try:
        await push_all(client, token, measured, args.concurrency, args.rate, run)
        wanted.intersection_update(run.accepted_at)  # wait only for what was accepted
        await asyncio.wait_for(asyncio.shield(reader), args.timeout)
    except TimeoutError:
        print(f"timed out after {args.timeout}s waiting for publications", file=sys.stderr)
    finally:
        done.set()
        ticker.cancel()
        with contextlib.suppress(BaseException):
            position = await asyncio.wait_for(reader, 5)
    return wanted, position


async def _measured_part(
    client: httpx.AsyncClient,
    redis: Redis,
    bench: BenchStack,
    measured: list[Body],
    position: str,
    args: argparse.Namespace,
) -> tuple[Run, Counters]:
    """The measured stories, with the counters taken before, when they are written and (with
    `--settle`) once the pipeline is idle again."""
    before = Snapshot.take(bench.pids)
    run = Run()
    t0 = time.monotonic()
    wanted, position = await _push_and_follow(
        client, bench.env["INGEST_TOKEN"], redis, measured, run, position, args
    )
    wall = time.monotonic() - t0
    after = Snapshot.take(bench.pids)
    settled, settle_s = after.processes, 0.0
    if args.settle > 0:
        print(f"  waiting for the pipeline to go idle ({args.settle}s quiet) ...", flush=True)
        t1 = time.monotonic()
        await settle(redis, bench.env, position, wanted, run, args.settle, SETTLE_LIMIT_S)
        settle_s = time.monotonic() - t1
        settled = {name: cpu_seconds(pid) for name, pid in bench.pids.items()}
    return run, Counters(before, after, settled, wall, settle_s)


async def measure(args: argparse.Namespace, bench: BenchStack) -> Measurement:
    """Push the archive, warm up, then push `args.stories` stories and measure them (py-spy
    with `--profile`)."""
    bodies, words = bodies_of(args)
    warm, measured = bodies[: args.warmup], bodies[args.warmup :]
    redis = create_redis(bench.env["REDIS_URL"])
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    client = httpx.AsyncClient(base_url=bench.env["INGEST_URL"], timeout=60, limits=limits)
    profilers: dict[str, subprocess.Popen[bytes]] = {}
    profile_dir = Path(args.profile) if args.profile else None
    archive: dict[str, Any] = {"stories": args.archive}
    try:
        position = "0"
        if args.archive:
            print(f"  pushing an archive of {args.archive} stories ...", flush=True)
            t0 = time.monotonic()
            # At the slowest this machine has run (~12 stories/s), 10k stories take 14 minutes.
            position = await _push_and_settle(
                client,
                bench.env,
                redis,
                archive_of(args),
                args.concurrency,
                args,
                timeout_s=args.timeout + args.archive / 4,
            )
            archive["until_settled_s"] = round(time.monotonic() - t0, 1)
        position = await _push_and_settle(
            client, bench.env, redis, warm, min(4, args.concurrency), args, position
        )
        if profile_dir:
            profilers = start_profilers(bench.pids, profile_dir)
            await asyncio.sleep(1.0)
        s3_before = await s3_requests(client, bench.env)
        valkey_before = await redis_commands.snapshot(redis)
        run, counters = await _measured_part(client, redis, bench, measured, position, args)
        valkey_after = await redis_commands.snapshot(redis)
        s3_after = await s3_requests(client, bench.env)
        dead = await dead_letters(redis)
    finally:
        stop_profilers(profilers)
        await client.aclose()
        await redis.aclose()
    return Measurement(
        run=run,
        counters=counters,
        warmup=len(warm),
        stories=len(measured),
        words=words,
        body_sizes=[len(body) for _, body in bodies],
        pids=dict(bench.pids),
        dead_letters=dead,
        profile_dir=profile_dir,
        archive=archive,
        valkey_per_story=None
        if valkey_before is None or valkey_after is None
        else redis_commands.per_story(valkey_before, valkey_after, len(measured)),
        s3_requests=None
        if s3_before is None or s3_after is None
        else {k: v - s3_before.get(k, 0.0) for k, v in s3_after.items()},
    )
