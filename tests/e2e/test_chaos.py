"""The short chaos run (`python -m bench.chaos --short`) in every CI run: 160 pushes (new
stories, corrections, kills) while each service, Valkey and SeaweedFS are killed in turn,
SeaweedFS is frozen, and a poison story is put on the ingested stream. Nothing may be lost,
duplicated, stale or stuck, and only the poison dead-lettered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.chaos import HELD

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_the_short_chaos_schedule_loses_duplicates_and_strands_nothing(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--short", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["verdict"] == [HELD], report
    assert run.returncode == 0
    assert report["stories_accepted"] > 100 and report["answers_500"] == 0
    assert report["poison_dead_lettered"] and not report["unexpected_dead_letters"]
    assert [f["fault"] for f in report["faults"] if f["pid"] is None] == ["poison"]
