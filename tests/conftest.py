"""Fixtures that start the real servers tests need, on free loopback ports, and stop them."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from cli import devstack
from cli.serve import initialise
from tests.stack_settings import StackSettings

ROOT = Path(__file__).resolve().parents[1]
# The samples, datasets and schemas beside the repository (never a machine's absolute path).
SHARED = ROOT.parent / "shared"


@dataclass(frozen=True)
class Servers:
    redis_port: int
    s3_port: int

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    base = tmp_path_factory.mktemp("valkey")
    port = devstack.free_port()
    proc = devstack.start_valkey(port, base, base / "valkey.log")
    yield port
    devstack.stop(proc)


@pytest.fixture(scope="session")
def s3_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    base = tmp_path_factory.mktemp("seaweedfs")
    port = devstack.free_port()
    proc = devstack.start_seaweed(port, base / "data", base / "weed.log")
    yield port
    devstack.stop(proc, timeout=30)


@pytest.fixture(scope="session")
def servers(redis_port: int, s3_port: int) -> Servers:
    return Servers(redis_port=redis_port, s3_port=s3_port)


@pytest.fixture
def settings(servers: Servers) -> Iterator[StackSettings]:
    """StackSettings for one test: its own buckets, a clean Redis, short retry times, groups created."""
    client = redis.Redis.from_url(servers.redis_url)
    client.flushall()
    suffix = uuid.uuid4().hex[:8]
    result = StackSettings(
        wirepress_env="dev",
        redis_url=servers.redis_url,
        s3_endpoint_url=servers.s3_endpoint,
        aws_access_key_id="wirepress",
        aws_secret_access_key="wirepress",
        site_bucket=f"site-{suffix}",
        archive_bucket=f"archive-{suffix}",
        site_url=f"{servers.s3_endpoint}/site-{suffix}",
        ingest_token="test-token",
        enrich_url=f"http://127.0.0.1:{devstack.free_port()}",
        render_url=f"http://127.0.0.1:{devstack.free_port()}",
        consumer_name="test-consumer",
        claim_idle_ms=1000,
        claim_poll_ms=200,
        poll_block_ms=50,
        max_deliveries=3,
        related_refresh_delay_s=1.0,
    )
    initialise(result)
    yield result
    client.close()


def settings_env(settings: StackSettings) -> dict[str, str]:
    """The environment a service process needs to run with these settings."""
    fields = (
        "wirepress_env",
        "redis_url",
        "s3_endpoint_url",
        "aws_access_key_id",
        "aws_secret_access_key",
        "site_bucket",
        "archive_bucket",
        "site_url",
        "ingest_token",
        "claim_idle_ms",
        "claim_poll_ms",
        "poll_block_ms",
        "max_deliveries",
        "enrich_url",
        "render_url",
        "listing_debounce_s",
        "related_refresh_delay_s",
    )
    return {name.upper(): str(getattr(settings, name)) for name in fields}


@dataclass
class ServiceProcesses:
    """The services as separate processes, each startable and killable on its own (the four of
    the pipeline by `start_all`; the desk when a test starts it)."""

    settings: StackSettings
    log_dir: Path
    ingest_port: int = field(default_factory=devstack.free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    health_ports: dict[str, int] = field(default_factory=dict)

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    def start(
        self, name: str, consumer: str | None = None, extra: dict[str, str] | None = None
    ) -> None:
        # Enrich and render answer queries where the tools expect them (a second replica of
        # either gets a port of its own).
        fixed = {"enrich": self.settings.enrich_url, "render": self.settings.render_url}
        taken = name in self.procs
        if name == "ingest":
            port = self.ingest_port
        elif name in fixed and not taken:
            port = int(fixed[name].rsplit(":", 1)[1])
        else:
            port = devstack.free_port()
        env = {
            **settings_env(self.settings),
            "INGEST_PORT": str(self.ingest_port),
            "HEALTH_PORT": str(port),
            "CONSUMER_NAME": consumer or f"{name}-{uuid.uuid4().hex[:6]}",
            # The desk answers its pages and /healthz on its own port.
            "DESK_PORT": str(port),
            **(extra or {}),
        }
        proc = devstack.start_service(name, env, self.log_dir / f"{name}.log")
        # Registered before it is healthy, so teardown stops it even if it never gets there.
        self.procs[name] = proc
        self.health_ports[name] = port
        devstack.wait_until(lambda: devstack.healthy(port), 60, name, proc)

    def start_all(self) -> None:
        for name in devstack.SERVICES:
            self.start(name)

    def kill9(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            devstack.stop(proc)
        self.procs.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )


@pytest.fixture
def services(settings: StackSettings, tmp_path: Path) -> Iterator[ServiceProcesses]:
    processes = ServiceProcesses(settings=settings, log_dir=tmp_path)
    yield processes
    processes.stop_all()
    # Shown by pytest only when the test failed.
    print(processes.logs())


def wait_for(check: Callable[[], object], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def wire_samples() -> Path:
    path = SHARED / "wire-samples"
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    return path
