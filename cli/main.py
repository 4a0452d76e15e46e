"""`wirepress`: run a service, push stories, watch and fix the pipeline, republish, inspect
what the services make of a file, or run the whole stack on one machine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from cli import asyncapi, desk, editors, feed, inspection, ops, serve, stack


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wirepress", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for audience in (serve, feed, ops, editors, desk, inspection, stack, asyncapi):
        audience.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: Any = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
