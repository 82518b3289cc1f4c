"""Which PostgreSQL the bench uses, and plain (psycopg) connections to it.

The same choice as the tests (``tests/db.py``), with ``BENCH_DATABASE_URL``
first: then ``TEST_DATABASE_URL``, the server on 127.0.0.1:5432, the embedded
server.  Scratch databases are created per run and dropped at its end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from tests.db import create_database, drop_database, server_url

__all__ = ["connect", "create_database", "drop_database", "libpq_url", "pick_server", "tenant"]


def pick_server() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or server_url()


def libpq_url(url: str) -> str:
    """The URL without a SQLAlchemy driver suffix, for psycopg and the PostgreSQL tools."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect(url: str, **options: object) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(url), **options)  # type: ignore[arg-type]


@contextmanager
def tenant(connection: psycopg.Connection[Any], business_id: int) -> Iterator[psycopg.Cursor[Any]]:
    """One transaction with the tenant bound: RLS is forced on the owner too."""
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.business_id', %s, true)", (str(business_id),))
        yield cursor
