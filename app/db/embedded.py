"""An embedded PostgreSQL 16 for running without ``DATABASE_URL`` (the ``pgserver`` package,
the optional ``embedded`` extra: the Docker image leaves it out).

The data directory is ``<data dir>/postgres`` (``CREDIT_LEDGER_DATA_DIR``, default
``<project>/.data``), so data survives restarts.  The server listens only on a
unix socket inside that directory, with trust authentication: nothing outside
this machine can reach it, and the service role needs no password.

The server is started with ``cleanup_mode=None``: it keeps running after the
process that started it exits, so the service, the CLI and the tests share it
across processes (whoever comes first starts it, the rest reuse it).  Stop it
with ``python -m app.db.embedded stop`` (``make stop-db``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from app.config import Settings

DATABASE = "credit_ledger"
SUPERUSER = "postgres"
# As root, pgserver runs PostgreSQL as this system user (it creates it).
SYSTEM_USER = "pgserver"


NOT_INSTALLED = (
    "DATABASE_URL is not set and the embedded PostgreSQL is not installed"
    " (pip install 'credit-ledger[embedded]', which `make install` does)"
)


class EmbeddedUnavailableError(RuntimeError):
    """No ``DATABASE_URL`` and no ``pgserver`` package (an install without ``[embedded]``)."""


def pgdata_dir(data_dir: Path | None = None) -> Path:
    return (data_dir or Settings.from_env().data_dir).resolve() / "postgres"


def _pgserver() -> Any:
    # platformdirs warns on import when XDG_RUNTIME_DIR is unset (it then uses
    # /tmp/runtime-<uid> for pgserver's lock file, which is fine).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pgserver  # noqa: PLC0415 - heavy; only needed in embedded mode
        except ModuleNotFoundError as exc:
            raise EmbeddedUnavailableError(NOT_INSTALLED) from exc

    # pgserver logs every command it runs at INFO.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    return pgserver


def _url(socket_dir: Path, database: str) -> str:
    return f"postgresql://{SUPERUSER}@/{database}?host={quote(str(socket_dir), safe='/')}"


def embedded_url(data_dir: Path | None = None) -> str:
    """Start the embedded server (or reuse the running one); its owner URL for ``credit_ledger``.

    The URL uses the unix socket (``?host=/dir``), which psycopg and asyncpg both accept.
    """
    pgdata = pgdata_dir(data_dir)
    pgdata.mkdir(parents=True, exist_ok=True)
    # Not pgserver.get_server: it caches the first handle per process and would
    # hand back a server that has since been stopped.  The constructor checks
    # postmaster.pid under pgserver's inter-process lock and starts one if needed.
    server = _pgserver().PostgresServer(pgdata, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:
        raise RuntimeError(f"embedded PostgreSQL in {pgdata} reports no unix socket")
    _ensure_database(_url(socket_dir, SUPERUSER))
    return _url(socket_dir, DATABASE)


def _ensure_database(maintenance_url: str) -> None:
    with psycopg.connect(maintenance_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
        if exists is None:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


def is_running(data_dir: Path | None = None) -> bool:
    # A crash can leave postmaster.pid behind: the process it names must be alive too.
    info = _pgserver().utils.PostmasterInfo.read_from_pgdata(pgdata_dir(data_dir))
    return info is not None and bool(info.is_running())


def stop_embedded(data_dir: Path | None = None) -> bool:
    """Stop the embedded server if it runs; whether there was one to stop."""
    if not is_running(data_dir):
        return False
    pgdata = pgdata_dir(data_dir)
    user = SYSTEM_USER if os.geteuid() == 0 else None
    _pgserver().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def main(argv: list[str]) -> None:
    """``python -m app.db.embedded stop``: stop the embedded server of this data folder."""
    if argv != ["stop"]:
        sys.exit("usage: python -m app.db.embedded stop")
    stopped = stop_embedded()
    where = pgdata_dir()
    sys.stdout.write(
        f"embedded PostgreSQL in {where} stopped\n"
        if stopped
        else f"no embedded PostgreSQL running in {where}\n"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
