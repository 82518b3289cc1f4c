"""Purchases hold their product row locks for less time; purchases and payments cost less.

With every buyer on one product, the time from a purchase's product row lock to
its commit sets the throughput.  Measured with pgbench calling the functions
directly as ``credit_ledger_app`` (``-M prepared``, 8 clients, 1,000 customers
and 1,000 products seeded as ``bench/seed.py`` does; hot = a random customer
buys 1 unit of one product, uniform = 2 random products).  This 2-core machine
changed speed by up to 3x between runs, so each run of 0004 was paired with one
of 0005 straight after it (order alternating), and the ratios are what to read.
The first two pairs of 20 s runs, then all of them:

=========  ===========================  ===========================  ========================
workload   0004: calls/s (avg, p99 ms)  0005: calls/s (avg, p99 ms)  0005 / 0004, all pairs
=========  ===========================  ===========================  ========================
hot        568 (14.1, 54.9)             667 (12.0, 16.1)             11 pairs: median x1.03
           616 (13.0, 55.3)             624 (12.8, 16.9)             (0.88-1.27); p99 41-60
                                                                     -> 14-21 ms
uniform    565 (14.1, 33.8)             580 (13.7, 35.4)             5 pairs: median x1.03
           1,062 (7.5, 15.4)            1,063 (7.5, 15.7)            (0.96-1.25)
payment    867 (9.2, 23.3)              964 (8.3, 20.8)              5 pairs: median x1.11
           1,810 (4.4, 8.7)             1,623 (4.9, 10.4)            (0.90-1.16)
=========  ===========================  ===========================  ========================

PostgreSQL CPU per call in those runs (its backends' CPU time over the calls
they completed), median of the pairs: hot -10%, uniform -4%, payment -8%.  Hot
again as 12 alternating runs of 8 s: median 622 -> 675 calls/s, CPU per call
1.76 -> 1.56 ms, p99 53 -> 17 ms.  Without contention (1 client, the 0004 and
0005 functions called alternately in one pgbench script, so that drift cancels;
3 runs): a purchase takes 3.5-5% less server time, and 8-11% less after its
product lock; a payment 5-6% less.

What changed, each part measured on its own:

* **Buyers of one product queue on an advisory lock of that product**, keyed
  by (business, product id) and taken after the customer row and before the
  product rows, in ascending key order (product id order while ids stay below
  2^31; past that two products may share a key, which only makes their buyers
  queue together).  Waiting on the row itself is costly: every purchase updates
  the row (its stock), so when the holder commits, each waiter in turn wakes up,
  finds the version it queued on replaced and queues again on the new one.
  Queued on a lock that never moves, a commit wakes one buyer, who then finds
  the row free; and tenants never queue behind each other.  Measured on its own
  (hot, 8 clients, two series of 8 s runs): +11% and +8% calls/s, PostgreSQL CPU
  per call -14% and -9%, p99 46 -> 15 ms and 56 -> 20 ms.  An uncontended
  purchase pays for the one extra statement: +0.6-1.0%.  The row locks are
  still taken, in the same order, and are what protects the stock; the advisory
  lock only orders the buyers, so writers that do not take it (a restock) stay
  correct.  Only purchases take it, always after the customer row and before
  any product row, so it adds no cycle to the lock order.
* **The ledger trigger does less per entry.**  A debit to a customer who
  already owes leaves the oldest unpaid charge as it is, so one ``UPDATE ...
  WHERE balance > 0 RETURNING`` both locks and applies it (before: a ``SELECT
  ... FOR UPDATE``, then an ``UPDATE``).  Any other entry takes the general
  path as before, except that when ``oldest_unpaid_at`` does not change the
  ``UPDATE`` does not name it, so PostgreSQL does not recompute the generated
  column ``own_terms_due_at`` (compiling that expression, with ``due_at()``
  inlined, was about a fifth of the trigger's time).  Trigger time per entry
  (``EXPLAIN ANALYZE``, median of 300): charge 0.25 -> 0.16 ms, payment 0.19 ->
  0.15 ms; the charge is inside the product lock.
* **No helper calls and no extra query after the locks.**  ``customer_json()``
  ran a query joining ``businesses`` after the writes.  Now the statement that
  locks the customer also builds the JSON of everything a purchase or payment
  cannot change (nothing else can change the locked row), and the statement
  that stores the answer under the idempotency key reads the two fields the
  ledger trigger just wrote (balance, oldest unpaid charge).  ``earlier_answer()``
  is inlined.  Time after the product lock -3-4.5%.  Both helpers had no
  other caller and are dropped.

Answers are the same, field for field (JSON objects compare and print by key,
whatever order they were built in), and so are the rows written: checked by
running the same 30 calls (every outcome, replays, free items, own terms,
payments moving the oldest unpaid charge, a negative balance) against 0004 and
0005 and comparing answers and tables, timestamps aside.

Tried and left out:

* the order, items, stock movements and charge in one statement (data-modifying
  CTEs): -1.2 to +0.4% per purchase, +0.1 and +2.5% per payment, and the order
  of the writes becomes unspecified;
* the items, short lines and total built by aggregates in the product query
  instead of the loop over the locked arrays: +1.5-2% per purchase;
* locking the tables written later (``LOCK TABLE ... IN ROW EXCLUSIVE MODE``)
  before the product locks, to keep lock-manager traffic out of the window:
  704 instead of 746 calls/s (hot);
* a statement-level trigger: the row triggers must fill ``balance_after`` and
  ``stock_after`` (NOT NULL, checked) before the row is stored; and dropping
  ``SET search_path`` from the SECURITY DEFINER triggers saves only 3-4 us per
  trigger call, not worth weakening them;
* dropping 0004's ``plan_cache_mode = force_generic_plan``: +9-10% per purchase
  (statements before the product lock were planned on every call), so it stays.

Unchanged: the signatures, owners and grants of ``purchase()``,
``record_payment()`` and ``credit_ledger_apply()`` (``CREATE OR REPLACE`` keeps
them), the lock order, every constraint, policy and trigger, and
``stock_movements_apply()``.  The downgrade runs migration 0002's and
0004's own SQL again (helpers and grants included) and puts back 0001's ledger
trigger, taken from 0001's own text.

Revision ID: 0005_lean_write_path
Revises: 0004_write_plans
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import earlier_migration, revision_sql

revision: str = "0005_lean_write_path"
down_revision: str | None = "0004_write_plans"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

PURCHASE_ARGS = "bigint, bigint, bigint[], bigint[], bigint, text, text, text"
PAYMENT_ARGS = "bigint, bigint, bigint, text, text, text, text"

FUNCTIONS = ("purchase", "record_payment", "credit_ledger_apply")

# Their only callers were the old purchase() and record_payment().
DROP_HELPERS = """
DROP FUNCTION customer_json(bigint, bigint);
DROP FUNCTION earlier_answer(bigint, text, text, text);
"""


def upgrade() -> None:
    op.execute(revision_sql(revision, *FUNCTIONS))
    op.execute(DROP_HELPERS)


def _old_ledger_trigger() -> str:
    """Migration 0001's ``credit_ledger_apply()``, as a ``CREATE OR REPLACE``."""
    created = revision_sql("0001_core_schema", "credit_ledger_apply")
    return created.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def downgrade() -> None:
    # 0002 creates the write functions with their helpers and grants; 0004 sets
    # their plans.  Dropped first, they come back exactly as those migrations left them.
    op.execute(
        f"DROP FUNCTION purchase({PURCHASE_ARGS}); DROP FUNCTION record_payment({PAYMENT_ARGS})"
    )
    purchases = earlier_migration("0002_purchase_and_payment")
    op.execute(revision_sql("0002_purchase_and_payment", *purchases.FUNCTIONS))
    op.execute(purchases.GRANTS)
    earlier_migration("0004_write_plans").upgrade()
    op.execute(_old_ledger_trigger())
