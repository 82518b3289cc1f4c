"""This machine's database speed: pgbench's built-in TPC-B-like script on a scratch database.

Absolute speed varies from machine to machine and minute to minute (the cores
are shared), so each workload is reported as a ratio of this figure, measured
in the same run with the same number of clients.  The scale defaults to the
client count so that the 16 clients do not all queue on a handful of branch rows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from bench.database import create_database, drop_database, libpq_url

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
        done = subprocess.run(
            ["pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds), target],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"pgbench failed:\n{exc.stdout}\n{exc.stderr}") from exc
    finally:
        drop_database(server, url)
    tps, latency = TPS.search(done.stdout), LATENCY.search(done.stdout)
    if tps is None or latency is None:
        raise RuntimeError(f"cannot read pgbench's output:\n{done.stdout}")
    return PgbenchResult(
        tps=float(tps.group(1)),
        latency_ms=float(latency.group(1)),
        scale=scale,
        clients=clients,
        seconds=seconds,
        database=str(make_url(url).database),
    )
