"""This machine's database speed: pgbench's built-in TPC-B-like script on a scratch database.

Absolute speed varies from machine to machine and minute to minute (the cores
are shared), so each workload is reported as a ratio of this figure, measured
in the same run with the same number of clients.  The scale defaults to the
client count so that the 16 clients do not all queue on a handful of branch rows.

Its transactions' latencies (``-l``: one line per transaction) are reported too,
with the same percentiles as the workloads': what this machine's own commits
took at that moment, with 16 clients.  On 2026-12-01 its p99 ranged from 11 ms
to 94 ms between runs minutes apart, as the disk's write stalls came and went.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.database import create_database, drop_database, libpq_url
from bench.loadgen.plan import latency_summary

TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)


@dataclass(frozen=True)
class PgbenchResult:
    tps: float
    latency_ms: float
    scale: int
    clients: int
    seconds: int
    database: str
    """The scratch database it ran on (dropped by now)."""
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0


def available() -> bool:
    return shutil.which("pgbench") is not None


def measure(server: str, *, clients: int, seconds: int, scale: int) -> PgbenchResult:
    url = create_database(server, prefix="credit_ledger_pgbench")
    try:
        target = libpq_url(url)
        subprocess.run(
            ["pgbench", "-i", "-q", "-s", str(scale), target],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as logs:
            done = subprocess.run(
                ["pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds), "-l",
                 "--log-prefix", str(Path(logs) / "txn"), target],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            latencies = _latencies(Path(logs))
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"pgbench failed:\n{exc.stdout}\n{exc.stderr}") from exc
    finally:
        drop_database(server, url)
    tps, latency = TPS.search(done.stdout), LATENCY.search(done.stdout)
    if tps is None or latency is None:
        raise RuntimeError(f"cannot read pgbench's output:\n{done.stdout}")
    p50, p95, p99, longest = latency_summary(latencies)
    return PgbenchResult(
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        max_ms=longest,
        tps=float(tps.group(1)),
        latency_ms=float(latency.group(1)),
        scale=scale,
        clients=clients,
        seconds=seconds,
        database=str(make_url(url).database),
    )


def _latencies(logs: Path) -> list[float]:
    """Every transaction's latency in seconds, from pgbench's per-transaction logs
    (``client transaction latency_us script epoch_s epoch_us``, one file per thread)."""
    return [
        int(line.split()[2]) / 1e6
        for log in sorted(logs.glob("txn.*"))
        for line in log.read_text().splitlines()
        if line.strip()
    ]
