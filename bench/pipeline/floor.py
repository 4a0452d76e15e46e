"""The floor: the same stories through the same essential steps, called directly, with no streams.

Each story is authenticated (the bearer token, as ingest checks it), parsed, archived raw (one
PUT), tagged, given its relevance features and related links (picked from an in-memory index that
holds the archive and the stories before it), rendered, compressed and written as a page (one
PUT): what the pipeline must do for a story, without the hops between services. It runs in one
worker process per core against the stack's own SeaweedFS (in buckets of its own, so nothing the
pipeline wrote is touched), after the end-to-end run, so end to end ÷ floor compares two figures
of one run on one machine.

What the floor leaves out, because the pipeline's services do it only to work as separate,
restartable processes: Redis (streams, records, ledgers, the index log), events' encoding and
validation, the archive's tag-name book (one per worker here), publish's HEAD-free record of
each page, listings and site pages (measured by `make bench-site`). Each worker's index holds the
archive and its own share of the measured stories, not the other worker's.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from bench.pipeline.stack import cpu_seconds, machine_busy_seconds
from services.enrich.handlers import (
    enriched_event,
    links_of,
    page_path_for,
    relevance_features,
    tags_for,
)
from services.enrich.ports import EnrichConfig, LinkTarget, StoredStory
from services.enrich.relevance import RelatedIndex, StoryFeatures, pick_links, semantic
from services.enrich.text import StoryText, story_text
from services.ingest.auth import Authenticator, Credentials
from services.ingest.handlers import archive_metadata, parse_payload, raw_key_for
from services.ingest.settings import FeedConfig
from services.render.pages import PageRenderer
from services.render.site import SiteInfo
from shared.events import gzip_page
from shared.hashing import sha256_hex
from shared.html import body_blocks
from shared.models import Article, Tag
from shared.settings import StorageSettings
from shared.storage import Storage

FLOOR_SITE_BUCKET = "wirepress-floor-site"
FLOOR_ARCHIVE_BUCKET = "wirepress-floor-archive"
FEED = "bench"
CONTENT_TYPE = "application/json"
CACHE_CONTROL = "public, max-age=60"
STEPS = ("auth", "parse", "archive_put", "tag", "pick", "render", "page_put")
#: Reported beside the steps: only some stories set off a fit of the semantic model.
SEMANTIC_FIT = "semantic_fit"


class _NoReplayCache:
    """Bearer tokens are never replay-checked (only signatures are): the floor signs nothing."""

    async def first_seen(self, key: str, ttl_s: int) -> bool:
        raise AssertionError("the floor authenticates by bearer token only")


_NO_REPLAY_CACHE = _NoReplayCache()


@dataclass(frozen=True)
class FloorJob:
    """One worker's share: the archive it indexes first, then the stories it measures."""

    worker: int
    s3_endpoint_url: str
    site_url: str
    token: str
    archive: Sequence[bytes]
    #: Its first story, which pays for imports, template compiles and the S3 connection: not
    #: timed (a story of the end-to-end warm-up: the floor's buckets are its own).
    warm: bytes
    stories: Sequence[bytes]


class _Worker:
    """The essential steps, with everything a worker needs built once before it is timed."""

    def __init__(self, job: FloorJob) -> None:
        self.config = EnrichConfig()
        self.renderer = PageRenderer(
            SiteInfo(url=job.site_url, name="Wirepress", sections=self.config.sections.in_order)
        )
        self.index = RelatedIndex()
        self.feed = FeedConfig(name=FEED, secret=SecretStr(job.token))
        self.auth = Authenticator([self.feed], skew_s=300, replay_cache=_NO_REPLAY_CACHE)
        self.credentials = Credentials(bearer=job.token, authorization_scheme="Bearer")
        self.storage = floor_storage(job.s3_endpoint_url)
        self.targets: dict[str, LinkTarget] = {}
        self.s3_requests = 0

    def analyse(self, body: bytes) -> StoryFeatures:
        """Parse, tag and give features to one story, and remember what a link to it shows."""
        article = parse_payload(body, CONTENT_TYPE)[0].article
        text, _, features = self.tag(article)
        self.remember(article, text)
        return features

    @staticmethod
    def tag(article: Article) -> tuple[StoryText, list[Tag], StoryFeatures]:
        text = story_text(article)
        tags = tags_for(article, text)
        return text, tags, relevance_features(article, text, tags)

    def remember(self, article: Article, text: StoryText) -> None:
        self.targets[article.article_id] = LinkTarget(
            article.article_id,
            article.headline,
            page_path_for(article),
            text.excerpt,
            article.published_at,
        )

    def load_archive(self, archive: Sequence[bytes]) -> None:
        for body in archive:
            self.index.add(self.analyse(body))
        self.refit_if_due()

    def refit_if_due(self) -> None:
        """Fit the semantic model when enrich would (`semantic.refit_due`: at 200 stories, then
        each time the archive has grown by a fifth): its cost is part of the pick's."""
        now = time.time()
        if semantic.refit_due(self.index.semantic_model, len(self.index), now):
            recent, rest = self.index.semantic_snapshots()
            fitted = semantic.fit_archive(recent, rest, now=now)
            if fitted is not None:
                self.index.install_semantic(*fitted)

    def story(self, body: bytes, spent: dict[str, float]) -> None:
        """One story through every essential step, the CPU of each added to `spent`."""
        with _timed(spent, "auth"):
            self.auth.precheck(self.credentials)
        with _timed(spent, "parse"):
            article = parse_payload(body, CONTENT_TYPE)[0].article
        with _timed(spent, "archive_put"):
            received = datetime.now(UTC)
            self.storage.archive_raw(
                raw_key_for(received, body, FEED, CONTENT_TYPE),
                body,
                CONTENT_TYPE,
                archive_metadata(self.feed, CONTENT_TYPE, received, "floor"),
            )
            self.s3_requests += 1
        with _timed(spent, "tag"):
            text, tags, features = self.tag(article)
        config = self.config
        with _timed(spent, "pick"):
            picks = pick_links(self.index, features, config.read_also, config.related_posts)
            self.index.add(features)
            self.remember(article, text)
            read_also, related = links_of(picks, self.targets, config)
            stored = StoredStory(article=article, page_path=page_path_for(article), corrected=False)
            enriched = enriched_event(stored, "floor", config, tags, read_also, related, 1)
        with _timed(spent, SEMANTIC_FIT):
            self.refit_if_due()
        with _timed(spent, "render"):
            html = self.renderer.render_article(enriched, body_blocks(article.body_html))
            page = html.encode("utf-8")
            packed = gzip_page(page)
        with _timed(spent, "page_put"):
            self.storage.put_page(
                enriched.page_path,
                packed,
                ordering=enriched.ordering,
                cache_control=CACHE_CONTROL,
                if_match=None,
                if_none_match=True,
                content_encoding="gzip",
                sha256=sha256_hex(page),
            )
            self.s3_requests += 1


@contextmanager
def _timed(spent: dict[str, float], step: str) -> Iterator[None]:
    """Add the CPU time of the block to `spent[step]`."""
    t = time.process_time()
    try:
        yield
    finally:
        spent[step] += time.process_time() - t


def _work(job: FloorJob, messages: Any, go: Any) -> None:
    """A worker: ("ready", n) once set up, then ("done", its report), or ("error", why)."""
    try:
        worker = _Worker(job)
        t = time.process_time()
        worker.load_archive(job.archive)
        worker.story(job.warm, defaultdict(float))
        load_cpu = time.process_time() - t
        messages.put(("ready", job.worker))
        go.wait()
        spent: dict[str, float] = defaultdict(float)
        requests_before = worker.s3_requests
        cpu0, wall0 = time.process_time(), time.monotonic()
        for body in job.stories:
            worker.story(body, spent)
        messages.put(
            (
                "done",
                {
                    "worker": job.worker,
                    "stories": len(job.stories),
                    "cpu_s": time.process_time() - cpu0,
                    "wall_s": time.monotonic() - wall0,
                    "ended_at": time.monotonic(),
                    "s3_requests": worker.s3_requests - requests_before,
                    "steps_cpu_s": dict(spent),
                    "archive": len(job.archive),
                    "index_stories": len(worker.index),
                    "load_cpu_s": round(load_cpu, 1),
                },
            )
        )
    except BaseException as exc:
        messages.put(("error", f"worker {job.worker}: {type(exc).__name__}: {exc}"))
        raise


def _collect(messages: Any, procs: Sequence[Any], kind: str, timeout_s: float) -> list[Any]:
    """One `kind` message from every worker. A worker's error, a worker that died without a
    word (killed, out of memory) or the time limit stops the floor at once, saying which."""
    got: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < len(procs):
        try:
            what, payload = messages.get(timeout=1.0)
        except queue.Empty:
            dead = [proc.exitcode for proc in procs if proc.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a floor worker died (exit code {dead[0]})") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"the floor's workers were not {kind} in {timeout_s}s") from None
            continue
        if what == "error":
            raise RuntimeError(f"the floor failed: {payload}")
        got.append(payload)
    return got


def floor_storage(s3_endpoint_url: str) -> Storage:
    """The stack's SeaweedFS, in the floor's own buckets."""
    return Storage(
        StorageSettings(
            s3_endpoint_url=s3_endpoint_url,
            site_bucket=FLOOR_SITE_BUCKET,
            archive_bucket=FLOOR_ARCHIVE_BUCKET,
        )
    )


def ensure_buckets(s3_endpoint_url: str) -> None:
    storage = floor_storage(s3_endpoint_url)
    try:
        storage.ensure_buckets()
    finally:
        storage.close()


def measure_floor(
    env: dict[str, str],
    pids: dict[str, int],
    archive: Sequence[bytes],
    warm: Sequence[bytes],
    stories: Sequence[bytes],
    workers: int | None = None,
    timeout_s: float = 1800,
) -> dict[str, Any]:
    """Run the floor in `workers` processes (one per core by default) and report it: stories/s,
    CPU per story (workers, SeaweedFS, every other process of the stack), per step, S3 requests."""
    workers = workers or os.cpu_count() or 1
    if len(warm) < workers:
        raise ValueError(f"one warm-up story per worker: {len(warm)} for {workers} workers")
    ensure_buckets(env["S3_ENDPOINT_URL"])
    context = mp.get_context("spawn")
    messages, go = context.Queue(), context.Event()
    jobs = [
        FloorJob(
            worker=n,
            s3_endpoint_url=env["S3_ENDPOINT_URL"],
            site_url=env["SITE_URL"],
            token=env["INGEST_TOKEN"],
            archive=archive,
            warm=warm[n],
            stories=stories[n::workers],
        )
        for n in range(workers)
    ]
    procs = [context.Process(target=_work, args=(job, messages, go)) for job in jobs]
    for proc in procs:
        proc.start()
    finished = False
    try:
        t_ready = time.monotonic()
        _collect(messages, procs, "ready", timeout_s)
        setup_s = time.monotonic() - t_ready
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        busy0, wall0 = machine_busy_seconds(), time.monotonic()
        go.set()
        reports = _collect(messages, procs, "done", timeout_s)
        wall = max(r["ended_at"] for r in reports) - wall0
        busy = machine_busy_seconds() - busy0
        after = {name: cpu_seconds(pid) for name, pid in pids.items()}
        loadavg = os.getloadavg()
        finished = True
    finally:
        # Done: the workers are exiting. Failed: whatever still runs is stopped now.
        for proc in procs:
            if finished:
                proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
    return _report(reports, before, after, wall, busy, loadavg, setup_s)


def _report(
    reports: list[dict[str, Any]],
    before: dict[str, float | None],
    after: dict[str, float | None],
    wall: float,
    busy: float,
    loadavg: tuple[float, float, float],
    setup_s: float,
) -> dict[str, Any]:
    count = sum(r["stories"] for r in reports)
    workers_cpu = sum(r["cpu_s"] for r in reports)
    others = {
        name: round(1000 * ((after[name] or 0.0) - (before[name] or 0.0)) / count, 3)
        for name in before
        if before[name] is not None and after.get(name) is not None
    }
    steps: dict[str, float] = defaultdict(float)
    for r in reports:
        for step, seconds in r["steps_cpu_s"].items():
            steps[step] += seconds
    return {
        "workers": len(reports),
        "stories": count,
        "archive_stories": reports[0]["archive"],
        "wall_s": round(wall, 2),
        "stories_per_s": round(count / wall, 1),
        "cpu_ms_per_story": {
            "workers": round(1000 * workers_cpu / count, 3),
            **{f"stack {name}": ms for name, ms in others.items()},
            "all": round(1000 * workers_cpu / count + sum(others.values()), 3),
        },
        "steps_cpu_ms_per_story": {
            s: round(1000 * steps[s] / count, 3) for s in (*STEPS, SEMANTIC_FIT)
        },
        "s3_requests_per_story": round(sum(r["s3_requests"] for r in reports) / count, 3),
        "machine": {
            "busy_cores": round(busy / wall, 2),
            "loadavg": [round(x, 2) for x in loadavg],
        },
        "setup_s": round(setup_s, 1),
        "per_worker": [
            {k: r[k] for k in ("worker", "stories", "cpu_s", "wall_s", "index_stories")}
            for r in reports
        ],
    }
