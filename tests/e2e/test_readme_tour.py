"""README.md's tour, run verbatim against a fresh demo (issue 20, point 3).

The service is started as ``make run`` starts it, on a scratch database of the test
server (``DATABASE_URL``, with ``SEED_DEMO=1``: the embedded server's first run seeds
the same demo, and a fresh database gives the same ids).  Then every fenced block of
README.md, in order, as the comment at the top of README.md describes:

* ``sh`` blocks run in bash from the project folder, after the ``export`` line that
  ``make run`` printed (the only thing taken from its output); ``DATABASE_URL`` points
  the CLI at the demo's database, as ``make run``'s embedded server is found without it.
  ``sh not-run`` blocks are skipped.
* ``graphql`` blocks are posted with the printed key, once per ``json`` block of
  variables that follows them (or once without variables).  Each operation's answer
  is checked by its name: a README operation without a check here fails the test.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from graphql import OperationDefinitionNode, parse

from app.config import PROJECT_ROOT
from app.services.demo import CUSTOMERS
from tests.db import create_database, drop_database
from tests.e2e.test_make_run import UNSET, Run

README = PROJECT_ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SHOWN_ONLY = ("text",)


@dataclass(frozen=True)
class Step:
    kind: str
    """``sh`` or ``graphql``."""
    body: str
    variables: dict[str, Any] | None = None


def tour_steps(markdown: str) -> list[Step]:
    """The README's runnable blocks, in order."""
    steps: list[Step] = []
    document: str | None = None
    blocks = FENCE.findall(markdown)
    for index, (language, marker, body) in enumerate(blocks):
        if language == "sh":
            if "not-run" not in marker:
                steps.append(Step("sh", body))
        elif language == "graphql":
            document = body
            if index + 1 == len(blocks) or blocks[index + 1][0] != "json":
                steps.append(Step("graphql", body))
        elif language == "json":
            assert document is not None, f"variables with no GraphQL block before them: {body}"
            steps.append(Step("graphql", document, orjson.loads(body)))
        else:
            assert language in SHOWN_ONLY, f"a ```{language} block: run it or mark it"
    return steps


def operation_name(document: str) -> str:
    operation = next(
        d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)
    )
    assert operation.name is not None, f"every README operation has a name:\n{document}"
    return operation.name.value


def edges(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def check_customers(data: dict[str, Any]) -> None:
    listed = {node["id"]: node["name"] for node in edges(data["customers"])}
    demo = {str(number): name for number, (name, _, _) in enumerate(CUSTOMERS, 1)}
    assert demo.items() <= listed.items(), "the README says the demo's customers are ids 1-7"
    assert any(node["overdue"]["isOverdue"] for node in edges(data["customers"]))


def check_overdue(data: dict[str, Any]) -> None:
    assert len(edges(data["overdueCustomers"])) == 4
    buckets = data["agingReport"]["buckets"]
    assert all(bucket["amount"] != "0.00" for bucket in buckets), buckets


def succeeded(field: str, typename: str) -> Callable[[dict[str, Any]], None]:
    def check(data: dict[str, Any]) -> None:
        assert data[field]["__typename"] == typename, data

    return check


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "Customers": check_customers,
    "NewCustomer": succeeded("createCustomer", "CustomerCreated"),
    "NewProduct": succeeded("createProduct", "ProductCreated"),
    "Sell": succeeded("purchase", "PurchaseCompleted"),
    "Pay": succeeded("recordPayment", "PaymentRecorded"),
    "Overdue": check_overdue,
}
SH_SUCCESS = ('"LoginSucceeded"', '"customers"', "ledger, balances and stock agree")
"""What each ``sh`` block's output must show (one of these)."""


@pytest.fixture
def demo(server: str, start_make_run: Callable[[dict[str, str]], Run]) -> Iterator[tuple[Run, str]]:
    """``make run`` seeding the demo on a fresh database; the run and that database."""
    database = create_database(server, prefix="credit_ledger_readme")
    try:
        run = start_make_run({"DATABASE_URL": database, "SEED_DEMO": "1"})
        run.read_until("export API=")
        run.wait_until_serving()
        yield run, database
        run.stop()
    finally:
        drop_database(server, database)


def run_sh(block: str, export: str, database: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in UNSET}
    done = subprocess.run(  # noqa: S603 - the README's own commands
        ["bash", "-e", "-c", f"{export}\n{block}"],  # noqa: S607
        cwd=PROJECT_ROOT, env={**environment, "DATABASE_URL": database},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{block}\n--- stderr ---\n{done.stderr}"
    output = done.stdout
    if output.lstrip().startswith("{"):
        answer = orjson.loads(output)
        assert "errors" not in answer, f"{block}\n{answer}"
    assert any(marker in output for marker in SH_SUCCESS), f"{block}\n{output}"
    return output


def test_every_block_of_the_readme_tour_runs_verbatim_on_a_fresh_demo(
    demo: tuple[Run, str],
) -> None:
    service, database = demo
    steps = tour_steps(README.read_text())
    assert {step.kind for step in steps} == {"sh", "graphql"}
    export = next(line.strip() for line in service.seen if line.strip().startswith("export API="))
    key = service.value_after("Demo API key:")
    ran: set[str] = set()
    for step in steps:
        if step.kind == "sh":
            run_sh(step.body, export, database)
            continue
        name = operation_name(step.body)
        assert name in CHECKS, f"no check for the README's operation {name}: add one"
        answer = httpx.post(
            f"{service.base}/graphql", json={"query": step.body, "variables": step.variables},
            headers={"Authorization": f"Bearer {key}"}, timeout=10,
        ).json()  # fmt: skip
        assert "errors" not in answer, (name, step.variables, answer)
        CHECKS[name](answer["data"])
        ran.add(name)
    assert ran == set(CHECKS), (
        f"checks for operations the README no longer has: {set(CHECKS) - ran}"
    )
