"""The demo feed (`demo/stories`, `demo/updates`) is valid ninjs 1.x that maps onto `Article`."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from shared.models import Article

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
STORIES_DIR = ROOT / "demo" / "stories"
UPDATES_DIR = ROOT / "demo" / "updates"
MEDIATOPICS_CSV = Path("/work/shared/iptc/mediatopics.csv")

FILE_NAME = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.json$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def to_article(doc: dict[str, Any]) -> Article:
    """The ninjs 1.x → Article mapping ingest applies (the parts the demo feed uses)."""
    fields = dict(doc)
    fields["guid"] = fields.pop("uri")
    fields["subjects"] = fields.pop("subject", [])
    if "description_text" in fields:
        fields["description"] = fields.pop("description_text")
    return Article.model_validate(fields)


def story_files() -> list[Path]:
    return sorted(STORIES_DIR.glob("*.json"))


def update_files() -> list[Path]:
    return sorted(UPDATES_DIR.glob("*.json"))


def top_blocks(body_html: str) -> list[Any]:
    root = lxml_html.fragment_fromstring(body_html, create_parent="div")
    return list(root)


def first_medtop(doc: dict[str, Any]) -> str:
    codes = [s["code"] for s in doc["subject"] if s.get("scheme") == "medtop"]
    assert codes, doc["uri"]
    return str(codes[0])


@pytest.fixture(scope="module")
def stories() -> dict[str, dict[str, Any]]:
    return {path.name: load(path) for path in story_files()}


@pytest.fixture(scope="module")
def updates() -> dict[str, dict[str, Any]]:
    return {path.name: load(path) for path in update_files()}


@pytest.mark.parametrize("path", story_files() + update_files(), ids=lambda p: p.name)
def test_every_file_validates_as_article(path: Path) -> None:
    doc = load(path)
    article = to_article(doc)
    assert article.guid == doc["uri"]
    assert article.guid.startswith("urn:wirepress:demo:")
    assert article.headline and article.byline
    assert article.language == "en"
    assert article.firstcreated is not None and article.versioncreated is not None
    assert article.versioncreated >= article.firstcreated
    assert all(s.scheme == "medtop" and s.code and s.name for s in article.subjects)


def test_at_least_36_stories(stories: dict[str, dict[str, Any]]) -> None:
    assert len(stories) >= 36


def test_file_names_are_numbered_in_order(stories: dict[str, dict[str, Any]]) -> None:
    numbers = []
    for name, doc in stories.items():
        match = FILE_NAME.match(name)
        assert match, name
        numbers.append(int(match.group(1)))
        assert doc["uri"] == f"urn:wirepress:demo:{match.group(2)}", name
    assert sorted(numbers) == list(range(1, len(stories) + 1))
    # NN follows publication time, so a `make run` replay pushes stories in the order they broke
    created = [stories[name]["firstcreated"] for name in sorted(stories)]
    assert created == sorted(created)


def test_uris_are_unique(stories: dict[str, dict[str, Any]]) -> None:
    uris = Counter(doc["uri"] for doc in stories.values())
    assert [uri for uri, n in uris.items() if n > 1] == []


def test_at_least_seven_topics_of_four_to_six_stories(
    stories: dict[str, dict[str, Any]],
) -> None:
    topics = Counter(first_medtop(doc) for doc in stories.values())
    assert len(topics) >= 7, topics
    assert all(4 <= n <= 6 for n in topics.values()), topics


@pytest.mark.parametrize("path", story_files(), ids=lambda p: p.name)
def test_story_fields(path: Path) -> None:
    doc = load(path)
    assert doc["version"] == "1"
    assert doc["pubstatus"] == "usable"
    assert doc["language"] == "en"
    assert doc.get("type") == "text"
    assert 3 <= doc["urgency"] <= 5
    assert 3 <= len(doc["keywords"]) <= 6
    assert doc["located"].strip()
    assert doc["byline"].strip()
    for key in ("firstcreated", "versioncreated"):
        assert ISO_UTC.match(doc[key]), (key, doc[key])
        assert datetime.fromisoformat(doc[key].replace("Z", "+00:00")).year == 2026


@pytest.mark.parametrize("path", story_files(), ids=lambda p: p.name)
def test_story_body(path: Path) -> None:
    doc = load(path)
    blocks = top_blocks(doc["body_html"])
    paragraphs = [b for b in blocks if b.tag == "p" and b.text_content().strip()]
    assert len(paragraphs) >= 4
    assert {b.tag for b in blocks} <= {"p", "h2"}
    assert sum(b.tag == "h2" for b in blocks) <= 1
    assert blocks[0].tag == "p"
    words = len(" ".join(b.text_content() for b in blocks).split())
    assert 230 <= words <= 550, words
    assert "<script" not in doc["body_html"].lower()


def test_medtop_codes_exist_and_are_current(stories: dict[str, dict[str, Any]]) -> None:
    if not MEDIATOPICS_CSV.exists():
        pytest.skip("IPTC Media Topics list not available")
    with MEDIATOPICS_CSV.open(encoding="utf-8") as fh:
        known = {row["code"]: row for row in csv.DictReader(fh)}
    for doc in stories.values():
        for subject in doc["subject"]:
            row = known.get(subject["code"])
            assert row is not None, subject
            assert not row["retired"], subject
            assert subject["name"] == row["label_en"], subject


def test_stories_span_a_few_days(stories: dict[str, dict[str, Any]]) -> None:
    times = [
        datetime.fromisoformat(d["firstcreated"].replace("Z", "+00:00")) for d in stories.values()
    ]
    span = max(times) - min(times)
    assert 2 <= span.days <= 14
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)


def test_updates_are_one_correction_and_one_kill(
    stories: dict[str, dict[str, Any]], updates: dict[str, dict[str, Any]]
) -> None:
    by_uri = {doc["uri"]: doc for doc in stories.values()}
    assert len(updates) == 2
    kinds = sorted(doc["pubstatus"] for doc in updates.values())
    assert kinds == ["canceled", "usable"]
    targets = [doc["uri"] for doc in updates.values()]
    assert len(set(targets)) == 2
    for doc in updates.values():
        original = by_uri[doc["uri"]]
        assert doc["version"] == "2"
        assert to_article(doc).ordering > to_article(original).ordering
        assert doc["firstcreated"] == original["firstcreated"]


def test_correction_updates_headline_and_adds_a_paragraph(
    stories: dict[str, dict[str, Any]], updates: dict[str, dict[str, Any]]
) -> None:
    by_uri = {doc["uri"]: doc for doc in stories.values()}
    (correction,) = [doc for doc in updates.values() if doc["pubstatus"] == "usable"]
    original = by_uri[correction["uri"]]
    assert correction["headline"] != original["headline"]
    old = [b.text_content() for b in top_blocks(original["body_html"]) if b.tag == "p"]
    new = [b.text_content() for b in top_blocks(correction["body_html"]) if b.tag == "p"]
    assert set(new) - set(old), "the correction adds a paragraph"
    assert "corrected" in correction["body_html"].lower()


def test_kill_is_canceled(
    stories: dict[str, dict[str, Any]], updates: dict[str, dict[str, Any]]
) -> None:
    (kill,) = [doc for doc in updates.values() if doc["pubstatus"] == "canceled"]
    article = to_article(kill)
    assert article.killed and not article.on_site
    assert kill["uri"] in {doc["uri"] for doc in stories.values()}
