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


def function_sql(sql: str, start: str) -> str:
    """The statement of ``sql`` that begins with ``start``, to the end of its body."""
    begin = sql.index(start)
    return sql[begin : sql.index("END $$;", begin) + len("END $$;")]


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config(""))
    return script.get_current_head()
