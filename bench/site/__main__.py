"""`python -m bench.site`: the site benchmark's command line (see the package)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import site as package
from bench.pipeline.__main__ import parse_replicas
from bench.pipeline.report import cpu_model
from bench.pipeline.stack import fresh_stack, stop_on_sigterm

PARTS = ("cost", "freshness", "rebuild", "hugo")


def _numbers(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.site", description=(package.__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--parts", default=",".join(PARTS), help=f"any of {', '.join(PARTS)}")
    parser.add_argument("--cost-sizes", default="1000,10000,50000", help="archive sizes for cost")
    parser.add_argument("--cost-stories", type=int, default=100, help="new stories for cost")
    parser.add_argument(
        "--batch", type=int, default=50,
        help="cost: stories per site build (what one debounce interval brings at 50/s)",
    )  # fmt: skip
    parser.add_argument("--archive", type=int, default=10_000, help="freshness/rebuild archive")
    parser.add_argument("--rates", default="2,10,50", help="freshness: stories/s offered")
    parser.add_argument("--seconds", type=float, default=30.0, help="freshness: seconds a rate")
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--replicas", type=parse_replicas, default={}, help="freshness/rebuild: e.g. render=2"
    )
    parser.add_argument("--keep", action="store_true", help="keep the stack's temp root")
    parser.add_argument("--out", default=None, help="write the results JSON here")
    return parser


def _cost(args: argparse.Namespace) -> dict[str, Any]:
    from bench.site.cost import measure_cost

    sizes = [int(x) for x in _numbers(args.cost_sizes)]
    print(f"cost of one new story at archives of {sizes} ...", flush=True)
    per_size = asyncio.run(
        measure_cost(sizes, args.cost_stories, args.batch, args.batch, args.seed, args.page_size)
    )
    small, large = per_size[str(min(sizes))], per_size[str(max(sizes))]

    def change(key: str) -> float:
        return round(float(large[key] - small[key]) / float(small[key]) * 100, 1)

    return {
        "by_archive_size": per_size,
        "large_vs_small_percent": {
            key: change(key) for key in ("site_pages_written", "cpu_ms", "kb_written")
        },
    }


def _stack(args: argparse.Namespace, parts: set[str]) -> dict[str, Any]:
    from bench.site.freshness import measure_stack

    rates = _numbers(args.rates) if "freshness" in parts else []
    with fresh_stack(args.replicas, args.keep) as bench:
        return asyncio.run(
            measure_stack(
                bench, args.archive, rates, args.seconds, args.seed, args.page_size,
                rebuild="rebuild" in parts,
            )
        )  # fmt: skip


def _hugo(args: argparse.Namespace) -> dict[str, Any]:
    from bench.site.archive import archive_stories, listing_entries
    from bench.site.hugo import measure_hugo

    stories = archive_stories(args.archive, args.seed, datetime.now(UTC))
    print(f"hugo on the same {len(stories)} archive stories ...", flush=True)
    return measure_hugo(stories, listing_entries(stories))


def summary(result: dict[str, Any]) -> str:
    lines = []
    if "cost" in result:
        for size, figures in result["cost"]["by_archive_size"].items():
            lines.append(
                f"cost at {size}: {figures['site_pages_written']} site pages, "
                f"{figures['kb_written']} KB, {figures['cpu_ms']} ms CPU per new story"
            )
        lines.append(f"  large vs small: {result['cost']['large_vs_small_percent']}")
    for rate in result.get("stack", {}).get("rates", []):
        head = rate["all_of_home_section_tags_feeds_news_sitemap"]
        lines.append(
            f"freshness at {rate['offered_per_s']}/s: p50 {head['p50_s']}s p95 {head['p95_s']}s "
            f"p99 {head['p99_s']}s (missing {rate['missing_by_kind']})"
        )
    rebuild = result.get("stack", {}).get("rebuild")
    if rebuild:
        lines.append(f"rebuild: {rebuild['pages']} pages in {rebuild['seconds']}s, "
                     f"{rebuild['pages_per_s']}/s")  # fmt: skip
    hugo = result.get("hugo", {})
    for variant in ("with_related", "without_related"):
        if variant in hugo:
            h = hugo[variant]
            lines.append(f"hugo {variant}: {h['pages']} pages in {h['seconds']}s, "
                         f"{h['pages_per_s']}/s")  # fmt: skip
    if rebuild and "with_related" in hugo:
        ratio = rebuild["pages_per_s"] / hugo["with_related"]["pages_per_s"]
        lines.append(f"rebuild / hugo with .Related: {ratio:.2f}")
    return "\n".join(lines)


def main() -> int:
    args = build_parser().parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not parts <= set(PARTS):
        print(f"unknown parts: {parts - set(PARTS)}", file=sys.stderr)
        return 2
    stop_on_sigterm()
    started = time.time()
    result: dict[str, Any] = {
        "command": "python -m bench.site " + " ".join(sys.argv[1:]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "loadavg_before": os.getloadavg(),
        "replicas": args.replicas,
    }
    try:
        if "cost" in parts:
            result["cost"] = _cost(args)
        if parts & {"freshness", "rebuild"}:
            result["stack"] = _stack(args, parts)
        if "hugo" in parts:
            result["hugo"] = _hugo(args)
    except KeyboardInterrupt:
        return 130
    rebuild, hugo = result.get("stack", {}).get("rebuild"), result.get("hugo", {})
    if rebuild and "with_related" in hugo:
        result["rebuild_vs_hugo_with_related"] = round(
            rebuild["pages_per_s"] / hugo["with_related"]["pages_per_s"], 2
        )
    result["took_s"] = round(time.time() - started)
    print(summary(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
