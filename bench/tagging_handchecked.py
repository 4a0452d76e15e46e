"""How many person, organisation and place tags are right, on stories labelled by hand.

The stories: the demo feed (`demo/stories/`) and long test stories written for the purpose
(`tests/data/tagging/long-stories/`, varied sections, 900-1400 words, with Title-Case subheads).
Their labels (`tests/data/tagging/labels/*.json`) list every person, organisation and place a
story names, with every form it uses, the countries its cities imply, and name-like phrases that
are none of them ("World Cup", "Finance Bill"). They were written from the stories' text alone,
by labellers who never saw the tagger's output, and committed before the tagger was tuned on them
(see `git log -- tests/data/tagging/labels`).

A tag is right when its name is the name or one of the forms of an entity of its own type in the
story's labels (names compared case- and accent-folded, a leading "the" and a parenthesised
qualifier such as "(U.S. state)", full stops, "the", an honorific ("Ms Lee" is "Lee"), a final
legal form ("Co", "Inc") and an ampersand ignored; "U.S."/"US", "UK" and "UN" read as the names they stand for; a name with a comma
matches by its first part too: "Washington, D.C." is "Washington"). Anything else is wrong: an entity of another type
("Harambee Stars" as a person), a phrase labelled as no entity, or a name the labels do not have.
Every wrong tag is listed in the results, so each can be read against its story. The labels
cover the headline, the standfirst and the body; the dateline (`located`) was not labelled, so a
place tag that is the dateline, or the country the gazetteer puts the dateline's place in, is
right too.

Recall is reported too, against the entities the story names outright (not the implied
countries, nor the bodies only described in lower case: a tagger is not asked to find those).

    .venv/bin/python -m bench.tagging_handchecked --out bench/results/tagging-handchecked.json
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from services.enrich import tags_for
from services.enrich.tagging.data import gazetteer, key
from services.ingest.formats import parse_story
from shared.models import Article, Tag

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "tagging" / "labels"
STORY_DIRS = {"demo": ROOT / "demo" / "stories"}
LONG_STORIES = ROOT / "tests" / "data" / "tagging" / "long-stories"
RESULTS = Path(__file__).resolve().parent / "results"
TYPES = ("person", "organisation", "place")
# Labels kept for completeness that no tagger is asked to find: bodies only described in lower
# case ("Russia's defence ministry") and entities named only inside another name.
_NOT_NAMED = ("lower-case", "described, not named", "only inside", "only appears inside")
_QUALIFIER = re.compile(r"\s*\([^)]*\)\s*$")


# The same name spelled out: "U.S. Senate" is "United States Senate", "UK" the United Kingdom.
_PREFIXES = {"us ": "united states ", "uk ": "united kingdom ", "un ": "united nations "}
_HONORIFICS = {"mr", "mrs", "ms", "dr", "sir", "dame", "prof"}
_LEGAL = {"co", "company", "corp", "corporation", "inc", "ltd", "plc", "llc", "ag", "sa", "group"}


def _norm(name: str) -> str:
    text = key(_QUALIFIER.sub("", name).replace(".", "").replace("\u2019", "'"))
    text = text[4:] if text.startswith("the ") else text
    for short, full in _PREFIXES.items():
        if text.startswith(short):
            text = full + text[len(short) :]
    words = [w for w in text.replace(" &", "").split() if w != "the"]
    while len(words) > 1 and words[0] in _HONORIFICS:
        words.pop(0)
    while len(words) > 1 and words[-1] in _LEGAL:
        words.pop()
    return " ".join(words)


def _norms(name: str) -> set[str]:
    """A tag's name, and its first part where it has a comma ("Washington, D.C.")."""
    return {_norm(name), _norm(name.split(",")[0])}


def _forms(entity: dict[str, Any]) -> set[str]:
    return {_norm(entity["name"]), *(_norm(a) for a in entity.get("aliases", []))}


def _named(entity: dict[str, Any]) -> bool:
    note = str(entity.get("note", "")).lower()
    return entity.get("via") != "implied" and not any(n in note for n in _NOT_NAMED)


def labelled_stories() -> Iterator[tuple[str, str, Path, dict[str, Any]]]:
    """(label set, story file name, story path, labels) for every labelled story."""
    for label_file in sorted(LABELS.glob("*.json")):
        labels = json.loads(label_file.read_text(encoding="utf-8"))
        folder = STORY_DIRS.get(label_file.stem, LONG_STORIES)
        for name, story_labels in sorted(labels.items()):
            yield label_file.stem, name, folder / name, story_labels


def dateline_places(located: str | None) -> set[str]:
    """The dateline's places ("Cape Canaveral, Florida"), and the countries they are in."""
    parts = [p.strip() for p in (located or "").split(",") if p.strip()]
    names = {_norm(p) for p in parts}
    places = gazetteer().places
    for part in parts:
        found = places.get(key(part))
        if found is not None:
            names.add(_norm(found[0].name))
            if found[0].country:
                names.add(_norm(found[0].country))
    return names


def judge(tag_type: str, tag_name: str, labels: dict[str, Any], dateline: set[str]) -> str:
    """'right', or why the tag is wrong."""
    names = _norms(tag_name)
    if any(names & _forms(e) for e in labels.get(tag_type, [])):
        return "right"
    if tag_type == "place" and names & dateline:
        return "right"
    for other in TYPES:
        if other != tag_type and any(names & _forms(e) for e in labels.get(other, [])):
            return f"is a {other}"
    if names & {_norm(n) for n in labels.get("not_entities", [])}:
        return "is no entity"
    return "not in the labels"


#: What a tagger is to this test: `services.enrich.tags_for`, or a stand-in with its signature.
Tagger = Callable[[Article], Sequence[Tag]]
Counts = dict[str, dict[str, int]]  # type -> tags, right, named, found


def _blank() -> Counts:
    return {t: {"tags": 0, "right": 0, "named": 0, "found": 0} for t in TYPES}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _per_type(counts: Counts) -> dict[str, dict[str, Any]]:
    return {
        t: {
            **c,
            "precision": _rate(c["right"], c["tags"]),
            "recall": _rate(c["found"], c["named"]),
        }
        for t, c in counts.items()
    }


def _all(counts: Counts) -> dict[str, Any]:
    total = {k: sum(c[k] for c in counts.values()) for k in ("tags", "right", "named", "found")}
    return {
        "tags": total["tags"],
        "right": total["right"],
        "precision": _rate(total["right"], total["tags"]),
        "recall": _rate(total["found"], total["named"]),
    }


def evaluate(tagger: Tagger = tags_for) -> dict[str, Any]:
    """Every labelled story through ``tagger``: precision and recall per type, overall and per
    label set, and every wrong tag."""
    counts = _blank()
    per_set: dict[str, dict[str, Any]] = {}
    wrong: list[dict[str, str]] = []
    stories = 0
    for label_set, name, path, labels in labelled_stories():
        stories += 1
        payload = path.read_bytes()
        article = parse_story(payload, "application/json").article
        tags = [t for t in tagger(article) if t.type in TYPES]
        in_set = per_set.setdefault(label_set, {"stories": 0, "counts": _blank()})
        in_set["stories"] += 1
        both = (counts, in_set["counts"])
        tagged = {t: {_norm(x.name) for x in tags if x.type == t} for t in TYPES}
        dateline = dateline_places(json.loads(payload).get("located"))
        for tag in tags:
            verdict = judge(tag.type, tag.name, labels, dateline)
            for c in both:
                c[tag.type]["tags"] += 1
                c[tag.type]["right"] += verdict == "right"
            if verdict != "right":
                wrong.append(
                    {"set": label_set, "story": name, "type": tag.type, "tag": tag.name}
                    | {"why": verdict}
                )
        for t in TYPES:
            for entity in labels.get(t, []):
                if _named(entity):
                    hit = bool(_forms(entity) & tagged[t])
                    for c in both:
                        c[t]["named"] += 1
                        c[t]["found"] += hit
    return {
        "stories": stories,
        "all_entity_tags": _all(counts),
        "per_type": _per_type(counts),
        "per_label_set": {
            s: {
                "stories": v["stories"],
                "all": _all(v["counts"]),
                "per_type": _per_type(v["counts"]),
            }
            for s, v in per_set.items()
        },
        "wrong": wrong,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "tagging-handchecked.json")
    args = parser.parse_args()
    result = evaluate()
    result["command"] = "python -m bench.tagging_handchecked"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = {k: v for k, v in result.items() if k != "wrong"}
    print(json.dumps(summary, indent=2))
    print(len(result["wrong"]), "wrong tags; listed in", args.out)


if __name__ == "__main__":
    main()
