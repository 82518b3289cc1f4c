"""Migration 0005: buyers queue on advisory locks, the ledger trigger's shorter paths,
answers assembled from the locked row, and a downgrade that restores 0004 exactly."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.migrations import downgrade, upgrade
from app.domain.overdue import DAY, Entry, overdue_status
from app.services import admin
from app.services.retry import sqlstate
from tests.conftest import Tenant
from tests.helpers import make_customer, make_product
from tests.ledger_data import add_customer
from tests.purchases import buy

LOCK_NOT_AVAILABLE = "55P03"
QUEUE_KEY = "(CAST(:b AS bigint) % 2147483647)::integer, (CAST(:p AS bigint) % 2147483647)::integer"
"""The advisory lock that buyers of product ``:p`` of business ``:b`` queue on (0005)."""


async def _bind(connection: AsyncConnection, business_id: int) -> None:
    await connection.execute(
        text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business_id)}
    )


async def _blocked_purchase(owner_db: AsyncEngine, wait_event: str) -> int:
    """The backend of a purchase waiting on ``wait_event`` (polls for up to five seconds:
    on a loaded machine the purchase can take more than one to get there)."""
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event = :event AND query LIKE '%SELECT purchase(%'"
    )
    for _ in range(500):
        async with owner_db.connect() as connection:
            pid = (await connection.execute(query, {"event": wait_event})).scalar_one_or_none()
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no purchase waited on {wait_event}")


async def _row_lock_refusal(
    owner_db: AsyncEngine, business_id: int, sql: str, **params: Any
) -> str | None:
    """None if ``sql`` FOR UPDATE NOWAIT locks its rows at once, else the SQLSTATE."""
    async with owner_db.connect() as probe:
        await _bind(probe, business_id)
        try:
            await probe.execute(text(sql + " FOR UPDATE NOWAIT"), params)
        except DBAPIError as exc:
            return sqlstate(exc)
        finally:
            await probe.rollback()
    return None


async def test_a_purchase_queues_on_its_products_after_the_customer_before_their_rows(
    tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    first, second = await make_product(tenant), await make_product(tenant)
    async with owner_db.connect() as holder:
        queue = {"b": tenant.id, "p": int(second)}
        await holder.execute(text(f"SELECT pg_advisory_xact_lock({QUEUE_KEY})"), queue)
        pending = asyncio.create_task(buy(tenant, customer, [(second, 1), (first, 2)]))
        await _blocked_purchase(owner_db, "advisory")

        # Queued behind the second product: it holds its customer's row and the
        # first product's queue (ascending id), and no product row yet.
        customer_row = "SELECT 1 FROM customers WHERE id = :c"
        product_rows = "SELECT 1 FROM products WHERE id IN (:a, :b)"
        assert await _row_lock_refusal(owner_db, tenant.id, customer_row, c=int(customer)) == (
            LOCK_NOT_AVAILABLE
        )
        assert (
            await _row_lock_refusal(owner_db, tenant.id, product_rows, a=int(first), b=int(second))
            is None
        )
        async with owner_db.connect() as other:
            try_first = text(f"SELECT pg_try_advisory_xact_lock({QUEUE_KEY})")
            taken = (await other.execute(try_first, {"b": tenant.id, "p": int(first)})).scalar_one()
            await other.rollback()
        assert taken is False
        assert not pending.done()

        await holder.rollback()
        result = await asyncio.wait_for(pending, timeout=5)
    assert result["__typename"] == "PurchaseCompleted"
    assert [item["quantity"] for item in result["order"]["items"]] == [2, 1]


async def test_a_purchase_never_queues_behind_another_tenants_buyers(
    tenant: Tenant, other_tenant: Tenant, owner_db: AsyncEngine
) -> None:
    customer = await make_customer(tenant)
    their_customer = await make_customer(other_tenant)
    theirs = await make_product(other_tenant)
    async with owner_db.connect() as holder:
        await _bind(holder, other_tenant.id)
        await holder.execute(
            text("SELECT 1 FROM products WHERE id = :p FOR UPDATE"), {"p": int(theirs)}
        )
        # Their buyer has taken the product's queue and waits for the row.
        pending = asyncio.create_task(buy(other_tenant, their_customer, [(theirs, 1)]))
        await _blocked_purchase(owner_db, "transactionid")
        # The same product id, named by this tenant: not found, at once.
        started = time.monotonic()
        result = await asyncio.wait_for(buy(tenant, customer, [(theirs, 1)]), timeout=5)
        elapsed = time.monotonic() - started
        await holder.rollback()
        assert (await asyncio.wait_for(pending, timeout=5))["__typename"] == "PurchaseCompleted"
    assert result["__typename"] == "NotFound"
    assert elapsed < 1


async def test_a_purchase_answers_with_the_balance_the_ledger_trigger_wrote(
    tenant: Tenant, owner_db: AsyncEngine, app_db: AsyncEngine
) -> None:
    customer = int(await make_customer(tenant, phone="+91 98", email="a@example.com"))
    product = int(await make_product(tenant, price="2.50"))
    free = int(await make_product(tenant, price="0.00"))
    answers = []
    async with app_db.connect() as connection:
        for n, (line, operation) in enumerate(
            [(product, "first charge"), (product, "charge while owing"), (free, "free"),
             (None, "payment in part"), (None, "payment in full"), (free, "free at zero")]
        ):  # fmt: skip
            if line is None:
                amount = 100 if operation == "payment in part" else 400
                sql = "SELECT record_payment(:b, :c, :amount, 'UPI', 'r', :k, 'h')"
                params: dict[str, Any] = {"amount": amount}
            else:
                sql = (
                    "SELECT purchase(:b, :c, ARRAY[:p]::bigint[], '{1}', '{0}', 0, '{}', '{}',"
                    " '{}', NULL, NULL, :k, 'h', NULL)"
                )
                params = {"p": line}
            params |= {"b": tenant.id, "c": customer, "k": f"answer-{n}"}
            answer = (await connection.execute(text(sql), params)).scalar_one()
            await connection.commit()
            await _bind(connection, tenant.id)
            row = (
                await connection.execute(
                    text(
                        "SELECT c.id, c.name, c.phone, c.email, c.credit_limit, c.balance,"
                        " c.oldest_unpaid_at, c.created_at, c.payment_terms_days,"
                        " b.payment_terms_days AS business_terms"
                        " FROM customers c JOIN businesses b ON b.id = c.business_id"
                        " WHERE c.id = :c"
                    ),
                    {"c": customer},
                )
            ).one()
            stored = (
                await connection.execute(
                    text("SELECT response FROM idempotency_keys WHERE key = :k"),
                    {"k": f"answer-{n}"},
                )
            ).scalar_one()
            await connection.commit()
            assert stored == answer, operation
            oldest = answer["customer"]["oldestUnpaidAt"]
            # A payment's answer also says whether the customer is archived (0013): an
            # archived customer may pay, but never buy.
            archived = {"archivedAt": None} if operation.startswith("payment") else {}
            assert answer["customer"] == {
                "id": row.id, "name": row.name, "phone": row.phone, "email": row.email,
                "creditLimit": row.credit_limit, "balance": row.balance,
                "paymentTermsDays": row.business_terms, "ownPaymentTermsDays": None,
                "createdAt": answer["customer"]["createdAt"], "oldestUnpaidAt": oldest,
                **archived,
            }, operation  # fmt: skip
            assert datetime.fromisoformat(answer["customer"]["createdAt"]) == row.created_at
            assert (oldest and datetime.fromisoformat(oldest)) == row.oldest_unpaid_at, operation
            answers.append((operation, row.balance, row.oldest_unpaid_at is not None))
    assert answers == [
        ("first charge", 250, True), ("charge while owing", 500, True), ("free", 500, True),
        ("payment in part", 400, True), ("payment in full", 0, False),
        ("free at zero", 0, False),
    ]  # fmt: skip


_ENTRY = text(
    """
    WITH o AS (
        INSERT INTO orders (business_id, customer_id, total)
        SELECT :b, :c, :amount WHERE :kind = 'charge' RETURNING id
    ), p AS (
        INSERT INTO payments (business_id, customer_id, amount, method)
        SELECT :b, :c, -:amount, 'CASH' WHERE :kind = 'payment' RETURNING id
    )
    INSERT INTO credit_ledger (business_id, customer_id, kind, amount, order_id, payment_id,
                               reverses_entry_id, created_at)
    SELECT :b, :c, :kind, :amount, (SELECT id FROM o), (SELECT id FROM p),
           CAST(:reverses AS bigint), :at
    RETURNING id, amount, created_at
    """
)

_CACHED = text(
    "SELECT balance, charged_total, credited_total, oldest_unpaid_at, own_terms_due_at,"
    " last_entry_at FROM customers WHERE id = :c"
)


async def test_every_ledger_path_keeps_the_cached_columns_equal_to_fifo_from_scratch(
    owner_db: AsyncEngine,
) -> None:
    """A debit (a charge, or a payment reversed) to a customer who owes takes the
    one-statement path, any other entry the general one, whose UPDATE leaves
    oldest_unpaid_at (and with it own_terms_due_at, kept by a trigger) out when it does not
    change.  Each entry is its own transaction, as the service writes them."""
    business = await admin.create_business(owner_db, name="Ledger paths", terms_days=30)
    terms = 7
    customer = await add_customer(owner_db, business, name="Own terms", terms_days=terms)
    start = datetime.now(UTC) - timedelta(days=60)
    at = [start + timedelta(days=n) for n in range(12)]
    # (what it exercises, kind, amount, when, the step whose entry it reverses)
    steps: list[tuple[str, str, int, datetime, int | None]] = [
        ("first charge", "charge", 10_000, at[0], None),
        ("charge while owing", "charge", 5_000, at[1], None),
        ("charge while owing, dated earlier (raised)", "charge", 2_500, at[0], None),
        ("payment in part", "payment", -3_000, at[2], None),
        ("payment settling the oldest charge", "payment", -7_000, at[3], None),
        ("payment in full", "payment", -7_500, at[4], None),
        ("overpayment", "payment", -1_000, at[5], None),
        ("charge that leaves a credit", "charge", 500, at[6], None),
        ("charge out of the credit", "charge", 2_000, at[7], None),
        ("reversal of the overpayment, while owing", "reversal", 1_000, at[8], 6),
        ("reversal of a charge", "reversal", -2_000, at[9], 8),
        ("reversal of a charge, back to a credit", "reversal", -5_000, at[10], 1),
    ]
    ids: list[int] = []
    entries: list[Entry] = []
    far = datetime.max.replace(tzinfo=UTC) - 400 * DAY
    for step, kind, amount, when, reverses in steps:
        async with owner_db.begin() as connection:
            await _bind(connection, business)
            row = (
                await connection.execute(
                    _ENTRY,
                    {"b": business, "c": customer, "kind": kind, "amount": amount, "at": when,
                     "reverses": None if reverses is None else ids[reverses]},
                )
            ).one()  # fmt: skip
        ids.append(row.id)
        corrects = None if reverses is None else ids[reverses]
        entries.append(Entry(row.amount, row.created_at, id=row.id, corrects=corrects))
        async with owner_db.connect() as connection:
            await _bind(connection, business)
            cached = (await connection.execute(_CACHED, {"c": customer})).one()
            await connection.rollback()
        expected = overdue_status(entries, as_of=far, terms_days=terms)
        assert cached.balance == expected.balance == sum(e.amount for e in entries), step
        assert cached.charged_total == sum(e.amount for e in entries if e.amount > 0), step
        assert cached.credited_total == -sum(e.amount for e in entries if e.amount < 0), step
        assert cached.oldest_unpaid_at == expected.oldest_unpaid_at, step
        due = None if cached.oldest_unpaid_at is None else cached.oldest_unpaid_at + terms * DAY
        assert cached.own_terms_due_at == due, step
        assert cached.last_entry_at == entries[-1].created_at, step
    assert entries[2].created_at == entries[1].created_at  # raised to its predecessor's time
    assert [e.created_at for e in entries] == sorted(e.created_at for e in entries)


# --- The downgrade ---------------------------------------------------------------------

_DEFINITIONS = """
SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid),
       p.proacl::text, pg_get_userbyid(p.proowner), p.proconfig
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public'
 ORDER BY 1, 2
"""


def _definitions(url: str) -> list[tuple[Any, ...]]:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as connection:
        return connection.execute(_DEFINITIONS).fetchall()


def downgrade_round_trip(
    urls: tuple[str, str], revision: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The functions of a database migrated to ``revision``, of one migrated to the
    head, and of that one downgraded to ``revision``."""
    earlier, round_trip = urls
    upgrade(earlier, revision)
    upgrade(round_trip)
    at_head = _definitions(round_trip)
    downgrade(round_trip, revision)
    return _definitions(earlier), at_head, _definitions(round_trip)


def test_the_downgrade_restores_the_0004_functions_exactly(
    scratch_databases: tuple[str, str],
) -> None:
    before, at_head, after = downgrade_round_trip(scratch_databases, "0004_write_plans")
    assert after == before
    assert {row[0] for row in before} - {row[0] for row in at_head} == {
        "customer_json", "earlier_answer",
    }  # fmt: skip
