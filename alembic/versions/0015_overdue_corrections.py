"""Overdue stays exact under corrections (issue 16, point 6).

``app/domain/overdue.py`` says how corrections count: a voided charge as never
made, a return off its own order's charge, a reversed payment as never made (its
charges unpaid again with their own due instants); write-offs and adjustments are
plain credits and debits.  The running totals on ledger rows cannot express that
(a correction changes how earlier rows count), so:

* ``unsettled_debits(business, customer, as_of)`` computes a customer's unsettled
  debits at any instant from their whole history, corrections included.
* ``customers.corrected_at`` is the instant of the customer's first correction;
  reads ask ``unsettled_debits()`` only for customers with one at or before their
  ``asOf``, and keep the index probes of running totals for everyone else (nearly
  everyone: corrections are rare), so the customers page and the overdue list keep
  their plans.
* ``customers.oldest_unpaid_at`` (and so ``own_terms_due_at``, and the overdue
  list's order) stays exact: ``credit_ledger_correct()``, an AFTER trigger on
  corrections, recomputes it, and ``credit_ledger_apply()`` (0005's, lines marked
  0015) asks ``unsettled_debits()`` when a later credit reaches a corrected
  customer.  Existing customers with corrections are brought up to date here.

Revision ID: 0015_overdue_corrections
Revises: 0020_catalogue
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0015_overdue_corrections"
down_revision: str | None = "0020_catalogue"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

FUNCTIONS = ("unsettled_debits", "credit_ledger_apply", "credit_ledger_correct")
READ_TABLES = ("customers", "credit_ledger", "order_returns")


def _for_every_tenant(statement: str) -> str:
    """``statement`` over every tenant's rows: the owner may run migrations without
    being a superuser, and forced Row Level Security would show it none, so it is
    lifted for this transaction only (DDL is transactional)."""
    lift = "".join(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY;\n" for t in READ_TABLES)
    force = "".join(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY;\n" for t in READ_TABLES)
    return f"{lift}{statement};\n{force}"


def upgrade() -> None:
    op.execute("ALTER TABLE customers ADD COLUMN corrected_at timestamptz")
    op.execute(revision_sql(revision, *FUNCTIONS))
    op.execute(
        """
        CREATE TRIGGER credit_ledger_correct AFTER INSERT ON credit_ledger
            FOR EACH ROW WHEN (NEW.kind IN ('reversal', 'return'))
            EXECUTE FUNCTION credit_ledger_correct();
        """
    )
    op.execute(
        _for_every_tenant(
            """
        UPDATE customers c
           SET corrected_at = x.first_at,
               oldest_unpaid_at = (
                   SELECT d.made_at FROM unsettled_debits(c.business_id, c.id, 'infinity') d
                    ORDER BY d.charged_total LIMIT 1)
          FROM (SELECT business_id, customer_id, min(created_at) AS first_at
                  FROM credit_ledger WHERE kind IN ('reversal', 'return')
                 GROUP BY business_id, customer_id) x
         WHERE c.business_id = x.business_id AND c.id = x.customer_id
            """
        )
    )


def downgrade() -> None:
    # Back to corrections read as plain debits and credits: the oldest unpaid
    # charge by running totals alone, as 0005's trigger keeps it.
    op.execute(
        """
        DROP TRIGGER credit_ledger_correct ON credit_ledger;
        DROP FUNCTION credit_ledger_correct();
        """
    )
    op.execute(
        _for_every_tenant(
            """
        UPDATE customers c
           SET oldest_unpaid_at = (
                   SELECT l.created_at FROM credit_ledger l
                    WHERE l.business_id = c.business_id AND l.customer_id = c.id
                      AND l.amount > 0 AND l.charged_total > c.credited_total
                    ORDER BY l.charged_total LIMIT 1)
         WHERE c.corrected_at IS NOT NULL
            """
        )
    )
    op.execute(revision_sql("0005_lean_write_path", "credit_ledger_apply"))
    op.execute(
        """
        DROP FUNCTION unsettled_debits(bigint, bigint, timestamptz);
        ALTER TABLE customers DROP COLUMN corrected_at;
        """
    )
