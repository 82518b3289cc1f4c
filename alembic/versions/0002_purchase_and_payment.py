"""Purchases and payments as single server-side calls; owner-side maintenance policies.

``purchase`` and ``record_payment`` each do a whole use case in one statement:
the service sends one ``SELECT purchase(...)`` in autocommit, PostgreSQL runs it
as one implicit transaction, and every row lock it takes is released when that
one round trip returns.  Nothing is written until everything is validated on
locked rows, and any error rolls the whole statement back.

Lock order, the same on every path so no two transactions can wait on each
other in a cycle: the customer row first, then the product rows in ascending
id.  Payments lock only the customer; a restock locks only its product.

Idempotency is checked *after* the customer lock: identical duplicates queue
on that lock, and the later one finds the key the earlier one committed.  Two
different requests for different customers racing on one new key collide on
``idempotency_keys_pkey``; the service retries the loser, which then finds the
key.  Only successes are remembered: a refusal writes nothing, not even its key.

Both functions are SECURITY INVOKER: they run with the service role's rights,
so row level security and the column grants apply exactly as to plain SQL.  The
first thing each does is bind the tenant for the transaction.

Results are ``jsonb`` objects with a ``result`` tag; a success carries every
field the API answers with, so the service needs no second query.

The owner role (the one running this migration) gets two narrow policies, since
RLS is forced on it too: it may list businesses (``verify`` walks them and then
binds each tenant in turn) and it may see and delete idempotency keys older than
24 hours (``idempotency prune``); the 24-hour floor is enforced here as well as
in the command.

Revision ID: 0002_purchase_and_payment
Revises: 0001_core_schema
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0002_purchase_and_payment"
down_revision: str | None = "0001_core_schema"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"

PURCHASE_ARGS = "bigint, bigint, bigint[], bigint[], bigint, text, text, text"
PAYMENT_ARGS = "bigint, bigint, bigint, text, text, text, text"

FUNCTIONS = ("customer_json", "earlier_answer", "purchase", "record_payment")

GRANTS = f"""
REVOKE EXECUTE ON FUNCTION purchase({PURCHASE_ARGS}) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION record_payment({PAYMENT_ARGS}) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION customer_json(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION earlier_answer(bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purchase({PURCHASE_ARGS}) TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION record_payment({PAYMENT_ARGS}) TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION customer_json(bigint, bigint) TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION earlier_answer(bigint, text, text, text) TO {APP_ROLE};
"""

# TO CURRENT_USER: the role running the migration, which also runs the admin
# commands.  Policies are permissive, so these add to tenant_isolation for that
# role only; the service role is unaffected.
OWNER_POLICIES = """
CREATE POLICY owner_lists_businesses ON businesses FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY owner_sees_expired_keys ON idempotency_keys FOR SELECT TO CURRENT_USER
    USING (created_at < now() - interval '24 hours');
CREATE POLICY owner_prunes_expired_keys ON idempotency_keys FOR DELETE TO CURRENT_USER
    USING (created_at < now() - interval '24 hours');
"""


def upgrade() -> None:
    op.execute(revision_sql(revision, *FUNCTIONS))
    op.execute(GRANTS)
    op.execute(OWNER_POLICIES)


def downgrade() -> None:
    op.execute(
        f"""
        DROP POLICY owner_prunes_expired_keys ON idempotency_keys;
        DROP POLICY owner_sees_expired_keys ON idempotency_keys;
        DROP POLICY owner_lists_businesses ON businesses;
        DROP FUNCTION record_payment({PAYMENT_ARGS});
        DROP FUNCTION purchase({PURCHASE_ARGS});
        DROP FUNCTION earlier_answer(bigint, text, text, text);
        DROP FUNCTION customer_json(bigint, bigint);
        """
    )
