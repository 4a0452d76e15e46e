"""The `wirepress` subcommands that need no servers: parse, tag, related, and the push client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli import feed as push
from cli import main as cli
from cli.ops import format_status
from services.enrich.handlers import handle_ingested
from services.ingest.handlers import parse_payload
from shared.events import ArticleIngested
from tests.unit.test_enrich_handlers import MemoryArchive

pytestmark = pytest.mark.unit

STORY = {
    "uri": "urn:test:cli-1",
    "version": "2",
    "type": "text",
    "headline": "Kenya parliament debates finance bill in Nairobi",
    "body_html": "<p>Kenya's parliament debated the finance bill in Nairobi on Monday.</p>",
    "subject": [{"scheme": "medtop", "code": "11000000", "name": "politics"}],
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_prints_the_article(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "story.json"
    path.write_text(json.dumps(STORY))
    code, out, err = run(capsys, "parse", str(path))
    assert code == 0, err
    article = json.loads(out)
    assert (article["guid"], article["version"]) == ("urn:test:cli-1", "2")
    assert article["subjects"][0]["code"] == "11000000"


def test_parse_errors_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "story.xml"
    path.write_text("<nitf><head>")
    code, out, err = run(capsys, "parse", str(path))
    assert (code, out) == (1, "")
    assert "400" in err and "story.xml" in err
    code, _, err = run(capsys, "parse", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read" in err
    good = tmp_path / "good.json"
    good.write_text(json.dumps(STORY))
    code, _, err = run(capsys, "parse", str(good), "--tz", "Mars/Olympus")
    assert code == 1 and "Mars/Olympus" in err


def test_content_type_override_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"not a story")
    code, _, err = run(capsys, "parse", str(path), "--content-type", "image/png")
    assert code == 1 and "415" in err


def test_tag_prints_tags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "story.json"
    path.write_text(json.dumps(STORY))
    code, out, err = run(capsys, "tag", str(path))
    assert code == 0, err
    tags = json.loads(out)
    assert isinstance(tags, list)
    assert all({"type", "name", "slug"} <= set(tag) for tag in tags)
    assert any(tag["type"] == "subject" for tag in tags)


DEMO = Path(__file__).resolve().parents[2] / "demo"
DEMO_FILES = sorted((DEMO / "stories").glob("*.json")) + sorted((DEMO / "updates").glob("*.json"))


@pytest.mark.parametrize("path", DEMO_FILES, ids=lambda p: p.stem)
def test_wirepress_tag_gives_the_tags_the_service_gives(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The service: the story as ingest reads the file, enriched by enrich's own handler.
    [parsed] = parse_payload(path.read_bytes(), "application/json")
    event = ArticleIngested.about(parsed.article, article=parsed.article)
    archive = MemoryArchive()
    [(_, enriched)] = archive.settle(asyncio.run(handle_ingested(event, archive.ports)))
    code, out, err = run(capsys, "tag", str(path))
    assert code == 0, err
    assert json.loads(out) == [tag.model_dump(mode="json") for tag in enriched.tags]


def test_related_streams_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus.jsonl"
    records = [
        {"id": "a", "title": "Kursk offensive", "body": "Ukrainian forces pushed into Kursk."},
        {"id": "b", "title": "Kursk incursion", "body": "Forces in Kursk moved deeper."},
        {"id": "c", "title": "Hurricane landfall", "body": "The storm flooded the coast."},
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    code, out, err = run(capsys, "related", "--corpus", str(corpus), "--k", "1")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    assert all(len(line["related"]) <= 1 for line in lines)


def test_push_client_classifies_and_retries_503(tmp_path: Path) -> None:
    files = []
    for name in ("a.json", "b.json", "c.xml", "d.txt"):
        (tmp_path / name).write_text("{}")
        files.append(tmp_path / name)
    (tmp_path / ".hidden").write_text("x")
    assert push.folder_files(tmp_path) == files
    calls: list[str] = []
    busy = {"c.xml": 1}

    def handler(request: httpx.Request) -> httpx.Response:
        name = request.headers["x-file"]
        calls.append(name)
        assert request.headers["authorization"] == "Bearer tok"
        if busy.get(name):
            busy[name] -= 1
            return httpx.Response(503, headers={"Retry-After": "1"}, json={"title": "busy"})
        if name == "d.txt":
            assert request.headers["content-type"] == push.UNKNOWN_CONTENT_TYPE
            problem = {"title": "Unknown format", "detail": "neither", "raw_key": "raw/x"}
            return httpx.Response(400, json=problem)
        status = 202 if name != "b.json" else 200
        return httpx.Response(status, json={"article_id": name, "pubstatus": "usable"})

    waits: list[float] = []
    results: list[Any] = []
    with httpx.Client(base_url="http://ingest", transport=httpx.MockTransport(handler)) as client:
        for path in files:
            # Tells the mock which file a request carries.
            client.headers["x-file"] = path.name
            results.append(push.push_file(client, path, "tok", sleep=waits.append))
    assert [r.outcome for r in results] == ["accepted", "duplicate", "accepted", "rejected"]
    assert waits == [1.0]
    assert calls.count("c.xml") == 2
    assert results[3].raw_key == "raw/x" and "Unknown format" in results[3].detail
    assert push.summary(results) == {"accepted": 2, "duplicate": 1, "rejected": 1}


def test_status_says_how_full_the_event_store_is_and_warns_before_feeds_are_refused() -> None:
    def report(used: int, limit: int) -> str:
        return format_status(
            {"streams": [], "event_store": {"used_bytes": used, "max_bytes": limit}}
        )

    assert "(50%)" in report(512 * 2**20, 1024 * 2**20)
    assert "WARNING" not in report(512 * 2**20, 1024 * 2**20)
    assert "WARNING" in report(800 * 2**20, 1024 * 2**20)
    assert "NO maxmemory" in report(10 * 2**20, 0)
