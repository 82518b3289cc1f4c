"""A test suite says which PostgreSQL it uses and leaves the server as it found it: no
database, and no ``credit_ledger_app`` role unless someone else still needs it.

It runs on a cluster of its own (``tests.private_postgres``), so that the roles and
databases it compares are not those of the suite running it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.config import APP_ROLE
from tests import private_postgres
from tests.db import SUITE_LOCK, SuiteClaim, create_database, drop_database


@pytest.fixture(scope="module")
def cluster() -> Iterator[private_postgres.PrivatePostgres]:
    server = private_postgres.create()
    try:
        yield server
    finally:
        server.remove()


def state(url: str) -> tuple[set[str], set[str]]:
    """The cluster's roles and databases."""
    with psycopg.connect(url) as connection:
        roles = {name for (name,) in connection.execute("SELECT rolname FROM pg_roles")}
        databases = {name for (name,) in connection.execute("SELECT datname FROM pg_database")}
    return roles, databases


def run_suite(url: str) -> subprocess.CompletedProcess[str]:
    """A small suite of its own that migrates a database, as ``make test`` does."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         "tests/e2e/test_cli_operations.py::test_version_names_the_installed_release"],
        env={**os.environ, "TEST_DATABASE_URL": url}, capture_output=True, text=True,
        timeout=240, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_a_suite_names_its_server_and_drops_the_role_and_databases_it_created(
    cluster: private_postgres.PrivatePostgres,
) -> None:
    before = state(cluster.url)
    assert APP_ROLE not in before[0]

    suite = run_suite(cluster.url)

    assert suite.returncode == 0, suite.stdout + suite.stderr
    assert "tests use PostgreSQL 16." in suite.stdout
    assert f"at {cluster.url}" in suite.stdout
    assert f"{APP_ROLE} dropped" in suite.stdout
    assert state(cluster.url) == before


def test_the_role_stays_while_another_suite_runs_and_goes_with_the_last(
    cluster: private_postgres.PrivatePostgres,
) -> None:
    before = state(cluster.url)
    first, second = SuiteClaim(cluster.url), SuiteClaim(cluster.url)
    database = create_database(cluster.url)
    with psycopg.connect(cluster.url, autocommit=True) as connection:
        name = make_url(database).database
        connection.execute(f'GRANT CONNECT ON DATABASE "{name}" TO {APP_ROLE}')
    assert APP_ROLE in state(cluster.url)[0]

    assert first.release() == f"{APP_ROLE} kept: another test suite is running on this server"
    kept = second.release()
    assert kept.startswith(f"{APP_ROLE} kept: still used"), "a database still grants it"

    drop_database(cluster.url, database)
    assert SuiteClaim(cluster.url).release().startswith(f"{APP_ROLE} dropped")
    assert state(cluster.url) == before


def test_a_role_the_tests_did_not_create_is_never_dropped(
    cluster: private_postgres.PrivatePostgres,
) -> None:
    with psycopg.connect(cluster.url, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
    try:
        claim = SuiteClaim(cluster.url)
        assert claim.release() == f"{APP_ROLE} kept: the tests did not create it"
        assert APP_ROLE in state(cluster.url)[0]
    finally:
        with psycopg.connect(cluster.url, autocommit=True) as connection:
            connection.execute(f"DROP ROLE {APP_ROLE}")


def test_a_suite_starting_meanwhile_waits_until_the_last_one_has_dropped_the_role(
    cluster: private_postgres.PrivatePostgres,
) -> None:
    """The last suite holds the exclusive lock while it drops: a new suite's shared lock
    waits for it, then the new suite creates the role again."""
    with psycopg.connect(cluster.url, autocommit=True) as dropping:
        dropping.execute("SELECT pg_advisory_lock(%s)", (SUITE_LOCK,))
        with psycopg.connect(cluster.url, autocommit=True) as starting:
            starting.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                starting.execute("SELECT pg_advisory_lock_shared(%s)", (SUITE_LOCK,))
    claim = SuiteClaim(cluster.url)
    assert APP_ROLE in state(cluster.url)[0]
    assert claim.release().startswith(f"{APP_ROLE} dropped")
