"""Precision/recall of people, organisations and places from `tag_story`, and its cost per story.

Gold: the Reuters-21578 index terms in `tags` ({places, people, orgs, exchanges}) of
`shared/datasets/reuters21578/articles.jsonl` beside the repository (`../shared`; evaluation only,
no text is copied here).

How our tags are compared with Reuters' index terms (lowercase, hyphenated codes):
* places: our canonical name -> its slug body ("New Zealand" -> "new-zealand"), with the
  renames in PLACE_CODES ("United States" -> "usa", "Germany" -> "west-germany", 1987 names).
  Reuters indexes countries (and a few territories) only, so a city, US state or region we tag
  has no Reuters counterpart: it is counted as a false positive in the *strict* precision and left
  out of the *in-vocabulary* precision (only our tags whose code occurs anywhere in the gold
  place vocabulary are judged there).
* people: Reuters codes are a surname ("reagan") or first-surname ("james-baker"). One of ours
  matches when its folded surname equals the code's last part, and its first name too when both
  give one. In-vocabulary precision judges only our people whose surname is in the gold people
  vocabulary (Reuters indexes few people: 204 of 5000 stories have any).
* organisations: gold is `orgs` + `exchanges` (Reuters indexes intergovernmental bodies and
  exchanges, not companies). Ours map via ORG_CODES; anything else (companies, ministries), and
  a body whose code never occurs in the gold organisations (the UN), is a false positive in the
  strict precision and out of vocabulary otherwise, as for places.

Two runs: headline + body, and the same with the dateline ("NEW YORK, March 3 -") passed apart
from the body, `tag_story(..., dateline=...)`, since Reuters' place index follows the dateline.

    .venv/bin/python -m bench.tagging --out bench/results/tagging.json [--limit N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from services.enrich.tagging import tag_story
from services.enrich.text import fold

# The shared datasets sit beside the repository (../shared), wherever it is checked out.
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DATASET = DATASETS / "reuters21578" / "articles.jsonl"

RESULTS = Path(__file__).resolve().parent / "results"

PLACE_CODES = {
    "united-states": "usa",
    "united-kingdom": "uk",
    "germany": "west-germany",
    "soviet-union": "ussr",
    "russia": "ussr",
    "united-arab-emirates": "uae",
    "democratic-republic-of-the-congo": "zaire",
    "myanmar": "burma",
    "republic-of-the-congo": "congo",
    "czechia": "czechoslovakia",
    "palestinian-territories": "israel",
}
ORG_CODES = {
    "european-community": "ec",
    "european-union": "ec",
    "european-commission": "ec",
    "opec": "opec",
    "oapec": "oapec",
    "international-coffee-organization": "ico-coffee",
    "gatt": "gatt",
    "international-cocoa-organization": "icco",
    "oecd": "oecd",
    "international-monetary-fund": "imf",
    "world-bank": "worldbank",
    "international-energy-agency": "iea",
    "international-tin-council": "itc",
    "international-natural-rubber-organization": "inro",
    "unctad": "unctad",
    "association-of-tin-producing-countries": "atpc",
    "international-sugar-organization": "isa",
    "asean": "asean",
    "escap": "escap",
    "gulf-cooperation-council": "gcc",
    "food-and-agriculture-organization": "fao",
    "international-wrought-copper-council": "iwcc",
    "london-metal-exchange": "lme",
    "new-york-mercantile-exchange": "nymex",
    "comex": "comex",
    "new-york-stock-exchange": "nyse",
    "nasdaq": "nasdaq",
    "chicago-mercantile-exchange": "cme",
    "united-nations": "un",
}


def _body(slug: str, kind: str) -> str:
    return slug[len(kind) + 1 :]


def _person_matches(name: str, code: str) -> bool:
    ours = fold(name).lower().replace("-", " ").split()
    theirs = code.split("-")
    if not ours:
        return False
    # Multi-part surnames ("de-clercq", "leigh-pemberton") are compared as a whole tail.
    for k in range(1, len(theirs) + 1):
        tail = theirs[-k:]
        if ours[-len(tail) :] == tail:
            head = theirs[:-k]
            if not head or len(ours) == len(tail) or ours[0] == head[0]:
                return True
    return False


class Counts:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = self.fp_in_vocab = 0

    def result(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        pv = self.tp / (self.tp + self.fp_in_vocab) if self.tp + self.fp_in_vocab else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        fv = 2 * pv * r / (pv + r) if pv + r else 0.0
        return {
            "precision_strict": round(p, 3),
            "precision_in_vocab": round(pv, 3),
            "recall": round(r, 3),
            "f1_strict": round(f, 3),
            "f1_in_vocab": round(fv, 3),
            "tp": self.tp,
            "fp": self.fp,
            "fp_in_vocab": self.fp_in_vocab,
            "fn": self.fn,
        }


def evaluate(rows: list[dict], with_dateline: bool) -> dict:
    place_vocab = {p for r in rows for p in r["tags"]["places"]}
    people_vocab = {p for r in rows for p in r["tags"]["people"]}
    org_vocab = {o for r in rows for o in r["tags"]["orgs"] + r["tags"]["exchanges"]}
    counts = {"place": Counts(), "person": Counts(), "organisation": Counts()}
    times: list[float] = []
    tag_story("warm up", "The U.S. and Kenya.", [])
    for row in rows:
        dateline = row.get("dateline") if with_dateline else None
        t0 = time.perf_counter()
        tags = tag_story(row["title"], row["body"], [], dateline=dateline)
        times.append((time.perf_counter() - t0) * 1000)
        gold_places = set(row["tags"]["places"])
        gold_people = set(row["tags"]["people"])
        gold_orgs = set(row["tags"]["orgs"]) | set(row["tags"]["exchanges"])

        ours_places = set()
        for t in tags:
            if t.type == "place":
                body_slug = _body(t.slug, "place")
                ours_places.add(PLACE_CODES.get(body_slug, body_slug))
        c = counts["place"]
        c.tp += len(ours_places & gold_places)
        c.fn += len(gold_places - ours_places)
        wrong = ours_places - gold_places
        c.fp += len(wrong)
        c.fp_in_vocab += len(wrong & place_vocab)

        ours_orgs = set()
        for t in tags:
            if t.type == "organisation":
                body_slug = _body(t.slug, "organisation")
                ours_orgs.add(ORG_CODES.get(body_slug, "~" + body_slug))
        c = counts["organisation"]
        c.tp += len(ours_orgs & gold_orgs)
        c.fn += len(gold_orgs - ours_orgs)
        wrong = ours_orgs - gold_orgs
        c.fp += len(wrong)
        c.fp_in_vocab += len(wrong & org_vocab)

        people = [t.name for t in tags if t.type == "person"]
        matched_gold = set()
        c = counts["person"]
        for name in people:
            hit = next((g for g in gold_people if _person_matches(name, g)), None)
            if hit is not None and hit not in matched_gold:
                matched_gold.add(hit)
                c.tp += 1
            else:
                c.fp += 1
                if any(_person_matches(name, g) for g in people_vocab):
                    c.fp_in_vocab += 1
        c.fn += len(gold_people - matched_gold)
    times.sort()
    return {
        "per_type": {k: v.result() for k, v in counts.items()},
        "ms_per_story": {
            "p50": round(statistics.median(times), 3),
            "p95": round(times[int(0.95 * (len(times) - 1))], 3),
            "mean": round(statistics.fmean(times), 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "tagging.json")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    rows = [json.loads(line) for line in DATASET.open(encoding="utf-8")]
    if args.limit:
        rows = rows[: args.limit]
    t0 = time.perf_counter()
    tag_story("x", "y", [])
    load_ms = (time.perf_counter() - t0) * 1000
    result = {
        "dataset": "Reuters-21578 (Distribution 1.0), 5000-story single-topic sample",
        "stories": len(rows),
        "first_call_load_ms": round(load_ms, 1),
        "headline_and_body": evaluate(rows, with_dateline=False),
        "with_dateline_in_body": evaluate(rows, with_dateline=True),
        "command": "python -m bench.tagging --out bench/results/tagging.json",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
