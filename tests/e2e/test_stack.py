"""The no-Docker stack behind `make up` / `make down` / `make run`: idempotent, and it tells
other tools where everything is."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

from cli.stack import read_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def wirepress(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_stack_up_is_idempotent_publishes_a_story_and_down_stops_everything(tmp_path: Path) -> None:
    first = wirepress("stack", "up", "--root", str(tmp_path))
    try:
        assert first.returncode == 0, first.stdout + first.stderr
        env = read_env(tmp_path / "var" / "stack.env")
        for key in (
            "INGEST_URL",
            "INGEST_TOKEN",
            "REDIS_URL",
            "S3_ENDPOINT_URL",
            "SITE_BUCKET",
            "SITE_URL",
            "ENRICH_URL",
            "RENDER_URL",
        ):
            assert env.get(key), key
        pids = json.loads((tmp_path / "var" / "run" / "pids.json").read_text())
        assert set(pids) == {
            "valkey", "seaweedfs", "ingest", "enrich", "render", "publish", "desk"
        }  # fmt: skip
        # The desk's first admin, as `make up` made it, can sign in.
        desk = httpx.Client(base_url=env["DESK_URL"] + "/", timeout=10)
        form = desk.get("signin")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        signed = desk.post(
            "signin",
            data={
                "csrf": token.group(1),
                "user": env["DESK_ADMIN_USER"],
                "password": env["DESK_ADMIN_PASSWORD"],
            },
        )
        assert signed.status_code == 303, signed.text
        assert desk.get("api/v1/me").json()["role"] == "admin"
        desk.close()

        again = wirepress("stack", "up", "--root", str(tmp_path))
        assert again.returncode == 0 and "already up" in again.stdout
        assert json.loads((tmp_path / "var" / "run" / "pids.json").read_text()) == pids

        story = ROOT / "demo" / "stories" / "01-ukraine-kursk-offensive.json"
        pushed = wirepress("push", str(story), "--wait", "--timeout", "60", env=env)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        # `push --wait` returns once the story is listed and the front page shows it.
        with urllib.request.urlopen(f"{env['SITE_URL']}/index.html", timeout=5) as response:
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            assert b"Kursk" in body

        status = wirepress("status", "--json", env=env)
        assert status.returncode == 0, status.stderr
        streams = {s["stream"]: s for s in json.loads(status.stdout)["streams"]}
        assert streams["wirepress:ingested"]["length"] == 1
        groups = {g["group"]: g for g in streams["wirepress:ingested"]["groups"]}
        assert set(groups) == {"enrich", "desk"} and groups["desk"]["observer"]
        assert groups["enrich"]["pending"] == 0
        # One story: far too few for the archive's semantic model. Enrich and render answer
        # what they keep themselves.
        report = json.loads(status.stdout)
        index = report["related_index"]
        assert (index["stories"], index["semantic_model"], index["refreshes_waiting"]) == (
            1,
            None,
            0,
        )
        assert report["listing"]["stories"] == 1 and report["listing"]["pages_waiting"] == 0

        # Pushing a feed again after one of its stories was killed: the kill stands, and
        # `push --wait` does not wait for a page that is not meant to come back.
        striker = ROOT / "demo" / "stories" / "18-football-kenyan-striker-transfer.json"
        kill = ROOT / "demo" / "updates" / "02-kill-football-kenyan-striker-transfer.json"
        for path in (striker, kill):
            done = wirepress("push", str(path), "--wait", "--timeout", "60", env=env)
            assert done.returncode == 0, done.stdout + done.stderr
        again = wirepress("push", str(striker), str(story), "--wait", "--timeout", "60", env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "all 1 stories are on the site (1 more were killed" in again.stdout
    finally:
        down = wirepress("stack", "down", "--root", str(tmp_path))
    assert down.returncode == 0
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert wirepress("stack", "down", "--root", str(tmp_path)).returncode == 0


def test_a_killed_process_comes_back_on_its_own_and_up_starts_only_what_is_missing(
    tmp_path: Path,
) -> None:
    """`stack up` with one dead process once restarted the whole stack, servers included (101 s
    once); nothing restarted a crashed service at all."""
    first = wirepress("stack", "up", "--root", str(tmp_path))
    pids_file = tmp_path / "var" / "run" / "pids.json"
    last: dict[str, int] = {}
    try:
        assert first.returncode == 0, first.stdout + first.stderr
        assert "health http://127.0.0.1:" in first.stdout
        env = read_env(tmp_path / "var" / "stack.env")
        for name in ("ENRICH_PORT", "RENDER_PORT", "PUBLISH_PORT", "INGEST_PORT"):
            assert env[name].isdigit()
        pids = json.loads(pids_file.read_text())
        # kill -9 of a service and of Valkey: supervisord brings both back by itself.
        os.kill(pids["render"], signal.SIGKILL)
        os.kill(pids["valkey"], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = wirepress("stack", "status", "--root", str(tmp_path))
            if status.returncode == 0:
                break
            time.sleep(1)
        assert status.returncode == 0, status.stdout
        again = wirepress("stack", "up", "--root", str(tmp_path))
        assert again.returncode == 0 and "already up" in again.stdout, again.stdout
        restarted = json.loads(pids_file.read_text())
        assert restarted["render"] != pids["render"] and restarted["valkey"] != pids["valkey"]
        assert restarted["ingest"] == pids["ingest"] and restarted["seaweedfs"] == pids["seaweedfs"]
        # A process stopped for good (as after repeated crashes): `up` starts only it.
        ctl = [sys.executable, "-m", "supervisor.supervisorctl"]
        conf = str(tmp_path / "var" / "run" / "supervisord.conf")
        subprocess.run([*ctl, "-c", conf, "stop", "publish"], check=True, capture_output=True)
        assert wirepress("stack", "status", "--root", str(tmp_path)).returncode == 1
        mended = wirepress("stack", "up", "--root", str(tmp_path))
        assert mended.returncode == 0 and "starting publish" in mended.stdout, mended.stdout
        after = json.loads(pids_file.read_text())
        assert after["publish"] != restarted["publish"]
        assert {k: v for k, v in after.items() if k != "publish"} == {
            k: v for k, v in restarted.items() if k != "publish"
        }
        story = ROOT / "demo" / "stories" / "01-ukraine-kursk-offensive.json"
        pushed = wirepress("push", str(story), "--wait", "--timeout", "60", env=env)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        last = after
    finally:
        assert wirepress("stack", "down", "--root", str(tmp_path)).returncode == 0
    assert len(last) == 7
    for pid in last.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _metric(port: int, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def test_scale_runs_more_replicas_of_a_stage_that_share_its_work_and_back_to_one(
    tmp_path: Path,
) -> None:
    first = wirepress("stack", "up", "--root", str(tmp_path))
    pids_file = tmp_path / "var" / "run" / "pids.json"
    try:
        assert first.returncode == 0, first.stdout + first.stderr
        first_pids = pids_file.read_text()
        scaled = wirepress("stack", "scale", "enrich", "3", "--root", str(tmp_path))
        assert scaled.returncode == 0, scaled.stdout + scaled.stderr
        env = read_env(tmp_path / "var" / "stack.env")
        ports = [int(env["ENRICH_PORT"])] + [int(p) for p in env["ENRICH_REPLICA_PORTS"].split(",")]
        assert len(set(ports)) == 3
        for port in ports:
            assert f"127.0.0.1:{port}/metrics" in scaled.stdout
            assert _metric(port, "wirepress_service_ready") == 1
        pids = json.loads(pids_file.read_text())
        assert {"enrich", "enrich-2", "enrich-3"} <= pids.keys()
        # Scaling starts new processes and leaves the running one alone.
        assert pids["enrich"] == json.loads(first_pids)["enrich"]
        files = sorted(str(p) for p in (ROOT / "demo" / "stories").glob("*.json"))[:8]
        pushed = wirepress("push", *files, "--wait", "--timeout", "120", env=env)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        stories = len(files)
        done = {"stream": "wirepress:ingested", "outcome": "done"}
        # The replicas share one consumer group: each story enriched once, by one of them.
        assert sum(_metric(p, "wirepress_stage_messages_total", **done) for p in ports) == stories
        assert _metric(ports[0], "wirepress_stream_lag", stream="wirepress:ingested",
                       group="enrich") == 0  # fmt: skip

        # Unknown stages and silly counts are refused, and change nothing.
        assert wirepress("stack", "scale", "enrich", "0", "--root", str(tmp_path)).returncode == 2
        down_to_one = wirepress("stack", "scale", "enrich", "1", "--root", str(tmp_path))
        assert down_to_one.returncode == 0, down_to_one.stdout + down_to_one.stderr
        after = json.loads(pids_file.read_text())
        assert "enrich-2" not in after and "enrich-3" not in after
        assert after["enrich"] == pids["enrich"]
        for gone in ("enrich-2", "enrich-3"):
            with pytest.raises(ProcessLookupError):
                os.kill(pids[gone], 0)
    finally:
        assert wirepress("stack", "down", "--root", str(tmp_path)).returncode == 0
