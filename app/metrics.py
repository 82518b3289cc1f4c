"""Prometheus metrics (``prometheus-client``), served on ``/metrics`` when ``METRICS=on``.

Who may read them: nobody unless ``METRICS=on`` (the default is off: the route does
not exist and nothing is counted, so the hot path pays nothing); then whoever
reaches the port, or, with ``METRICS_TOKEN`` set, only a scraper that sends it as
``Authorization: Bearer <token>``.  Counts and latencies reveal no tenant data, but
operation names and traffic shape are nobody else's business on a public port.

What is counted, and where (one place each, the same with ``FAST_EXECUTION`` on or
off, since the engine runs inside Strawberry's pipeline):

- HTTP requests by route and status, with a latency histogram (``app.main.RequestContext``);
- GraphQL operations by name, type and result (``ok``, ``error``, ``partial``), with a
  latency histogram, and every error answered by its ``extensions.code``
  (``app.graphql.observed``, called by the outermost schema extension; HTTP-level
  refusals in ``app.graphql.http.error_response``).  Operation names are the client's: past
  ``MAX_OPERATION_NAMES`` distinct ones, the rest count as ``other``;
- database calls by kind (``call``: one server-side function; ``read``: one page
  query; ``transaction``: a SQLAlchemy unit of work), latency histogram
  (``app.services.unit_of_work``);
- the pools' connections (open, in use), sampled every ``SAMPLE_SECONDS`` and at each
  scrape, and the waits for a free connection and the timeouts (``sample_pools``);
- outcomes of sales and payments, by result type (``app.services.purchase``,
  ``app.services.payments``).

With several workers (``WORKERS`` > 1) each is a process of its own: ``serve`` gives
them a fresh ``PROMETHEUS_MULTIPROC_DIR`` before they start (prometheus-client's
multiprocess mode: each process writes its values to files there, and a scrape,
served by any worker, adds them up), tells the library when a worker exits
(``worker_exited``), and deletes the folder when it stops.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_SECONDS = 1.0
MAX_OPERATION_NAMES = 200
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

enabled = False
"""Whether anything is counted: set once at start-up by ``enable`` (``METRICS=on``)."""

HTTP_REQUESTS = Counter(
    "credit_ledger_http_requests", "HTTP requests by route and status", ["route", "status"]
)
HTTP_SECONDS = Histogram(
    "credit_ledger_http_request_duration_seconds",
    "HTTP request latency, body included", ["route"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
OPERATIONS = Counter(
    "credit_ledger_graphql_operations",
    "GraphQL operations by name, type (query, mutation) and result (ok, error, partial)",
    ["operation", "type", "result"],
)
OPERATION_SECONDS = Histogram(
    "credit_ledger_graphql_operation_duration_seconds",
    "GraphQL operation latency: parsing, validation, execution", ["operation"],
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
ERRORS = Counter("credit_ledger_errors", "Errors answered, by extensions.code", ["code"])
DB_SECONDS = Histogram(
    "credit_ledger_db_call_duration_seconds",
    "Database calls by kind: call (a server-side function), read (a page query),"
    " transaction (a unit of work)", ["kind"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
POOL_CONNECTIONS = Gauge(
    "credit_ledger_db_pool_connections",
    "Connections of each pool (driver: the hot paths'; engine: SQLAlchemy's), open or in use",
    ["pool", "state"], multiprocess_mode="livesum",
)  # fmt: skip
POOL_WAITS = Counter(
    "credit_ledger_db_pool_waits", "Borrowers that had to wait for a free connection", ["pool"]
)
POOL_TIMEOUTS = Counter(
    "credit_ledger_db_pool_timeouts", "Borrowers that gave up waiting (TRY_AGAIN)", ["pool"]
)
SALES = Counter("credit_ledger_sales", "Sales (purchase) by outcome", ["outcome"])
PAYMENTS = Counter("credit_ledger_payments", "Payments (recordPayment) by outcome", ["outcome"])

DB_CALL = DB_SECONDS.labels("call")
DB_READ = DB_SECONDS.labels("read")
DB_TRANSACTION = DB_SECONDS.labels("transaction")

_operation_names: set[str] = set()


def enable(on: bool) -> None:
    global enabled  # noqa: PLW0603 - one switch for the process, set at start-up
    enabled = on


def operation_label(name: str | None) -> str:
    """A client's operation name as a label, its distinct values bounded."""
    if name is None:
        return "(anonymous)"
    if name in _operation_names:
        return name
    if len(_operation_names) >= MAX_OPERATION_NAMES:
        return "other"
    _operation_names.add(name)
    return name


_requests: dict[tuple[str, int], tuple[Any, Any]] = {}
"""Each label set's counter and histogram, so a request skips prometheus-client's lookup."""


def count_request(route: str, status: int, seconds: float) -> None:
    children = _requests.get((route, status))
    if children is None:
        children = _requests[route, status] = (
            HTTP_REQUESTS.labels(route, str(status)),
            HTTP_SECONDS.labels(route),
        )
    children[0].inc()
    children[1].observe(seconds)


def outcome(counter: Counter, result: object) -> None:
    """Count a use case's result by its type (``Purchased``, ``InsufficientStock``, …)."""
    if enabled:
        counter.labels(type(result).__name__).inc()


def exposition() -> tuple[bytes, str]:
    """Every metric in the text format, added up over the workers if there are several."""
    if MULTIPROC_DIR in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


@contextmanager
def worker_files(workers: int) -> Iterator[None]:
    """A fresh multiprocess folder for the workers to come, deleted afterwards; nothing
    with one worker, which counts in memory."""
    if workers <= 1:
        yield
        return
    folder = tempfile.mkdtemp(prefix="credit-ledger-metrics-")
    os.environ[MULTIPROC_DIR] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROC_DIR]
        shutil.rmtree(folder, ignore_errors=True)


def worker_exited(pid: int | None) -> None:
    """Forget a worker's live gauges (its counters stay: counts never go down)."""
    folder = os.environ.get(MULTIPROC_DIR)
    if folder and pid is not None:
        multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]


class PoolSampler:
    """Copies the pools' state into the gauges and counters (``sample``)."""

    def __init__(self, driver_pool: Any, engine_pool: Any) -> None:
        self.driver_pool = driver_pool
        self.engine_pool = engine_pool
        self._waits = self._timeouts = 0

    def sample(self) -> None:
        driver = self.driver_pool
        POOL_CONNECTIONS.labels("driver", "open").set(driver.opened)
        POOL_CONNECTIONS.labels("driver", "in_use").set(driver.in_use)
        POOL_CONNECTIONS.labels("engine", "open").set(
            self.engine_pool.checkedin() + self.engine_pool.checkedout()
        )
        POOL_CONNECTIONS.labels("engine", "in_use").set(self.engine_pool.checkedout())
        POOL_WAITS.labels("driver").inc(driver.waits - self._waits)
        POOL_TIMEOUTS.labels("driver").inc(driver.timeouts - self._timeouts)
        self._waits, self._timeouts = driver.waits, driver.timeouts
