"""Alembic, driven from code: the CLI, the service start-up and the tests use this."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from alembic.config import Config
from alembic.script import ScriptDirectory

from alembic import command
from app.config import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def earlier_migration(name: str) -> ModuleType:
    """A migration of ``alembic/versions`` by file name, loaded so that a later one can
    run its SQL again (an applied migration never changes)."""
    path = PROJECT_ROOT / "alembic" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_migration_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SQL_DIR = PROJECT_ROOT / "alembic" / "sql"
"""Database functions as each revision wrote them: ``<revision>/<function>.sql``."""


def revision_sql(revision: str, *names: str) -> str:
    """The functions ``names`` as migration ``revision`` created them, in that order.

    Each migration reads only its own revision's files (its downgrade may read an
    earlier one's): a later revision that changes a function adds its own file, so an
    applied migration always runs the same SQL.
    """
    return "\n".join((SQL_DIR / revision / f"{name}.sql").read_text() for name in names)


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config(""))
    return script.get_current_head()
