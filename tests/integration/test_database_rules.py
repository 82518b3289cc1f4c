"""The database refuses what the application must never do, even with raw SQL.

Each test runs SQL straight at PostgreSQL: as the service role (``app_db``,
``credit_ledger_app``: RLS applies, no ownership) or as the owner (``owner_db``).
Rows are seeded directly as the owner with the tenant bound, the way a purchase
and a payment would write them; the ledger trigger fills in the balances.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.config import APP_ROLE
from app.domain.identity import Role
from app.services import admin
from app.services.retry import constraint_name, sqlstate
from tests import helpers

# businesses is keyed on its own id, the other tenant tables on business_id.
TENANT_TABLES = ("businesses", *helpers.TENANT_TABLES)
APPEND_ONLY_TABLES = ("orders", "order_items", "payments", "credit_ledger", "stock_movements")

INSUFFICIENT_PRIVILEGE = "42501"
FOREIGN_KEY_VIOLATION = "23503"
CHECK_VIOLATION = "23514"
UNIQUE_VIOLATION = "23505"


@dataclass(frozen=True)
class Seeded:
    """One business with a row in every tenant table."""

    business_id: int
    customer_id: int
    product_id: int
    order_id: int
    payment_id: int

    def params(self, prefix: str) -> dict[str, int]:
        """Its ids as a statement's parameters: ``a``, ``a_customer``, ``a_order``..."""
        return {prefix: self.business_id, f"{prefix}_customer": self.customer_id,
                f"{prefix}_product": self.product_id, f"{prefix}_order": self.order_id,
                f"{prefix}_payment": self.payment_id}  # fmt: skip


async def bind(connection: AsyncConnection, business_id: int) -> None:
    await connection.execute(
        text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business_id)}
    )


async def scalar(connection: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await connection.execute(text(sql), params)).scalar_one()


async def charge(
    connection: AsyncConnection,
    *,
    business_id: int,
    customer_id: int,
    product_id: int,
    quantity: int,
    unit_price: int,
) -> int:
    """An order of one line and its ledger charge, written as a purchase would."""
    total = quantity * unit_price
    order_id = await scalar(
        connection,
        "INSERT INTO orders (business_id, customer_id, total)"
        " VALUES (:b, :c, :total) RETURNING id",
        b=business_id, c=customer_id, total=total,
    )  # fmt: skip
    await connection.execute(
        text(
            "INSERT INTO order_items (business_id, order_id, line_no, product_id, product_name,"
            " quantity, unit_price, line_total) VALUES (:b, :o, 1, :p, 'Rice', :q, :u, :t)"
        ),
        {"b": business_id, "o": order_id, "p": product_id, "q": quantity, "u": unit_price,
         "t": total},
    )  # fmt: skip
    await connection.execute(
        text(
            "INSERT INTO stock_movements (business_id, product_id, kind, quantity, order_id)"
            " VALUES (:b, :p, 'sale', :q, :o)"
        ),
        {"b": business_id, "p": product_id, "q": -quantity, "o": order_id},
    )
    await connection.execute(
        text(
            "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, order_id)"
            " VALUES (:b, :c, 'charge', :amount, :o)"
        ),
        {"b": business_id, "c": customer_id, "amount": total, "o": order_id},
    )
    return int(order_id)


async def seed_business(owner_db: AsyncEngine) -> Seeded:
    business_id = await admin.create_business(owner_db, name="Rules test")
    await admin.create_key(owner_db, business_id=business_id, role=Role.OWNER)
    user = await admin.create_user(
        owner_db, business_id=business_id, email=f"rules-{business_id}@example.com",
        role=Role.CASHIER,
    )  # fmt: skip
    async with owner_db.begin() as connection:
        await bind(connection, business_id)
        session_id = await scalar(
            connection,
            "INSERT INTO user_sessions (business_id, user_id, expires_at)"
            " VALUES (:b, :u, now() + interval '1 day') RETURNING id",
            b=business_id, u=user.user.id,
        )  # fmt: skip
        await connection.execute(
            text(
                "INSERT INTO refresh_tokens (business_id, session_id, secret_hash)"
                " VALUES (:b, :s, sha256('x'))"
            ),
            {"b": business_id, "s": session_id},
        )
        customer_id = await scalar(
            connection,
            "INSERT INTO customers (business_id, name, credit_limit)"
            " VALUES (:b, 'Asha', 100000) RETURNING id",
            b=business_id,
        )
        product_id = await scalar(
            connection,
            "INSERT INTO products (business_id, name, sku, price)"
            " VALUES (:b, 'Rice', 'RICE', 1000) RETURNING id",
            b=business_id,
        )
        await connection.execute(
            text(
                "INSERT INTO stock_movements (business_id, product_id, kind, quantity)"
                " VALUES (:b, :p, 'initial', 10)"
            ),
            {"b": business_id, "p": product_id},
        )
        order_id = await charge(
            connection, business_id=business_id, customer_id=customer_id,
            product_id=product_id, quantity=2, unit_price=1000,
        )  # fmt: skip
        payment_id = await scalar(
            connection,
            "INSERT INTO payments (business_id, customer_id, amount, method)"
            " VALUES (:b, :c, 500, 'CASH') RETURNING id",
            b=business_id, c=customer_id,
        )  # fmt: skip
        await connection.execute(
            text(
                "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id)"
                " VALUES (:b, :c, 'payment', -500, :pay)"
            ),
            {"b": business_id, "c": customer_id, "pay": payment_id},
        )
        await connection.execute(
            text(
                "INSERT INTO idempotency_keys (business_id, key, operation, request_hash,"
                " response) VALUES (:b, 'seed', 'test', 'hash', '{}')"
            ),
            {"b": business_id},
        )
    return Seeded(business_id, customer_id, product_id, order_id, payment_id)


@pytest.fixture(scope="module")
async def business_a(owner_db: AsyncEngine) -> Seeded:
    return await seed_business(owner_db)


@pytest.fixture(scope="module")
async def business_b(owner_db: AsyncEngine) -> Seeded:
    return await seed_business(owner_db)


def _owner_column(table: str) -> str:
    return "id" if table == "businesses" else "business_id"


@asynccontextmanager
async def transaction(
    engine: AsyncEngine, business_id: int | None
) -> AsyncIterator[AsyncConnection]:
    """A transaction that is always rolled back, with the tenant bound if given."""
    async with engine.connect() as connection, connection.begin() as outer:
        if business_id is not None:
            await bind(connection, business_id)
        yield connection
        await outer.rollback()


async def refusal(connection: AsyncConnection, sql: str, **params: Any) -> DBAPIError:
    """Run ``sql``, which the database must refuse; the error it raised."""
    with pytest.raises(DBAPIError) as refused:
        await connection.execute(text(sql), params)
    return refused.value


async def count_rows(connection: AsyncConnection, table: str, business_id: int) -> int:
    column = _owner_column(table)
    return int(
        await scalar(connection, f"SELECT count(*) FROM {table} WHERE {column} = :b", b=business_id)
    )


# --- Row Level Security -------------------------------------------------------------


@pytest.mark.parametrize("table", TENANT_TABLES)
async def test_the_service_role_without_a_tenant_sees_no_rows_although_rows_exist(
    owner_db: AsyncEngine, app_db: AsyncEngine, business_a: Seeded, table: str
) -> None:
    async with transaction(owner_db, business_a.business_id) as owner:
        assert await count_rows(owner, table, business_a.business_id) > 0
    async with app_db.connect() as connection:
        assert await scalar(connection, f"SELECT count(*) FROM {table}") == 0
        await connection.rollback()
        # A tenant bound in an earlier transaction on this pooled connection is gone
        # (the setting reverts to '') once that transaction ends.
        async with connection.begin():
            await bind(connection, business_a.business_id)
            assert await scalar(connection, f"SELECT count(*) FROM {table}") > 0
        assert await scalar(connection, f"SELECT count(*) FROM {table}") == 0
        await connection.rollback()


@pytest.mark.parametrize("table", TENANT_TABLES)
async def test_the_service_role_with_a_tenant_bound_sees_only_that_tenants_rows(
    owner_db: AsyncEngine, app_db: AsyncEngine, business_a: Seeded, business_b: Seeded, table: str
) -> None:
    column = _owner_column(table)
    async with transaction(owner_db, business_a.business_id) as owner:
        expected = await count_rows(owner, table, business_a.business_id)
        assert await count_rows(owner, table, business_b.business_id) > 0
    async with transaction(app_db, business_a.business_id) as connection:
        seen = (
            await connection.execute(
                text(f"SELECT {column} AS tenant, count(*) AS n FROM {table} GROUP BY {column}")
            )
        ).all()
    assert [(row.tenant, row.n) for row in seen] == [(business_a.business_id, expected)]


async def test_the_service_role_cannot_switch_row_level_security_off(
    app_db: AsyncEngine, business_a: Seeded
) -> None:
    async with transaction(app_db, business_a.business_id) as connection:
        error = await refusal(connection, "ALTER TABLE customers DISABLE ROW LEVEL SECURITY")
    assert sqlstate(error) == INSUFFICIENT_PRIVILEGE
    async with transaction(app_db, business_a.business_id) as connection:
        await connection.execute(text("SET LOCAL row_security = off"))
        error = await refusal(connection, "SELECT count(*) FROM customers")
    # With row_security off a query that RLS would filter fails instead of seeing all.
    assert sqlstate(error) == INSUFFICIENT_PRIVILEGE
    assert "row-level security" in str(error)


async def test_the_service_role_learns_which_business_an_email_signs_in_to_and_nothing_more(
    app_db: AsyncEngine, business_a: Seeded
) -> None:
    email = f"RULES-{business_a.business_id}@Example.com"
    async with app_db.connect() as connection:
        found = await connection.execute(
            text("SELECT * FROM sign_in_business(:email)"), {"email": email}
        )
        rows = found.all()
        assert len(rows) == 1
        assert rows[0]._fields == ("business_id", "user_id")
        assert rows[0].business_id == business_a.business_id
        error = await refusal(connection, "SELECT * FROM user_emails")
        assert sqlstate(error) == INSUFFICIENT_PRIVILEGE
        await connection.rollback()
        # Without a tenant bound, the user behind the email stays hidden.
        assert await scalar(connection, "SELECT count(*) FROM users") == 0
        await connection.rollback()


async def test_the_service_role_cannot_bypass_row_level_security(app_db: AsyncEngine) -> None:
    async with app_db.connect() as connection:
        role = (
            await connection.execute(
                text(
                    "SELECT current_user AS name, rolsuper, rolbypassrls, rolcreaterole,"
                    " rolcreatedb FROM pg_roles WHERE rolname = current_user"
                )
            )
        ).one()
        owned = await scalar(
            connection,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles"
            " WHERE rolname = current_user)",
        )
        memberships = await scalar(
            connection,
            "SELECT count(*) FROM pg_auth_members WHERE member = (SELECT oid FROM pg_roles"
            " WHERE rolname = current_user)",
        )
        unprotected = (
            await connection.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relname = ANY(:tables)"
                    " AND relkind = 'r' AND NOT (relrowsecurity AND relforcerowsecurity)"
                ),
                {"tables": list(TENANT_TABLES)},
            )
        ).all()
        await connection.rollback()
    assert role.name == APP_ROLE
    assert (role.rolsuper, role.rolbypassrls, role.rolcreaterole, role.rolcreatedb) == (
        False, False, False, False,
    )  # fmt: skip
    assert owned == 0
    assert memberships == 0
    assert unprotected == []


# --- Append-only history ------------------------------------------------------------

_CHANGES = {
    "UPDATE": "UPDATE {table} SET business_id = business_id WHERE business_id = :b",
    "DELETE": "DELETE FROM {table} WHERE business_id = :b",
    "TRUNCATE": "TRUNCATE {table}",
}


@pytest.mark.parametrize("operation", list(_CHANGES))
@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
async def test_the_service_role_cannot_change_or_remove_history_even_with_raw_sql(
    owner_db: AsyncEngine, app_db: AsyncEngine, business_a: Seeded, table: str, operation: str
) -> None:
    async with transaction(app_db, business_a.business_id) as connection:
        error = await refusal(connection, _CHANGES[operation].format(table=table),
                              b=business_a.business_id)  # fmt: skip
    assert sqlstate(error) == INSUFFICIENT_PRIVILEGE
    assert "permission denied" in str(error)
    async with transaction(owner_db, business_a.business_id) as owner:
        assert await count_rows(owner, table, business_a.business_id) > 0


@pytest.mark.parametrize("operation", list(_CHANGES))
@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
async def test_the_append_only_triggers_refuse_even_the_owner(
    owner_db: AsyncEngine, business_a: Seeded, table: str, operation: str
) -> None:
    # CASCADE, so that TRUNCATE reaches the triggers instead of stopping at the
    # foreign keys that point at the table (every table it cascades to is append-only).
    sql = _CHANGES[operation].format(table=table)
    if operation == "TRUNCATE":
        sql += " CASCADE"
    async with transaction(owner_db, business_a.business_id) as owner:
        error = await refusal(owner, sql, b=business_a.business_id)
    assert sqlstate(error) == INSUFFICIENT_PRIVILEGE
    assert "is append-only" in str(error)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("customers", "balance", "0"),
        ("customers", "charged_total", "0"),
        ("customers", "credited_total", "0"),
        ("customers", "oldest_unpaid_at", "NULL"),
        ("customers", "last_entry_at", "NULL"),
        ("customers", "business_id", "business_id"),
        ("products", "stock", "stock + 1000"),
        ("products", "business_id", "business_id"),
        ("api_keys", "secret_hash", "secret_hash"),
        ("api_keys", "role", "'owner'"),
        ("api_keys", "business_id", "business_id"),
    ],
)
async def test_the_service_role_cannot_write_a_cached_or_key_column_directly(
    app_db: AsyncEngine, business_a: Seeded, table: str, column: str, value: str
) -> None:
    async with transaction(app_db, business_a.business_id) as connection:
        error = await refusal(connection, f"UPDATE {table} SET {column} = {value}")
    assert sqlstate(error) == INSUFFICIENT_PRIVILEGE
    assert "permission denied" in str(error)


async def test_the_service_role_may_still_edit_a_customers_details(
    app_db: AsyncEngine, business_a: Seeded
) -> None:
    async with transaction(app_db, business_a.business_id) as connection:
        renamed = await scalar(
            connection,
            "UPDATE customers SET name = 'Asha R', credit_limit = 5 WHERE id = :c RETURNING name",
            c=business_a.customer_id,
        )
    assert renamed == "Asha R"


# --- Keys across tenants ------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO orders (business_id, customer_id, total) VALUES (:a, :b_customer, 0)",
        "INSERT INTO order_items (business_id, order_id, line_no, product_id, product_name,"
        " quantity, unit_price, line_total) VALUES (:a, :a_order, 9, :b_product, 'x', 1, 0, 0)",
        "INSERT INTO payments (business_id, customer_id, amount, method)"
        " VALUES (:a, :b_customer, 100, 'CASH')",
        "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id)"
        " VALUES (:a, :a_customer, 'payment', -100, :b_payment)",
        "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, order_id)"
        " VALUES (:a, :b_customer, 'charge', 100, :a_order)",
        "INSERT INTO stock_movements (business_id, product_id, kind, quantity)"
        " VALUES (:a, :b_product, 'restock', 1)",
        "INSERT INTO stock_movements (business_id, product_id, kind, quantity, order_id)"
        " VALUES (:a, :a_product, 'sale', -1, :b_order)",
    ],
    ids=[
        "order",
        "order item",
        "payment",
        "ledger payment",
        "ledger charge",
        "restock",
        "sale",
    ],
)
async def test_a_row_can_never_point_at_another_tenants_row(
    owner_db: AsyncEngine, business_a: Seeded, business_b: Seeded, sql: str
) -> None:
    params = business_a.params("a") | business_b.params("b")
    async with transaction(owner_db, business_a.business_id) as owner:
        # Keys pointing at orders are checked at commit (0011): here, at each statement.
        await owner.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        error = await refusal(owner, sql, **params)
    assert sqlstate(error) == FOREIGN_KEY_VIOLATION


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO customers (business_id, name) VALUES (:b, 'Mallory')",
        "INSERT INTO products (business_id, name, sku, price) VALUES (:b, 'x', 'X-ONE', 1)",
        "INSERT INTO api_keys (business_id, role, secret_hash) VALUES (:b, 'owner', sha256('x'))",
        "INSERT INTO idempotency_keys (business_id, key, operation, request_hash, response)"
        " VALUES (:b, 'k', 'op', 'h', '{}')",
        "INSERT INTO payments (business_id, customer_id, amount, method)"
        " VALUES (:b, :b_customer, 100, 'CASH')",
        "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id)"
        " VALUES (:b, :b_customer, 'payment', -100, :b_payment)",
        "INSERT INTO stock_movements (business_id, product_id, kind, quantity)"
        " VALUES (:b, :b_product, 'restock', 5)",
        "INSERT INTO users (business_id, email, full_name, role, password_hash)"
        " VALUES (:b, 'mallory@example.com', 'Mallory', 'owner', '$argon2id$x')",
        "UPDATE customers SET name = 'Moved' WHERE business_id = :b",
    ],
    ids=[
        "customer",
        "product",
        "api key",
        "idempotency key",
        "payment",
        "ledger entry",
        "stock movement",
        "user",
        "update",
    ],
)
async def test_the_service_role_cannot_write_into_another_tenant(
    owner_db: AsyncEngine, app_db: AsyncEngine, business_a: Seeded, business_b: Seeded, sql: str
) -> None:
    params = business_b.params("b")
    before = await _balance_and_stock(owner_db, business_b)
    async with transaction(app_db, business_a.business_id) as connection:
        if sql.startswith("UPDATE"):
            # RLS hides B's rows from an UPDATE: nothing matches, nothing changes.
            assert (await connection.execute(text(sql), params)).rowcount == 0
        else:
            error = await refusal(connection, sql, **params)
            assert sqlstate(error) == INSUFFICIENT_PRIVILEGE
            # Plain inserts meet the RLS policy; ledger and stock inserts meet their
            # trigger's tenant guard first, before it touches B's customer or product.
            assert "row-level security" in str(error) or "another tenant" in str(error)
    assert await _balance_and_stock(owner_db, business_b) == before


async def _balance_and_stock(owner_db: AsyncEngine, business: Seeded) -> tuple[Any, ...]:
    async with transaction(owner_db, business.business_id) as owner:
        row = (
            await owner.execute(
                text(
                    "SELECT c.name, c.balance, c.charged_total, c.credited_total, p.stock"
                    " FROM customers c, products p WHERE c.business_id = :b AND c.id = :c"
                    " AND p.business_id = :b AND p.id = :p"
                ),
                {"b": business.business_id, "c": business.customer_id, "p": business.product_id},
            )
        ).one()
    return tuple(row)


# --- CHECK constraints --------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        pytest.param(
            "UPDATE products SET stock = -1 WHERE business_id = :a AND id = :a_product",
            "products_stock_check",
            id="stock below zero",
        ),
        pytest.param(
            "INSERT INTO stock_movements (business_id, product_id, kind, quantity)"
            " VALUES (:a, :a_product, 'reversal', -1000000)",
            "products_stock_check",
            id="movement taking stock below zero",
        ),
        pytest.param(
            "INSERT INTO stock_movements (business_id, product_id, kind, quantity)"
            " VALUES (:a, :a_product, 'restock', 0)",
            "stock_movements_check1",
            id="zero restock",
        ),
        pytest.param(
            "INSERT INTO stock_movements (business_id, product_id, kind, quantity)"
            " VALUES (:a, :a_product, 'restock', -5)",
            "stock_movements_check1",
            id="negative restock",
        ),
        pytest.param(
            "INSERT INTO stock_movements (business_id, product_id, kind, quantity, order_id)"
            " VALUES (:a, :a_product, 'sale', 1, :a_order)",
            "stock_movements_check",
            id="sale adding stock",
        ),
        pytest.param(
            "INSERT INTO order_items (business_id, order_id, line_no, product_id, product_name,"
            " quantity, unit_price, line_total)"
            " VALUES (:a, :a_order, 9, :a_product, 'x', 0, 5, 0)",
            "order_items_quantity_check",
            id="zero quantity line",
        ),
        pytest.param(
            "INSERT INTO order_items (business_id, order_id, line_no, product_id, product_name,"
            " quantity, unit_price, line_total)"
            " VALUES (:a, :a_order, 9, :a_product, 'x', -1, 5, -5)",
            "order_items_discounts_within_line",
            id="negative quantity line",
        ),
        pytest.param(
            "INSERT INTO order_items (business_id, order_id, line_no, product_id, product_name,"
            " quantity, unit_price, line_total)"
            " VALUES (:a, :a_order, 9, :a_product, 'x', 2, 5, 9)",
            "order_items_check",
            id="line total not quantity times price",
        ),
        pytest.param(
            "INSERT INTO customers (business_id, name, credit_limit) VALUES (:a, 'x', -1)",
            "customers_credit_limit_check",
            id="negative credit limit on insert",
        ),
        pytest.param(
            "UPDATE customers SET credit_limit = -1 WHERE business_id = :a AND id = :a_customer",
            "customers_credit_limit_check",
            id="negative credit limit on update",
        ),
        pytest.param(
            "INSERT INTO customers (business_id, name) VALUES (:a, '   ')",
            "customers_name_check",
            id="blank customer name",
        ),
        pytest.param(
            "INSERT INTO products (business_id, name, sku, price) VALUES (:a, 'x', 'NEG', -1)",
            "products_price_check",
            id="negative price",
        ),
        pytest.param(
            "INSERT INTO orders (business_id, customer_id, total) VALUES (:a, :a_customer, -1)",
            "orders_paid_within_total",
            id="negative order total",
        ),
        pytest.param(
            "INSERT INTO payments (business_id, customer_id, amount, method)"
            " VALUES (:a, :a_customer, 0, 'CASH')",
            "payments_amount_check",
            id="zero payment",
        ),
        pytest.param(
            "INSERT INTO payments (business_id, customer_id, amount, method)"
            " VALUES (:a, :a_customer, -100, 'CASH')",
            "payments_amount_check",
            id="negative payment",
        ),
        pytest.param(
            "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, order_id)"
            " VALUES (:a, :a_customer, 'charge', -100, :a_order)",
            "credit_ledger_check1",
            id="negative charge",
        ),
        pytest.param(
            "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id)"
            " VALUES (:a, :a_customer, 'payment', 100, :a_payment)",
            "credit_ledger_check2",
            id="positive payment entry",
        ),
        pytest.param(
            "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id)"
            " VALUES (:a, :a_customer, 'payment', 0, :a_payment)",
            "credit_ledger_amount_check",
            id="zero ledger entry",
        ),
        pytest.param(
            "INSERT INTO credit_ledger (business_id, customer_id, kind, amount)"
            " VALUES (:a, :a_customer, 'charge', 100)",
            "credit_ledger_check1",
            id="charge without an order",
        ),
    ],
)
async def test_check_constraints_refuse_impossible_values(
    owner_db: AsyncEngine, business_a: Seeded, sql: str, constraint: str
) -> None:
    async with transaction(owner_db, business_a.business_id) as owner:
        error = await refusal(owner, sql, **business_a.params("a"))
    assert (sqlstate(error), constraint_name(error)) == (CHECK_VIOLATION, constraint), error


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        pytest.param(
            "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, order_id)"
            " VALUES (:a, :a_customer, 'charge', 100, :a_order)",
            "credit_ledger_business_id_order_id_key",
            id="an order charged twice",
        ),
        pytest.param(
            "INSERT INTO credit_ledger (business_id, customer_id, kind, amount, payment_id)"
            " VALUES (:a, :a_customer, 'payment', -100, :a_payment)",
            "credit_ledger_business_id_payment_id_key",
            id="a payment credited twice",
        ),
        pytest.param(
            "INSERT INTO credit_ledger (business_id, customer_id, kind, amount,"
            " reverses_entry_id) SELECT :a, CAST(:a_customer AS bigint), 'reversal', 500, id"
            " FROM credit_ledger, generate_series(1, 2)"
            " WHERE business_id = :a AND payment_id = :a_payment",
            "credit_ledger_business_id_reverses_entry_id_key",
            id="an entry reversed twice",
        ),
    ],
)
async def test_a_ledger_entry_points_at_what_it_records_once(
    owner_db: AsyncEngine, business_a: Seeded, sql: str, index: str
) -> None:
    # Since 0027 each reference is unique through an index of the entries that carry it.
    async with transaction(owner_db, business_a.business_id) as owner:
        error = await refusal(owner, sql, **business_a.params("a"))
    assert (sqlstate(error), constraint_name(error)) == (UNIQUE_VIOLATION, index), error


# The rules of a product's catalogue and of a customer's profile are checked by
# triggers on their own columns (0023), so that a stock movement or a ledger entry,
# which updates only the stock or the balance, does not read and plan them.
_ROW_RULES = [
    ("products", "name", "   ", "products_name_check"),
    ("products", "name", "x" * 201, "products_name_check"),
    ("products", "sku", "", "products_sku_check"),
    ("products", "price", -1, "products_price_check"),
    ("products", "tax_rate", Decimal("100.01"), "products_tax_rate_check"),
    ("products", "description", "x" * 2001, "products_description_check"),
    ("products", "category", " ", "products_category_check"),
    ("products", "unit", "CRATE", "products_unit_check"),
    ("products", "barcode", "890\t1", "products_barcode_check"),
    ("products", "barcode", "", "products_barcode_check"),
    ("products", "cost_price", -1, "products_cost_price_check"),
    ("products", "min_stock", -1, "products_min_stock_check"),
    ("products", "expiry_date", date(1999, 12, 31), "products_expiry_date_check"),
    ("products", "status", "SOLD_OUT", "products_status_check"),
    ("customers", "name", "", "customers_name_check"),
    ("customers", "phone", "9" * 41, "customers_phone_check"),
    ("customers", "email", "a" * 255, "customers_email_check"),
    ("customers", "credit_limit", -1, "customers_credit_limit_check"),
    ("customers", "payment_terms_days", 3651, "customers_payment_terms_days_check"),
]
_NEW_ROW = {
    "products": {"name": "Tea", "sku": "TEA-RULES", "price": 100},
    "customers": {"name": "Ravi"},
}


def _insert(table: str, values: dict[str, Any]) -> str:
    columns = ", ".join(["business_id", *values])
    return f"INSERT INTO {table} ({columns}) VALUES (:a, {', '.join(f':{c}' for c in values)})"


async def _new_row(connection: AsyncConnection, table: str, business_id: int, **values: Any) -> int:
    """The id of a new row of ``table`` with ``values``."""
    return int(
        await scalar(connection, _insert(table, values) + " RETURNING id", a=business_id, **values)
    )


@pytest.mark.parametrize("statement", ["insert", "update"])
@pytest.mark.parametrize("rule", _ROW_RULES, ids=[f"{r[3]}={r[2]!r:.12}" for r in _ROW_RULES])
async def test_catalogue_and_profile_rules_refuse_as_their_check_constraints_did(
    owner_db: AsyncEngine, business_a: Seeded, statement: str, rule: tuple[str, str, Any, str]
) -> None:
    table, column, value, constraint = rule
    row_id = business_a.product_id if table == "products" else business_a.customer_id
    async with transaction(owner_db, business_a.business_id) as owner:
        if statement == "insert":
            values = {**_NEW_ROW[table], column: value}
            error = await refusal(owner, _insert(table, values), a=business_a.business_id, **values)
        else:
            error = await refusal(
                owner, f"UPDATE {table} SET {column} = :v WHERE business_id = :a AND id = :id",
                v=value, a=business_a.business_id, id=row_id,
            )  # fmt: skip
    assert (sqlstate(error), constraint_name(error)) == (CHECK_VIOLATION, constraint), error


async def test_catalogue_and_profile_rules_accept_their_edges_and_nulls(
    owner_db: AsyncEngine, business_a: Seeded
) -> None:
    edges = {
        "products": [
            {"name": "x" * 200, "sku": " S ", "price": 0, "tax_rate": Decimal(100),
             "description": "x" * 2000, "category": "c" * 100, "unit": "BOX",
             "barcode": "b" * 64, "cost_price": 0, "min_stock": 0,
             "expiry_date": date(2000, 1, 1), "status": "DISCONTINUED"},
            {"name": "Salt", "sku": "SALT", "price": 5, "tax_rate": None, "description": None,
             "category": None, "barcode": None, "cost_price": None, "expiry_date": None},
        ],
        "customers": [
            {"name": "y" * 200, "phone": "9" * 40, "email": "e" * 254, "credit_limit": 0,
             "payment_terms_days": 3650},
            {"name": "Meena", "phone": None, "email": None, "payment_terms_days": 0},
        ],
    }  # fmt: skip
    async with transaction(owner_db, business_a.business_id) as owner:
        for table, rows in edges.items():
            for values in rows:
                await owner.execute(
                    text(_insert(table, values)), {"a": business_a.business_id, **values}
                )


async def fired_by(owner_db: AsyncEngine, *triggers: str) -> dict[str, list[str]]:
    """The columns whose update fires each of ``triggers``, sorted."""
    async with owner_db.connect() as owner:
        rows = await owner.execute(
            text(
                "SELECT t.tgname, array_agg(a.attname::text ORDER BY a.attname)"
                " FROM pg_trigger t JOIN pg_attribute a ON a.attrelid = t.tgrelid"
                "  AND a.attnum = ANY (t.tgattr)"
                " WHERE t.tgname = ANY (:names) GROUP BY t.tgname"
            ),
            {"names": list(triggers)},
        )
        return dict(rows.all())


async def test_a_stock_or_balance_update_fires_no_catalogue_or_profile_rule(
    owner_db: AsyncEngine,
) -> None:
    assert await fired_by(owner_db, "products_catalogue_rules", "customers_profile_rules") == {
        "products_catalogue_rules": sorted(
            ["name", "sku", "tax_rate", "description", "category", "unit", "barcode",
             "expiry_date", "status"]
        ),
        "customers_profile_rules": sorted(["name", "phone", "email", "payment_terms_days"]),
    }  # fmt: skip


# --- Columns kept by triggers (0025) -------------------------------------------------

DERIVED_FROM = {
    "customers_search_text": ["name", "phone", "search_text"],
    "customers_own_terms_due_at": ["oldest_unpaid_at", "own_terms_due_at", "payment_terms_days"],
    "products_search_text": ["barcode", "name", "search_text", "sku"],
}


async def test_derived_columns_are_computed_only_when_what_they_are_made_of_is_written(
    owner_db: AsyncEngine,
) -> None:
    # never stock, balance or the running totals
    assert await fired_by(owner_db, *DERIVED_FROM) == DERIVED_FROM
    async with owner_db.connect() as owner:
        generated = (
            (
                await owner.execute(
                    text(
                        "SELECT attrelid::regclass::text || '.' || attname FROM pg_attribute"
                        " WHERE attgenerated <> '' AND attrelid IN ('customers'::regclass,"
                        " 'products'::regclass)"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert generated == []


async def test_search_texts_follow_names_phones_skus_and_barcodes(
    owner_db: AsyncEngine, business_a: Seeded
) -> None:
    async with transaction(owner_db, business_a.business_id) as owner:
        product = await _new_row(
            owner, "products", business_a.business_id,
            name="Basmati RICE", sku="BR-1", price=100,
        )  # fmt: skip
        customer = await _new_row(
            owner, "customers", business_a.business_id,
            name="Asha RAO", phone="+91 98", credit_limit=0,
        )  # fmt: skip
        for table, row, change, expected in [
            ("products", product, None, "basmati rice\nbr-1\n"),
            ("products", product, "barcode = '8901'", "basmati rice\nbr-1\n8901"),
            ("products", product, "name = 'Jasmine', sku = 'J-2'", "jasmine\nj-2\n8901"),
            ("products", product, "search_text = 'anything'", "jasmine\nj-2\n8901"),
            ("products", product, "stock = stock + 5", "jasmine\nj-2\n8901"),
            ("customers", customer, None, "asha rao\n+91 98"),
            ("customers", customer, "phone = NULL", "asha rao\n"),
            ("customers", customer, "name = 'Meena', phone = '77'", "meena\n77"),
            ("customers", customer, "search_text = NULL", "meena\n77"),
        ]:  # a write of search_text itself is computed over
            if change is not None:
                await owner.execute(text(f"UPDATE {table} SET {change} WHERE id = :i"), {"i": row})
            found = await scalar(owner, f"SELECT search_text FROM {table} WHERE id = :i", i=row)
            assert found == expected, change


async def test_a_customers_own_due_date_follows_the_oldest_charge_and_the_terms(
    owner_db: AsyncEngine, business_a: Seeded
) -> None:
    async with transaction(owner_db, business_a.business_id) as owner:
        customer = await _new_row(
            owner, "customers", business_a.business_id,
            name="Ravi", credit_limit=100000, payment_terms_days=10,
        )  # fmt: skip

        async def due() -> tuple[bool, bool]:
            """Whether the column holds the generated column's expression, and is NULL."""
            row = await owner.execute(
                text(
                    "SELECT own_terms_due_at IS NOT DISTINCT FROM"
                    " due_at(oldest_unpaid_at, payment_terms_days),"
                    " own_terms_due_at IS NULL FROM customers WHERE id = :i"
                ),
                {"i": customer},
            )
            holds, unset = row.one()
            return holds, unset

        async def update(change: str) -> None:
            await owner.execute(
                text(f"UPDATE customers SET {change} WHERE id = :i"), {"i": customer}
            )

        assert await due() == (True, True)
        await charge(
            owner, business_id=business_a.business_id, customer_id=customer,
            product_id=business_a.product_id, quantity=1, unit_price=500,
        )  # fmt: skip
        assert await due() == (True, False)
        for change in [
            "payment_terms_days = 20",
            "own_terms_due_at = now()",  # computed over
            "balance = balance",  # an update that names neither leaves it as it was
        ]:
            await update(change)
            assert await due() == (True, False), change
        await update("payment_terms_days = NULL")
        assert await due() == (True, True)


async def test_the_ledger_trigger_keeps_the_balance_equal_to_the_sum_of_entries(
    owner_db: AsyncEngine, business_a: Seeded
) -> None:
    async with transaction(owner_db, business_a.business_id) as owner:
        row = (
            await owner.execute(
                text(
                    "SELECT c.balance, (SELECT sum(amount) FROM credit_ledger l"
                    " WHERE l.business_id = c.business_id AND l.customer_id = c.id) AS total,"
                    " (SELECT balance_after FROM credit_ledger l WHERE l.business_id ="
                    " c.business_id AND l.customer_id = c.id ORDER BY id DESC LIMIT 1) AS last"
                    " FROM customers c WHERE c.business_id = :b AND c.id = :c"
                ),
                {"b": business_a.business_id, "c": business_a.customer_id},
            )
        ).one()
    assert (row.balance, row.total, row.last) == (1500, 1500, 1500)
