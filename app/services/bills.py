"""Bill numbers, taken once a sale has committed (migration ``0014_bills_numbered_after_commit``).

A sale queues its order for a number instead of taking one while its rows are
locked, so the sales of a business no longer wait for each other's commits; the
database function ``number_bills`` numbers every committed order still waiting,
in one batch, and answers the number of the one asked for.  The series stays
consecutive without gaps: only committed sales are numbered, and a numbering
that fails numbers nothing (bench/README.md, "Bill numbers after the commit").

The service numbers a sale as soon as it has committed.  An order read before
that (in that moment, or later if the request died in between) has no number
yet: whoever shows it numbers it the same way (``Order.number``, the receipt),
after its own unit of work, so that a number is never shown from a transaction
that might roll back.
"""

from __future__ import annotations

from app.services.unit_of_work import DriverStatement, UnitsOfWork

_NUMBER = DriverStatement("SELECT number_bills(:business_id, :order_id)")


async def number_sale(units: UnitsOfWork, order_id: int) -> str:
    """The bill number of a committed sale: one statement, its own transaction,
    which also numbers every other sale of the business still waiting."""
    number: str | None = await units.call(_NUMBER, {"order_id": order_id})
    if number is None:
        raise LookupError(f"order {order_id} has no bill number and none is waiting")
    return number
