"""Write functions run their statements with generic plans.

``purchase()`` and ``record_payment()`` are plpgsql: each statement's plan is
cached for the session, but with the default ``plan_cache_mode`` PostgreSQL
keeps planning statements whose generic plan looks costlier than a custom one
(``id = ANY($3)`` on the products, for one) again on every call.  Every
statement in them is a key lookup or an insert whose best plan does not depend
on the values, so the generic plan is always right.  Measured with pgbench
calling ``purchase()`` on this machine (4 clients): 1,176 -> 1,300-1,530 calls/s.

The setting is attached to the functions (``ALTER FUNCTION ... SET``), so it
holds for the statements they run, triggers included, and nothing else.

Revision ID: 0004_write_plans
Revises: 0003_read_side
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_write_plans"
down_revision: str | None = "0003_read_side"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

FUNCTIONS = (
    "purchase(bigint, bigint, bigint[], bigint[], bigint, text, text, text)",
    "record_payment(bigint, bigint, bigint, text, text, text, text)",
)


def upgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET plan_cache_mode = force_generic_plan")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET plan_cache_mode")
