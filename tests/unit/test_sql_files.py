"""Database functions live in ``alembic/sql/<revision>/``; history never changes under a
migration: each reads its own revision's files, or (to downgrade) an earlier one's."""

from __future__ import annotations

import re

from app.db.migrations import SQL_DIR

VERSIONS = SQL_DIR.parent / "versions"
_READS = re.compile(r'revision_sql\(\s*(revision|"(\w+)")')


def test_every_sql_directory_is_a_revision_and_holds_one_function_per_file() -> None:
    revisions = {path.stem for path in VERSIONS.glob("*.py")}
    for directory in SQL_DIR.iterdir():
        assert directory.name in revisions
        for file in directory.glob("*.sql"):
            statements = re.findall(r"CREATE (?:OR REPLACE )?FUNCTION (\w+)\(", file.read_text())
            assert statements == [file.stem], file


def test_a_migration_reads_only_its_own_or_an_earlier_revisions_sql() -> None:
    for migration in VERSIONS.glob("*.py"):
        for own, named in _READS.findall(migration.read_text()):
            read = migration.stem if own == "revision" else named
            assert read <= migration.stem, f"{migration.name} reads {read}"
            assert (SQL_DIR / read).is_dir()
