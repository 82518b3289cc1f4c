"""``make run`` as a real process, its stdout read line by line (tests/e2e/conftest.py's
``start_make_run`` starts it)."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil
import pytest

from app.config import PROJECT_ROOT

START_TIMEOUT = 45
UNSET = ("DATABASE_URL", "APP_DATABASE_URL", "APP_DB_PASSWORD", "SEED_DEMO", "WORKERS",
         "MAKEFLAGS", "MAKELEVEL", "MFLAGS")  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Run:
    """``make run`` in the background; its stdout read line by line."""

    process: subprocess.Popen[str]
    port: int
    log: Path
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def read_until(self, marker: str) -> list[str]:
        """Every stdout line up to and including the first one containing ``marker``."""
        deadline = time.monotonic() + START_TIMEOUT
        while not any(marker in line for line in self.seen):
            try:
                self.seen.append(self.lines.get(timeout=max(deadline - time.monotonic(), 0.01)))
            except queue.Empty:
                pytest.fail(f"no {marker!r} within {START_TIMEOUT}s:\n{self.output()}")
        return self.seen

    def value_after(self, label: str) -> str:
        return next(line.split(label, 1)[1].strip() for line in self.seen if label in line)

    def output(self) -> str:
        return "\n".join(self.seen) + "\n--- stderr ---\n" + self.log.read_text()

    def server_process(self) -> psutil.Process:
        """The ``credit-ledger serve`` process that make started."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        return next(c for c in children if "serve" in c.cmdline())

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to ``make`` and the service it started, then wait until both have
        exited.  ``make`` alone would exit and leave the service running."""
        group = _group(self.process.pid)
        os.killpg(self.process.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(group, timeout=timeout)
        assert not alive, f"still running {timeout} s after SIGTERM: {alive}"
        self.process.wait()

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"not serving within {START_TIMEOUT}s:\n{self.output()}")


def _group(pid: int) -> list[psutil.Process]:
    """The processes of the process group ``pid`` leads (``start_new_session``)."""
    members = []
    for process in psutil.process_iter():
        with suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(process.pid) == pid:
                members.append(process)
    return members


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


def make_runs(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Run]]:
    """Start ``make run`` with the test's environment plus ``extra``; kill what is left."""
    runs: list[Run] = []

    def start_run(extra: dict[str, str]) -> Run:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in UNSET}
        env |= {"PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "INFO", **extra}
        log = tmp_path / f"stderr-{len(runs)}.log"
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],  # noqa: S607 - what the README says
            cwd=PROJECT_ROOT, env=env, text=True, start_new_session=True,
            stdout=subprocess.PIPE, stderr=log.open("w"),
        )  # fmt: skip
        run = Run(process=process, port=port, log=log)
        assert process.stdout is not None
        threading.Thread(target=_pump, args=(process.stdout, run.lines), daemon=True).start()
        runs.append(run)
        return run

    yield start_run
    for run in runs:
        # The whole group: the service outlives make if make was stopped alone.
        with suppress(ProcessLookupError):
            os.killpg(run.process.pid, signal.SIGKILL)
        run.process.wait()
