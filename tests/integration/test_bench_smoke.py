"""``make bench`` in miniature: tiny seeds, one-second runs, the table at the end.

The bench itself is not part of the suite; this keeps its harness working: the
bulk ledger seed must equal what the triggers would have written, the
invariant checks must be able to fail, and a run must print its table, skip
what the schema lacks and leave no process or scratch database behind.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.db.migrations import upgrade
from bench import invariants, pgbench
from bench.database import connect, tenant
from bench.loadgen import wrk
from bench.run import Config, run
from bench.seed import seed_ledger
from bench.workloads import BY_NAME, Workload
from tests.db import create_database, drop_database


@pytest.fixture(scope="module")
def scratch(server: str) -> Iterator[str]:
    url = create_database(server, prefix="credit_ledger_bench_test")
    upgrade(url)
    yield url
    drop_database(server, url)


def _existing(server: str, names: list[str]) -> list[str]:
    with connect(server) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)
        ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("through_triggers", [False, True], ids=["bulk", "triggers"])
def test_seeded_history_keeps_every_invariant_whichever_path_wrote_it(
    scratch: str, through_triggers: bool
) -> None:
    ledger = seed_ledger(
        scratch, customers=40, entries=850, days=180, through_triggers=through_triggers
    )
    assert ledger.counts["bulk_path"] == (not through_triggers)
    found = invariants.violations(scratch, ledger.business_id)
    assert len(found) >= 4
    assert not any(found.values()), found
    with connect(scratch) as connection, tenant(connection, ledger.business_id) as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT customer_id), count(*) FILTER (WHERE kind = 'payment')"
            " FROM credit_ledger WHERE business_id = %s",
            (ledger.business_id,),
        )
        entries, customers, payments = cursor.fetchone() or (0, 0, 0)
        cursor.execute(
            "SELECT count(*) FROM customers WHERE business_id = %s"
            " AND oldest_unpaid_at < now() - interval '30 days'",
            (ledger.business_id,),
        )
        (overdue,) = cursor.fetchone() or (0,)
        # A later entry goes through the trigger, which continues from the cached columns.
        cursor.execute(
            "WITH c AS (SELECT id, balance FROM customers WHERE business_id = %(b)s"
            "           AND balance > 1 ORDER BY id LIMIT 1),"
            " p AS (INSERT INTO payments (business_id, customer_id, amount, method)"
            "       SELECT %(b)s, id, 1, 'CASH' FROM c RETURNING id, customer_id)"
            " INSERT INTO credit_ledger (business_id, customer_id, kind, amount, balance_after,"
            "   charged_total, credited_total, payment_id)"
            " SELECT %(b)s, customer_id, 'payment', -1, 0, 0, 0, id FROM p",
            {"b": ledger.business_id},
        )
    assert (entries, customers) == (850, 40)
    assert payments > 0
    assert overdue > 0
    assert not any(invariants.violations(scratch, ledger.business_id).values())


def test_invariant_checks_notice_a_cached_balance_that_drifted(scratch: str) -> None:
    ledger = seed_ledger(scratch, customers=5, entries=20, days=60)
    with connect(scratch) as connection, tenant(connection, ledger.business_id) as cursor:
        cursor.execute(
            "UPDATE customers SET balance = balance + 7, charged_total = charged_total + 7"
            " WHERE business_id = %s AND id = (SELECT min(id) FROM customers"
            " WHERE business_id = %s AND balance > 0)",
            (ledger.business_id, ledger.business_id),
        )
    found = invariants.violations(scratch, ledger.business_id)
    assert sum(count for name, count in found.items() if "balance" in name) == 1, found


def test_a_tiny_bench_run_prints_its_table_and_cleans_up(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = Workload(
        name="not-yet-built",
        operation=("mutation", "noSuchOperation"),
        query="mutation { noSuchOperation }",
        variables={},
        dataset="shop",
    )
    config = Config(
        workloads=[BY_NAME["restock"], missing],
        seconds=1,
        warmup=0,
        clients=4,
        workers=1,
        generator="wrk" if wrk.available() else "python",
        pgbench_scale=1,
        shop_customers=20,
        products=20,
        save=False,
    )

    outcome = run(config)

    restock, skipped = outcome.results
    assert restock.status == "ran"
    assert restock.outcome is not None
    assert restock.outcome.requests > 0
    assert restock.outcome.errors == 0, restock.outcome.error_sample
    assert restock.invariants is not None
    assert not any(restock.invariants.values())
    assert (skipped.status, skipped.reason) == ("skipped", "not in schema")
    printed = capsys.readouterr().out
    assert "workload" in printed
    assert "p99 ms" in printed
    assert "not-yet-built     skipped (not in schema)" in printed
    if pgbench.available():
        assert outcome.pgbench is not None
        assert outcome.pgbench.tps > 0
        assert 0 < outcome.pgbench.p50_ms <= outcome.pgbench.p99_ms <= outcome.pgbench.max_ms
        assert "pgbench (TPC-B)" in printed
    assert outcome.service_exit is not None
    assert len(outcome.databases) == (2 if pgbench.available() else 1)
    assert _existing(server, outcome.databases) == []


def test_the_writes_run_before_the_ledger_seed_and_report_in_the_order_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = Config(
        workloads=[BY_NAME["customers-page"], BY_NAME["restock"]],
        seconds=0.5,
        warmup=0,
        clients=2,
        workers=1,
        generator="wrk" if wrk.available() else "python",
        pgbench=False,
        shop_customers=10,
        products=10,
        ledger_customers=50,
        ledger_entries=300,
        save=False,
    )

    outcome = run(config)

    assert [r.workload.name for r in outcome.results] == ["customers-page", "restock"]
    assert all(r.status == "ran" for r in outcome.results), [r.reason for r in outcome.results]
    printed = capsys.readouterr().out
    steps = ["seeded shop", "  restock ...", "seeding ledger", "  customers-page ..."]
    positions = [printed.index(step) for step in steps]
    assert positions == sorted(positions), printed
    assert set(outcome.seeding) == {"shop", "ledger"}
