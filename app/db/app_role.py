"""The service role's password, for servers that authenticate with passwords.

The core migration creates ``credit_ledger_app`` without a password, which is all a
trust-authenticated server (the embedded one, the test server) needs.  A server that
asks for passwords (Docker Compose's PostgreSQL) gets one from ``APP_DB_PASSWORD``,
set by every migrate run so that changing the variable rotates it.  The password is
hashed here with SCRAM, as ``psql``'s ``\\password`` does, so the cleartext never
reaches the server, its logs or ``pg_stat_activity``.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.config import APP_ROLE


def set_password(owner_url: str, password: str) -> None:
    libpq_url = make_url(owner_url).set(drivername="postgresql")
    with psycopg.connect(libpq_url.render_as_string(hide_password=False)) as connection:
        verifier = connection.pgconn.encrypt_password(password.encode(), APP_ROLE.encode())
        connection.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(APP_ROLE), sql.Literal(verifier.decode())
            )
        )


CREATE_ROLE = sql.SQL(
    """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) THEN
        CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END $$
"""
).format(name=sql.Literal(APP_ROLE), role=sql.Identifier(APP_ROLE))
"""The service role as the core migration creates it, if the server lacks it."""

_GRANT_CONNECT = sql.SQL(
    "DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', current_database());"
    " END $$"
).format(role=sql.Identifier(APP_ROLE))


def ensure_role(owner_url: str) -> None:
    """Create the service role if the server lacks it, and let it connect to the owner
    URL's database: a restore's grants need it."""
    libpq_url = make_url(owner_url).set(drivername="postgresql")
    with psycopg.connect(libpq_url.render_as_string(hide_password=False)) as connection:
        connection.execute(CREATE_ROLE)
        connection.execute(_GRANT_CONNECT)
