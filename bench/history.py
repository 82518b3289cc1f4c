"""Months of trading history for every customer of a business, in bulk.

Each customer gets an equal share of the entries, spread over a random span of
the past ``days`` (20% to 100% of it), so overdue lists have old and recent
debtors alike.  Entries alternate in pairs: a charge, then usually a payment of
20-100% of that charge (otherwise a second charge), so a balance never goes
below zero; for about 30% of customers the last entry pays off everything.
Every charge is a real order (one item of one of the business's products, taken
out of stock by a sale movement) and every payment a real payment row, so the
history passes every check the service's ``verify`` makes.

The triggers would cost several statements per entry, so as a superuser we
insert with ``session_replication_role = replica`` (no triggers, and so no
foreign-key checks either: the rows are built consistent) and compute what the
triggers would have: ``balance_after`` and the running totals, ``stock_after``,
with window functions, then the customers' and products' cached columns with
one UPDATE each, ``oldest_unpaid_at`` by first-in-first-out, the sales
summaries with the migration's own backfill, and what is owed by the quarter
hour with ``rebuild_owed_summaries()``.  Without superuser
rights the same rows go through the triggers, in order: slower, equal.
Secondary indexes are rebuilt once after the load instead of row by row.
``bench/invariants.py`` checks the result either way.
"""

from __future__ import annotations

from typing import Any

import psycopg

from app.config import PROJECT_ROOT
from app.db.migrations import earlier_migration
from bench.database import tenant

INITIAL_STOCK = 10**9
_SUMMARIES_MIGRATION = PROJECT_ROOT / "alembic" / "versions" / "0017_sales_summaries.py"
SUMMARIES = (
    earlier_migration("0017_sales_summaries").backfill("%(b)s")
    if _SUMMARIES_MIGRATION.exists()
    else None
)
"""The sales summaries (issue 19) of the history, as its triggers would have kept them."""
OWED = """
SELECT rebuild_owed_summaries(%(b)s) WHERE to_regproc('rebuild_owed_summaries') IS NOT NULL
"""
"""What the business is owed by the quarter hour (migration 0022), from the history:
after the indexes are rebuilt, which its reads use."""

PRODUCTS = """
CREATE TEMP TABLE seed_products ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY id) AS rn, id AS product_id, name, price
FROM products WHERE business_id = %(b)s
"""

PEOPLE = """
CREATE TEMP TABLE seed_people ON COMMIT DROP AS
SELECT id AS customer_id,
       %(per)s + (row_number() OVER (ORDER BY id) <= %(rest)s)::int AS n_entries,
       make_interval(secs => %(days)s * 86400.0 * (0.2 + 0.8 * random())) AS span,
       random() < 0.3 AS settles
FROM customers WHERE business_id = %(b)s
"""

# Odd entries are charges (1-20 units of a random product); an even entry pays
# part of the charge just before it, or is another charge.
AMOUNTS = """
CREATE TEMP TABLE seed_amounts ON COMMIT DROP AS
SELECT raw.customer_id, raw.seq, raw.n_entries, raw.settles, raw.created_at,
       p.product_id, p.name AS product_name, p.price, raw.quantity,
       CASE WHEN mod(raw.seq, 2) = 0 AND raw.pays
            THEN -greatest(1, (lag(raw.quantity * p.price) OVER w * (0.2 + 0.8 * raw.frac))::bigint)
            ELSE raw.quantity * p.price END AS amount
FROM (
    SELECT c.customer_id, s.seq, c.n_entries, c.settles,
           now() - c.span + c.span * ((s.seq - 1 + random()) / c.n_entries) AS created_at,
           1 + floor(random() * %(products)s)::int AS product_rn,
           1 + floor(random() * 20)::bigint AS quantity,
           random() < 0.75 AS pays,
           random() AS frac
    FROM seed_people c CROSS JOIN LATERAL generate_series(1, c.n_entries) s(seq)
) raw JOIN seed_products p ON p.rn = raw.product_rn
WINDOW w AS (PARTITION BY raw.customer_id ORDER BY raw.seq)
"""

ENTRIES = """
CREATE TEMP TABLE seed_entries ON COMMIT DROP AS
SELECT *,
       row_number() OVER (ORDER BY created_at, customer_id, seq) AS n,
       row_number() OVER (PARTITION BY amount > 0 ORDER BY created_at, customer_id, seq) AS kn,
       sum(amount) OVER w AS balance_after,
       sum(greatest(amount, 0)) OVER w AS charged_total,
       sum(greatest(-amount, 0)) OVER w AS credited_total
FROM (
    SELECT customer_id, seq, created_at, product_id, product_name, price, quantity,
           CASE WHEN settles AND seq = n_entries AND coalesce(before, 0) > 0
                THEN -before ELSE amount END AS amount
    FROM (
        SELECT *, sum(amount) OVER (PARTITION BY customer_id ORDER BY seq
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
        FROM seed_amounts
    ) settled
) final
WINDOW w AS (PARTITION BY customer_id ORDER BY seq)
"""

ORDERS = """
INSERT INTO orders (business_id, id, customer_id, total, note, created_at)
SELECT %(b)s, %(orders)s + kn - 1, customer_id, amount, 'imported history', created_at
FROM seed_entries WHERE amount > 0
"""

BILLS = """
INSERT INTO bill_numbers (business_id, order_id, number)
SELECT %(b)s, %(orders)s + kn - 1, 'IMP-' || (%(orders)s + kn - 1)
FROM seed_entries WHERE amount > 0
"""

ITEMS = """
INSERT INTO order_items (business_id, order_id, line_no, product_id, product_name, quantity,
                         unit_price, line_total)
SELECT %(b)s, %(orders)s + kn - 1, 1, product_id, product_name, quantity, price, amount
FROM seed_entries WHERE amount > 0
"""

SALES = """
INSERT INTO stock_movements (business_id, id, product_id, kind, quantity, stock_after, order_id,
                             created_at)
SELECT %(b)s, %(movements)s + kn - 1, e.product_id, 'sale', -e.quantity,
       p.stock + sum(-e.quantity) OVER (PARTITION BY e.product_id ORDER BY e.kn),
       %(orders)s + e.kn - 1, e.created_at
FROM seed_entries e JOIN products p ON p.business_id = %(b)s AND p.id = e.product_id
WHERE e.amount > 0
ORDER BY e.kn
"""

PAYMENTS = """
INSERT INTO payments (business_id, id, customer_id, amount, method, reference, created_at)
SELECT %(b)s, %(payments)s + kn - 1, customer_id, -amount,
       (ARRAY['CASH', 'UPI', 'CARD', 'BANK_TRANSFER', 'CHEQUE', 'OTHER'])[1 + mod(kn, 6)],
       'imported', created_at
FROM seed_entries WHERE amount < 0
"""

LEDGER = """
INSERT INTO credit_ledger (business_id, id, customer_id, kind, amount, balance_after,
                           charged_total, credited_total, order_id, payment_id, created_at)
SELECT %(b)s, %(ledger)s + n - 1, customer_id,
       CASE WHEN amount > 0 THEN 'charge' ELSE 'payment' END,
       amount, balance_after, charged_total, credited_total,
       CASE WHEN amount > 0 THEN %(orders)s + kn - 1 END,
       CASE WHEN amount < 0 THEN %(payments)s + kn - 1 END,
       created_at
FROM seed_entries ORDER BY n
"""

CUSTOMER_CACHES = """
WITH last AS (
    SELECT DISTINCT ON (customer_id)
           customer_id, balance_after, charged_total, credited_total, created_at
    FROM seed_entries ORDER BY customer_id, seq DESC
), oldest AS (
    SELECT e.customer_id, min(e.created_at) AS at
    FROM seed_entries e JOIN last l USING (customer_id)
    WHERE l.balance_after > 0 AND e.amount > 0 AND e.charged_total > l.credited_total
    GROUP BY e.customer_id
)
UPDATE customers c
   SET balance = l.balance_after,
       charged_total = l.charged_total,
       credited_total = l.credited_total,
       last_entry_at = l.created_at,
       oldest_unpaid_at = o.at,
       own_terms_due_at = due_at(o.at, c.payment_terms_days)  -- its trigger is off too (0025)
  FROM last l LEFT JOIN oldest o USING (customer_id)
 WHERE c.business_id = %(b)s AND c.id = l.customer_id
"""

PRODUCT_CACHES = """
UPDATE products p SET stock = p.stock - s.sold
  FROM (SELECT product_id, sum(quantity) AS sold FROM seed_entries
        WHERE amount > 0 GROUP BY product_id) s
 WHERE p.business_id = %(b)s AND p.id = s.product_id
"""

PLAIN_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid IN ('orders'::regclass, 'order_items'::regclass, 'payments'::regclass,
                     'credit_ledger'::regclass, 'stock_movements'::regclass)
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


def _is_superuser(connection: psycopg.Connection[Any]) -> bool:
    row = connection.execute(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    return bool(row and row[0])


def _reserve(cursor: psycopg.Cursor[Any], table: str, count: int) -> int:
    """The first of ``count`` consecutive ids taken from ``table``'s identity sequence."""
    if count == 0:
        return 1
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
    (sequence,) = cursor.fetchone() or (None,)
    cursor.execute("SELECT nextval(%s)", (sequence,))
    (first,) = cursor.fetchone() or (0,)
    cursor.execute("SELECT setval(%s, %s)", (sequence, first + count - 1))
    return int(first)


def seed(
    connection: psycopg.Connection[Any],
    *,
    business_id: int,
    entries: int,
    days: int,
    products: int = 200,
    through_triggers: bool = False,
) -> bool:
    """Seed products and the history; True when the trigger-free bulk path was used."""
    fast = not through_triggers and _is_superuser(connection)
    params: dict[str, Any] = {"b": business_id, "days": days, "products": products}
    with tenant(connection, business_id) as cursor:
        cursor.execute(
            "INSERT INTO products (business_id, name, sku, price, created_at)"
            " SELECT %(b)s, 'Wholesale item ' || n, 'W-' || lpad(n::text, 5, '0'),"
            "   (10 + floor(random() * 990))::bigint * 100,"
            "   now() - make_interval(days => %(days)s + 1)"
            " FROM generate_series(1, %(products)s) n",
            params,
        )
        cursor.execute(
            "INSERT INTO stock_movements"
            "   (business_id, product_id, kind, quantity, note, created_at)"
            " SELECT %(b)s, id, 'initial', %(stock)s, 'bench seed', created_at"
            " FROM products WHERE business_id = %(b)s ORDER BY id",
            {**params, "stock": INITIAL_STOCK},
        )
    with tenant(connection, business_id) as cursor:
        cursor.execute("SELECT count(*) FROM customers WHERE business_id = %s", (business_id,))
        (customers,) = cursor.fetchone() or (0,)
        if customers == 0 or entries < customers:
            raise ValueError("need at least one entry per customer")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        params.update(per=entries // customers, rest=entries % customers)
        for statement in (PRODUCTS, PEOPLE, AMOUNTS, ENTRIES):
            cursor.execute(statement, params)
        cursor.execute(
            "SELECT count(*) FILTER (WHERE amount > 0), count(*) FILTER (WHERE amount < 0),"
            " count(*) FROM seed_entries"
        )
        charges, payments, total = cursor.fetchone() or (0, 0, 0)
        params["orders"] = _reserve(cursor, "orders", charges)
        params["movements"] = _reserve(cursor, "stock_movements", charges)
        params["payments"] = _reserve(cursor, "payments", payments)
        params["ledger"] = _reserve(cursor, "credit_ledger", total)
        cursor.execute(PLAIN_INDEXES)
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        # Keys pointing at orders are checked at commit (0011); the indexes rebuilt
        # below cannot be while such checks are pending, so they run per statement.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if fast:
            cursor.execute("SET LOCAL session_replication_role = replica")
        for statement in (ORDERS, BILLS, ITEMS, SALES, PAYMENTS, LEDGER):
            cursor.execute(statement, params)
        if fast:
            cursor.execute(CUSTOMER_CACHES, params)
            cursor.execute(PRODUCT_CACHES, params)
            if SUMMARIES is not None:
                cursor.execute(SUMMARIES, params)
            cursor.execute("SET LOCAL session_replication_role = origin")
        for _, definition in indexes:
            cursor.execute(definition)
        if fast:
            cursor.execute(OWED, params)
    return fast
