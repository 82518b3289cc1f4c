"""One transaction per use case, with the tenant bound inside it.

The tenant is bound in one place per kind of transaction, always with
``set_config('app.business_id', …, true)``: transaction-local, so no binding ever
outlives the transaction that made it, on a direct connection or behind a
transaction-pooling PgBouncer, where the next transaction may run on another
session (DESIGN.md section 1):

- ``async with uow:`` (``UnitOfWork``) checks out a connection, begins a
  transaction and binds the tenant as its first statement.  Leaving the block
  rolls back unless ``await uow.commit()`` was called: nothing is ever
  half-written.
- ``call`` runs one server-side function that binds the tenant from its
  ``business_id`` argument as its first act, locks, validates and writes, as one
  implicit transaction: one round trip, after which its row locks are released.
- ``read`` runs one query (``ReadStatement``) that binds the tenant itself, in the
  same statement and before any of its rows are read.

Every unit of work also knows who is calling (``CreatedBy``): ``ACTOR`` fills the
``created_by_user_id, created_by_key_id`` columns (``CREATED_BY``) of the rows it
writes (migration 0018), from bind parameters, as ``TENANT`` does.

Row Level Security reads that binding.  Independently of it, every statement
filters on ``business_id`` with ``TENANT``, a bind parameter filled from the
caller's identity, never read back from the setting: a wrong binding can only
ever hide the caller's own rows, not show another tenant's.

``call`` and ``read`` go through the driver pool (``app.db.driver_pool``): on the
hot path SQLAlchemy's execution layer cost about as much Python time as the rest
of the request, and the Python process, not PostgreSQL, limits throughput
(DESIGN.md section 2; bench/README.md).

A mutation's audit entry (``app.domain.audit``) is written in the transaction of
its effect: by ``commit`` just before it commits, or by the statement of ``call``.

Both ways, a database out of reach, a lost connection or a timeout leaves here as
``TryAgain`` (``app.services.retry.try_again``), whoever called.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.engine import Result
from sqlalchemy.exc import TimeoutError as EnginePoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app import metrics
from app.db.driver_pool import DriverPool, PoolTimeout
from app.domain.audit import AuditDraft
from app.domain.identity import NOBODY, CreatedBy
from app.services.audit_entries import RECORD, AnswerAudit, answer_audited, record_params
from app.services.retry import BUSY, TryAgain, try_again, with_retries

TENANT = "CAST(:business_id AS bigint)"
"""The caller's business, a bind parameter that ``UnitOfWork.execute``, ``call`` and
``read`` fill from the identity; every query filters on it as well as relying on RLS."""

CREATED_BY = "created_by_user_id, created_by_key_id"
"""The columns that say who wrote a row; their values are ``ACTOR``."""
ACTOR = "CAST(:actor_user_id AS bigint), CAST(:actor_key_id AS bigint)"
"""The caller (a user or an API key), bind parameters that ``UnitOfWork.execute``,
``call`` and ``read`` fill from the identity; both NULL for the operator's CLI."""


def _actor(created_by: CreatedBy) -> dict[str, int | None]:
    return {"actor_user_id": created_by.user_id, "actor_key_id": created_by.key_id}


_BIND_TENANT = text("SELECT set_config('app.business_id', :business_id, true)")


class UnitOfWork:
    def __init__(
        self,
        engine: AsyncEngine,
        business_id: int,
        created_by: CreatedBy = NOBODY,
        audit: AuditDraft | None = None,
    ) -> None:
        self._engine = engine
        self.business_id = business_id
        self._bound = {**_actor(created_by), "business_id": business_id}
        self.audit = audit
        """The entry of the mutation this unit of work is part of; ``commit`` writes it."""
        self._connection: AsyncConnection | None = None
        self._committed = False
        self._started = 0.0

    async def __aenter__(self) -> Self:
        self._started = time.perf_counter()
        try:
            self._connection = await self._engine.connect()
        except EnginePoolTimeout as exc:
            raise TryAgain(BUSY) from exc
        except Exception as exc:
            _raise_try_again(exc)
            raise
        self._committed = False
        try:
            await self._connection.execute(_BIND_TENANT, {"business_id": str(self.business_id)})
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._connection

    async def execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> Result[Any]:
        """Run ``statement`` with ``params``, ``business_id`` (for ``TENANT``) and the
        caller (for ``ACTOR``)."""
        values = {**(params or {}), **self._bound}
        result: Result[Any] = await self.connection.execute(statement, values)
        return result

    def audit_target(self, target_id: int) -> None:
        """Name what the mutation created in its audit entry."""
        if self.audit is not None:
            self.audit.target_id = target_id

    def audit_change(self, before: Any, after: Any) -> None:
        """Record in the audit entry what an update changed (the record before and after)."""
        if self.audit is not None:
            self.audit.changed(before, after)

    async def commit(self) -> None:
        audit = self.audit
        if audit is not None and (audit.written is not None or not audit.writable):
            audit = None
        if audit is not None:
            await self.connection.execute(RECORD, record_params(audit, audit.success))
        await self.connection.commit()
        if audit is not None:  # only now: a retried transaction must write its entry again
            audit.written = audit.success
        self._committed = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if metrics.enabled:
            metrics.DB_TRANSACTION.observe(time.perf_counter() - self._started)
        failure: Exception | None = None
        try:
            if not self._committed:
                await connection.rollback()
        except Exception as caught:  # on a lost connection, rolling back fails as well
            failure = caught
        finally:
            await connection.close()
        for cause in (exc, failure):
            if isinstance(cause, Exception):
                _raise_try_again(cause)
        if failure is not None and exc is None:
            raise failure


_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


class DriverStatement:
    """SQL written with ``:name`` parameters, turned once into the driver's ``$n`` form."""

    def __init__(self, sql: str) -> None:
        self._sql = sql
        self._audited: DriverStatement | None = None
        self.names: list[str] = []

        def position(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.names:
                self.names.append(name)
            return f"${self.names.index(name) + 1}"

        self.sql = _PARAMETER.sub(position, sql)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]

    def audited(self) -> DriverStatement:
        """This function call, also writing its audit entry (``AnswerAudit``); made once."""
        if self._audited is None:
            self._audited = DriverStatement(answer_audited(self._sql))
        return self._audited


class ReadStatement(DriverStatement):
    """A read query that binds the tenant itself, in the same round trip.

    The query runs as a lateral subquery of the one-row relation that binds the
    tenant, and refers to that row, so PostgreSQL can only run it as the inner side
    of a nested loop whose outer row is already bound: the binding happens before
    any row of the query, Row Level Security included, is read.  ``OFFSET 0`` keeps
    the planner from flattening either subquery.
    """

    def __init__(self, sql: str) -> None:
        super().__init__(
            "SELECT bound.* FROM (SELECT set_config('app.business_id',"
            f" CAST({TENANT} AS text), true) AS tenant OFFSET 0) AS binding"
            f" CROSS JOIN LATERAL (SELECT * FROM ({sql}) AS query"
            " WHERE binding.tenant IS NOT NULL OFFSET 0) AS bound"
        )


class UnitsOfWork:
    """Per-request factory, bound to the caller's business.

    ``UnitOfWork`` transactions go through the SQLAlchemy engine; the hot calls and
    page reads (``call``, ``read``) through the bare driver pool (``app.db.driver_pool``).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        pool: DriverPool,
        business_id: int,
        created_by: CreatedBy = NOBODY,
    ) -> None:
        self._engine = engine
        self._pool = pool
        self.business_id = business_id
        self.created_by = created_by
        self._bound = {**_actor(created_by), "business_id": business_id}
        self.audit: AuditDraft | None = None
        """The entry of the mutation being resolved (``app.graphql.audit``)."""

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._engine, self.business_id, self.created_by, self.audit)

    async def call(
        self,
        statement: DriverStatement,
        params: Mapping[str, Any],
        audit: AnswerAudit | None = None,
    ) -> Any:
        """Run one self-contained server-side function call; return its scalar result.

        The function must bind the tenant from ``business_id`` as its first act.
        No transaction block is opened: the statement is its own transaction.
        Deadlocks and serialization failures are retried.  With ``audit``, during a
        mutation, the same statement writes the mutation's audit entry from the answer.
        """
        draft = self.audit
        if audit is not None and draft is not None and draft.written is None and draft.writable:
            answer = await self._call(statement.audited(), {**params, **audit.params(draft)})
            draft.written = audit.outcome_of(answer)
            return answer
        return await self._call(statement, params)

    async def _call(self, statement: DriverStatement, params: Mapping[str, Any]) -> Any:
        args = statement.args({**params, **self._bound})
        if not metrics.enabled:
            return await with_retries(lambda: fetch(self._pool.fetchval, statement.sql, args))
        started = time.perf_counter()
        try:
            return await with_retries(lambda: fetch(self._pool.fetchval, statement.sql, args))
        finally:
            metrics.DB_CALL.observe(time.perf_counter() - started)

    async def read(self, statement: ReadStatement, params: Mapping[str, Any]) -> list[Any]:
        """The rows of ``statement``: one round trip, one implicit transaction, one snapshot.

        The query runs with its generic plan, planned once per connection
        (``plan_cache_mode`` is ``force_generic_plan`` for the pool's sessions): read
        queries are written to need no parameter values to be planned well, and
        re-planning the bigger ones for every execution cost more than running them.
        """
        args = statement.args({**params, **self._bound})
        if not metrics.enabled:
            rows: list[Any] = await fetch(self._pool.fetch, statement.sql, args)
            return rows
        started = time.perf_counter()
        try:
            rows = await fetch(self._pool.fetch, statement.sql, args)
        finally:
            metrics.DB_READ.observe(time.perf_counter() - started)
        return rows


async def fetch(method: Callable[..., Awaitable[Any]], sql: str, args: Sequence[Any]) -> Any:
    """``method(sql, *args)`` of the driver pool; no connection in time, a database out of
    reach, a lost connection or a timeout is ``TryAgain``."""
    try:
        return await method(sql, *args)
    except PoolTimeout as exc:
        raise TryAgain(BUSY) from exc
    except Exception as exc:
        _raise_try_again(exc)
        raise


def _raise_try_again(exc: Exception) -> None:
    """Raise ``exc`` as ``TryAgain`` if it is a fault for the client to retry later."""
    again = try_again(exc)
    if again is not None:
        raise again from exc
