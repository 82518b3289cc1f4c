"""``credit-ledger serve`` with two workers: connections dealt out evenly, a dead worker
replaced, SIGTERM stopping everything."""

from __future__ import annotations

import http.client
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from bench.service import Service

DEADLINE_SECONDS = 1
"""The services here give a request 1 s: a silent worker is replaced after 3 s."""


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    running = Service(
        database_url, workers=2, log_path=tmp_path / "service.log", log_level="WARNING",
        env={"REQUEST_DEADLINE_SECONDS": str(DEADLINE_SECONDS)},
    )  # fmt: skip
    running.start()
    yield running
    running.stop()


def workers(service: Service) -> list[psutil.Process]:
    """The worker processes (multiprocessing also starts its resource tracker)."""
    assert service.process is not None
    found = []
    for child in psutil.Process(service.process.pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
                child.cmdline()
            ):
                found.append(child)
        except psutil.Error:  # gone meanwhile
            continue
    return found


def connections_per_worker(service: Service) -> list[int]:
    return sorted(
        sum(
            1
            for connection in worker.net_connections(kind="tcp")
            if connection.laddr.port == service.port and connection.status == "ESTABLISHED"
        )
        for worker in workers(service)
    )


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_connections_opened_at_once_are_split_evenly(service: Service) -> None:
    clients = [http.client.HTTPConnection(service.host, service.port) for _ in range(16)]
    for client in clients:
        client.connect()
    for client in clients:  # every connection served, and kept open
        client.request("GET", "/healthz")
        answer = client.getresponse()
        assert (answer.status, answer.read()) == (200, b'{"status":"ok"}')
    assert connections_per_worker(service) == [8, 8]
    for client in clients:
        client.close()


def test_a_dead_worker_is_replaced(service: Service) -> None:
    dead = workers(service)[0]
    os.kill(dead.pid, signal.SIGKILL)
    wait_for(lambda: sorted(w.pid != dead.pid for w in workers(service)) == [True, True])
    for _ in range(4):  # each worker in turn answers
        client = http.client.HTTPConnection(service.host, service.port, timeout=10)
        client.request("GET", "/readyz")
        assert client.getresponse().status == 200
        client.close()


def test_sigterm_stops_the_parent_and_its_workers(service: Service) -> None:
    assert service.process is not None
    children = workers(service)
    os.kill(service.process.pid, signal.SIGTERM)  # the parent alone, as a supervisor would
    assert service.process.wait(timeout=20) == 0

    def gone(child: psutil.Process) -> bool:
        return not child.is_running() or child.status() == psutil.STATUS_ZOMBIE

    wait_for(lambda: all(gone(child) for child in children))


def test_a_stopped_worker_gets_no_new_connections_and_is_replaced(service: Service) -> None:
    stopped = workers(service)[0]
    stopped.suspend()  # SIGSTOP: alive, holding its connections, answering nothing
    try:
        time.sleep(1.5)  # silent past BUSY_SECONDS: the parent deals to the other one
        started = time.monotonic()
        for _ in range(20):  # a new connection each: every one answered, none waits on it
            client = http.client.HTTPConnection(service.host, service.port, timeout=5)
            client.request("GET", "/healthz")
            assert client.getresponse().status == 200
            client.close()
        assert time.monotonic() - started < 5
        # Silent past the deadline and its margin: killed, and another worker started.
        wait_for(lambda: stopped.pid not in [w.pid for w in workers(service)], timeout=15)
        wait_for(lambda: len(workers(service)) == 2, timeout=60)
    finally:
        if stopped.is_running():
            stopped.resume()
    assert "silent for" in service.log(50)
