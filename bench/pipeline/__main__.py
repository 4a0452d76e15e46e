"""`python -m bench.pipeline`: the command line of the pipeline benchmark (see the package)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench import pipeline
from bench.pipeline import report
from bench.pipeline.measure import measure
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
    args = build_parser().parse_args()
    stop_on_sigterm()
    try:
        with fresh_stack(args.replicas, args.keep) as bench:
            mode = f"open loop at {args.rate}/s" if args.rate > 0 else "closed loop"
            print(
                f"pushing {args.stories} stories, {args.concurrency} senders, {mode} ...",
                flush=True,
            )
            measurement = asyncio.run(measure(args, bench))
    except KeyboardInterrupt:
        return 130
    result = report.results(args, measurement)
    print(report.summary(result))
    if args.out:
        report.write(result, Path(args.out))
    return 1 if report.failed(result) else 0


if __name__ == "__main__":
    sys.exit(main())
