"""What each business is owed, kept by the quarter hour in the same transaction as each entry.

The dashboard (issue 19) shows what is owed and what is overdue now: before this,
one statement read every customer's balance and probed the ledger of each overdue
one (3.5 s p95 with 100,000 customers).  Overdue changes with time alone (a debit
falls due ``terms`` days after it was made, ``app.domain.overdue``), so the figure
that can be kept is what is owed on the debits made in each quarter hour:

* ``owed_summaries``: per business, the customers' own terms (NULL: the business's
  default, so changing it moves nothing) and 15-minute slot of UTC time
  (``span_minutes = 15``) or UTC day (``1440``) in which debits were made, what is
  still unsettled of them (first-in-first-out) and how many customers' oldest
  unpaid debit was made then.
  A reader adds the days wholly past due, the slots of the day the cutoff falls in,
  and reads the debits of the slot it falls in from the ledger
  (``credit_ledger_made_idx``), so the figures are exact at the instant of the read
  (``app.services.dashboard``; docs/query-plans.md, "Sales summaries and the
  dashboard").
* ``owed_changes``: what each entry changes, only inserted, so sales of one business
  never queue on a summary row; ``fold_owed_changes()`` adds them into the
  summaries in the transaction of one entry in 256 (readers add both tables, so a
  fold changes no figure).
* ``credit_ledger_apply()`` notes each entry: a debit what it leaves owed, a credit
  what it settles of the oldest debits.  A correction changes how earlier entries
  count, so the customer's whole position goes out before the statement's first
  correction (``customers.owed_pending``) and comes back, as the statement leaves
  it, in ``credit_ledger_correct()``.  A change of a customer's own terms moves
  their position (``customer_terms_changed()``).
* ``customer_counts``: customers not archived, per business (a count of 100,000
  rows on every dashboard read was 20 ms).

``app.services.verify`` compares the summaries with ``owed_expected()`` (from
scratch), and the bench's bulk history, written without triggers, calls
``rebuild_owed_summaries()``, as this migration does for every business.

Revision ID: 0022_owed_summaries
Revises: 0021_search_like
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0022_owed_summaries"
down_revision: str | None = "0021_search_like"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"
TENANT = "nullif(current_setting('app.business_id', true), '')::bigint"
FUNCTIONS = (
    "owed_profile", "note_owed", "move_owed", "fold_owed_changes", "owed_expected",
    "rebuild_owed_summaries", "credit_ledger_apply", "credit_ledger_correct",
    "customer_terms_changed", "count_customers",
)  # fmt: skip
SLOT_ALIGNED = "date_bin('15 minutes', {0}, '2000-01-01 00:00:00+00') = {0}"


def _tenant_table(name: str) -> str:
    return f"""
ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {name} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {name}
    USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT});
GRANT SELECT ON {name} TO {APP_ROLE};
"""


SCHEMA = f"""
CREATE TABLE owed_summaries (
    business_id bigint NOT NULL REFERENCES businesses (id) ON DELETE RESTRICT,
    terms_days  integer,
    span_minutes smallint NOT NULL CHECK (span_minutes IN (15, 1440)),
    made_from   timestamptz NOT NULL CHECK (
        date_bin(make_interval(mins => span_minutes), made_from, '2000-01-01 00:00:00+00')
        = made_from),
    unsettled   bigint NOT NULL,
    owing       integer NOT NULL,
    UNIQUE NULLS NOT DISTINCT (business_id, span_minutes, made_from, terms_days)
);
{_tenant_table("owed_summaries")}
-- No foreign key: its check would lock the business's row in every sale.
CREATE TABLE owed_changes (
    business_id bigint NOT NULL,
    terms_days  integer,
    made_slot   timestamptz NOT NULL CHECK ({SLOT_ALIGNED.format("made_slot")}),
    unsettled   bigint NOT NULL,
    owing       integer NOT NULL
);
CREATE INDEX owed_changes_business_idx ON owed_changes (business_id);
{_tenant_table("owed_changes")}
CREATE TABLE customer_counts (
    business_id bigint PRIMARY KEY REFERENCES businesses (id) ON DELETE RESTRICT,
    active      bigint NOT NULL
);
{_tenant_table("customer_counts")}
ALTER TABLE customers ADD COLUMN owed_pending boolean NOT NULL DEFAULT false;

-- The debits made in the slot a reader's cutoff falls in; new customers of a week.
-- The latter's predicate, always true, keeps it to statements that name created_at:
-- as a plain index on business_id first, a customer search's generic plan ANDed a
-- bitmap of every customer of the business into its trigram lookup (+2 ms).
CREATE INDEX credit_ledger_made_idx ON credit_ledger (business_id, created_at)
    WHERE amount > 0;
CREATE INDEX customers_created_idx ON customers (business_id, created_at)
    WHERE created_at IS NOT NULL;
"""

TRIGGERS = """
CREATE TRIGGER customers_terms_changed AFTER UPDATE OF payment_terms_days ON customers
    FOR EACH ROW WHEN (OLD.payment_terms_days IS DISTINCT FROM NEW.payment_terms_days)
    EXECUTE FUNCTION customer_terms_changed();
CREATE TRIGGER customers_count_added AFTER INSERT ON customers
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION count_customers();
CREATE TRIGGER customers_count_gone AFTER DELETE ON customers
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION count_customers();
CREATE TRIGGER customers_count_archived AFTER UPDATE OF archived_at ON customers
    FOR EACH ROW WHEN ((OLD.archived_at IS NULL) <> (NEW.archived_at IS NULL))
    EXECUTE FUNCTION count_customers();
"""

WRITTEN = ("owed_summaries", "owed_changes", "customer_counts")
READ = ("customers", "credit_ledger", "order_returns", "businesses")

BACKFILL = """
INSERT INTO customer_counts (business_id, active)
SELECT business_id, count(*) FILTER (WHERE archived_at IS NULL) FROM customers GROUP BY 1;
DO $$
DECLARE
    b bigint;
BEGIN
    FOR b IN SELECT id FROM businesses LOOP
        PERFORM set_config('app.business_id', b::text, true);
        PERFORM rebuild_owed_summaries(b);
    END LOOP;
    PERFORM set_config('app.business_id', '', true);
END $$;
"""


def _for_every_tenant(statement: str) -> str:
    """``statement`` over every tenant's rows (as 0015's): forced Row Level Security
    is lifted on the tables it reads and writes for this transaction only."""
    tables = READ + WRITTEN
    lift = "".join(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY;\n" for t in tables)
    force = "".join(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY;\n" for t in tables)
    return f"{lift}{statement}\n{force}"


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(revision_sql(revision, *FUNCTIONS))
    # Only the triggers (SECURITY DEFINER, run as the owner) may write the summaries.
    for function in ("fold_owed_changes(bigint)", "rebuild_owed_summaries(bigint)"):
        op.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
    op.execute(_for_every_tenant(BACKFILL))
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER customers_terms_changed ON customers;
        DROP TRIGGER customers_count_added ON customers;
        DROP TRIGGER customers_count_gone ON customers;
        DROP TRIGGER customers_count_archived ON customers;
        """
    )
    op.execute(revision_sql("0015_overdue_corrections", "credit_ledger_apply"))
    op.execute(
        revision_sql("0015_overdue_corrections", "credit_ledger_correct").replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
        )
    )
    op.execute(
        """
        DROP FUNCTION customer_terms_changed(), count_customers(),
            rebuild_owed_summaries(bigint), owed_expected(bigint),
            fold_owed_changes(bigint),
            move_owed(bigint, bigint, integer, integer, bigint, boolean, timestamptz),
            note_owed(bigint, integer, timestamptz, bigint, timestamptz, timestamptz),
            owed_profile(bigint, bigint, bigint, boolean);
        DROP INDEX customers_created_idx;
        DROP INDEX credit_ledger_made_idx;
        ALTER TABLE customers DROP COLUMN owed_pending;
        DROP TABLE customer_counts, owed_changes, owed_summaries;
        """
    )
