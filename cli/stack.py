"""The whole stack on one machine without Docker, for `make up` / `make down` / `make run`.

Valkey and SeaweedFS run from their wheels with data under `var/`; the four services run as
separate processes, all of them under supervisord (`cli.supervise`), which restarts whatever
dies. `var/stack.env` tells other tools where everything is, health ports included. `up`
brings back only what is missing, and both `up` and `down` are safe to repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
from pathlib import Path

from cli import devstack
from cli.editors import request_republish
from cli.serve import initialise
from cli.settings import ToolSettings
from cli.supervise import STORES, Program, Supervisor

REPO = Path(__file__).resolve().parents[1]
SITE_BUCKET = ToolSettings.model_fields["site_bucket"].default
ARCHIVE_BUCKET = ToolSettings.model_fields["archive_bucket"].default
PREFERRED = {
    "redis": 6390,
    "s3": 8333,
    "ingest": 8080,
    "enrich": 8082,
    "render": 8083,
    "publish": 8084,
    "desk": 8085,
}
#: Every service process of the stack: the pipeline's four, and the editors' desk.
STACK_SERVICES = (*devstack.SERVICES, "desk")
#: The stages `stack scale` runs more replicas of: each is a consumer group, and its replicas
#: share the group's work (ingest and the desk answer on one fixed port each here).
SCALABLE = ("enrich", "render", "publish")
MAX_REPLICAS = 8
# The layout of the data under var/. 2: the site's listing is render's (it was publish's); 3: it is
# kept per listing for the whole site (sections, tags, authors, months), under new keys. A stack
# made before is republished once to fill it.
DATA_LAYOUT = 3


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


def write_env(path: Path, env: dict[str, str]) -> None:
    """`var/stack.env` as `read_env` reads it back."""
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items()))


def _pick(preferred: int, previous: str | None) -> int:
    if previous and previous.isdigit() and not devstack.port_open(int(previous)):
        return int(previous)
    if not devstack.port_open(preferred):
        return preferred
    return devstack.free_port()


def _supervisor(root: Path) -> Supervisor:
    paths = _paths(root)
    return Supervisor(run_dir=paths["pids"].parent, log_dir=paths["log"])


def _programs(paths: dict[str, Path], env: dict[str, str], ports: dict[str, int]) -> list[Program]:
    # Services do not need the replicas' ports; with them, scaling would change (and so make
    # supervisord restart) every program's environment.
    service_env = {k: v for k, v in env.items() if not k.endswith("_REPLICA_PORTS")}
    programs = [
        Program("valkey", devstack.valkey_args(ports["redis"], paths["redis"]), 10, True, {}),
        Program(
            "seaweedfs",
            devstack.seaweed_args(ports["s3"], paths["s3"]),
            20,
            True,
            {},
            directory=paths["s3"],
        ),
    ]
    for name in STACK_SERVICES:
        replicas = [(name, ports[name], f"{name}-local")] + [
            (f"{name}-{n}", port, f"{name}-local-{n}")
            for n, port in enumerate(replica_ports(env, name), start=2)
        ]
        for program, port, consumer in replicas:
            programs.append(
                Program(
                    program,
                    [sys.executable, "-m", f"services.{name}"],
                    30,
                    False,  # started once the stores answer and the buckets exist
                    # On top of supervisord's own environment, which it had from `stack up`.
                    {**service_env, "HEALTH_PORT": str(port), "CONSUMER_NAME": consumer},
                    directory=REPO,
                )
            )
    return programs


def replica_ports(env: dict[str, str], name: str) -> list[int]:
    """The health (and metrics) ports of a stage's extra replicas, from `stack scale`."""
    listed = env.get(f"{name.upper()}_REPLICA_PORTS", "")
    return [int(port) for port in listed.split(",") if port.strip().isdigit()]


def _repick_replica_ports(env: dict[str, str], taken: set[int]) -> None:
    """The replicas' ports again after a cold start, each kept if still free (as the main
    ports are), else replaced: one taken since would fail the whole `stack up`."""
    for name in SCALABLE:
        key = f"{name.upper()}_REPLICA_PORTS"
        if key not in env:
            continue
        picked = []
        for port in replica_ports(env, name):
            chosen = _pick(port, str(port))
            while chosen in taken:
                chosen = devstack.free_port()
            taken.add(chosen)
            picked.append(chosen)
        env[key] = ",".join(map(str, picked))


def _service_of(program: str) -> str:
    """The service a supervisord program runs: `enrich-2` is a replica of enrich."""
    base, _, number = program.rpartition("-")
    return base if number.isdigit() and base in STACK_SERVICES else program


def _ports_of(env: dict[str, str]) -> dict[str, int]:
    return {
        "redis": int(env["REDIS_PORT"]),
        "s3": int(env["S3_PORT"]),
        **{name: int(_health_port(env, name)) for name in STACK_SERVICES},
    }


def _write_pids(root: Path, supervisor: Supervisor) -> None:
    pids = {name: pid for name, (_, pid) in supervisor.states().items() if pid}
    _paths(root)["pids"].write_text(json.dumps(pids))


def _health_port(env: dict[str, str], name: str) -> str:
    """Where a service of the stack (or a replica, `enrich-2`) answers /healthz and /metrics
    (ingest on its HTTP port)."""
    service = _service_of(name)
    if service != name:
        number = int(name.rpartition("-")[2])
        return str(replica_ports(env, service)[number - 2])
    return env["INGEST_PORT"] if name == "ingest" else env[f"{name.upper()}_PORT"]


def _programs_of(env: dict[str, str]) -> list[str]:
    """Every service program of the stack, replicas included, in start order."""
    return [
        program
        for name in STACK_SERVICES
        for program in [name, *(f"{name}-{n}" for n in range(2, len(replica_ports(env, name)) + 2))]
    ]


def status(root: Path) -> int:
    supervisor = _supervisor(root)
    if not supervisor.running():
        print("stack is down")
        return 1
    states = supervisor.states()
    _write_pids(root, supervisor)
    env = read_env(_paths(root)["env"])
    for name, (state, pid) in states.items():
        where = ""
        if name in _programs_of(env):
            base = f"http://127.0.0.1:{_health_port(env, name)}"
            where = f"  health {base}/healthz  metrics {base}/metrics"
        print(f"{name:<10} {state:<9} pid {pid or '-':<8}{where}")
    return 0 if all(state == "RUNNING" for state, _ in states.values()) else 1


def up(root: Path) -> int:
    """The whole stack, or (when some of it is running) only what is missing."""
    paths = _paths(root)
    supervisor = _supervisor(root)
    if supervisor.running():
        return _complete(root, supervisor)
    _stop_unsupervised(paths)
    # Data from before this layout (a var/ with a Valkey directory but no layout mark).
    old_data = paths["redis"].is_dir() and any(paths["redis"].iterdir())
    layout = (
        int(paths["layout"].read_text()) if paths["layout"].exists() else (1 if old_data else 0)
    )
    for key in ("log", "redis", "s3"):
        paths[key].mkdir(parents=True, exist_ok=True)
    paths["pids"].parent.mkdir(parents=True, exist_ok=True)
    previous = read_env(paths["env"])
    ports = {
        name: _pick(preferred, previous.get(f"{name.upper()}_PORT"))
        for name, preferred in PREFERRED.items()
    }
    env = _stack_env(ports, previous)
    _repick_replica_ports(env, set(ports.values()))
    write_env(paths["env"], env)
    supervisor.write_config(_programs(paths, env, ports))
    try:
        supervisor.start_daemon()
        devstack.wait_until(lambda: devstack.port_open(ports["redis"]), 30, "valkey-server")
        devstack.wait_until(lambda: devstack.s3_ready(ports["s3"]), 60, "SeaweedFS S3")
        settings = ToolSettings.model_validate(
            {k.lower(): v for k, v in env.items() if k.lower() in ToolSettings.model_fields}
        )
        initialise(settings)
        _first_admin(env)
        supervisor.start(*_programs_of(env))
        _wait_healthy(env)
    except Exception as exc:
        print(f"stack failed to start: {exc}; logs in {paths['log']}")
        supervisor.shutdown()
        return 1
    _write_pids(root, supervisor)
    if 0 < layout < DATA_LAYOUT:
        count, _ = asyncio.run(request_republish(settings, None))
        print(f"data from an older layout: republishing its {count} stories once, to list them")
    paths["layout"].write_text(str(DATA_LAYOUT))
    _print_where(paths, env)
    return 0


def _complete(root: Path, supervisor: Supervisor) -> int:
    """supervisord is up: start whatever of the stack is not running (it restarts what dies on
    its own; this is for what was stopped, or gave up after repeated crashes)."""
    paths = _paths(root)
    env = read_env(paths["env"])
    missing = [n for n, (state, _) in supervisor.states().items() if state != "RUNNING"]
    if missing:
        print(f"starting {', '.join(missing)}")
        stores = [n for n in STORES if n in missing]
        if stores:
            supervisor.start(*stores)
        supervisor.start(*[n for n in missing if n not in STORES])
    if not _became_healthy(root, supervisor, env):
        return 1
    if not missing:
        print(f"stack already up; site at {env.get('SITE_URL', '?')}/index.html")
    else:
        _print_where(paths, env)
    return 0


def _became_healthy(root: Path, supervisor: Supervisor, env: dict[str, str]) -> bool:
    """Every service answers its health check (the pids then recorded), or say which not."""
    try:
        _wait_healthy(env)
    except TimeoutError as exc:
        print(f"stack not healthy: {exc}; logs in {_paths(root)['log']}")
        return False
    _write_pids(root, supervisor)
    return True


def _first_admin(env: dict[str, str]) -> None:
    """Local dev's first desk user: the admin var/stack.env names, its password random per
    machine (kept there); made once."""
    from services.desk import DeskSettings, add_user

    settings = DeskSettings(
        redis_url=env["REDIS_URL"], wirepress_env="dev", desk_secret=env["DESK_SECRET"]
    )
    asyncio.run(add_user(settings, env["DESK_ADMIN_USER"], env["DESK_ADMIN_PASSWORD"], "admin"))


def _wait_healthy(env: dict[str, str]) -> None:
    for name in _programs_of(env):
        port = int(_health_port(env, name))
        devstack.wait_until(lambda p=port: devstack.healthy(p), 60, name)


def _print_where(paths: dict[str, Path], env: dict[str, str]) -> None:
    print(f"stack up: ingest {env['INGEST_URL']}, site {env['SITE_URL']}/index.html")
    print(
        f"desk {env['DESK_URL']}/signin (user {env['DESK_ADMIN_USER']}, password "
        f"{env['DESK_ADMIN_PASSWORD']})"
    )
    for name in _programs_of(env):
        print(f"  {name:<8} health http://127.0.0.1:{_health_port(env, name)}/healthz")
    print(f"settings for other tools: source {paths['env']}")
    print("processes are kept running by supervisord: wirepress stack status")


def _stack_env(ports: dict[str, int], previous: dict[str, str]) -> dict[str, str]:
    redis_port, s3_port, ingest_port = ports["redis"], ports["s3"], ports["ingest"]
    # A random token per machine, kept with the stack's data: local, but never a guessable default.
    token = previous.get("INGEST_TOKEN") or secrets.token_urlsafe(24)
    return {
        "WIREPRESS_ENV": "dev",
        "REDIS_PORT": str(redis_port),
        "S3_PORT": str(s3_port),
        "INGEST_PORT": str(ingest_port),
        # The consumers' health (and query) ports.
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
        "DESK_PORT": str(ports["desk"]),
        "DESK_URL": f"http://127.0.0.1:{ports['desk']}",
        # Local dev only: random per machine, kept with the stack's data like the token.
        "DESK_SECRET": previous.get("DESK_SECRET") or secrets.token_urlsafe(32),
        "DESK_ADMIN_USER": "admin",
        "DESK_ADMIN_PASSWORD": previous.get("DESK_ADMIN_PASSWORD") or secrets.token_urlsafe(12),
        # A demo shows links filling in within seconds; production waits longer to batch them.
        "RELATED_REFRESH_DELAY_S": os.environ.get("RELATED_REFRESH_DELAY_S", "3"),
        # The extra replicas `stack scale` started, brought back as they were.
        **{k: v for k, v in previous.items() if k.endswith("_REPLICA_PORTS")},
    }


#: What each process of the stack has in its command line.
_COMMAND_MARKS = {"valkey": "valkey-server", "seaweedfs": "weed", **{
    name: f"services.{name}" for name in STACK_SERVICES
}}  # fmt: skip


def _is_ours(name: str, pid: int) -> bool:
    """The pid still runs this stack's `name` (a recorded pid may have been reused since)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return _COMMAND_MARKS.get(_service_of(name), "\0") in command


def _stop_unsupervised(paths: dict[str, Path]) -> None:
    """What pids.json names without a supervisord to stop it (a stack from before supervisord
    ran it, or whose supervisord was killed and left its processes): stopped first."""
    if not paths["pids"].exists():
        return
    pids: dict[str, int] = json.loads(paths["pids"].read_text())
    services = sorted(
        (n for n in pids if n not in STORES),
        key=lambda n: (
            STACK_SERVICES.index(_service_of(n)) if _service_of(n) in STACK_SERVICES else 0
        ),
    )
    order = services + [n for n in STORES[::-1] if n in pids]
    for name in order:
        if _is_ours(name, pids[name]):
            devstack.stop_pid(pids[name], timeout=20)
    paths["pids"].unlink()


def down(root: Path) -> int:
    paths = _paths(root)
    supervisor = _supervisor(root)
    if not supervisor.running() and not paths["pids"].exists():
        print("stack is down")
        return 0
    if supervisor.running():
        supervisor.shutdown()
        paths["pids"].unlink(missing_ok=True)
    _stop_unsupervised(paths)
    print("stack down (data kept in var/)")
    return 0


def scale(root: Path, name: str, replicas: int) -> int:
    """Run `replicas` processes of a stage (its consumer group shares the work among them):
    new ones start on ports of their own, surplus ones stop (what they hold pending, another
    replica reclaims). Kept in var/stack.env, so `stack up` brings the same number back."""
    if name not in SCALABLE:
        print(f"only {', '.join(SCALABLE)} scale here")
        return 2
    if not 1 <= replicas <= MAX_REPLICAS:
        print(f"replicas must be 1 to {MAX_REPLICAS}")
        return 2
    paths = _paths(root)
    supervisor = _supervisor(root)
    if not supervisor.running():
        print("stack is down: `wirepress stack up` first")
        return 1
    before = read_env(paths["env"])
    env = dict(before)
    ports = replica_ports(env, name)[: replicas - 1]
    taken = {*_ports_of(env).values(), *(p for n in SCALABLE for p in replica_ports(env, n))}
    while len(ports) < replicas - 1:
        ports.append(next(p for p in iter(devstack.free_port, 0) if p not in taken))
        taken.add(ports[-1])
    env[f"{name.upper()}_REPLICA_PORTS"] = ",".join(map(str, ports))
    supervisor.write_config(_programs(paths, env, _ports_of(env)))
    # `update` stops and removes the programs that left the config and adds the new ones,
    # leaving the rest running; new ones start once added (services do not autostart).
    supervisor.ctl("reread")
    updated = supervisor.ctl("update")
    if updated.returncode != 0:
        supervisor.write_config(_programs(paths, before, _ports_of(before)))
        supervisor.ctl("reread")
        print(f"supervisord refused the change: {updated.stdout}{updated.stderr}".strip())
        return 1
    write_env(paths["env"], env)
    new = [p for p in _programs_of(env) if p not in _programs_of(before)]
    if new:
        supervisor.start(*new)
    if not _became_healthy(root, supervisor, env):
        return 1
    print(f"{name}: {replicas} replica{'s' if replicas > 1 else ''}")
    for program in _programs_of(env):
        if _service_of(program) == name:
            print(f"  {program:<10} metrics http://127.0.0.1:{_health_port(env, program)}/metrics")
    return 0


def stack_command(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    if args.action == "up":
        return up(root)
    if args.action == "down":
        return down(root)
    if args.action == "scale":
        if args.service is None or args.replicas is None:
            print("usage: wirepress stack scale SERVICE REPLICAS")
            return 2
        return scale(root, args.service, args.replicas)
    return status(root)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stack_cmd = sub.add_parser(
        "stack", help="local stack without Docker: valkey, SeaweedFS, services"
    )
    stack_cmd.add_argument("action", choices=["up", "down", "status", "scale"])
    stack_cmd.add_argument("service", nargs="?", choices=SCALABLE, help="scale: the stage to scale")
    stack_cmd.add_argument("replicas", nargs="?", type=int, help="scale: how many processes")
    stack_cmd.add_argument("--root", default=".", help="project root (var/ lives here)")
    stack_cmd.set_defaults(func=stack_command)
