"""Search with ``LIKE`` on the lower-cased text instead of ``ILIKE`` (issue 18, point 4).

``search_text`` is lower-cased when it is generated, so ``search_text LIKE
lower(pattern)`` matches exactly what ``search_text ILIKE pattern`` matched, at
about a quarter of the cost per row (``ILIKE`` folds the case of every row again):
both the window of the first rows in list order and the recheck of the trigram
index's candidates filter with it (docs/query-plans.md, "Search").

Like ``texticlike`` in 0020, ``textlike`` must be ``LEAKPROOF`` for the trigram
index to serve it under forced row-level security; it raises only for a malformed
pattern, which depends on the pattern and not on the rows, and the service always
escapes its patterns.  Marked only where 0020 made the indexes (a superuser with
``pg_trgm``).

Revision ID: 0021_search_like
Revises: 0015_overdue_corrections
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_search_like"
down_revision: str | None = "0015_overdue_corrections"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _textlike(leakproof: str) -> str:
    return f"""
    DO $$
    BEGIN
        IF to_regclass('products_search_idx') IS NOT NULL
           AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            ALTER FUNCTION textlike(text, text) {leakproof};
        END IF;
    END $$;
    """


def upgrade() -> None:
    op.execute(_textlike("LEAKPROOF"))


def downgrade() -> None:
    op.execute(_textlike("NOT LEAKPROOF"))
