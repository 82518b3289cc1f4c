"""Which PostgreSQL the tests use, and a scratch database on it.

``TEST_DATABASE_URL`` if set, else the server on 127.0.0.1:5432 if one answers,
else the embedded server under ``.data/``.  Each test session gets its own
database, migrated once and dropped at the end.

The service role ``credit_ledger_app`` is cluster-wide, so dropping our databases
does not remove it; ``SuiteClaim`` does, without pulling it from under another
suite (another worktree's) running on the same server at the same time:

- every suite holds a *shared* advisory lock (``SUITE_LOCK``) from the moment it
  first uses the server until it ends: a reference count kept by PostgreSQL, which
  also forgets a suite that was killed;
- a suite that finds no role creates it (as the core migration would) and marks it
  with a comment (``ROLE_MARK``); a role without the mark belongs to someone else
  (a deployment, ``make run``) and is never dropped;
- at the end, a suite lets go of its shared lock and tries for the *exclusive* one:
  it gets it only if no other suite is running, and only then drops a marked role.
  A suite that starts meanwhile waits for its shared lock until the drop is done,
  then creates the role again.  ``DROP ROLE`` itself refuses while any database on
  the server still grants the role something (a suite's database left by a crash):
  the role then stays, and the suite says so.
"""

from __future__ import annotations

import os
import socket
import uuid

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.config import APP_ROLE
from app.db.app_role import CREATE_ROLE

SUITE_LOCK = 0x43_4C_54_45_53_54  # "CLTEST": the advisory lock every running suite shares
ROLE_MARK = "created by the credit-ledger test suite; the last suite to finish drops it"


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


def describe(url: str) -> str:
    """The server, as ``make test`` prints it: its URL without the password, its version."""
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        with psycopg.connect(_psycopg_url(url), connect_timeout=5) as connection:
            (version,) = connection.execute("SHOW server_version").fetchone() or ("?",)
    except psycopg.Error as exc:
        return f"PostgreSQL at {shown}: unreachable ({' '.join(str(exc).split())})"
    return f"PostgreSQL {version} at {shown}"


class SuiteClaim:
    """This suite's hold on the server's service role (the module's docstring says how)."""

    def __init__(self, server: str) -> None:
        self.connection = psycopg.connect(_psycopg_url(server), autocommit=True)
        self.connection.execute("SELECT pg_advisory_lock_shared(%s)", (SUITE_LOCK,))
        if self._role_comment() is None and not self._role_exists():
            self.connection.execute(CREATE_ROLE)
            self.connection.execute(
                sql.SQL("COMMENT ON ROLE {} IS {}").format(
                    sql.Identifier(APP_ROLE), sql.Literal(ROLE_MARK)
                )
            )

    def _role_exists(self) -> bool:
        found = self.connection.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)
        ).fetchone()
        return found is not None

    def _role_comment(self) -> str | None:
        found = self.connection.execute(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s",
            (APP_ROLE,),
        ).fetchone()
        return None if found is None else found[0]

    def release(self) -> str:
        """Let go; drop the role if this was the last suite and a suite created it.
        What happened, in a line."""
        try:
            self.connection.execute("SELECT pg_advisory_unlock_shared(%s)", (SUITE_LOCK,))
            (last,) = self.connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (SUITE_LOCK,)
            ).fetchone() or (False,)
            if not last:
                return f"{APP_ROLE} kept: another test suite is running on this server"
            if self._role_comment() != ROLE_MARK:
                return f"{APP_ROLE} kept: the tests did not create it"
            try:
                self.connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(APP_ROLE)))
            except psycopg.errors.DependentObjectsStillExist as exc:
                return f"{APP_ROLE} kept: still used ({' '.join(str(exc).split())})"
            return f"{APP_ROLE} dropped: the tests created it and no other suite is running"
        finally:
            self.connection.close()  # ends the session: its advisory locks go with it
