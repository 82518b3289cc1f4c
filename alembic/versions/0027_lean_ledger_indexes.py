"""A ledger entry is indexed only under the reference it carries; no index no read uses.

A ledger entry points at one thing: a charge at its order, a payment at its payment, a
reversal at the entry it reverses, an adjustment or a return at its own row.  Each of
those five references is unique per business (``UNIQUE``), and PostgreSQL indexes a
NULL like any value, so every entry went into all five unique indexes, four of them
under NULL.  Uniqueness never compares NULLs, so a unique index of the rows that carry
the reference (``WHERE ... IS NOT NULL``) enforces exactly the same rule, and every
lookup by a reference (``order_id = $1`` implies it is not NULL) can use it.

``stock_movements_product_idx`` served no query: no read lists a product's movements,
and ``credit-ledger verify`` sums them all.

A credit sale of two lines went into 30 index entries, now 24 (bench/README.md,
"2026-12-05, sixth machine").

Revision ID: 0027_lean_ledger_indexes
Revises: 0026_search_walks
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027_lean_ledger_indexes"
down_revision: str | None = "0026_search_walks"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

REFERENCES = {
    # constraint (and index) name: the reference it keeps unique
    "credit_ledger_business_id_order_id_key": "order_id",
    "credit_ledger_business_id_payment_id_key": "payment_id",
    "credit_ledger_business_id_reverses_entry_id_key": "reverses_entry_id",
    "credit_ledger_adjustment_once": "adjustment_id",
    "credit_ledger_return_once": "return_id",
}


def upgrade() -> None:
    for name, column in REFERENCES.items():
        op.execute(
            f"ALTER TABLE credit_ledger DROP CONSTRAINT {name};"
            f" CREATE UNIQUE INDEX {name} ON credit_ledger (business_id, {column})"
            f" WHERE {column} IS NOT NULL"
        )
    op.execute("DROP INDEX stock_movements_product_idx")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX stock_movements_product_idx"
        " ON stock_movements (business_id, product_id, id DESC)"
    )
    for name, column in REFERENCES.items():
        op.execute(
            f"DROP INDEX {name};"
            f" ALTER TABLE credit_ledger ADD CONSTRAINT {name} UNIQUE (business_id, {column})"
        )
