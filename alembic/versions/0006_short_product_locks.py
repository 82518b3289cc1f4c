"""A purchase writes before it locks its products: their locks are held for less.

With every buyer on one product, the time from that product's lock to the commit
sets the throughput (0005).  Until now everything was written inside it: the
order, its items, the stock movements, the ledger charge (with the customer
update of its trigger) and the idempotency record.  Of those, only the items and
the stock movements need the product rows; the rest needs only the locked
customer and the order's total.

So ``purchase()`` now reads the products without locking them, decides on those
values, writes the order, the charge and the idempotency record, and only then
queues for its products and locks them, writes the items and the stock
movements and commits.  Under the product locks it checks that what it decided
on still holds: the same names and prices, enough stock for every line.  If not
(a price changed or the stock ran out in between, both rare), it raises
``serialization_failure``: the whole transaction rolls back and the service
retries the call (``app.services.retry``, at most 4 attempts), which then reads
the new values.

Every answer is still decided on locked values:

* a purchase completes only if, under its product locks, names, prices and stock
  are what it wrote;
* a refusal (not enough stock, price changed, credit limit) writes nothing, and
  is answered only after the products are locked: a shortage with the locked
  stock, the others once the locked prices are found unchanged.  If the locked
  values no longer refuse (a restock, a price change came in between), it is
  retried like a completed purchase whose values changed.

What stays the same: the signature, the JSON of every answer, the customer row
locked first, the product queue (advisory locks) and rows in ascending id after
it, the lock order against payments (a payment locks only its customer and its
key), every constraint and trigger.  New: while it waits for its products a
purchase already holds its new idempotency key; a restock now takes its key
before its product (``app.services.catalog``), so the order customer, key,
products holds on every path.

Measured with pgbench calling ``purchase()`` directly as ``credit_ledger_app``
(``-M prepared``, 1,000 customers and 1,000 products seeded as ``bench/seed.py``
does, a random customer buying 1 unit of one product), 8 s per run, 0005 and 0006
alternating twice: 403 and 409 -> 584 and 620 calls/s at 8 clients, 406 and 421 ->
508 and 484 at 16.  Through ``make bench``'s service the two measured the same within
the noise (purchase-hot 361 and 393 -> 362 and 408 requests/s): there the 2 cores,
shared with the service, are the limit rather than the product lock.

Revision ID: 0006_short_product_locks
Revises: 0005_lean_write_path
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0006_short_product_locks"
down_revision: str | None = "0005_lean_write_path"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.execute(revision_sql(revision, "purchase"))


def downgrade() -> None:
    op.execute(revision_sql("0005_lean_write_path", "purchase"))
