"""The local stack's processes under supervisord (the `supervisor` package), not hand-written
process management: it restarts a process that dies (kill -9 included) within seconds, keeps
each one's log, and `supervisorctl` starts only what is not running.

The configuration is written to `var/run/supervisord.conf` from the stack's ports and
settings; supervisord listens on a Unix socket beside it, so two stacks (two `--root`s) never
meet. Valkey and SeaweedFS start with supervisord; the services once the stores answer and
the buckets and groups exist (`cli.stack.up`), and from then on are restarted like the rest.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cli import devstack

#: Stopped in reverse: the services first, so they drain while Redis and S3 still answer.
STORES = ("valkey", "seaweedfs")


@dataclass(frozen=True)
class Program:
    name: str
    command: list[str]
    priority: int
    autostart: bool
    env: dict[str, str]
    directory: Path | None = None
    stop_wait_s: int = 20


def _quote_env(env: dict[str, str]) -> str:
    """supervisord's `environment` syntax: KEY="value",... read by a non-POSIX shlex, which has
    no escape for a double quote inside one (such a value is refused here rather than passed
    on cut short), with supervisord's own %-expansion (so % is doubled)."""
    parts = []
    for key, value in env.items():
        if '"' in value:
            raise ValueError(f"{key} holds a double quote, which supervisord cannot be given")
        parts.append(f'{key}="{value.replace("%", "%%")}"')
    return ",".join(parts)


@dataclass(frozen=True)
class Supervisor:
    run_dir: Path
    log_dir: Path

    @property
    def conf(self) -> Path:
        return self.run_dir / "supervisord.conf"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "supervisord.pid"

    def write_config(self, programs: list[Program]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            "[unix_http_server]",
            f"file={self.run_dir / 'supervisor.sock'}",
            "chmod=0700",
            "",
            "[supervisord]",
            f"logfile={self.log_dir / 'supervisord.log'}",
            f"pidfile={self.pidfile}",
            f"directory={self.run_dir.parent.parent}",
            "logfile_maxbytes=10MB",
            "logfile_backups=2",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{self.run_dir / 'supervisor.sock'}",
            "",
        ]
        for program in programs:
            lines += [
                f"[program:{program.name}]",
                f"command={shlex.join(program.command)}",
                f"priority={program.priority}",
                f"autostart={'true' if program.autostart else 'false'}",
                "autorestart=true",
                # Running this long counts as started; a crash loop is retried this often.
                "startsecs=2",
                "startretries=20",
                "stopsignal=TERM",
                f"stopwaitsecs={program.stop_wait_s}",
                "stopasgroup=true",
                "killasgroup=true",
                f"stdout_logfile={self.log_dir / (program.name + '.log')}",
                "stdout_logfile_maxbytes=50MB",
                "stdout_logfile_backups=2",
                "redirect_stderr=true",
            ]
            if program.directory is not None:
                lines.append(f"directory={program.directory}")
            if program.env:
                lines.append(f"environment={_quote_env(program.env)}")
            lines.append("")
        self.conf.write_text("\n".join(lines))

    def running(self) -> bool:
        if not self.pidfile.exists() or not self.conf.exists():
            return False
        try:
            os.kill(int(self.pidfile.read_text().strip()), 0)
        except (ValueError, ProcessLookupError, PermissionError):
            return False
        return True

    def start_daemon(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf)],
            check=True,
            timeout=30,
        )
        devstack.wait_until(lambda: self.ctl("pid").returncode == 0, 20, "supervisord")

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def states(self) -> dict[str, tuple[str, int | None]]:
        """Each program's state (RUNNING, STARTING, STOPPED, EXITED, BACKOFF, FATAL) and pid."""
        found: dict[str, tuple[str, int | None]] = {}
        for line in self.ctl("status").stdout.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            pid = None
            if "pid" in parts:
                pid = int(parts[parts.index("pid") + 1].rstrip(","))
            found[parts[0]] = (parts[1], pid)
        return found

    def start(self, *names: str) -> None:
        self.ctl("start", *names)

    def shutdown(self, timeout: float = 60) -> None:
        """Stop every program (services first) and supervisord itself."""
        if not self.running():
            return
        pid = int(self.pidfile.read_text().strip())
        self.ctl("shutdown")
        # SIGTERM asks supervisord for the same orderly shutdown; SIGKILL only past `timeout`.
        devstack.stop_pid(pid, timeout=timeout)
