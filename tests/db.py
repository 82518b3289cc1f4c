"""Which PostgreSQL the tests use, and a scratch database on it.

``TEST_DATABASE_URL`` if set, else the server on 127.0.0.1:5432 if one answers,
else the embedded server under ``.data/``.  Each test session gets its own
database, migrated once and dropped at the end.
"""

from __future__ import annotations

import os
import socket
import uuid

import psycopg
from sqlalchemy.engine import make_url


def _local_server_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return False
    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def server_url() -> str:
    """An owner (superuser or CREATEDB + CREATEROLE) URL on the chosen server."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url
    if _local_server_answers():
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    from app.db.embedded import embedded_url

    return embedded_url()


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(server: str, prefix: str = "credit_ledger_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_psycopg_url(server), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return with_database(server, name)


def drop_database(server: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_psycopg_url(server), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def disable_row_level_security(url: str) -> None:
    """Turn row-level security off on every table of ``url``'s database (tests only)."""
    with psycopg.connect(_psycopg_url(url), autocommit=True) as connection:
        tables = connection.execute(
            "SELECT c.oid::regclass::text FROM pg_class c"
            " WHERE c.relrowsecurity AND c.relnamespace = 'public'::regnamespace"
        ).fetchall()
        for (table,) in tables:
            connection.execute(
                f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY"
            )
