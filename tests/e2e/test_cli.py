"""The ``credit-ledger`` admin commands, run as real processes against the session database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import APP_ROLE
from tests.accounts import ME, login, signed_in
from tests.conftest import post_graphql
from tests.e2e.test_sign_in import serving

CLI = Path(sys.executable).parent / "credit-ledger"
VIEWER = "{ viewer { business { id name } role } }"


def run_cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": database_url, **env}
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(CLI), *args], env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def json_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json prints one JSON object, got: {result.stdout!r}"
    return orjson.loads(lines[0])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def business_id(database_url: str) -> str:
    created = json_of(run_cli(database_url, "business", "create", "--name", "CLI Shop", "--json"))
    assert created["id"].isdigit()
    return str(created["id"])


async def test_a_key_created_by_the_cli_works_until_it_is_revoked(
    database_url: str, business_id: str, http: httpx.AsyncClient
) -> None:
    created = run_cli(
        database_url, "key", "create", "--business", business_id, "--role", "clerk", "--json"
    )
    key = json_of(created)
    assert key["businessId"] == business_id
    assert key["role"] == "cashier", "clerk, the role's old name, still works"
    assert key["key"].startswith(key["id"] + "_"), "the secret follows the key's id"

    answer = await post_graphql(http, VIEWER, token=key["key"])
    assert answer["data"]["viewer"] == {
        "business": {"id": business_id, "name": "CLI Shop"},
        "role": "CASHIER",
    }

    revoked = json_of(run_cli(database_url, "key", "revoke", key["id"], "--json"))
    assert revoked == {"id": key["id"], "revoked": True}
    answer = await post_graphql(http, VIEWER, token=key["key"])
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_key_create_without_json_shows_the_secret_once_with_a_warning(
    database_url: str, business_id: str
) -> None:
    result = run_cli(database_url, "key", "create", "--business", business_id, "--role", "viewer")
    assert result.returncode == 0, result.stderr
    first_line, secret = result.stdout.strip().splitlines()
    assert "shown once" in first_line
    assert secret.startswith(f"cl_{business_id}_")


async def test_business_create_takes_currency_and_payment_terms(
    database_url: str, http: httpx.AsyncClient
) -> None:
    created = json_of(
        run_cli(
            database_url, "business", "create", "--name", "Yen Shop", "--currency", "jpy",
            "--terms-days", "45", "--json",
        )
    )  # fmt: skip
    key = json_of(
        run_cli(database_url, "key", "create", "--business", created["id"], "--role", "owner",
                "--json")
    )  # fmt: skip
    answer = await post_graphql(
        http, "{ viewer { business { currency paymentTermsDays } } }", token=key["key"]
    )
    assert answer["data"]["viewer"]["business"] == {"currency": "JPY", "paymentTermsDays": 45}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("key", "create", "--business", "999999999", "--role", "owner"),
         "business 999999999 does not exist"),
        (("key", "create", "--business", "1", "--role", "admin"), "invalid choice: 'admin'"),
        (("key", "revoke", "not-a-key"), "a key id looks like cl_<business>_<key>"),
        (("key", "revoke", "cl_999999999_1"), "key cl_999999999_1 does not exist"),
        (("business", "create", "--name", "  "), "name must be 1 to 200 characters"),
        (("business", "create", "--name", "X", "--currency", "RUPEE"),
         "currency must be a three-letter ISO 4217 code"),
    ],
)  # fmt: skip
def test_bad_input_exits_non_zero_with_a_clear_message_and_no_traceback(
    database_url: str, args: tuple[str, ...], message: str
) -> None:
    result = run_cli(database_url, *args, "--json")
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


async def test_migrate_gives_the_service_role_the_password_from_app_db_password(
    database_url: str, owner_db: AsyncEngine
) -> None:
    # The role is shared by every database on the server: put its password back afterwards.
    query = text("SELECT rolpassword FROM pg_authid WHERE rolname = :role")
    async with owner_db.connect() as connection:
        before = (await connection.execute(query, {"role": APP_ROLE})).scalar_one()
    try:
        result = run_cli(database_url, "migrate", "--json", APP_DB_PASSWORD='it\'s a "secret"')
        assert json_of(result) == {"migrated": True}
        async with owner_db.connect() as connection:
            after = (await connection.execute(query, {"role": APP_ROLE})).scalar_one()
        assert after is not None
        assert after.startswith("SCRAM-SHA-256$"), "stored as a SCRAM verifier, not cleartext"
        assert after != before
    finally:
        async with owner_db.begin() as connection:
            restore = "NULL" if before is None else f"'{before}'"
            await connection.execute(text(f"ALTER ROLE {APP_ROLE} PASSWORD {restore}"))


@pytest.mark.parametrize("answers", [False, True], ids=["refuses", "never answers"])
def test_serve_without_a_database_exits_with_one_clear_line(answers: bool) -> None:
    """Refused, or accepted and never answered: one line on stderr, exit 2, quickly."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        if answers:
            listener.listen()  # the kernel completes connections nobody ever serves
        else:
            listener.close()
        started = time.monotonic()
        result = run_cli(
            f"postgresql://postgres@127.0.0.1:{port}/nowhere", "serve",
            DB_CONNECT_TIMEOUT_SECONDS="1",
        )  # fmt: skip
    assert time.monotonic() - started < 15
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"cannot reach PostgreSQL at 127.0.0.1:{port}/nowhere" in lines[0]
    assert "DATABASE_URL" in lines[0]


async def test_a_user_created_by_the_cli_signs_in_until_the_cli_resets_their_password(
    database_url: str, business_id: str
) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@Example.com"
    created = json_of(
        run_cli(database_url, "user", "create", "--business", business_id, "--email", email,
                "--role", "clerk", "--json")
    )  # fmt: skip
    assert created == {
        "id": created["id"], "businessId": business_id, "email": email.lower(),
        "role": "cashier", "oneTimePassword": created["oneTimePassword"],
    }  # fmt: skip
    taken = run_cli(database_url, "user", "create", "--business", business_id, "--email",
                    email.upper(), "--role", "owner")  # fmt: skip
    assert taken.returncode == 1
    assert taken.stderr.strip() == f"error: email {email.lower()} is already in use"

    async with serving(database_url) as make:
        client = make()
        session = await signed_in(client, email, created["oneTimePassword"])
        assert session["user"]["role"] == "CASHIER"

        reset = json_of(run_cli(database_url, "user", "reset-password", "--email", email, "--json"))

        assert reset["id"] == created["id"]
        assert reset["oneTimePassword"] != created["oneTimePassword"]
        assert (await login(client, email, created["oneTimePassword"]))["__typename"] == (
            "LoginFailed"
        )
        ended = await post_graphql(client, ME, token=session["accessToken"])
        assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        await signed_in(client, email, reset["oneTimePassword"])
    unknown = run_cli(database_url, "user", "reset-password", "--email", "nobody@example.com")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no user has the email nobody@example.com"
