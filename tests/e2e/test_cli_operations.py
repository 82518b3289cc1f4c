"""The command line explains itself, lists without secrets, and backs up and restores
with the PostgreSQL tools of the server's version."""

from __future__ import annotations

import argparse
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.cli import HelpFormatter, build_parser
from app.db import backup
from tests.conftest import Tenant
from tests.db import create_database, drop_database
from tests.e2e.test_cli import CLI, json_of, run_cli
from tests.helpers import make_customer, make_product
from tests.purchases import buy, pay


def run_slow(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``run_cli`` with room for a whole session database: dumping, restoring and
    verifying it took over a minute on a busy machine."""
    environment = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(CLI), *args], env=environment, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip


def test_version_names_the_installed_release(database_url: str) -> None:
    result = run_cli(database_url, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"credit-ledger {version('credit-ledger')}"


def _commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_commands(child))
    return found


def test_every_option_of_every_command_says_what_it_does_and_its_default() -> None:
    commands = _commands(build_parser())
    assert {command.prog for command in commands} >= {
        "credit-ledger business list", "credit-ledger key list",
        "credit-ledger backup", "credit-ledger restore",
    }  # fmt: skip
    for command in commands:
        assert isinstance(command.formatter_class(command.prog), HelpFormatter), command.prog
        text = command.format_help()
        for action in command._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            where = f"{command.prog} {action.dest}"
            assert action.help, f"{where} has no help"
            if action.option_strings and not action.required:
                flag = isinstance(action, argparse._StoreTrueAction | argparse._VersionAction)
                shown = HelpFormatter(command.prog)._get_help_string(action) or ""
                assert flag or "default" in shown, f"{where} does not name its default"
        assert "(default: None)" not in text, command.prog


async def test_business_list_and_key_list_show_ids_and_roles_never_secrets(
    database_url: str, tenant: Tenant
) -> None:
    businesses = json_of(run_cli(database_url, "business", "list", "--json"))["businesses"]
    mine = next(business for business in businesses if business["id"] == str(tenant.id))
    assert mine["name"] == "Test business"
    assert mine["currency"] == "INR"

    as_text = run_cli(database_url, "key", "list", "--business", str(tenant.id))
    as_json = run_cli(database_url, "key", "list", "--business", str(tenant.id), "--json")
    keys = json_of(as_json)["keys"]
    assert sorted(key["role"] for key in keys) == sorted(role.value for role in tenant.keys), (
        "one key per role, the tenant fixture's"
    )
    assert all(key["id"].startswith(f"cl_{tenant.id}_") for key in keys)
    assert all(key["revokedAt"] is None for key in keys)
    for token in tenant.keys.values():
        secret = token.split("_", 3)[3]  # cl_<business>_<key>_<secret>; the secret may hold "_"
        assert secret not in as_text.stdout
        assert secret not in as_json.stdout
    assert len(as_text.stdout.strip().splitlines()) == len(keys)


def _contents(url: str) -> dict[str, str]:
    """A digest of every table's rows and every sequence's position, as the superuser."""
    libpq, _ = backup.libpq(url)
    with psycopg.connect(libpq) as connection:
        tables = [
            name for (name,) in connection.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = 'public'::regnamespace ORDER BY relname"
            )
        ]  # fmt: skip
        digests = {}
        for table in tables:
            (digest,) = connection.execute(
                f"SELECT md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), ''))"
                f' FROM "{table}" t'
            ).fetchone() or ("",)
            digests[table] = digest
        for name, value in connection.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ):
            digests[f"sequence {name}"] = str(value)
    return digests


@pytest.fixture
def fresh_database(server: str) -> object:
    url = create_database(server, prefix="credit_ledger_restored")
    yield url
    drop_database(server, url)


async def test_a_backup_restores_into_a_fresh_database_that_verify_accepts(
    database_url: str, tenant: Tenant, fresh_database: str, tmp_path: Path
) -> None:
    customer = await make_customer(tenant, credit_limit="500.00")
    product = await make_product(tenant, price="12.50", stock=20)
    assert (await buy(tenant, customer, [(product, 3)]))["__typename"] == "PurchaseCompleted"
    assert (await pay(tenant, customer, "20.00"))["__typename"] == "PaymentRecorded"
    file = tmp_path / "books.dump"

    saved = json_of(run_slow(database_url, "backup", str(file), "--json"))
    major = backup.server_major(database_url)
    assert backup.tool_major(Path(saved["pgDump"])) == major
    assert file.stat().st_size > 0

    restored = json_of(run_slow(fresh_database, "restore", str(file), "--json"))
    assert restored["migrated"] is True
    assert backup.tool_major(Path(restored["pgRestore"])) == major

    # This business only: other tests write deliberately broken rows by hand.
    verified = json_of(run_slow(fresh_database, "verify", "--business", str(tenant.id), "--json"))
    assert verified["ok"] is True, verified["problems"]
    assert verified["businesses"] == 1
    assert _contents(fresh_database) == _contents(database_url)


def test_restore_refuses_a_database_that_is_not_empty(database_url: str, tmp_path: Path) -> None:
    file = tmp_path / "books.dump"
    json_of(run_slow(database_url, "backup", str(file), "--json"))
    refused = run_slow(database_url, "restore", str(file))
    assert refused.returncode == 1
    name = make_url(database_url).database
    assert refused.stderr.strip().startswith(f"error: database {name} is not empty")


def test_no_tool_of_the_servers_version_is_a_clear_error() -> None:
    with pytest.raises(backup.BackupError) as raised:
        backup.matching_tool("pg_dump", 7)
    message = str(raised.value)
    assert message.startswith("no pg_dump of PostgreSQL 7 (the server's version) found")
    assert "/usr/lib/postgresql/7/bin/pg_dump" in message
    assert "postgresql-client-7" in message


def test_the_embedded_servers_own_tools_come_first() -> None:
    embedded = backup._embedded_binaries()
    assert embedded is not None, "make install includes the embedded extra"
    major = backup.tool_major(embedded / "pg_dump")
    assert major is not None
    assert backup.matching_tool("pg_dump", major) == embedded / "pg_dump"
