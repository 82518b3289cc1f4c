"""Bill numbers, taken once a sale has committed (migration ``0014_bills_numbered_after_commit``).

A sale queues its order for a number instead of taking one while its rows are
locked, so the sales of a business no longer wait for each other's commits; the
database function ``number_bills`` numbers every committed order still waiting,
in one batch, and answers the number of the one asked for.  The series stays
consecutive without gaps: only committed sales are numbered, and a numbering
that fails numbers nothing (bench/README.md, "Bill numbers after the commit").

A sale answers without waiting for its number, and ``Numbering`` numbers the
sales of a worker in batches just after their requests.  An order shown before
that (in that moment, or later if the worker died in between) is numbered by
whoever shows it (``Order.number``, the receipt, a customer's statement; a client
that asks for ``number`` in ``purchase`` gets it that way), after its own unit of
work, so that a number is never shown from a transaction that might roll back.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from contextlib import suppress

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.driver_pool import DriverPool
from app.services.unit_of_work import DriverStatement, UnitsOfWork

logger = logging.getLogger(__name__)

CLOSE_SECONDS = 5.0
PAUSE_SECONDS = 0.05
"""How long ``Numbering`` lets sales gather before each numbering call: under load a
call then numbers a few dozen sales, not a few (bench/README.md, "numbering paced")."""

_NUMBER = DriverStatement("SELECT number_bills(:business_id, :order_id)")


async def number_sale(units: UnitsOfWork, order_id: int) -> str:
    """The bill number of a committed sale: one statement, its own transaction,
    which also numbers every other sale of the business still waiting."""
    number: str | None = await units.call(_NUMBER, {"order_id": order_id})
    if number is None:
        raise LookupError(f"order {order_id} has no bill number and none is waiting")
    return number


async def number_waiting(units: UnitsOfWork) -> None:
    """Number every committed sale of the business still waiting for its number."""
    await units.call(_NUMBER, {"order_id": None})


class Numbering:
    """Numbers the sales of this worker in batches, off their requests' path.

    ``after_sale`` asks for a numbering of the sale's business.  A worker numbers in
    rounds: it waits ``pause`` seconds, then calls once for each business asked
    since the last round; each call numbers every sale of its business that
    committed before it, so the sales of a round share one call.  No sale waits for
    a call before it answers (bench/README.md, "Bill numbers in batches").  A call
    that fails leaves its sales waiting for the next numbering of their business.
    """

    def __init__(
        self, engine: AsyncEngine, pool: DriverPool, *, pause: float = PAUSE_SECONDS
    ) -> None:
        self._engine = engine
        self._pool = pool
        self._pause = pause
        self._asked: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def after_sale(self, business_id: int) -> None:
        self._asked.add(business_id)
        if self._task is None or self._task.done():
            # A context of its own: not a part of the request that happened to start it.
            self._task = asyncio.create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> None:
        while self._asked:
            await asyncio.sleep(self._pause)
            asked, self._asked = self._asked, set()
            for business_id in sorted(asked):
                try:
                    await number_waiting(UnitsOfWork(self._engine, self._pool, business_id))
                except Exception:
                    logger.warning(
                        "numbering the bills of business %s failed;"
                        " they wait for its next numbering",
                        business_id,
                        exc_info=True,
                    )

    async def close(self) -> None:
        """Finish the numbering under way (for at most ``CLOSE_SECONDS``); sales it
        leaves waiting are numbered by the next numbering of their business."""
        if self._task is None:
            return
        with suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_SECONDS):
                await self._task
