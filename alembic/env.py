"""Alembic runs as the database owner (``DATABASE_URL``), never as the service role.

Migrations are reviewed SQL scripts with dollar-quoted function bodies, so they go
through psycopg, which sends a parameterless script in one simple-protocol call.
"""

from logging.config import fileConfig

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from alembic import context
from app.config import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _owner_url() -> str:
    url = config.attributes.get("database_url") or Settings.from_env().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return (
        make_url(str(url))
        .set(drivername="postgresql+psycopg")
        .render_as_string(hide_password=False)
    )


def run_migrations_offline() -> None:
    context.configure(url=_owner_url(), literal_binds=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_owner_url(), poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
