"""The benchmark's own local stack: brought up under a temp root, extra replicas, logs, stopped at
the end whatever happens; and the processes' CPU counters and profilers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli import devstack, stack
from shared.clients import EnrichClient, RenderClient

REPO = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Not Python: nothing to profile, and not one of "the services" in the per-service figures.
SERVERS = ("valkey", "seaweedfs")


def _on_sigterm(signum: int, frame: Any) -> None:
    # Treated like Ctrl-C (a BaseException, which asyncio never swallows): the stack is stopped.
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


@dataclass
class BenchStack:
    root: Path
    keep: bool = False
    env: dict[str, str] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    extra: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started: bool = False

    @property
    def var(self) -> Path:
        return self.root / "var"

    def _cli(self, action: str) -> subprocess.Popen[bytes]:
        # Run as a child process in its own session: its services are re-parented when it exits
        # (nothing left for us to reap), and a Ctrl-C here does not cut `up` or `down` half-way.
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "stack", action, "--root", str(self.root)],
            cwd=REPO,
            # The production refresh window (the local stack's default is a demo's 3 s), unless
            # the caller sets one.
            env={
                **os.environ,
                "RELATED_REFRESH_DELAY_S": os.environ.get("RELATED_REFRESH_DELAY_S", "30"),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def up(self) -> None:
        self.started = True
        proc = self._cli("up")
        try:
            out, _ = proc.communicate(timeout=180)
        except BaseException:
            with contextlib.suppress(BaseException):
                proc.wait(180)
            raise
        if proc.returncode != 0:
            raise RuntimeError(f"stack up failed:\n{out.decode(errors='replace')}")
        self.env = stack.read_env(self.var / "stack.env")
        self.pids = json.loads((self.var / "run" / "pids.json").read_text())

    def add_replica(self, name: str, number: int) -> None:
        port = devstack.free_port()
        proc = devstack.start_service(
            name,
            {**self.env, "HEALTH_PORT": str(port), "CONSUMER_NAME": f"{name}-bench-{number}"},
            self.var / "log" / f"{name}-{number}.log",
        )
        label = f"{name}#{number}"
        self.extra[label] = proc
        devstack.wait_until(lambda: devstack.healthy(port), 60, label, proc)
        self.pids[label] = proc.pid

    def add_replicas(self, replicas: dict[str, int]) -> None:
        """Replicas 2..count of each service (the stack runs number 1)."""
        for name, count in replicas.items():
            for number in range(2, count + 1):
                self.add_replica(name, number)

    def down(self) -> None:
        for proc in self.extra.values():
            devstack.stop(proc, timeout=20)
        if self.started:
            proc = self._cli("down")
            while True:
                try:
                    proc.wait(300)
                    break
                except KeyboardInterrupt:
                    print("still stopping the stack...", file=sys.stderr)
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 15) -> str:
        out = []
        for log in sorted((self.var / "log").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)


@contextlib.contextmanager
def fresh_stack(replicas: dict[str, int], keep: bool) -> Iterator[BenchStack]:
    """A stack of its own under a new temp root, with the extra replicas; stopped when the block
    ends, also on error, Ctrl-C or SIGTERM (see `stop_on_sigterm`). On an error the logs' tails
    are printed and the root is kept for a post-mortem."""
    root = Path(tempfile.mkdtemp(prefix="wirepress-bench-"))
    bench = BenchStack(root=root, keep=keep)
    print(f"starting a fresh stack under {root} ...", flush=True)
    try:
        t = time.monotonic()
        bench.up()
        bench.add_replicas(replicas)
        print(
            f"stack up in {time.monotonic() - t:.1f}s: ingest {bench.env['INGEST_URL']}, "
            f"processes {bench.pids}",
            flush=True,
        )
        yield bench
    except KeyboardInterrupt:
        print("interrupted: stopping the stack", file=sys.stderr)
        raise
    except Exception:
        if bench.started and bench.var.exists():
            print(bench.log_tail(), file=sys.stderr)
            bench.keep = True  # the logs, for a post-mortem
        raise
    finally:
        bench.down()
        print("stack stopped" + (f"; kept {root}" if bench.keep else ""), flush=True)


# --------------------------------------------------------------------------------------------
# py-spy
# --------------------------------------------------------------------------------------------


def start_profilers(pids: dict[str, int], outdir: Path) -> dict[str, subprocess.Popen[bytes]]:
    """`py-spy record` on every Python process, raw (collapsed) stacks into OUTDIR/<name>.txt."""
    outdir.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    # --gil: only samples holding the GIL, i.e. Python code running rather than waiting.
    options = "record --pid {pid} --format raw --rate 50 --gil --nonblocking"
    procs = {}
    for name, pid in pids.items():
        if name in SERVERS:
            continue
        procs[name] = subprocess.Popen(
            [py_spy, *options.format(pid=pid).split(), "--output", str(outdir / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return procs


def stop_profilers(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
    for proc in procs.values():
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def follow_on_waiting(env: dict[str, str]) -> dict[str, int]:
    """Work the stack still has queued beyond its streams: render's site pages due (built after
    their debounce, and held while publish is behind) and enrich's link refreshes waiting."""
    render = RenderClient(env["RENDER_URL"])
    enrich = EnrichClient(env["ENRICH_URL"])
    try:
        return {
            "pages_due": (await render.listing()).pages_due,
            "refreshes_waiting": (await enrich.index()).refreshes_waiting,
        }
    finally:
        await render.aclose()
        await enrich.aclose()
