"""Migrations go up from empty and back down to empty."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.db.migrations import downgrade, upgrade
from tests.db import create_database, drop_database


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
