"""What reading a story costs in each wire format: `parse_stories` on every real sample of
``../shared/wire-samples`` that is a text story, in this process, side by side in one run.

    python -m bench.formats --rounds 300 --out bench/results/formats.json

Per format: the median over its samples of the CPU time one parse takes (µs), and that as a
multiple of NITF's, the format the issue compares against.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.ingest.formats import ParseError, parse_stories

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "wire-samples"


def samples() -> dict[str, list[Path]]:
    by_format: dict[str, list[Path]] = {}
    with (SAMPLES / "MANIFEST.tsv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["format"] != "json-schema":
                by_format.setdefault(row["format"], []).append(SAMPLES / row["file"])
    return by_format


def cost_us(payload: bytes, rounds: int) -> float | None:
    """CPU µs per parse, best of three batches; None for a sample that is not a text story."""
    try:
        parse_stories(payload)
    except ParseError:
        return None
    batches = []
    for _ in range(3):
        started = time.process_time()
        for _ in range(rounds):
            parse_stories(payload)
        batches.append((time.process_time() - started) / rounds * 1e6)
    return min(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "formats.json")
    args = parser.parse_args()
    formats: dict[str, Any] = {}
    for name, paths in sorted(samples().items()):
        costs = {
            p.name: round(c, 1)
            for p in paths
            if (c := cost_us(p.read_bytes(), args.rounds)) is not None
        }
        if costs:
            formats[name] = {
                "samples": costs,
                "median_us": round(statistics.median(costs.values()), 1),
                "median_bytes": int(statistics.median(p.stat().st_size for p in paths)),
            }
    nitf = formats["nitf"]["median_us"]
    for entry in formats.values():
        entry["times_nitf"] = round(entry["median_us"] / nitf, 2)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load": os.getloadavg(),
        },
        "command": f"python -m bench.formats --rounds {args.rounds}",
        "formats": formats,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, entry in formats.items():
        print(f"{name:20} {entry['median_us']:8.1f} µs  x{entry['times_nitf']:.2f} NITF")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
