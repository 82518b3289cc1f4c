"""The audit trail: one append-only entry per mutation, refusals included.

``audit_log`` says who (``actor_user_id`` or ``actor_key_id``, exactly one, and
the role they acted in), when, from where (request id, client address), what
(operation, target type and id, the input without secrets, before and after
values of an update) and how it ended (``outcome``: the name of the API's result
type, or an error's code).  Entries are written by ``record_audit()`` in the
transaction of the effect they describe (``app.services.audit``).

* **Append-only** like the ledger: triggers reject UPDATE, DELETE and TRUNCATE.
* **Partitioned by month** (range on ``at``, UTC months), so old months can be
  detached and archived (``credit-ledger audit detach --before YYYY-MM``) without
  deleting a row.  This migration creates the partitions of the current month and
  the next twelve; ``credit-ledger audit partitions`` adds later ones.  A DEFAULT
  partition takes any row whose month has no partition yet, so an insert never
  fails for want of one.
* **Tenant isolation** as everywhere: ``business_id`` leads every key, RLS is forced
  on the parent (which the service role reads and writes through) and on every
  partition (which it has no grant on).
* **No foreign keys**: an entry must outlive what it names (a detached month is
  archived elsewhere), and a foreign key check would take a share lock on the
  actor's row (the one API key of a till) for every sale.

Revision ID: 0016_audit_trail
Revises: 0019_demo
"""

from collections.abc import Sequence

from alembic import op
from app.db.migrations import revision_sql

revision: str = "0016_audit_trail"
down_revision: str | None = "0019_demo"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

APP_ROLE = "credit_ledger_app"
TENANT = "nullif(current_setting('app.business_id', true), '')::bigint"
FUNCTIONS = (
    "guard_audit_partition", "add_audit_partitions", "detach_audit_partitions",
    "record_audit", "audit_answer",
)  # fmt: skip
MONTHS_AHEAD = 12

SCHEMA = f"""
CREATE SEQUENCE audit_log_id_seq AS bigint;
CREATE TABLE audit_log (
    business_id   bigint NOT NULL,
    id            bigint NOT NULL DEFAULT nextval('audit_log_id_seq'),
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_user_id bigint,
    actor_key_id  bigint,
    role          text NOT NULL CHECK (role IN ('owner', 'cashier', 'staff', 'viewer')),
    request_id    text CHECK (length(request_id) <= 64),
    client_ip     inet,
    operation     text NOT NULL CHECK (length(operation) BETWEEN 1 AND 100),
    target_type   text CHECK (length(target_type) <= 100),
    target_id     bigint,
    outcome       text NOT NULL CHECK (length(outcome) BETWEEN 1 AND 100),
    input         jsonb NOT NULL,
    before        jsonb,
    after         jsonb,
    PRIMARY KEY (business_id, at, id),
    CHECK (num_nonnulls(actor_user_id, actor_key_id) = 1)
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
CREATE INDEX audit_log_target_idx ON audit_log (business_id, target_type, target_id, at, id);
CREATE INDEX audit_log_user_idx ON audit_log (business_id, actor_user_id, at, id)
    WHERE actor_user_id IS NOT NULL;
CREATE INDEX audit_log_key_idx ON audit_log (business_id, actor_key_id, at, id)
    WHERE actor_key_id IS NOT NULL;

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
    USING (business_id = {TENANT}) WITH CHECK (business_id = {TENANT});
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION reject_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION reject_change();
GRANT SELECT, INSERT ON audit_log TO {APP_ROLE};
GRANT USAGE ON SEQUENCE audit_log_id_seq TO {APP_ROLE};

CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(revision_sql(revision, *FUNCTIONS))
    op.execute("SELECT guard_audit_partition('audit_log_default')")
    op.execute(
        "SELECT count(*) FROM add_audit_partitions(CAST(now() AT TIME ZONE 'UTC' AS date),"
        f" CAST((now() AT TIME ZONE 'UTC') + interval '{MONTHS_AHEAD} months' AS date))"
    )


def downgrade() -> None:
    # Drops the trail with its partitions; detached months are standalone tables and stay.
    op.execute(
        """
        DROP FUNCTION audit_answer(jsonb, bigint, bigint, bigint, text, text, inet, text, text,
                                   text[], jsonb, jsonb);
        DROP FUNCTION record_audit(bigint, bigint, bigint, text, text, inet, text, text, bigint,
                                   text, jsonb, jsonb, jsonb);
        DROP FUNCTION detach_audit_partitions(timestamptz);
        DROP FUNCTION add_audit_partitions(date, date);
        DROP FUNCTION guard_audit_partition(text);
        DROP TABLE audit_log;
        """
    )
