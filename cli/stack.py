"""The whole stack on one machine without Docker, for `make up` / `make down` / `make run`.

Valkey and SeaweedFS run from their wheels with data under `var/`; the four services run as
separate processes. `var/stack.env` tells other tools where everything is. Both `up` and `down`
are safe to repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
from pathlib import Path

from cli import devstack
from cli.editors import request_republish
from cli.serve import initialise
from cli.settings import ToolSettings

SITE_BUCKET = ToolSettings.model_fields["site_bucket"].default
ARCHIVE_BUCKET = ToolSettings.model_fields["archive_bucket"].default
PREFERRED = {
    "redis": 6390,
    "s3": 8333,
    "ingest": 8080,
    "enrich": 8082,
    "render": 8083,
    "publish": 8084,
}
# The layout of the data under var/. 2: the site's listing is render's (it was publish's), so a
# stack made before is republished once to fill it.
DATA_LAYOUT = 2


def _paths(root: Path) -> dict[str, Path]:
    var = root / "var"
    return {
        "var": var,
        "env": var / "stack.env",
        "pids": var / "run" / "pids.json",
        "log": var / "log",
        "redis": var / "redis",
        "s3": var / "s3",
        "layout": var / "layout",
    }


def read_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, _, value = line.partition("=")
                env[key.strip()] = value.strip().strip("'\"")
    return env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _pick(preferred: int, previous: str | None) -> int:
    if previous and previous.isdigit() and not devstack.port_open(int(previous)):
        return int(previous)
    if not devstack.port_open(preferred):
        return preferred
    return devstack.free_port()


def status(root: Path) -> int:
    paths = _paths(root)
    pids = json.loads(paths["pids"].read_text()) if paths["pids"].exists() else {}
    if not pids:
        print("stack is down")
        return 1
    down = [name for name, pid in pids.items() if not _alive(pid)]
    for name, pid in pids.items():
        print(f"{name:<8} pid {pid:<8} {'up' if _alive(pid) else 'DOWN'}")
    return 1 if down else 0


def up(root: Path) -> int:
    paths = _paths(root)
    # Data from before this layout (a var/ with a Valkey directory but no layout mark).
    old_data = paths["redis"].is_dir() and any(paths["redis"].iterdir())
    layout = (
        int(paths["layout"].read_text()) if paths["layout"].exists() else (1 if old_data else 0)
    )
    for key in ("log", "redis", "s3"):
        paths[key].mkdir(parents=True, exist_ok=True)
    paths["pids"].parent.mkdir(parents=True, exist_ok=True)
    previous = read_env(paths["env"])
    pids: dict[str, int] = json.loads(paths["pids"].read_text()) if paths["pids"].exists() else {}
    if pids and all(_alive(pid) for pid in pids.values()):
        print(f"stack already up; site at {previous.get('SITE_URL', '?')}/index.html")
        return 0
    if pids:
        down(root)

    ports = {
        name: _pick(preferred, previous.get(f"{name.upper()}_PORT"))
        for name, preferred in PREFERRED.items()
    }
    redis_port, s3_port, ingest_port = ports["redis"], ports["s3"], ports["ingest"]
    # A random token per machine, kept with the stack's data: local, but never a guessable default.
    token = previous.get("INGEST_TOKEN") or secrets.token_urlsafe(24)
    env = {
        "WIREPRESS_ENV": "dev",
        "REDIS_PORT": str(redis_port),
        "S3_PORT": str(s3_port),
        "INGEST_PORT": str(ingest_port),
        **{f"{name.upper()}_PORT": str(ports[name]) for name in ("enrich", "render", "publish")},
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "AWS_ACCESS_KEY_ID": "wirepress",
        "AWS_SECRET_ACCESS_KEY": "wirepress",
        "SITE_BUCKET": SITE_BUCKET,
        "ARCHIVE_BUCKET": ARCHIVE_BUCKET,
        "SITE_URL": f"http://127.0.0.1:{s3_port}/{SITE_BUCKET}",
        "INGEST_URL": f"http://127.0.0.1:{ingest_port}",
        "INGEST_TOKEN": token,
        "ENRICH_URL": f"http://127.0.0.1:{ports['enrich']}",
        "RENDER_URL": f"http://127.0.0.1:{ports['render']}",
        # A demo shows links filling in within seconds; production waits longer to batch them.
        "RELATED_REFRESH_DELAY_S": os.environ.get("RELATED_REFRESH_DELAY_S", "3"),
    }

    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        started["valkey"] = devstack.start_valkey(
            redis_port, paths["redis"], paths["log"] / "valkey.log"
        )
        started["seaweedfs"] = devstack.start_seaweed(
            s3_port, paths["s3"], paths["log"] / "seaweedfs.log"
        )
        settings = ToolSettings.model_validate(
            {k.lower(): v for k, v in env.items() if k.lower() in ToolSettings.model_fields}
        )
        initialise(settings)
        health: dict[str, int] = {}
        for name in devstack.SERVICES:
            port = ports[name]
            health[name] = port
            started[name] = devstack.start_service(
                name,
                {**env, "HEALTH_PORT": str(port), "CONSUMER_NAME": f"{name}-local"},
                paths["log"] / f"{name}.log",
            )
        for name in devstack.SERVICES:
            devstack.wait_until(lambda p=health[name]: devstack.healthy(p), 60, name, started[name])
    except Exception as exc:
        print(f"stack failed to start: {exc}; logs in {paths['log']}")
        # Our own children: stopped and reaped here (down() would wait on their zombies).
        for proc in reversed(list(started.values())):
            devstack.stop(proc)
        return 1
    paths["pids"].write_text(json.dumps({name: proc.pid for name, proc in started.items()}))
    paths["env"].write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    if 0 < layout < DATA_LAYOUT:
        count, _ = asyncio.run(request_republish(settings, None))
        print(f"data from an older layout: republishing its {count} stories once, to list them")
    paths["layout"].write_text(str(DATA_LAYOUT))
    print(f"stack up: ingest {env['INGEST_URL']}, site {env['SITE_URL']}/index.html")
    print(f"settings for other tools: source {paths['env']}")
    return 0


def down(root: Path) -> int:
    paths = _paths(root)
    if not paths["pids"].exists():
        print("stack is down")
        return 0
    pids: dict[str, int] = json.loads(paths["pids"].read_text())
    # Services first, so they drain their work while Redis and S3 still answer.
    order = [n for n in devstack.SERVICES if n in pids] + [
        n for n in ("seaweedfs", "valkey") if n in pids
    ]
    for name in order:
        devstack.stop_pid(pids[name], timeout=20)
    paths["pids"].unlink()
    print("stack down (data kept in var/)")
    return 0


def stack_command(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    if args.action == "up":
        return up(root)
    if args.action == "down":
        return down(root)
    return status(root)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stack_cmd = sub.add_parser(
        "stack", help="local stack without Docker: valkey, SeaweedFS, services"
    )
    stack_cmd.add_argument("action", choices=["up", "down", "status"])
    stack_cmd.add_argument("--root", default=".", help="project root (var/ lives here)")
    stack_cmd.set_defaults(func=stack_command)
