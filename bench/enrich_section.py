"""Does the story's section help pick related links? The section enrich gives a story (from its
topic tags, `services.enrich.sections.section_for`) added as one more tag, with the shared-tag
bonus (`params.TAG_BOOST`) at several weights, on Reuters (tuning and held-out queries, as
`bench.enrich`) and on the general-news corpus (every story a query).

    python -m bench.enrich_section --out bench/results/enrich-section.json

A weight is worth adopting only if it raises p@5 on the tuning queries; neither corpus's
figures were used to pick anything before this was run.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bench.enrich as be
from services.enrich.sections import section_for
from services.enrich.tagging import tag_story
from shared.sections import load_sections

ROOT = Path(__file__).resolve().parents[1]
CORPORA = (be.DATASET, ROOT / "bench" / "data" / "general-news.jsonl")
BOOSTS = (0.0, 0.25, 0.5, 1.0, 2.0)


def section_tagger() -> Any:
    sections = load_sections()
    seen: dict[str, list[str]] = {}

    def section_tags(rec: dict[str, Any]) -> list[str]:
        if rec["id"] not in seen:
            tags = tag_story(rec["title"], rec["body"], [], [])
            seen[rec["id"]] = [f"section:{section_for(tags, sections).slug}"]
        return seen[rec["id"]]

    return section_tags


def measure(path: Path) -> list[dict[str, Any]]:
    be.DATASET = path
    recs = be.load(path)
    held, tune = be.query_sets(recs)
    labels = {r["id"]: r["subcategory"] for r in recs}
    tags = section_tagger()
    rows = []
    for boost in BOOSTS:
        started = time.perf_counter()
        with be.parameters(TAG_BOOST=boost):
            picks, _ = be.service_picks(recs, held + tune, 5, tags=tags)
        row: dict[str, Any] = {"TAG_BOOST": boost}
        if tune:
            row["tune_p@5"] = be.precision(picks, labels, tune)["micro_p@5"]
        row["held_p@5"] = be.precision(picks, labels, held)["micro_p@5"]
        row["seconds"] = round(time.perf_counter() - started, 1)
        print(path.name, row, flush=True)
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.enrich_section", description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "enrich-section.json")
    args = ap.parse_args(argv)
    result = {
        "command": "python -m bench.enrich_section",
        "what": "the story's section as one more tag, at TAG_BOOST weights (0: as the service "
        "ranks today); label: subcategory; k=5",
        "corpora": {be._shown(path): measure(path) for path in CORPORA},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
