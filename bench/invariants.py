"""The invariants a write workload must leave intact, checked from scratch in SQL.

Per business: every customer's cached balance and totals equal the sums of its
ledger; every entry's ``balance_after`` (and running totals) equal the previous
entry's plus its amount; ``oldest_unpaid_at`` is the first-in-first-out oldest
unpaid charge (for a customer with corrections, as ``unsettled_debits()`` counts
them); every charge points at an order of the same customer and amount and every
payment entry at its payment; every product's stock equals the sum of
its movements (initial + restocks - sold) and each ``stock_after`` the previous
plus its quantity.  Each check counts violations; all zero means intact.

When the service's own ``app.services.verify`` exists it is the authority for
what it covers (balances, balance chain, stock, order totals and their stock
movements): it runs instead of the overlapping checks here, and the rest of
these still run.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections import Counter
from typing import Any

from app.config import PROJECT_ROOT
from app.db.engine import owner_engine
from app.db.migrations import earlier_migration
from bench.database import connect, tenant

OVERLAPPING = frozenset(
    {
        "customer balance != sum of its ledger",
        "entry balance_after != previous + amount",
        "product stock != sum of its movements",
    }
)
"""Checks that ``app.services.verify`` makes too."""

CHECKS: dict[str, str] = {
    "customer balance != sum of its ledger": """
        SELECT count(*) FROM customers c
        LEFT JOIN (SELECT customer_id, sum(amount) AS balance,
                          sum(greatest(amount, 0)) AS charged,
                          sum(greatest(-amount, 0)) AS credited
                   FROM credit_ledger WHERE business_id = %(b)s GROUP BY customer_id) l
               ON l.customer_id = c.id
        WHERE c.business_id = %(b)s
          AND (c.balance, c.charged_total, c.credited_total)
              IS DISTINCT FROM (coalesce(l.balance, 0), coalesce(l.charged, 0),
                                coalesce(l.credited, 0))
    """,
    "entry balance_after != previous + amount": """
        SELECT count(*) FROM (
            SELECT balance_after, charged_total, credited_total, amount,
                   lag(balance_after, 1, 0::bigint) OVER w AS prev_balance,
                   lag(charged_total, 1, 0::bigint) OVER w AS prev_charged,
                   lag(credited_total, 1, 0::bigint) OVER w AS prev_credited
            FROM credit_ledger WHERE business_id = %(b)s
            WINDOW w AS (PARTITION BY customer_id ORDER BY id)
        ) e
        WHERE balance_after <> prev_balance + amount
           OR charged_total <> prev_charged + greatest(amount, 0)
           OR credited_total <> prev_credited + greatest(-amount, 0)
    """,
    "oldest_unpaid_at != FIFO oldest unpaid charge": """
        SELECT count(*) FROM customers c
        LEFT JOIN LATERAL (
            SELECT l.created_at FROM credit_ledger l
            WHERE c.corrected_at IS NULL
              AND l.business_id = c.business_id AND l.customer_id = c.id
              AND l.amount > 0 AND l.charged_total > c.credited_total
            ORDER BY l.charged_total LIMIT 1) f ON c.balance > 0
        LEFT JOIN LATERAL (
            SELECT d.made_at FROM unsettled_debits(c.business_id, c.id, 'infinity') d
            WHERE c.corrected_at IS NOT NULL
            ORDER BY d.charged_total LIMIT 1) g ON true
        WHERE c.business_id = %(b)s
          AND c.oldest_unpaid_at IS DISTINCT FROM coalesce(f.created_at, g.made_at)
    """,
    "charge or payment entry without its order/payment": """
        SELECT count(*) FROM credit_ledger l
        LEFT JOIN orders o ON o.business_id = l.business_id AND o.id = l.order_id
        LEFT JOIN payments p ON p.business_id = l.business_id AND p.id = l.payment_id
        WHERE l.business_id = %(b)s
          AND ((l.kind = 'charge' AND (o.customer_id, o.total)
                                      IS DISTINCT FROM (l.customer_id, l.amount))
            OR (l.kind = 'payment' AND (p.customer_id, p.amount)
                                       IS DISTINCT FROM (l.customer_id, -l.amount)))
    """,
    "product stock != sum of its movements": """
        SELECT count(*) FROM products p
        LEFT JOIN (SELECT product_id, sum(quantity) AS stock FROM stock_movements
                   WHERE business_id = %(b)s GROUP BY product_id) m ON m.product_id = p.id
        WHERE p.business_id = %(b)s AND p.stock <> coalesce(m.stock, 0)
    """,
    "movement stock_after != previous + quantity": """
        SELECT count(*) FROM (
            SELECT stock_after, quantity, lag(stock_after, 1, 0::bigint) OVER w AS prev
            FROM stock_movements WHERE business_id = %(b)s
            WINDOW w AS (PARTITION BY product_id ORDER BY id)
        ) m WHERE stock_after <> prev + quantity
    """,
}


SUMMARIES = "0017_sales_summaries"


def _summaries_check() -> str | None:
    """Sales summaries (issue 19) against their rows, slot by slot, where they exist."""
    path = PROJECT_ROOT / "alembic" / "versions" / f"{SUMMARIES}.py"
    if not path.exists():
        return None
    migration = earlier_migration(SUMMARIES)
    columns = migration.COLUMNS
    kept = ", ".join(f"sum({column}) AS {column}" for column in columns)
    return f"""
        SELECT count(*)
          FROM ({migration.summed_rows("%(b)s")}) AS r
          FULL JOIN (SELECT business_id, slot, {kept} FROM sales_summaries
                      WHERE business_id = %(b)s GROUP BY 1, 2) AS s USING (business_id, slot)
         WHERE ({", ".join(f"r.{c}" for c in columns)})
               IS DISTINCT FROM ({", ".join(f"s.{c}" for c in columns)})
    """


_SUMMARIES_SQL = _summaries_check()
if _SUMMARIES_SQL is not None:
    CHECKS["sales summary slot != its rows"] = _SUMMARIES_SQL


def service_verify_available() -> bool:
    return importlib.util.find_spec("app.services.verify") is not None


async def _service_verify(url: str, business_id: int) -> dict[str, int]:
    from app.services import verify  # noqa: PLC0415 (not on every branch)

    engine = owner_engine(url)
    try:
        problems = await verify.verify_business(engine, business_id)
    finally:
        await engine.dispose()
    # Each of its checks reports at most verify.LIMIT problems.
    return {"app.services.verify problems": len(problems)} | Counter(
        f"verify: {problem.check}" for problem in problems
    )


def violations(url: str, business_id: int) -> dict[str, int]:
    """Each check's count of violations (all zero: intact)."""
    use_service = service_verify_available()
    found: dict[str, int] = {}
    with connect(url) as connection, tenant(connection, business_id) as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        params: dict[str, Any] = {"b": business_id}
        for name, sql in CHECKS.items():
            if use_service and name in OVERLAPPING:
                continue
            cursor.execute(sql, params)
            row = cursor.fetchone()
            found[name] = int(row[0]) if row else 0
    if use_service:
        found |= asyncio.run(_service_verify(url, business_id))
    return found


def describe(found: dict[str, int]) -> str:
    broken = {name: count for name, count in found.items() if count}
    if not broken:
        checks = [name for name in found if not name.startswith("verify: ")]
        return f"invariants hold ({len(checks)} checks)"
    return "INVARIANTS BROKEN: " + "; ".join(f"{n}: {c}" for n, c in broken.items())
