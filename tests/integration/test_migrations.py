"""Migrations go up from empty and back down to empty, and carry data that needs it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import owner_engine
from app.db.migrations import downgrade, earlier_migration, upgrade
from app.domain.overdue import DAY
from app.services import admin
from tests.db import create_database, drop_database
from tests.ledger_data import Posting, add_customer, charge, payment, post


@pytest.fixture
def empty_database(server: str) -> Iterator[str]:
    url = create_database(server, prefix="credit_ledger_migrations")
    yield url
    drop_database(server, url)


def _tables(url: str) -> set[str]:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as connection:
        rows = connection.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'S', 'f', 'p')"
            " UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n"
            " ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def test_upgrade_from_empty_then_downgrade_to_empty(empty_database: str) -> None:
    upgrade(empty_database)
    created = _tables(empty_database)
    assert {
        "businesses", "api_keys", "customers", "products", "orders", "order_items",
        "payments", "credit_ledger", "idempotency_keys", "stock_movements",
    } <= created  # fmt: skip

    downgrade(empty_database)
    assert _tables(empty_database) == {"alembic_version"}

    upgrade(empty_database)
    assert _tables(empty_database) == created


BEFORE_0015 = earlier_migration("0015_overdue_corrections").down_revision
"""The revision 0015 follows, whichever it is once revisions are chained."""


async def _oldest_unpaid(engine: AsyncEngine, customer: int) -> tuple[datetime | None, ...]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT * FROM customers WHERE id = :id"), {"id": customer}
            )
        ).one()
    return row.oldest_unpaid_at, getattr(row, "corrected_at", None)


async def test_0015_counts_corrections_made_before_it_and_its_downgrade_forgets_them(
    empty_database: str,
) -> None:
    upgrade(empty_database, BEFORE_0015)
    engine = owner_engine(empty_database)
    try:
        business = await admin.create_business(engine, name="Corrected before 0015")
        customer = await add_customer(engine, business, name="Bounced")
        t = datetime(2026, 1, 1, tzinfo=UTC)
        bounced = Posting("reversal", 100, t + 3 * DAY, reverses=1)
        history = [charge(100, t), payment(100, t + DAY), charge(50, t + 2 * DAY), bounced]
        await post(engine, business, customer, history)
        # Before 0015 the bounced payment reads as a new debit: the newer charge is the oldest.
        assert await _oldest_unpaid(engine, customer) == (t + 2 * DAY, None)

        upgrade(empty_database)
        await engine.dispose()  # its connections cached plans of the old table
        assert await _oldest_unpaid(engine, customer) == (t, t + 3 * DAY)

        downgrade(empty_database, BEFORE_0015)
        await engine.dispose()
        assert await _oldest_unpaid(engine, customer) == (t + 2 * DAY, None)
    finally:
        await engine.dispose()


BEFORE_0023 = earlier_migration("0023_row_rules").down_revision

_CHECKS = (
    "SELECT c.conrelid::regclass::text, c.conname, pg_get_expr(c.conbin, c.conrelid)"
    " FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid"
    " WHERE c.contype = 'c' AND r.relkind IN ('r', 'p') AND NOT r.relispartition"
)
_RULES_OF = (
    "SELECT p.prosrc FROM pg_proc p"
    " WHERE p.proname IN (%(table)s || '_rules', %(table)s || '_catalogue_rules',"
    " %(table)s || '_profile_rules')"
)


def _rule_texts(url: str) -> dict[tuple[str, str], str]:
    """Every row rule of the schema: (table, rule) to its text, as a CHECK constraint
    or as a branch of a rules function (0023); parentheses and NEW. taken out."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rules = {}
    with psycopg.connect(plain) as connection:
        for table, name, expression in connection.execute(_CHECKS).fetchall():
            rules[table, name] = expression
        for table in {table for table, _ in rules}:
            for (source,) in connection.execute(_RULES_OF, {"table": table}).fetchall():
                for expression, name in re.findall(
                    r"IF NOT \((.*)\) THEN\n\s+broken := '(\w+)';", source
                ):
                    rules[table, name] = expression.replace("NEW.", "")
    return {key: re.sub(r"[() ]", "", text) for key, text in rules.items()}


def test_0023_keeps_every_rule_and_its_name(empty_database: str) -> None:
    upgrade(empty_database, BEFORE_0023)
    before = _rule_texts(empty_database)
    upgrade(empty_database)
    after = _rule_texts(empty_database)
    # Ten tables' rules are called by one CHECK each; every rule keeps its name.
    calls = {key for key in after if key[1] == f"{key[0]}_rules"}
    assert len(calls) == 10, calls
    kept = {key: text for key, text in after.items() if key not in calls}
    assert kept.keys() == before.keys()
    # Word for word, but the catalogue's and the profile's, written anew for their
    # triggers (BETWEEN, IN); the downgrade gives them back as PostgreSQL prints them.
    rewritten = {key for key in before if key[0] in ("products", "customers")}
    assert {key: kept[key] for key in kept.keys() - rewritten} == {
        key: before[key] for key in before.keys() - rewritten
    }
    downgrade(empty_database, BEFORE_0023)
    assert _rule_texts(empty_database) == before
