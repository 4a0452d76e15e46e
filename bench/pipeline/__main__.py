"""`python -m bench.pipeline`: the command line of the pipeline benchmark (see the package)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bench import pipeline
from bench.pipeline import floor, report
from bench.pipeline.measure import archive_of, bodies_of, measure
from bench.pipeline.stack import fresh_stack, stop_on_sigterm
from cli import devstack


def parse_replicas(text: str) -> dict[str, int]:
    replicas: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition("=")
        if name not in devstack.SERVICES or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"bad replica spec {part!r} (e.g. enrich=2)")
        if name == "ingest" and int(count) != 1:
            raise argparse.ArgumentTypeError("ingest has one replica (it owns the HTTP port)")
        replicas[name] = int(count)
    return replicas


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=(pipeline.__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent HTTP senders")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="open loop at this many stories/s (0: closed loop)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--archive", type=int, default=0, help="stories pushed and settled before the warm-up"
    )
    parser.add_argument(
        "--floor-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes of the floor run after end to end (0: no floor)",
    )
    parser.add_argument("--warmup", type=int, default=20, help="stories pushed before measuring")
    parser.add_argument("--timeout", type=float, default=600.0, help="max wait for publications")
    parser.add_argument(
        "--settle",
        type=float,
        default=6.0,
        help="after the last story is written, wait until the pipeline has been idle this long "
        "(follow-on republishing included) and measure CPU again; 0: skip",
    )
    parser.add_argument(
        "--replicas", type=parse_replicas, default={}, help="e.g. enrich=2,publish=2"
    )
    parser.add_argument("--profile", default=None, help="py-spy every service into this folder")
    parser.add_argument("--keep", action="store_true", help="keep the temp root (logs, data)")
    parser.add_argument("--out", default=None, help="write the results JSON here")
    return parser


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    if args.floor_workers > args.warmup:
        # Each floor worker's untimed first story is one of the warm-up's.
        parser.error(f"--warmup must be at least --floor-workers ({args.floor_workers})")
    stop_on_sigterm()
    try:
        with fresh_stack(args.replicas, args.keep) as bench:
            mode = f"open loop at {args.rate}/s" if args.rate > 0 else "closed loop"
            print(
                f"pushing {args.stories} stories, {args.concurrency} senders, {mode} ...",
                flush=True,
            )
            measurement = asyncio.run(measure(args, bench))
            result = report.results(args, measurement)
            if args.out:  # kept whatever becomes of the floor
                report.write(result, Path(args.out))
            if args.floor_workers > 0:
                print(
                    f"the floor: the same stories in {args.floor_workers} workers ...", flush=True
                )
                bodies = [body for _, body in bodies_of(args)[0]]
                result["floor"] = floor.measure_floor(
                    bench.env,
                    bench.pids,
                    [body for _, body in archive_of(args)],
                    bodies[: args.warmup],
                    bodies[args.warmup :],
                    args.floor_workers,
                )
                result["vs_floor"] = report.against_floor(result, result["floor"])
    except KeyboardInterrupt:
        return 130
    print(report.summary(result))
    if args.out:
        report.write(result, Path(args.out))
    return 1 if report.failed(result) else 0


if __name__ == "__main__":
    sys.exit(main())
