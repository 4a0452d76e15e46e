"""A measurement run as the results JSON (bench/results/pipeline.json's shape; bench/README.md
says how to read it) and as the printed summary."""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import platform
import re
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.pipeline.measure import SETTLE_LIMIT_S, Measurement, Run, per_second, percentile
from bench.pipeline.stack import SERVERS
from cli import devstack


@dataclass
class Times:
    """When the measured stories were accepted and first written."""

    written: int  # accepted stories that were written
    latencies: list[float]  # sorted, seconds from the 202 to the first "written"
    accepted: list[float]  # sorted wall times of the 202s
    published: list[float]  # sorted first-"written" times of the accepted stories

    @classmethod
    def of(cls, run: Run) -> Times:
        done = [a for a in run.accepted_at if a in run.published_at]
        return cls(
            written=len(done),
            latencies=sorted(run.published_at[a] - run.accepted_at[a] for a in done),
            accepted=sorted(run.accepted_at.values()),
            published=sorted(run.published_at[a] for a in done),
        )

    @property
    def first_202(self) -> float:
        return self.accepted[0] if self.accepted else math.nan

    @property
    def last_202(self) -> float:
        return self.accepted[-1] if self.accepted else math.nan

    @property
    def last_publish(self) -> float:
        return self.published[-1] if self.published else math.nan

    @property
    def span(self) -> float:
        """First 202 to last first-publish: the end-to-end time."""
        return self.last_publish - self.first_202


def _per_story_ms(seconds: float, t: Times) -> float:
    return round(1000 * seconds / max(t.written, 1), 3)


def _counts(m: Measurement, t: Times) -> dict[str, Any]:
    run = m.run
    follow_on = run.outcomes.get("written", 0) + run.outcomes.get("unchanged", 0) - t.written
    return {
        "stories": m.stories,
        "warmup_stories": m.warmup,
        "accepted_202": len(run.accepted_at),
        "http_statuses": {str(k): v for k, v in sorted(run.statuses.items())},
        "retries": run.retries,
        "errors": run.errors[:20],
        "written": t.written,
        "outcomes": dict(run.outcomes),
        "follow_on_publications": follow_on,
        "missing": len(run.accepted_at) - t.written,
        "dead_letters": m.dead_letters,
        "dead_letters_total": sum(m.dead_letters.values()),
        **_s3_requests(m, t),
    }


def _s3_requests(m: Measurement, t: Times) -> dict[str, Any]:
    """S3 requests per story measured (follow-on work until idle included), by what made them."""
    if m.s3_requests is None:
        return {"s3_requests_per_story": None}
    stories = max(t.written, 1)
    return {
        "s3_requests_per_story": round(sum(m.s3_requests.values()) / stories, 3),
        "s3_requests_per_story_by_service_operation": {
            name: round(count / stories, 3) for name, count in sorted(m.s3_requests.items())
        },
    }


def _throughput(m: Measurement, t: Times) -> dict[str, Any]:
    steady = math.nan  # the publish rate between the 10th and 90th percentile publication
    if len(t.published) >= 20:
        lo, hi = int(0.1 * len(t.published)), int(0.9 * len(t.published))
        steady = (hi - lo) / (t.published[hi] - t.published[lo])
    return {
        "end_to_end_stories_per_s": round(t.written / t.span, 1) if t.span > 0 else None,
        "steady_state_publish_per_s_p10_p90": round(steady, 1),
        "ingest_202_per_s": round(len(t.accepted) / (t.last_202 - t.first_202), 1)
        if len(t.accepted) > 1
        else None,
        "span_first_202_to_last_publish_s": round(t.span, 2),
        "span_first_to_last_202_s": round(t.last_202 - t.first_202, 2),
        "drain_after_last_202_s": round(t.last_publish - t.last_202, 2),
        "wall_s": round(m.counters.wall_s, 2),
        "settle_s": round(m.counters.settle_s, 2),
        "settled_within_limit": m.counters.settle_s < SETTLE_LIMIT_S,
    }


def _latency(t: Times) -> dict[str, Any]:
    lat = t.latencies
    return {
        "definition": "ArticlePublished.occurred_at - wall time the 202 was received",
        "p50": round(percentile(lat, 0.50), 3),
        "p95": round(percentile(lat, 0.95), 3),
        "p99": round(percentile(lat, 0.99), 3),
        "max": round(lat[-1], 3) if lat else None,
        "min": round(lat[0], 3) if lat else None,
        "mean": round(statistics.fmean(lat), 3) if lat else None,
    }


def _busy_share(cpu_s: float, t: Times) -> float | None:
    return round(cpu_s / t.span, 3) if t.span > 0 else None


def _used(m: Measurement, name: str) -> tuple[float, float] | None:
    """CPU seconds of one process of the stack: (until written, until idle); None if it is gone."""
    c = m.counters
    before, after, settled = (
        c.before.processes.get(name),
        c.after.processes.get(name),
        c.settled.get(name),
    )
    if before is None or after is None or settled is None:
        return None
    return after - before, settled - before


def _per_process(m: Measurement, t: Times) -> dict[str, Any]:
    """Each process's CPU during the measured part (and until idle), then the bench's own."""
    cpu: dict[str, Any] = {}
    for name in m.pids:
        used = _used(m, name)
        if used is None:
            cpu[name] = None
            continue
        cpu[name] = {
            "cpu_s": round(used[0], 3),
            "ms_per_story": _per_story_ms(used[0], t),
            "ms_per_story_until_idle": _per_story_ms(used[1], t),
            "busy_share_of_one_core": _busy_share(used[0], t),
        }
    own = m.counters.after.own_cpu - m.counters.before.own_cpu
    cpu["bench-client"] = {
        "cpu_s": round(own, 3),
        "ms_per_story": _per_story_ms(own, t),
        "busy_share_of_one_core": _busy_share(own, t),
    }
    return cpu


def _cpu(m: Measurement, t: Times) -> dict[str, Any]:
    c = m.counters
    cpu = _per_process(m, t)
    used = [u for u in (_used(m, name) for name in m.pids) if u is not None]
    total, total_settled = sum(u[0] for u in used), sum(u[1] for u in used)
    machine = c.after.machine_busy - c.before.machine_busy
    # Whatever else ran on the machine meanwhile (other stacks, tests, builds) competed for cores.
    others = machine - total - (c.after.own_cpu - c.before.own_cpu)
    services = [n for n in m.pids if n not in SERVERS and cpu.get(n)]
    return {
        "per_process": cpu,
        "services_ms_per_story": _per_story_ms(sum(cpu[n]["cpu_s"] for n in services), t),
        "all_processes_ms_per_story": _per_story_ms(total, t),
        "services_ms_per_story_until_idle": round(
            sum(cpu[n]["ms_per_story_until_idle"] for n in services), 3
        ),
        "all_processes_ms_per_story_until_idle": _per_story_ms(total_settled, t),
        "machine_busy_cores": round(machine / c.wall_s, 2),
        "other_processes_busy_cores": round(others / c.wall_s, 2),
        "loadavg_before": [round(x, 2) for x in c.before.loadavg],
        "loadavg_after": [round(x, 2) for x in c.after.loadavg],
    }


def _story_words(m: Measurement) -> dict[str, Any]:
    return {
        "min": min(m.words),
        "median": int(statistics.median(m.words)),
        "max": max(m.words),
        "mean_body_bytes": int(statistics.fmean(m.body_sizes)),
    }


def _profiles(m: Measurement) -> dict[str, Any] | None:
    if m.profile_dir is None:
        return None
    return {
        name: summarise_profile(m.profile_dir / f"{name}.txt")
        for name in m.pids
        if name not in SERVERS
    }


def figures(m: Measurement) -> dict[str, Any]:
    """The measured part of the results: counts, throughput, latency, CPU, timeline, stories."""
    t = Times.of(m.run)
    return {
        "counts": _counts(m, t),
        "throughput": _throughput(m, t),
        "latency_s": _latency(t),
        "cpu": _cpu(m, t),
        "timeline_per_s": {
            "accepted": per_second(t.accepted, t.first_202),
            "written": per_second(t.published, t.first_202),
        },
        "story_words": _story_words(m),
        "profile": _profiles(m),
    }


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def results(args: argparse.Namespace, m: Measurement) -> dict[str, Any]:
    """The results JSON of a run: what was run, where, with what, then the figures."""
    return {
        "benchmark": "pipeline end to end (ingest HTTP -> enrich -> render -> publish to S3)",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "cpu_model": cpu_model(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "parameters": {
            "stories": args.stories,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "load_model": "open" if args.rate > 0 else "closed",
            "rate": args.rate or None,
            "seed": args.seed,
            "archive": args.archive,
            "replicas": {name: args.replicas.get(name, 1) for name in devstack.SERVICES},
            "profiled": bool(args.profile),
        },
        "archive": m.archive,
        **figures(m),
        "valkey_per_story_by_service": m.valkey_per_story,
    }


def against_floor(result: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    """The headline: end to end as a share of the floor measured in the same run."""
    end_to_end = result["throughput"]["end_to_end_stories_per_s"]
    cpu = result["cpu"]
    ours = cpu["services_ms_per_story"]
    # Every process of the stack (servers included, the bench's own client not).
    every = cpu["all_processes_ms_per_story"]
    return {
        "end_to_end_over_floor": round(end_to_end / floor["stories_per_s"], 3)
        if end_to_end
        else None,
        "end_to_end_stories_per_s": end_to_end,
        "floor_stories_per_s": floor["stories_per_s"],
        "cpu_ms_per_story_ours": {
            "end_to_end": ours,
            "floor": floor["cpu_ms_per_story"]["workers"],
        },
        "cpu_ms_per_story_all_processes": {
            "end_to_end": round(every, 3),
            "floor": floor["cpu_ms_per_story"]["all"],
        },
        "s3_requests_per_story": {
            "end_to_end": result["counts"]["s3_requests_per_story"],
            "floor": floor["s3_requests_per_story"],
        },
        "overhead_ms_per_story_by_process": _overheads(cpu["per_process"], floor),
    }


# Which of the floor's steps each process of the pipeline does.
STEPS_OF = {
    "ingest": ("auth", "parse", "archive_put"),
    "enrich": ("tag", "pick", "semantic_fit"),
    "render": ("render",),
    "publish": ("page_put",),
}


def _overheads(per_process: dict[str, Any], floor: dict[str, Any]) -> dict[str, float]:
    """Each stage's CPU per story end to end (its replicas summed) less what the floor spent on
    its steps: what running as separate services over streams costs (site pages and link
    refreshes included, which the floor does not do)."""
    steps, floor_cpu = floor["steps_cpu_ms_per_story"], floor["cpu_ms_per_story"]
    stages: dict[str, float] = {}
    for name, figures in per_process.items():
        if figures and name != "bench-client":
            base = name.split("#")[0]
            stages[base] = stages.get(base, 0.0) + figures["ms_per_story"]
    out: dict[str, float] = {}
    for stage, spent in stages.items():
        if stage in STEPS_OF:
            floor_spent = sum(steps.get(step, 0.0) for step in STEPS_OF[stage])
        else:
            floor_spent = floor_cpu.get(f"stack {stage}", 0.0)
        out[stage] = round(spent - floor_spent, 3)
    return out


def failed(result: dict[str, Any]) -> bool:
    """A story was not accepted, or accepted and not written."""
    counts = result["counts"]
    return bool(counts["missing"] > 0 or counts["accepted_202"] < result["parameters"]["stories"])


def write(result: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results in {out}")


def _busy_cores(per_process: dict[str, Any]) -> str:
    return "  ".join(
        f"{name} {v['busy_share_of_one_core']}" for name, v in per_process.items() if v
    )


def summary(result: dict[str, Any]) -> str:
    c, t, lat, cpu = result["counts"], result["throughput"], result["latency_s"], result["cpu"]
    lines = [
        f"stories {c['stories']}: accepted {c['accepted_202']}, written {c['written']}, "
        f"missing {c['missing']}, dead letters {c['dead_letters_total']}, retries {c['retries']}",
        f"end to end   {t['end_to_end_stories_per_s']} stories/s "
        f"({c['written']} in {t['span_first_202_to_last_publish_s']} s, first 202 -> last publish);"
        f" steady state (p10-p90) {t['steady_state_publish_per_s_p10_p90']}/s",
        f"ingest only  {t['ingest_202_per_s']} 202s/s (all accepted in "
        f"{t['span_first_to_last_202_s']} s; "
        f"pipeline drained {t['drain_after_last_202_s']} s later)",
        f"latency      p50 {lat['p50']} s  p95 {lat['p95']} s  p99 {lat['p99']} s  "
        f"max {lat['max']} s",
        "cpu ms/story "
        + "  ".join(f"{name} {v['ms_per_story']}" for name, v in cpu["per_process"].items() if v),
        f"             services total {cpu['services_ms_per_story']} ms/story "
        f"({cpu['services_ms_per_story_until_idle']} until idle, with "
        f"{c['follow_on_publications']} follow-on publications); "
        f"machine busy {cpu['machine_busy_cores']} cores, of which other processes "
        f"{cpu['other_processes_busy_cores']}; "
        f"busy (cores): " + _busy_cores(cpu["per_process"]),
    ]
    floor, vs = result.get("floor"), result.get("vs_floor")
    if floor and vs:
        lines += [
            f"floor        {floor['stories_per_s']} stories/s in {floor['workers']} workers "
            f"(archive {floor['archive_stories']}); cpu ms/story workers "
            f"{floor['cpu_ms_per_story']['workers']}, all {floor['cpu_ms_per_story']['all']}; "
            "steps " + "  ".join(f"{k} {v}" for k, v in floor["steps_cpu_ms_per_story"].items()),
            f"headline     end to end / floor = {vs['end_to_end_over_floor']}; cpu ms/story "
            f"ours {vs['cpu_ms_per_story_ours']}, all {vs['cpu_ms_per_story_all_processes']}; "
            f"S3 requests/story {vs['s3_requests_per_story']}",
        ]
    for name, prof in (result.get("profile") or {}).items():
        if prof.get("samples"):
            top = ", ".join(f"{f} {s:.0%}" for f, s in prof["self"][:5])
            lines.append(f"profile {name} (self): {top}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# py-spy profiles
# --------------------------------------------------------------------------------------------

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
# Frames every stack passes through: they say nothing about where the time goes. A service runs
# as `python -m services.<name>` (its __main__.py), which hands over to shared/runner.py and
# uvicorn; cli/ is the command line (`wirepress serve` runs a service through it).
_PLUMBING = (
    "<frozen", "threading.py", "asyncio/", "uvicorn/", "cli/", "shared/runner.py",
    "concurrent/futures/", "selectors.py", "contextlib.py", "anyio/", "starlette/",
)  # fmt: skip
_OURS = ("services/", "shared/")


def _frames(stack_text: str) -> list[tuple[str, str]]:
    """(function, file) of each frame of a collapsed stack, outermost first."""
    frames = []
    for frame in stack_text.split(";"):
        match = _FRAME.match(frame)
        frames.append((match["func"], match["file"]) if match else (frame, ""))
    return frames


def _plumbing(file: str) -> bool:
    return file.startswith(_PLUMBING) or (file.startswith(_OURS) and file.endswith("__main__.py"))


def summarise_profile(path: Path, top: int = 8) -> dict[str, Any]:
    """Top functions of a py-spy raw (collapsed) profile: shares of the samples in which the
    function is on top of the stack (self), or anywhere in it (inclusive; our own code, and
    libraries, both minus the event loop / thread pool / server / entry-point plumbing)."""
    self_: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    libs: collections.Counter[str] = collections.Counter()
    total = 0
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    for line in lines:
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = _frames(stack_text)
        if frames:
            self_["{} ({})".format(*frames[-1])] += count
        for func, file in set(frames):
            if file and not _plumbing(file):
                (ours if file.startswith(_OURS) else libs)[f"{func} ({file})"] += count
    if not total:
        return {"samples": 0}

    def share(counter: collections.Counter[str]) -> list[list[Any]]:
        return [[name, round(n / total, 3)] for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "self": share(self_),
        "inclusive_ours": share(ours),
        "inclusive_libraries": share(libs),
    }
