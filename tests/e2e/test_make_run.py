"""``make run`` on a fresh data folder, exactly as the README says, as a real process.

No DATABASE_URL: the service starts the embedded PostgreSQL in a temporary data
folder, seeds the demo, prints a key and a query, and serves them; SIGTERM stops
it gracefully.  A second start on the same folder finds the data and seeds nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from app.config import PROJECT_ROOT
from app.db.embedded import is_running, stop_embedded
from app.server import GRACEFUL_SHUTDOWN_SECONDS
from tests.make_run import UNSET, Run


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    yield folder
    stop_embedded(folder)  # whatever happened, leave no server running
    assert not is_running(folder)


@pytest.fixture
def start(data_dir: Path, start_make_run: Callable[[dict[str, str]], Run]) -> Callable[[], Run]:
    return lambda: start_make_run({"CREDIT_LEDGER_DATA_DIR": str(data_dir)})


def stop_with_sigterm(run: Run) -> None:
    """SIGTERM the service, as a process manager would; it must shut down gracefully."""
    server = run.server_process()
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    run.process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"an idle service should stop at once, took {elapsed:.1f}s"
    assert not server.is_running()
    log = run.log.read_text()
    assert "Application shutdown complete." in log, run.output()
    assert "Traceback" not in log, run.output()
    assert '"level":"error"' not in log, run.output()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{run.base}/healthz", timeout=1)


def test_make_run_on_an_empty_data_folder_serves_the_demo_it_prints(
    start: Callable[[], Run], data_dir: Path
) -> None:
    first = start()
    first.read_until("Embedded PostgreSQL:")
    key = first.value_after("Demo API key:")
    query = first.value_after("Example query:")
    graphiql_url = first.value_after("GraphiQL:")
    assert graphiql_url == f"{first.base}/graphql"
    first.wait_until_serving()

    page = httpx.get(graphiql_url, headers={"Accept": "text/html"}, timeout=5)
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    # make run lets anyone introspect (INTROSPECTION=public), so GraphiQL's docs need no key.
    anonymous = httpx.post(graphiql_url, json={"query": "{ __schema { queryType { name } } }"},
                           timeout=5).json()  # fmt: skip
    assert anonymous == {"data": {"__schema": {"queryType": {"name": "Query"}}}}

    answer = httpx.post(
        graphiql_url, json={"query": query}, headers={"Authorization": f"Bearer {key}"}, timeout=5
    ).json()
    assert "errors" not in answer, answer
    data = answer["data"]
    assert data["viewer"] == {"business": {"name": "Demo Traders", "currency": "INR"},
                              "role": "OWNER"}  # fmt: skip
    assert data["customer"]["name"]
    assert data["customer"]["creditLimit"] != "0.00"
    assert data["product"]["stock"] > 0
    if shutil.which("curl"):
        curl_line = first.seen[first.seen.index("With curl:") + 1]
        printed = subprocess.run(  # noqa: S603 - the very line printed for users
            ["bash", "-c", curl_line],  # noqa: S607
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        assert orjson.loads(printed.stdout) == answer, "the printed curl line gives the same"

    export = next(line.strip() for line in first.seen if line.strip().startswith("export API="))
    printed_env = subprocess.run(  # noqa: S603 - the very line printed for users
        ["bash", "-c", f'{export}; printf "%s\\n" "$API" "$KEY" "$EMAIL" "$PASSWORD"'],  # noqa: S607
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout.split()  # fmt: skip
    assert printed_env == [graphiql_url, key, first.value_after("Owner email:"),
                           first.value_after("Password:")]  # fmt: skip

    assert httpx.get(f"{first.base}/healthz", timeout=5).json() == {"status": "ok"}
    ready = httpx.get(f"{first.base}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"

    stop_with_sigterm(first)
    assert is_running(data_dir), "the embedded PostgreSQL outlives the service, by design"

    second = start()
    lines = second.read_until("Embedded PostgreSQL:")
    assert not any("Demo API key" in line for line in lines), "seeded a second time"
    assert "1 'Demo Traders'" in second.value_after("Businesses:")
    second.wait_until_serving()
    # The printed command makes a key as printed, from the project folder, with no more
    # environment than a new terminal has (no CREDIT_LEDGER_DATA_DIR).
    command = next(line.strip() for line in lines if " key create " in line)
    made = subprocess.run(  # noqa: S603 - the very line printed for users
        ["bash", "-c", command], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,  # noqa: S607
        check=False,
        env={k: v for k, v in os.environ.items() if k not in (*UNSET, "CREDIT_LEDGER_DATA_DIR")},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    new_key = made.stdout.split()[-1]
    viewer = httpx.post(
        f"{second.base}/graphql", json={"query": "{ viewer { role } }"},
        headers={"Authorization": f"Bearer {new_key}"}, timeout=5,
    ).json()  # fmt: skip
    assert viewer == {"data": {"viewer": {"role": "OWNER"}}}, (made.stdout, viewer)
    again = httpx.post(
        f"{second.base}/graphql", json={"query": query},
        headers={"Authorization": f"Bearer {key}"}, timeout=5,
    ).json()  # fmt: skip
    assert again["data"] == data, "the data and the key survived the restart"
    stop_with_sigterm(second)
