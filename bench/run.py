"""``make bench``: seed a scratch database, start the service, load it, compare with pgbench.

Order of a run: pgbench on its own scratch database (while nothing else of ours
runs), then the bench database (migrated), the service in its own process, each
selected workload grouped by dataset, each dataset seeded just before its first
workload (``DATASETS``: the shop and the writes first), each workload's probe,
warm-up, measured run and invariants for writes, one table in the order asked
for, JSON under ``bench/results/``.  Everything started is
stopped and every scratch database dropped, on failure and Ctrl-C too.

Options come from flags or the environment (flags win); see ``--help``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from app.config import APP_ROLE, Settings, app_url_for
from app.db.migrations import upgrade
from bench import graphql, invariants, pgbench, pgbouncer, report
from bench.catalogue import seed_catalogue
from bench.database import connect, create_database, drop_database, pick_server
from bench.loadgen import pyload, wrk
from bench.loadgen.plan import Outcome, Plan, body_parts, classify
from bench.seed import Dataset, seed_ledger, seed_shop
from bench.service import Service, machine_busy
from bench.workloads import Workload, select


@dataclass
class Config:
    workloads: list[Workload]
    seconds: float = 10
    warmup: float = 2
    clients: int = 16
    workers: int = 2
    generator: str = "auto"
    wrk_threads: int = 1
    pgbench: bool = True
    pgbench_scale: int = 16
    shop_customers: int = 1_000
    products: int = 1_000
    ledger_customers: int = 100_000
    ledger_entries: int = 2_000_000
    log_level: str = "WARNING"
    pooler: str = "none"
    """``pgbouncer``: the service reaches PostgreSQL through a transaction-pooling PgBouncer."""
    save: bool = True


@dataclass
class Run:
    results: list[report.WorkloadResult]
    pgbench: pgbench.PgbenchResult | None
    table: str
    seeding: dict[str, float] = field(default_factory=dict)
    saved_to: str | None = None
    service_exit: int | None = None
    """The service's exit status: set once it has been stopped."""
    databases: list[str] = field(default_factory=list)
    """The scratch databases the run created (and dropped)."""


def say(message: str) -> None:
    print(message, flush=True)


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def parse(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--workloads",
        default=_env("BENCH_WORKLOADS", ""),
        help="comma-separated subset (BENCH_WORKLOADS); default: all",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=float(_env("BENCH_SECONDS", "10")),
        help="measured seconds per workload and for pgbench (BENCH_SECONDS)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=float(_env("BENCH_WARMUP", "2")),
        help="unmeasured seconds before each workload (BENCH_WARMUP)",
    )
    p.add_argument("--clients", type=int, default=int(_env("BENCH_CLIENTS", "16")))
    p.add_argument(
        "--workers",
        type=int,
        default=int(_env("BENCH_WORKERS", "2")),
        help="service worker processes (BENCH_WORKERS); 2 measured faster than 1 on 2 cores",
    )
    p.add_argument(
        "--generator",
        choices=["auto", "wrk", "python"],
        default=_env("BENCH_GENERATOR", "auto"),
        help="load generator; auto = wrk, installed with apt-get if missing",
    )
    p.add_argument("--wrk-threads", type=int, default=int(_env("BENCH_WRK_THREADS", "1")))
    p.add_argument("--no-pgbench", action="store_true", default=_env("BENCH_PGBENCH", "1") == "0")
    p.add_argument("--pgbench-scale", type=int, default=int(_env("BENCH_PGBENCH_SCALE", "16")))
    p.add_argument(
        "--ledger-customers", type=int, default=int(_env("BENCH_LEDGER_CUSTOMERS", "100000"))
    )
    p.add_argument(
        "--ledger-entries", type=int, default=int(_env("BENCH_LEDGER_ENTRIES", "2000000"))
    )
    p.add_argument(
        "--log-level",
        default=_env("BENCH_LOG_LEVEL", "WARNING"),
        help="the service's LOG_LEVEL (INFO writes one access line per request)",
    )
    p.add_argument(
        "--pooler",
        choices=["none", "pgbouncer"],
        default=_env("BENCH_POOLER", "none"),
        help="pgbouncer: serve through PgBouncer in transaction mode, DB_POOLER=transaction"
        " (BENCH_POOLER)",
    )
    args = p.parse_args(argv)
    return Config(
        workloads=select(args.workloads),
        seconds=args.seconds,
        warmup=args.warmup,
        clients=args.clients,
        workers=args.workers,
        generator=args.generator,
        wrk_threads=args.wrk_threads,
        pgbench=not args.no_pgbench,
        pgbench_scale=args.pgbench_scale,
        ledger_customers=args.ledger_customers,
        ledger_entries=args.ledger_entries,
        log_level=args.log_level,
        pooler=args.pooler,
    )


def choose_generator(wanted: str) -> str:
    if wanted == "python":
        return "python"
    if wrk.install():
        return "wrk"
    if wanted == "wrk":
        raise SystemExit("wrk was asked for and is not available")
    say("falling back to the Python load generator")
    return "python"


def drive(generator: str, plan: Plan, config: Config) -> Outcome:
    if generator == "wrk":
        return wrk.run(plan, threads=config.wrk_threads)
    return pyload.run(plan)


def run_workload(
    workload: Workload,
    *,
    config: Config,
    generator: str,
    service: Service,
    fields: graphql.RootFields,
    datasets: dict[str, Dataset],
    database_url: str,
    run_id: str,
) -> report.WorkloadResult:
    if not in_schema(workload, fields):
        return report.WorkloadResult(workload, "skipped", "not in schema")
    kind, name = workload.operation
    dataset = datasets[workload.dataset]
    plan = Plan(
        host=service.host,
        port=service.port,
        token=dataset.tokens[workload.role],
        parts=body_parts(graphql.with_schema_types(workload.query, fields[kind][name]),
                         workload.variables),
        pools=dataset.pools,
        ok=list(workload.ok),
        refusals=list(workload.refusals),
        clients=config.clients,
        seconds=config.seconds,
        key_prefix=f"{run_id}-{workload.name}-",
    )  # fmt: skip
    if missing := plan.missing_pools():
        return report.WorkloadResult(workload, "failed", f"no pool for {', '.join(missing)}")
    probe = graphql.post_body(
        service.host, service.port, plan.token, plan.one_body(f"{plan.key_prefix}probe")
    )
    if classify(200, probe, *plan.typenames()) not in ("ok", "refused"):
        return report.WorkloadResult(
            workload, "failed", f"probe answered {probe[:300].decode(errors='replace')}"
        )
    if config.warmup > 0:
        warm = replace(plan, seconds=config.warmup, key_prefix=plan.key_prefix + "warm-")
        drive(generator, warm, config)
    cpu_before, busy_before = service.cpu_seconds(), machine_busy()
    outcome = drive(generator, plan, config)
    cpu_after, busy_after = service.cpu_seconds(), machine_busy()
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    result = report.WorkloadResult(
        workload,
        "ran",
        outcome=outcome,
        server_cpu_cores=(cpu_after - cpu_before) / outcome.seconds if outcome.seconds else 0,
        machine_busy=busy,
    )
    if workload.writes:
        result.invariants = invariants.violations(database_url, dataset.business_id)
        say(f"    {invariants.describe(result.invariants)}")
    return result


def in_schema(workload: Workload, fields: graphql.RootFields) -> bool:
    kind, name = workload.operation
    return name in fields.get(kind, {})


DATASETS = ("shop", "catalogue", "ledger")
"""In the order they are seeded, each just before the first workload that needs it,
so the shop's workloads (all the writes) run before the catalogue and ledger seeds.

That seed writes several GB, and for minutes after it this machine's disk stalls
single writes for a tenth of a second and more; every commit waits for its WAL
write, so a write workload measured then measures the disk's recovery.  Seen on
2026-12-01 with pgbench (16 clients, 10 s, the longest time without a completed
transaction): 74 ms on a quiet machine, 64, 899 and 307 ms in three runs started
right after the ledger seed and its ``CHECKPOINT``; ``fdatasync`` of 8 kB, p99
0.3 ms either way, longest 47 and 193 ms.  The writes measured after the seed:
purchase p99 114 to 420 ms, with every response stopped for up to 196 ms at a time
while one WAL write was in flight; measured before it, 17 to 29 ms (wrk's own
percentiles, as the bench reported them then: ``bench/loadgen/wrk.lua``)."""


def seed_dataset(config: Config, database_url: str, name: str) -> Dataset:
    if name == "catalogue":
        catalogue = seed_catalogue(database_url)
        say(f"seeded catalogue: {catalogue.counts} in {catalogue.seconds:.1f} s")
        return catalogue
    if name == "shop":
        shop = seed_shop(database_url, customers=config.shop_customers, products=config.products)
        say(
            f"seeded shop: {config.shop_customers:,} customers, {config.products:,} products"
            f" in {shop.seconds:.1f} s"
        )
        return shop
    say(
        f"seeding ledger: {config.ledger_customers:,} customers,"
        f" {config.ledger_entries:,} entries ..."
    )
    ledger = seed_ledger(
        database_url, customers=config.ledger_customers, entries=config.ledger_entries
    )
    path = "bulk, triggers off" if ledger.counts["bulk_path"] else "through the triggers"
    started = time.perf_counter()
    found = invariants.violations(database_url, ledger.business_id)
    say(
        f"seeded ledger in {ledger.seconds:.1f} s ({path}); checked in"
        f" {time.perf_counter() - started:.1f} s: {invariants.describe(found)}"
    )
    if any(found.values()):
        raise RuntimeError("the seeded ledger is inconsistent; not benchmarking on it")
    flush_writes(database_url)
    return ledger


def flush_writes(database_url: str) -> None:
    """Checkpoint now, so no checkpoint starts while the ledger's workloads are measured.

    The ledger seed writes a few GB of WAL, which sets off checkpoints one after
    the other; the next one then starts ``checkpoint_timeout`` (5 minutes here)
    after the last of them, which in two full runs of 2026-12-01, when the writes
    still ran after this seed (see ``DATASETS``), was just as the purchase
    workloads began.  After a checkpoint starts, the first change of every
    page writes the whole page to the WAL, and a purchase holds its product's row
    lock until its commit is flushed: purchase-hot's p99 was 233 and 295 ms in those
    runs, 61 ms on a database seeded with the shop alone.  ``CHECKPOINT`` needs the
    superuser or ``pg_checkpoint``; without either the run goes on and says so.
    """
    started = time.perf_counter()
    try:
        with connect(database_url, autocommit=True) as connection:
            connection.execute("CHECKPOINT")
    except psycopg.Error as exc:
        say(f"no CHECKPOINT after seeding ({exc.diag.message_primary}); writes may overlap")
        return
    say(f"checkpoint after seeding: {time.perf_counter() - started:.1f} s")


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def through_pooler(
    config: Config, server: str, database_url: str, cleanup: ExitStack
) -> dict[str, str]:
    """The service's settings for ``config.pooler``; a PgBouncer started for it if asked.

    PgBouncer gets as many server connections as the service would open directly to
    PostgreSQL for its driver pools (``DB_POOL_SIZE`` per worker), so the two routes
    differ only by the pooler.
    """
    if config.pooler == "none":
        return {}
    if not pgbouncer.available():
        raise SystemExit("BENCH_POOLER=pgbouncer needs pgbouncer: make pgbouncer")
    pool_size = int(_env("DB_POOL_SIZE", str(Settings.pool_size))) * config.workers
    bouncer = pgbouncer.start(server, [APP_ROLE], pool_size=pool_size)
    cleanup.callback(bouncer.stop)
    say(f"pgbouncer: transaction mode, {pool_size} server connections, port {bouncer.port}")
    return {"APP_DATABASE_URL": bouncer.url(app_url_for(database_url)), "DB_POOLER": "transaction"}


def run(config: Config) -> Run:
    run_id = uuid.uuid4().hex[:8]
    generator = choose_generator(config.generator)
    server = pick_server()
    measured_db: pgbench.PgbenchResult | None = None
    if config.pgbench and pgbench.available():
        say(f"pgbench: scale {config.pgbench_scale}, {config.clients} clients ...")
        measured_db = pgbench.measure(
            server, clients=config.clients, seconds=max(1, round(config.seconds)),
            scale=config.pgbench_scale,
        )  # fmt: skip
        say(f"pgbench: {measured_db.tps:.1f} tps")
    databases = [measured_db.database] if measured_db else []
    with ExitStack() as cleanup:
        database_url = create_database(server, prefix="credit_ledger_bench")
        cleanup.callback(drop_database, server, database_url)
        databases.append(str(make_url(database_url).database))
        upgrade(database_url)
        service = Service(
            database_url, workers=config.workers, log_level=config.log_level,
            log_path=report.RESULTS / f"service-{run_id}.log",
            env=through_pooler(config, server, database_url, cleanup),
        )  # fmt: skip
        cleanup.callback(service.stop)
        service.start()
        say(f"service: {' '.join(service.command)}")
        fields = graphql.root_fields(service.host, service.port)
        datasets: dict[str, Dataset] = {}
        asked: dict[int, report.WorkloadResult] = {}
        # Run grouped by dataset (a stable sort), report in the order asked for.
        order = sorted(enumerate(config.workloads), key=lambda w: DATASETS.index(w[1].dataset))
        for position, workload in order:
            if in_schema(workload, fields) and workload.dataset not in datasets:
                datasets[workload.dataset] = seed_dataset(config, database_url, workload.dataset)
            say(f"  {workload.name} ...")
            try:
                result = run_workload(
                    workload, config=config, generator=generator, service=service,
                    fields=fields, datasets=datasets, database_url=database_url, run_id=run_id,
                )  # fmt: skip
            except Exception as exc:  # one broken workload must not hide the others' results
                result = report.WorkloadResult(workload, "failed", f"{type(exc).__name__}: {exc}")
            if result.status != "ran":
                say(f"    {result.status} ({result.reason})")
            asked[position] = result
        results = [asked[position] for position in range(len(config.workloads))]
        seeding = {name: dataset.seconds for name, dataset in datasets.items()}
        service.stop()
        if service.process is not None and service.process.returncode not in (0, -15, None):
            say(f"the service exited with {service.process.returncode}; log: {service.log_path}")
    table = report.table(results, measured_db)
    say("")
    say("through PgBouncer (transaction mode)" if config.pooler == "pgbouncer" else "direct")
    say(table)
    say(report.details(results))
    outcome = Run(
        results=results, pgbench=measured_db, table=table, seeding=seeding,
        service_exit=service.process.returncode if service.process else None,
        databases=databases,
    )  # fmt: skip
    if config.save:
        path = report.save(results, measured_db, {
            "run_id": run_id, "commit": _git_commit(), "generator": generator,
            "clients": config.clients, "seconds": config.seconds, "warmup": config.warmup,
            "workers": config.workers, "service_command": service.command,
            "log_level": config.log_level, "seeding_seconds": seeding, "cpus": os.cpu_count(),
            "pooler": config.pooler,
        })  # fmt: skip
        outcome.saved_to = str(path)
        say(f"results: {path}")
    return outcome


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> Any:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    config = parse(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run(config)
    except KeyboardInterrupt:
        say("interrupted; everything started was stopped and the scratch databases dropped")
        sys.exit(130)


if __name__ == "__main__":
    main()
