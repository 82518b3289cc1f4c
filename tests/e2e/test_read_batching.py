"""A page of customers costs the same few statements whatever its size (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool

from app.db.driver_pool import DriverPool
from tests.conftest import Tenant
from tests.ledger_data import add_customer, charge, payment, post

pytestmark = pytest.mark.both_routes

PAGE = """
query($first: Int!) {
  customers(first: $first) {
    edges { node {
      id name balance availableCredit
      overdue { isOverdue overdueAmount oldestUnpaidAt daysOverdue }
      later: overdue(asOf: "2999-01-01T00:00:00Z") { daysOverdue }
      ledger(first: 2) { edges { node { id amount } } }
    } }
  }
}
"""


FROM_THE_TEST: ContextVar[bool] = ContextVar("from_the_test", default=False)
"""Set by a test around its requests: the in-process transport runs each request in the
test's own context, and the driver's query loggers in the context of the code that sent
the statement, so statements of the service's background tasks (the rate limiter's
sync, the token cache's reloads), started before, are not counted."""


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent to PostgreSQL on behalf of the test's own requests (those
    made while ``FROM_THE_TEST`` is set).

    Statements executed through SQLAlchemy are seen by its cursor events; those sent to
    the driver directly (``UnitsOfWork.read`` and ``call``) by asyncpg's query logger,
    attached to each connection as it is checked out of either pool (SQLAlchemy's, or
    the driver pool's).  Neither sees the other's.  Not counted: the ``BEGIN`` and
    ``COMMIT`` around each driver statement behind a transaction pooler.
    """
    sent: list[str] = []
    watched: set[int] = set()
    counting = True

    def log_driver(query: Any) -> None:
        # Behind a pooler each statement is wrapped in its own BEGIN ... COMMIT.
        if (
            counting
            and FROM_THE_TEST.get()
            and not query.query.startswith(("BEGIN;", "COMMIT", "ROLLBACK"))
        ):
            sent.append(query.query)

    def watch_driver(driver: Any) -> None:
        if id(driver) not in watched:
            watched.add(id(driver))
            driver.add_query_logger(log_driver)

    def watch(dbapi_connection: Any, *_: Any) -> None:
        watch_driver(dbapi_connection.driver_connection)

    acquire = DriverPool.acquire

    async def watched_acquire(pool: DriverPool) -> Any:
        driver = await acquire(pool)
        watch_driver(driver)
        return driver

    monkeypatch.setattr(DriverPool, "acquire", watched_acquire)

    def log_sqlalchemy(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if FROM_THE_TEST.get():
            sent.append(statement)

    event.listen(Pool, "checkout", watch)
    event.listen(Engine, "before_cursor_execute", log_sqlalchemy)
    yield sent
    counting = False
    event.remove(Engine, "before_cursor_execute", log_sqlalchemy)
    event.remove(Pool, "checkout", watch)


async def test_a_page_of_50_costs_as_many_statements_as_a_page_of_5(
    tenant: Tenant, owner_db: AsyncEngine, statements: list[str]
) -> None:
    start = datetime.now(UTC) - timedelta(days=90)
    for n in range(50):
        customer = await add_customer(
            owner_db, tenant.id, name=f"Batch {n:02d}", credit_limit=10**6
        )
        await post(
            owner_db, tenant.id, customer,
            [charge(1_000 + n, start), payment(n + 1, start + timedelta(days=10)),
             charge(500, start + timedelta(days=80))],
        )  # fmt: skip

    costs = {}
    FROM_THE_TEST.set(True)
    for first in (5, 50, 5, 50):  # the first round warms up connections (type introspection)
        statements.clear()
        data = await tenant.data(PAGE, {"first": first})
        edges = data["customers"]["edges"]
        assert len(edges) == first
        assert all(edge["node"]["overdue"]["isOverdue"] for edge in edges)
        assert all(len(edge["node"]["ledger"]["edges"]) == 2 for edge in edges)
        costs[first] = len(statements)
    assert costs[5] == costs[50], costs
    # Authentication; then three reads (the page with everyone's status now, the ledger
    # loader, the loader for the other asOf), each binding the tenant itself.
    assert costs[50] == 1 + 3, statements
