"""The service under test, started the way a user starts it: its own process, over TCP.

``credit-ledger serve`` when this checkout has it, else the same ASGI app under
uvicorn directly.  The process gets its own session so that it and its workers
can be stopped as one group, and CPU can be counted per group.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command(host: str, port: int, workers: int) -> list[str]:
    if importlib.util.find_spec("app.server") is not None:
        return [str(BIN / "credit-ledger"), "serve", "--host", host, "--port", str(port)]
    return [
        str(BIN / "uvicorn"), "--factory", "app.main:asgi", "--host", host, "--port", str(port),
        "--workers", str(workers), "--no-access-log",
    ]  # fmt: skip


class Service:
    def __init__(
        self,
        database_url: str,
        *,
        workers: int,
        log_path: Path,
        log_level: str,
        env: dict[str, str] | None = None,
    ) -> None:
        """``env``: more of the service's settings (e.g. ``APP_DATABASE_URL``)."""
        self.host = "127.0.0.1"
        self.port = free_port()
        self.workers = workers
        self.command = command(self.host, self.port, workers)
        settings = env or {}
        env = {k: v for k, v in os.environ.items() if k not in ("APP_DATABASE_URL",)}
        env.update(
            settings,
            DATABASE_URL=database_url,
            HOST=self.host,
            PORT=str(self.port),
            WORKERS=str(workers),
            LOG_LEVEL=log_level,
            INTROSPECTION="public",  # the bench reads the live schema without a key (graphql.py)
        )
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        url = f"http://{self.host}:{self.port}/readyz"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited ({self.process.returncode}):\n{self.log()}")
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(url, timeout=2) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the service was not ready within {timeout_s:.0f} s:\n{self.log()}")

    def log(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _group(self) -> list[list[str]]:
        """/proc/<pid>/stat fields (after the command name) of the service's processes."""
        if self.process is None:
            return []
        members = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.process.pid:  # state ppid pgrp ...
                members.append(fields)
        return members

    def cpu_seconds(self) -> float:
        """User + system CPU of every live process in the service's group."""
        return sum(int(f[11]) + int(f[12]) for f in self._group()) / TICKS

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Workers may outlive the parent for a moment; the group goes with it.
        if self._group():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)
