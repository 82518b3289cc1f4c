"""``make run`` on a fresh data folder, exactly as the README says, as a real process.

No DATABASE_URL: the service starts the embedded PostgreSQL in a temporary data
folder, seeds the demo, prints a key and a query, and serves them; SIGTERM stops
it gracefully.  A second start on the same folder finds the data and seeds nothing.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import orjson
import psutil
import pytest

from app.config import PROJECT_ROOT
from app.db.embedded import is_running, stop_embedded
from app.server import GRACEFUL_SHUTDOWN_SECONDS

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

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"not serving within {START_TIMEOUT}s:\n{self.output()}")


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    yield folder
    stop_embedded(folder)  # whatever happened, leave no server running
    assert not is_running(folder)


@pytest.fixture
def start(data_dir: Path, tmp_path: Path) -> Iterator[Callable[[], Run]]:
    runs: list[Run] = []

    def start_run() -> Run:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in UNSET}
        env |= {"CREDIT_LEDGER_DATA_DIR": str(data_dir), "PORT": str(port),
                "HOST": "127.0.0.1", "LOG_LEVEL": "INFO"}  # fmt: skip
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
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()


def stop_with_sigterm(run: Run) -> None:
    """SIGTERM the service, as a process manager would; it must shut down gracefully."""
    server = run.server_process()
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    run.process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"an idle service should stop at once, took {elapsed:.1f}s"
    assert not server.is_running()
    log = run.log.read_text()
    assert "Application shutdown complete." in log, run.output()
    assert "Traceback" not in log, run.output()
    assert '"level":"error"' not in log, run.output()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{run.base}/healthz", timeout=1)


def test_make_run_on_an_empty_data_folder_serves_the_demo_it_prints(
    start: Callable[[], Run], data_dir: Path
) -> None:
    first = start()
    first.read_until("Embedded PostgreSQL:")
    key = first.value_after("Demo API key:")
    query = first.value_after("Example query:")
    graphiql_url = first.value_after("GraphiQL:")
    assert graphiql_url == f"{first.base}/graphql"
    first.wait_until_serving()

    page = httpx.get(graphiql_url, headers={"Accept": "text/html"}, timeout=5)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    # make run lets anyone introspect (INTROSPECTION=public), so GraphiQL's docs need no key.
    anonymous = httpx.post(graphiql_url, json={"query": "{ __schema { queryType { name } } }"},
                           timeout=5).json()  # fmt: skip
    assert anonymous == {"data": {"__schema": {"queryType": {"name": "Query"}}}}

    answer = httpx.post(
        graphiql_url, json={"query": query}, headers={"Authorization": f"Bearer {key}"}, timeout=5
    ).json()
    assert "errors" not in answer, answer
    data = answer["data"]
    assert data["viewer"] == {"business": {"name": "Demo Traders", "currency": "INR"},
                              "role": "OWNER"}  # fmt: skip
    assert data["customer"]["name"]
    assert data["customer"]["creditLimit"] != "0.00"
    assert data["product"]["stock"] > 0
    if shutil.which("curl"):
        curl_line = first.seen[first.seen.index("With curl:") + 1]
        printed = subprocess.run(  # noqa: S603 - the very line printed for users
            ["bash", "-c", curl_line],  # noqa: S607
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        assert orjson.loads(printed.stdout) == answer, "the printed curl line gives the same"

    assert httpx.get(f"{first.base}/healthz", timeout=5).json() == {"status": "ok"}
    ready = httpx.get(f"{first.base}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"

    stop_with_sigterm(first)
    assert is_running(data_dir), "the embedded PostgreSQL outlives the service, by design"

    second = start()
    lines = second.read_until("Embedded PostgreSQL:")
    assert not any("Demo API key" in line for line in lines), "seeded a second time"
    assert "1 'Demo Traders'" in second.value_after("Businesses:")
    second.wait_until_serving()
    again = httpx.post(
        f"{second.base}/graphql", json={"query": query},
        headers={"Authorization": f"Bearer {key}"}, timeout=5,
    ).json()  # fmt: skip
    assert again["data"] == data, "the data and the key survived the restart"
    stop_with_sigterm(second)
