"""docs/clients.md's recipes, run (issue 20, point 7).

Python: ariadne-codegen (in its own venv, ``make clients``) generates the client from
``schema.graphql`` with the committed configuration, and ``clients/python/tour.py``
runs a sale, a payment and the overdue list through it against the service over TCP.
TypeScript: graphql-codegen's client preset generates the types with the committed
configuration (Money and DateTime as strings), and ``tsc`` compiles the tour with them.
Both work on copies in a scratch folder: the repository keeps no generated code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import PROJECT_ROOT
from app.domain.identity import Role
from app.services import admin
from bench.service import Service
from tests.conftest import Tenant

CLIENTS = PROJECT_ROOT / "clients"
GENERATOR_VENV = CLIENTS / "python" / ".venv" / "bin"
TYPESCRIPT = CLIENTS / "typescript"
RECIPE_FILES = {
    "python": ("pyproject.toml", "queries.graphql", "custom_scalars.py", "tour.py"),
    "typescript": ("package.json", "codegen.ts", "tsconfig.json", "src/tour.ts"),
}


def missing_tool(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing; make test installs it (make clients)")
    pytest.skip(f"{what} is missing (make clients)")


def recipe_copy(language: str, scratch: Path) -> Path:
    """The recipe's committed files and schema.graphql, laid out as in the repository."""
    folder = scratch / "clients" / language
    for name in RECIPE_FILES[language]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CLIENTS / language / name, folder / name)
    shutil.copy(PROJECT_ROOT / "schema.graphql", scratch / "schema.graphql")
    return folder


def run(command: list[str], cwd: Path, **env: str) -> str:
    done = subprocess.run(  # noqa: S603 (the recipes' own tools)
        command, check=False, cwd=cwd, capture_output=True, text=True, timeout=240,
        env={**os.environ, **env},
    )  # fmt: skip
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    running = Service(
        database_url, workers=1, log_path=tmp_path / "service.log", log_level="WARNING"
    )
    running.start()
    yield running
    running.stop()


async def test_the_python_client_generated_from_the_schema_sells_takes_a_payment_and_lists_overdue(
    service: Service, owner_db: AsyncEngine, tmp_path: Path
) -> None:
    if not (GENERATOR_VENV / "ariadne-codegen").exists():
        missing_tool("ariadne-codegen (clients/python/.venv)")
    business = await admin.create_business(owner_db, name="Codegen Stores", terms_days=30)
    key = (await admin.create_key(owner_db, business_id=business, role=Role.OWNER)).token
    folder = recipe_copy("python", tmp_path)

    run([str(GENERATOR_VENV / "ariadne-codegen")], folder)
    assert (folder / "credit_ledger_client" / "client.py").is_file()
    url = f"http://{service.host}:{service.port}/graphql"
    tour = run([str(GENERATOR_VENV / "python"), "tour.py"], folder,
               CREDIT_LEDGER_URL=url, CREDIT_LEDGER_KEY=key)  # fmt: skip
    seen = json.loads(tour)

    assert seen == {
        "total": "120.00",
        "sold_at_is_aware": True,
        "balance_after_payment": "70.00",
        "overdue_in_45_days": [{"name": "Asha Traders", "amount": "70.00", "days": 15}],
    }


def test_the_typescript_types_generated_from_the_schema_compile_with_money_as_strings(
    tmp_path: Path,
) -> None:
    if shutil.which("npm") is None or not (TYPESCRIPT / "node_modules").is_dir():
        missing_tool("npm or clients/typescript/node_modules")
    folder = recipe_copy("typescript", tmp_path)
    (folder / "node_modules").symlink_to(TYPESCRIPT / "node_modules")

    run(["npm", "run", "--silent", "codegen"], folder)
    generated = (folder / "src" / "gql" / "graphql.ts").read_text()
    run(["npm", "run", "--silent", "build"], folder)

    assert "export type RecordPaymentInput = {\n  amount: string;" in generated
    assert "unknown" not in generated.split("export type RecordPaymentInput")[1].split("};")[0]


async def test_a_client_reads_where_each_scalar_is_specified(tenant: Tenant) -> None:
    query = "query($n: String!) { __type(name: $n) { name specifiedByURL } }"
    for name in ("Money", "Percent", "DateTime"):
        data = await tenant.data(query, {"n": name})
        assert data["__type"] == {"name": name, "specifiedByURL": f"docs/scalars.md#{name.lower()}"}
