"""Prove the caches and the history agree, business by business.

For every business, in one REPEATABLE READ snapshot with the tenant bound:
- each customer's balance, charged and credited totals equal the sums of its
  ledger entries;
- each ledger entry's balance_after equals the previous entry's (by id, per
  customer; every writer locks the customer before inserting) plus its amount;
- each product's stock equals the sum of its stock movements;
- each order's total equals its items (less their discounts, with their tax unless
  prices included it) and its ledger charge (none for a walk-in sale); its tax,
  discounts and bill discount equal its items'; what it says was paid at the
  counter equals its payments; and each item was taken out of stock by a sale
  movement of the same quantity;
- corrections (migration 0013): each reversal entry points at an entry of the same
  customer that is not itself a reversal, for the same amount the other way; no
  order has more units returned than it sold; each return's credit note equals
  its items' credits, what went to the balance equals its ledger entry and the rest
  its refund; and every unit returned or voided went back to stock through a
  ``return`` movement of its order.
- bill numbers (migration 0014): each year's BILL numbers are 1 to its counter's
  last, each once.
- what is owed (migration 0022): the owed summaries and their changes not yet
  folded hold, per terms and quarter hour and per day, what ``owed_expected()``
  computes from the ledger (unsettled debits, customers' oldest unpaid); the
  customer count is the customers not archived.

Every check is one set-based statement; each reports at most ``LIMIT`` problems.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.services.dashboard import SLOT_ORIGIN
from app.services.unit_of_work import TENANT

LIMIT = 100


@dataclass(frozen=True)
class Problem:
    business_id: int
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"business {self.business_id}: {self.check}: {self.subject}: {self.detail}"


@dataclass
class Report:
    businesses: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_CUSTOMER_TOTALS = text(f"""
SELECT c.id, c.balance, c.charged_total, c.credited_total,
       coalesce(l.balance, 0) AS ledger_balance, coalesce(l.charged, 0) AS ledger_charged,
       coalesce(l.credited, 0) AS ledger_credited
  FROM customers c
  LEFT JOIN (SELECT customer_id, sum(amount) AS balance, sum(greatest(amount, 0)) AS charged,
                    sum(greatest(-amount, 0)) AS credited
               FROM credit_ledger WHERE business_id = {TENANT} GROUP BY customer_id) l
    ON l.customer_id = c.id
 WHERE c.business_id = {TENANT}
   AND (c.balance, c.charged_total, c.credited_total)
       IS DISTINCT FROM (coalesce(l.balance, 0), coalesce(l.charged, 0), coalesce(l.credited, 0))
 ORDER BY c.id LIMIT {LIMIT}
""")

_LEDGER_CHAIN = text(f"""
SELECT id, customer_id, amount, balance_after, previous FROM (
    SELECT id, customer_id, amount, balance_after,
           lag(balance_after, 1, 0::bigint) OVER (PARTITION BY customer_id ORDER BY id) AS previous
      FROM credit_ledger WHERE business_id = {TENANT}) e
 WHERE balance_after <> previous + amount
 ORDER BY id LIMIT {LIMIT}
""")

_PRODUCT_STOCK = text(f"""
SELECT p.id, p.stock, coalesce(m.moved, 0) AS moved
  FROM products p
  LEFT JOIN (SELECT product_id, sum(quantity) AS moved FROM stock_movements
              WHERE business_id = {TENANT} GROUP BY product_id) m ON m.product_id = p.id
 WHERE p.business_id = {TENANT} AND p.stock <> coalesce(m.moved, 0)
 ORDER BY p.id LIMIT {LIMIT}
""")

_ORDER_TOTALS = text(f"""
SELECT o.id, o.total, i.net + CASE WHEN o.prices_include_tax THEN 0 ELSE i.tax END AS items_total,
       coalesce(l.amount, 0) AS charged, o.tax_total, i.tax, o.discount_total,
       i.discounts + o.bill_discount AS discounts, o.bill_discount, i.shares, o.paid_amount,
       coalesce(p.paid, 0) AS paid
  FROM orders o
  LEFT JOIN (SELECT order_id, sum(line_total - discount - bill_discount) AS net,
                    sum(tax_amount) AS tax, sum(discount) AS discounts,
                    sum(bill_discount) AS shares
               FROM order_items
              WHERE business_id = {TENANT} GROUP BY order_id) i ON i.order_id = o.id
  LEFT JOIN credit_ledger l
    ON l.business_id = o.business_id AND l.order_id = o.id AND l.kind = 'charge'
  LEFT JOIN (SELECT order_id, sum(amount) AS paid FROM payments
              WHERE business_id = {TENANT} AND order_id IS NOT NULL GROUP BY order_id) p
    ON p.order_id = o.id
 WHERE o.business_id = {TENANT}
   AND ((i.net + CASE WHEN o.prices_include_tax THEN 0 ELSE i.tax END) IS DISTINCT FROM o.total
        OR coalesce(l.amount, 0) <> CASE WHEN o.customer_id IS NULL THEN 0 ELSE o.total END
        OR i.tax <> o.tax_total OR i.discounts + o.bill_discount <> o.discount_total
        OR i.shares <> o.bill_discount OR coalesce(p.paid, 0) <> o.paid_amount)
 ORDER BY o.id LIMIT {LIMIT}
""")

_ITEM_MOVEMENTS = text(f"""
SELECT i.order_id, i.product_id, i.quantity, coalesce(-m.moved, 0) AS taken
  FROM order_items i
  LEFT JOIN (SELECT order_id, product_id, sum(quantity) AS moved FROM stock_movements
              WHERE business_id = {TENANT} AND kind = 'sale' GROUP BY order_id, product_id) m
    ON m.order_id = i.order_id AND m.product_id = i.product_id
 WHERE i.business_id = {TENANT} AND coalesce(-m.moved, 0) <> i.quantity
 ORDER BY i.order_id, i.product_id LIMIT {LIMIT}
""")

_IN_SPAN = f"date_bin(make_interval(mins => s.span_minutes), made_slot, {SLOT_ORIGIN})"
_SPANS = "(VALUES (15), (1440)) AS s (span_minutes)"
_OWED = text(f"""
WITH expected AS (SELECT * FROM owed_expected({TENANT})),
kept AS (
    SELECT terms_days, span_minutes, made_from, unsettled, owing FROM owed_summaries
     WHERE business_id = {TENANT}
    UNION ALL
    SELECT terms_days, s.span_minutes, {_IN_SPAN}, unsettled, owing
      FROM owed_changes CROSS JOIN {_SPANS}
     WHERE business_id = {TENANT}
),
difference AS (
    SELECT span_minutes, terms_days, made_from, sum(unsettled) AS unsettled,
           sum(owing) AS owing
      FROM (SELECT terms_days, s.span_minutes, {_IN_SPAN} AS made_from, unsettled, owing
              FROM expected CROSS JOIN {_SPANS}
            UNION ALL
            SELECT terms_days, span_minutes, made_from, -unsettled, -owing FROM kept) x
     GROUP BY 1, 2, 3
)
SELECT span_minutes, terms_days, made_from, unsettled, owing FROM difference
 WHERE unsettled <> 0 OR owing <> 0
 ORDER BY 1, 2, 3 LIMIT {LIMIT}
""")

_CUSTOMER_COUNT = text(f"""
SELECT n.active, c.active AS counted
  FROM (SELECT coalesce(sum(active), 0) AS active FROM customer_counts
         WHERE business_id = {TENANT}) n,
       (SELECT count(*) AS active FROM customers
         WHERE business_id = {TENANT} AND archived_at IS NULL) c
 WHERE n.active <> c.active
""")

_REVERSALS = text(f"""
SELECT r.id, r.customer_id, r.amount, t.id AS target, t.customer_id AS target_customer,
       t.amount AS target_amount, t.kind AS target_kind
  FROM credit_ledger r
  JOIN credit_ledger t ON t.business_id = r.business_id AND t.id = r.reverses_entry_id
 WHERE r.business_id = {TENANT} AND r.kind = 'reversal'
   AND (t.customer_id <> r.customer_id OR t.amount <> -r.amount OR t.kind = 'reversal')
 ORDER BY r.id LIMIT {LIMIT}
""")

_RETURNED_WITHIN_SOLD = text(f"""
SELECT i.order_id, i.product_id, i.quantity, r.returned
  FROM order_items i
  JOIN (SELECT order_id, product_id, sum(quantity) AS returned FROM order_return_items
         WHERE business_id = {TENANT} GROUP BY order_id, product_id) r
    ON r.order_id = i.order_id AND r.product_id = i.product_id
 WHERE i.business_id = {TENANT} AND r.returned > i.quantity
 ORDER BY i.order_id, i.product_id LIMIT {LIMIT}
""")

_RETURN_MONEY = text(f"""
SELECT r.id, r.credit_amount, r.credited, r.refunded, i.credits,
       coalesce(-l.amount, 0) AS ledger, coalesce(f.amount, 0) AS refund
  FROM order_returns r
  JOIN (SELECT return_id, sum(amount) AS credits FROM order_return_items
         WHERE business_id = {TENANT} GROUP BY return_id) i ON i.return_id = r.id
  LEFT JOIN credit_ledger l ON l.business_id = r.business_id AND l.return_id = r.id
  LEFT JOIN refunds f ON f.business_id = r.business_id AND f.return_id = r.id
 WHERE r.business_id = {TENANT}
   AND (i.credits <> r.credit_amount OR coalesce(-l.amount, 0) <> r.credited
        OR coalesce(f.amount, 0) <> r.refunded)
 ORDER BY r.id LIMIT {LIMIT}
""")

_RETURNED_TO_STOCK = text(f"""
SELECT i.order_id, i.product_id,
       coalesce(r.returned, 0) + CASE WHEN v.order_id IS NULL THEN 0 ELSE i.quantity END
           AS expected,
       coalesce(m.moved, 0) AS moved
  FROM order_items i
  LEFT JOIN order_voids v ON v.business_id = i.business_id AND v.order_id = i.order_id
  LEFT JOIN (SELECT order_id, product_id, sum(quantity) AS returned FROM order_return_items
              WHERE business_id = {TENANT} GROUP BY order_id, product_id) r
    ON r.order_id = i.order_id AND r.product_id = i.product_id
  LEFT JOIN (SELECT order_id, product_id, sum(quantity) AS moved FROM stock_movements
              WHERE business_id = {TENANT} AND kind = 'return' GROUP BY order_id, product_id) m
    ON m.order_id = i.order_id AND m.product_id = i.product_id
 WHERE i.business_id = {TENANT}
   AND coalesce(m.moved, 0)
       <> coalesce(r.returned, 0) + CASE WHEN v.order_id IS NULL THEN 0 ELSE i.quantity END
 ORDER BY i.order_id, i.product_id LIMIT {LIMIT}
""")

_BILL_SERIES = text(f"""
SELECT c.year, c.last, count(s.seq) AS numbers, max(s.seq) AS highest
  FROM bill_counters c
  LEFT JOIN (SELECT CAST(split_part(number, '-', 2) AS integer) AS year,
                    CAST(split_part(number, '-', 3) AS bigint) AS seq
               FROM bill_numbers WHERE business_id = {TENANT} AND number LIKE 'BILL-%') s
    ON s.year = c.year
 WHERE c.business_id = {TENANT}
 GROUP BY c.year, c.last
HAVING count(s.seq) <> c.last OR max(s.seq) <> c.last
 ORDER BY c.year LIMIT {LIMIT}
""")

_BIND = text("SELECT set_config('app.business_id', :business_id, true)")
_BUSINESSES = text("SELECT id FROM businesses ORDER BY id")


async def _check(connection: AsyncConnection, business_id: int) -> list[Problem]:
    problems: list[Problem] = []

    def add(check: str, subject: str, detail: str) -> None:
        problems.append(Problem(business_id, check, subject, detail))

    tenant = {"business_id": business_id}
    for row in await connection.execute(_CUSTOMER_TOTALS, tenant):
        add(
            "customer balance",
            f"customer {row.id}",
            f"balance/charged/credited {row.balance}/{row.charged_total}/{row.credited_total},"
            f" ledger sums {row.ledger_balance}/{row.ledger_charged}/{row.ledger_credited}",
        )
    for row in await connection.execute(_LEDGER_CHAIN, tenant):
        add(
            "ledger chain",
            f"entry {row.id} of customer {row.customer_id}",
            f"balance_after {row.balance_after} != previous {row.previous} + amount {row.amount}",
        )
    for row in await connection.execute(_PRODUCT_STOCK, tenant):
        add("product stock", f"product {row.id}", f"stock {row.stock} != movements {row.moved}")
    for row in await connection.execute(_ORDER_TOTALS, tenant):
        add(
            "order total",
            f"order {row.id}",
            f"total {row.total}, items {row.items_total}, ledger charge {row.charged};"
            f" tax {row.tax_total}, items' {row.tax}; discounts {row.discount_total},"
            f" items' and bill {row.discounts}; bill discount {row.bill_discount}, items'"
            f" shares {row.shares}; paid {row.paid_amount}, payments {row.paid}",
        )
    for row in await connection.execute(_ITEM_MOVEMENTS, tenant):
        add(
            "order stock",
            f"order {row.order_id} product {row.product_id}",
            f"ordered {row.quantity}, taken from stock {row.taken}",
        )
    for row in await connection.execute(_BILL_SERIES, tenant):
        add(
            "bill numbers",
            f"year {row.year}",
            f"counter at {row.last}, {row.numbers} numbers up to {row.highest}",
        )
    for row in await connection.execute(_OWED, tenant):
        add(
            "owed summaries",
            f"terms {row.terms_days}, {row.span_minutes} min from {row.made_from:%Y-%m-%d %H:%M}",
            f"the ledger's unsettled debits and oldest unpaid less what is kept:"
            f" {row.unsettled}, {row.owing}",
        )
    for row in await connection.execute(_CUSTOMER_COUNT, tenant):
        add("customer count", "customers not archived", f"kept {row.active}, {row.counted}")
    _check_corrections(await _rows(connection, tenant), add)
    return problems


async def _rows(connection: AsyncConnection, tenant: dict[str, int]) -> dict[str, list[Any]]:
    statements = {
        "reversals": _REVERSALS, "returned": _RETURNED_WITHIN_SOLD, "money": _RETURN_MONEY,
        "stock": _RETURNED_TO_STOCK,
    }  # fmt: skip
    return {
        name: list(await connection.execute(statement, tenant))
        for name, statement in statements.items()
    }


def _check_corrections(rows: dict[str, list[Any]], add: Callable[[str, str, str], None]) -> None:
    for row in rows["reversals"]:
        add(
            "reversal",
            f"entry {row.id} of customer {row.customer_id}",
            f"amount {row.amount} reverses entry {row.target} ({row.target_kind},"
            f" customer {row.target_customer}, amount {row.target_amount})",
        )
    for row in rows["returned"]:
        add(
            "returns within sales",
            f"order {row.order_id} product {row.product_id}",
            f"sold {row.quantity}, returned {row.returned}",
        )
    for row in rows["money"]:
        add(
            "return credit",
            f"return {row.id}",
            f"credit {row.credit_amount}, items' {row.credits}; credited {row.credited},"
            f" ledger {row.ledger}; refunded {row.refunded}, refund {row.refund}",
        )
    for row in rows["stock"]:
        add(
            "returned stock",
            f"order {row.order_id} product {row.product_id}",
            f"returned or voided {row.expected}, back in stock {row.moved}",
        )


async def verify_business(engine: AsyncEngine, business_id: int) -> list[Problem]:
    """Every problem found in one business (empty when all is consistent)."""
    async with engine.connect() as connection:
        snapshot = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with snapshot.begin():
            await snapshot.execute(_BIND, {"business_id": str(business_id)})
            return await _check(snapshot, business_id)


async def verify_all(engine: AsyncEngine, business_ids: list[int] | None = None) -> Report:
    """Check the given businesses, else every one; ``engine`` must be the owner's."""
    if business_ids is None:
        async with engine.connect() as connection:
            business_ids = [row.id for row in await connection.execute(_BUSINESSES)]
    report = Report(businesses=len(business_ids))
    for business_id in business_ids:
        report.problems.extend(await verify_business(engine, business_id))
    return report
