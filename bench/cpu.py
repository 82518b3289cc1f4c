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
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from contextlib import AsyncExitStack

import httpx

from app.config import Settings
from app.db.migrations import upgrade
from app.main import create_app
from bench.database import create_database, drop_database, pick_server
from bench.loadgen.plan import KEY, body_parts
from bench.seed import Dataset, seed_ledger, seed_shop
from bench.workloads import Workload, select

CONFIGURATIONS = {"engine on": True, "engine off": False}


def _body(workload: Workload, dataset: Dataset, rng: random.Random, number: int) -> bytes:
    parts = body_parts(workload.query, workload.variables)
    text = [
        part
        if i % 2 == 0
        else (f"cpu-{number}" if part == KEY else rng.choice(dataset.pools[part]))
        for i, part in enumerate(parts)
    ]
    return "".join(text).encode()


async def measure(url: str, workloads: list[Workload], datasets: dict[str, Dataset],
                  rounds: int, per_round: int) -> dict[tuple[str, str], list[float]]:  # fmt: skip
    rng = random.Random(7)
    samples: dict[tuple[str, str], list[float]] = {}
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
                    for _ in range(per_round):
                        number += 1
                        body = _body(workload, dataset, rng, number)
                        started = time.process_time()
                        response = await client.post("/graphql", content=body, headers=headers)
                        spent = time.process_time() - started
                        if response.status_code != 200 or b'"errors"' in response.content:
                            raise SystemExit(f"{workload.name}: {response.text[:300]}")
                        samples.setdefault((workload.name, name), []).append(spent)
    return samples


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
        if any(w.dataset == "ledger" for w in workloads):
            datasets["ledger"] = seed_ledger(
                url, customers=args.ledger_customers, entries=args.ledger_entries
            )
        samples = asyncio.run(measure(url, workloads, datasets, args.rounds, args.per_round))
    finally:
        drop_database(server, url)
    print(f"{'workload':18} " + " ".join(f"{name:>12}" for name in CONFIGURATIONS) + "   saved")
    for workload in workloads:
        medians = [
            statistics.median(samples[workload.name, name]) * 1000 for name in CONFIGURATIONS
        ]
        saved = 1 - medians[0] / medians[1]
        print(
            f"{workload.name:18} " + " ".join(f"{m:10.3f}ms" for m in medians) + f"   {saved:6.1%}"
        )


if __name__ == "__main__":
    main()
