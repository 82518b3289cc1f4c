"""GraphiQL opens with no internet (issue 20, point 1).

The service serves GraphiQL's files itself (``app.graphiql``): headless Chromium with
no network but the machine (``tests/browser.py``) opens ``/graphql``, types an API
key into the Headers pane and a query into the editor, runs it, and reads the answer
on the page; every file the page asked for came from the service.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.graphiql import ASSET_PATHS, ASSETS_DIR, CDN, ROUTE
from app.graphiql.fetch import missing
from app.graphiql.page import graphiql_page
from app.services import admin
from bench.service import Service
from tests.browser import chromium_or_skip, open_page

QUERY = "{ viewer { role business { name } } }"


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_or_skip()


@pytest.fixture(scope="module")
def fetched() -> None:
    """GraphiQL's files are in ``.graphiql/``, or skip; CI must have them (``make install``)."""
    if missing():
        if os.environ.get("CI"):
            pytest.fail("GraphiQL's files are missing; make install fetches them (make graphiql)")
        pytest.skip("GraphiQL's files are missing (make graphiql; it needs npm)")


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service as ``make run`` starts it (GraphiQL on), over TCP."""
    running = Service(
        database_url, workers=1, log_path=tmp_path / "service.log", log_level="WARNING",
        env={"GRAPHIQL": "on"},
    )  # fmt: skip
    running.start()
    yield running
    running.stop()


def test_each_file_fetched_is_the_one_strawberrys_page_expects(fetched: None) -> None:
    """The page's own ``integrity`` attributes (sha384) match the files on disk."""
    page = graphiql_page()
    assert CDN not in page
    for path in ASSET_PATHS:
        digest = base64.b64encode(hashlib.sha384((ASSETS_DIR / path).read_bytes()).digest())
        tag = re.search(rf'"{re.escape(ROUTE + path)}"\s+integrity="([^"]+)"', page)
        assert tag is not None, path
        assert tag[1] == f"sha384-{digest.decode()}", path


async def test_graphiql_runs_a_query_with_a_key_in_a_browser_without_internet(
    chromium: str, fetched: None, service: Service, owner_db: AsyncEngine, tmp_path: Path
) -> None:
    business = await admin.create_business(owner_db, name="Offline Corner Store")
    key = (await admin.create_key(owner_db, business_id=business, role=Role.CASHIER)).token
    base = f"http://{service.host}:{service.port}"

    async with open_page(chromium, tmp_path / "profile") as page:
        # The browser really has no internet: the CDN's copy of React cannot be fetched.
        cdn = await page.evaluate(
            f"fetch('{CDN}react@18.2.0/umd/react.production.min.js')"
            ".then(() => 'fetched', e => 'failed: ' + e)"
        )
        assert cdn.startswith("failed"), cdn
        page.requests.clear()

        await page.goto(f"{base}/graphql")
        await page.wait_for("!!document.querySelector('.graphiql-query-editor .CodeMirror')")
        await page.screenshot(tmp_path / "loaded.png")

        # The Headers pane: open it, type the key.
        headers_tab = ".graphiql-editor-tools button:nth-of-type(2)"
        label = await page.evaluate(f"document.querySelector('{headers_tab}').textContent")
        assert label == "Headers"
        await page.click(headers_tab)
        await page.click(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
        await page.type(f'{{"Authorization": "Bearer {key}"}}')
        # The query editor: select what is there, type the query over it.
        await page.click(".graphiql-query-editor .CodeMirror")
        await page.press("a", "KeyA", 65, modifiers=2)
        await page.type(QUERY)
        await page.screenshot(tmp_path / "typed.png")
        await page.click(".graphiql-execute-button")

        answer = await page.wait_for(
            "(() => { const r = document.querySelector('.graphiql-response');"
            " return r && r.innerText.includes('Offline Corner Store') && r.innerText; })()"
        )
        await page.screenshot(tmp_path / "answered.png")

    assert '"role": "CASHIER"' in answer, answer
    assert '"name": "Offline Corner Store"' in answer, answer
    assert page.requests, "the page's requests were recorded"
    elsewhere = [url for url in page.requests if not url.startswith((base, "data:"))]
    assert elsewhere == [], elsewhere
    assert f"{base}{ROUTE}graphiql@3.8.3/graphiql.min.js" in page.requests


async def test_the_service_serves_the_pinned_files_and_nothing_else(
    fetched: None, service: Service
) -> None:
    base = f"http://{service.host}:{service.port}"
    async with httpx.AsyncClient(base_url=base) as client:
        script = await client.get(f"{ROUTE}graphiql@3.8.3/graphiql.min.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "immutable" in script.headers["cache-control"]
        for path in ("graphiql@3.8.3/package.json", "../pyproject.toml", "%2e%2e/pyproject.toml"):
            refused = await client.get(f"{ROUTE}{path}")
            assert refused.status_code == 404, path
