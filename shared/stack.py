"""The whole stack on one machine without Docker, for `make up` / `make down` / `make run`.

Valkey and SeaweedFS run from their wheels with data under `var/`; the four services run as
separate processes. `var/stack.env` tells other tools where everything is. Both `up` and `down`
are safe to repeat.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
from pathlib import Path

from shared import devstack
from shared.broker import create_redis, ensure_groups
from shared.settings import Settings
from shared.storage import Storage

SITE_BUCKET = Settings.model_fields["site_bucket"].default
ARCHIVE_BUCKET = Settings.model_fields["archive_bucket"].default
PREFERRED = {"redis": 6390, "s3": 8333, "ingest": 8080}


def _paths(root: Path) -> dict[str, Path]:
    var = root / "var"
    return {
        "var": var,
        "env": var / "stack.env",
        "pids": var / "run" / "pids.json",
        "log": var / "log",
        "redis": var / "redis",
        "s3": var / "s3",
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

    redis_port = _pick(PREFERRED["redis"], previous.get("REDIS_PORT"))
    s3_port = _pick(PREFERRED["s3"], previous.get("S3_PORT"))
    ingest_port = _pick(PREFERRED["ingest"], previous.get("INGEST_PORT"))
    # A random token per machine, kept with the stack's data: local, but never a guessable default.
    token = previous.get("INGEST_TOKEN") or secrets.token_urlsafe(24)
    env = {
        "WIREPRESS_ENV": "dev",
        "REDIS_PORT": str(redis_port),
        "S3_PORT": str(s3_port),
        "INGEST_PORT": str(ingest_port),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "AWS_ACCESS_KEY_ID": "wirepress",
        "AWS_SECRET_ACCESS_KEY": "wirepress",
        "SITE_BUCKET": SITE_BUCKET,
        "ARCHIVE_BUCKET": ARCHIVE_BUCKET,
        "SITE_URL": f"http://127.0.0.1:{s3_port}/{SITE_BUCKET}",
        "INGEST_URL": f"http://127.0.0.1:{ingest_port}",
        "INGEST_TOKEN": token,
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
        settings = Settings.model_validate(
            {k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields}
        )
        initialise(settings)
        health: dict[str, int] = {}
        for name in devstack.SERVICES:
            port = ingest_port if name == "ingest" else devstack.free_port()
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
    print(f"stack up: ingest {env['INGEST_URL']}, site {env['SITE_URL']}/index.html")
    print(f"settings for other tools: source {paths['env']}")
    return 0


def initialise(settings: Settings) -> None:
    storage = Storage(settings)
    try:
        storage.ensure_buckets()
    finally:
        storage.close()

    async def groups() -> None:
        redis = create_redis(settings)
        try:
            await ensure_groups(redis)
        finally:
            await redis.aclose()

    asyncio.run(groups())


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
