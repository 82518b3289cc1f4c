"""CPU per request in process, configurations alternating: steadier than requests/s.

``make bench`` measures throughput on a machine whose two cores are shared, and
its figures move by more than 15% from run to run.  This measures what a
mechanism saves more directly: each workload's requests go, one at a time,
through the whole ASGI app in this process (the database included, as the
service runs them), and the process's CPU time is read around each one.
Configurations alternate in rounds (A, B, A, B, ...), so a slower or faster
moment of the machine falls on both.  The median per configuration is reported.

    .venv/bin/python -m bench.cpu [--rounds 20] [--per-round 25] [--workloads a,b]

Configurations: the execution engine on and off (``FAST_EXECUTION``).

Beside the service's CPU it reports PostgreSQL's: the CPU time (user and system)
the scratch database's server processes spent over each configuration's requests,
read from ``/proc`` before and after each batch, as a mean per request.  It needs
the server on this machine (else ``n/a``); a connection opened during a batch counts
from its start, one closed during it is lost to it.  The two figures together say
where a request's CPU goes, and what a change in the database saves, steadier than
throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from contextlib import AsyncExitStack

import httpx

from app.config import Settings
from app.db.migrations import upgrade
from app.main import create_app
from bench.catalogue import seed_catalogue
from bench.database import connect, create_database, drop_database, pick_server
from bench.loadgen.plan import KEY, body_parts
from bench.seed import Dataset, seed_ledger, seed_shop
from bench.workloads import Workload, select

CONFIGURATIONS = {"engine on": True, "engine off": False}

_TICKS = os.sysconf("SC_CLK_TCK")


class ServerCPU:
    """CPU seconds spent so far by each server process serving one database."""

    def __init__(self, url: str) -> None:
        self._connection = connect(url, autocommit=True)

    def seconds(self) -> dict[int, float] | None:
        """By process id; ``None`` when there is none, or one cannot be read here (the
        server runs on another machine)."""
        pids = self._connection.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        spent = {}
        for (pid,) in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue  # it ended meanwhile
            except OSError:
                return None
            spent[pid] = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
        return spent or None

    @staticmethod
    def between(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU seconds spent between two readings by the processes alive at the second
        (one that ended in between is lost, one that started counts from its start)."""
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())

    def close(self) -> None:
        self._connection.close()


def _body(workload: Workload, dataset: Dataset, rng: random.Random, number: int) -> bytes:
    parts = body_parts(workload.query, workload.variables)
    text = [
        part
        if i % 2 == 0
        else (f"cpu-{number}" if part == KEY else rng.choice(dataset.pools[part]))
        for i, part in enumerate(parts)
    ]
    return "".join(text).encode()


async def measure(
    url: str,
    workloads: list[Workload],
    datasets: dict[str, Dataset],
    *,
    rounds: int,
    per_round: int,
    server: ServerCPU,
) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], float | None]]:
    """Per (workload, configuration): the service's CPU of each request, and the
    server's mean CPU per request (``None`` when it cannot be read)."""
    rng = random.Random(7)
    samples: dict[tuple[str, str], list[float]] = {}
    in_server: dict[tuple[str, str], float | None] = {}
    async with AsyncExitStack() as stack:
        clients = {}
        for name, fast in CONFIGURATIONS.items():
            app = create_app(Settings(database_url=url, fast_execution=fast))
            await stack.enter_async_context(app.starlette.router.lifespan_context(app.starlette))
            transport = httpx.ASGITransport(app=app)
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://bench")
            )
        number = 0
        for _ in range(rounds):
            for workload in workloads:
                dataset = datasets[workload.dataset]
                headers = {"Authorization": f"Bearer {dataset.tokens[workload.role]}",
                           "Content-Type": "application/json"}  # fmt: skip
                for name, client in clients.items():
                    server_before = server.seconds()
                    for _ in range(per_round):
                        number += 1
                        body = _body(workload, dataset, rng, number)
                        started = time.process_time()
                        response = await client.post("/graphql", content=body, headers=headers)
                        spent = time.process_time() - started
                        if response.status_code != 200 or b'"errors"' in response.content:
                            raise SystemExit(f"{workload.name}: {response.text[:300]}")
                        samples.setdefault((workload.name, name), []).append(spent)
                    server_after = server.seconds()
                    key = (workload.name, name)
                    if server_before is None or server_after is None:
                        in_server[key] = None
                    elif (total := in_server.get(key, 0.0)) is not None:
                        in_server[key] = total + server.between(server_before, server_after)
    count = rounds * per_round
    return samples, {
        key: None if total is None else total / count for key, total in in_server.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=25)
    parser.add_argument(
        "--workloads", default="purchase-uniform,payment,customer-lookup,customers-page"
    )
    parser.add_argument("--ledger-customers", type=int, default=20_000)
    parser.add_argument("--ledger-entries", type=int, default=400_000)
    args = parser.parse_args()
    workloads = select(args.workloads)
    server = pick_server()
    url = create_database(server, prefix="credit_ledger_cpu")
    try:
        upgrade(url)
        datasets = {}
        if any(w.dataset == "shop" for w in workloads):
            datasets["shop"] = seed_shop(url)
        if any(w.dataset == "catalogue" for w in workloads):
            datasets["catalogue"] = seed_catalogue(url)
        if any(w.dataset == "ledger" for w in workloads):
            datasets["ledger"] = seed_ledger(
                url, customers=args.ledger_customers, entries=args.ledger_entries
            )
        server_cpu = ServerCPU(url)
        try:
            samples, in_server = asyncio.run(
                measure(
                    url,
                    workloads,
                    datasets,
                    rounds=args.rounds,
                    per_round=args.per_round,
                    server=server_cpu,
                )
            )
        finally:
            server_cpu.close()
    finally:
        drop_database(server, url)
    print("service CPU per request (median)")
    print(f"{'workload':18} " + " ".join(f"{name:>12}" for name in CONFIGURATIONS) + "   saved")
    for workload in workloads:
        medians = [
            statistics.median(samples[workload.name, name]) * 1000 for name in CONFIGURATIONS
        ]
        saved = 1 - medians[0] / medians[1]
        print(
            f"{workload.name:18} " + " ".join(f"{m:10.3f}ms" for m in medians) + f"   {saved:6.1%}"
        )
    print("PostgreSQL CPU per request (mean)")
    for workload in workloads:
        means = [in_server[workload.name, name] for name in CONFIGURATIONS]
        print(
            f"{workload.name:18} "
            + " ".join("         n/a" if m is None else f"{m * 1000:10.3f}ms" for m in means)
        )


if __name__ == "__main__":
    main()
