"""Browser apps on another origin (issue 20, point 2): ``CORS_ORIGINS``.

Over HTTP: preflights answered for listed origins only, ``Authorization`` allowed,
the origin echoed (never ``*``), no credentials, nothing at all when unset.  In
Chromium: a page served by a second local server, on another origin, calls the API
with an API key; the same page from an origin not listed cannot read the answer.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.cors import origin_pattern
from app.domain.identity import Role
from app.main import create_app
from app.services import admin
from bench.service import Service, free_port
from tests.browser import chromium_or_skip, open_page
from tests.conftest import Tenant

ORIGINS = ("http://localhost:*", "https://till.example.com")
VIEWER = "{ viewer { business { name } } }"


@pytest.fixture(scope="module")
async def cors_http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The service with ``CORS_ORIGINS=http://localhost:*,https://till.example.com``."""
    app = create_app(replace(settings, cors_origins=ORIGINS, max_body_bytes=1024))
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def preflight(origin: str, headers: str = "authorization,content-type") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:5173", "http://localhost:3000", "http://localhost",
     "https://till.example.com"],
)  # fmt: skip
async def test_a_listed_origin_may_send_its_key(cors_http: httpx.AsyncClient, origin: str) -> None:
    answer = await cors_http.options("/graphql", headers=preflight(origin))

    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == origin
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type"} <= set(allowed.split(", "))
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in answer.headers
    assert "Origin" in answer.headers["vary"]


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:5173", "https://localhost:5173", "http://localhost.evil.example:80",
     "https://till.example.com:8443", "http://till.example.com", "https://evil.till.example.com",
     "null"],
)  # fmt: skip
async def test_any_other_origin_is_refused_its_preflight(
    cors_http: httpx.AsyncClient, origin: str
) -> None:
    answer = await cors_http.options("/graphql", headers=preflight(origin))

    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert answer.json()["errors"][0]["message"].startswith("Disallowed CORS origin")


async def test_an_answer_to_a_listed_origin_says_so_and_shows_its_request_id(
    cors_http: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {"Origin": "http://localhost:5173",
               "Authorization": f"Bearer {tenant.keys[Role.VIEWER]}"}  # fmt: skip

    answer = await cors_http.post("/graphql", json={"query": VIEWER}, headers=headers)

    assert answer.status_code == 200
    assert answer.json()["data"]["viewer"]["business"]["name"] == "Test business"
    assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "access-control-allow-credentials" not in answer.headers

    other = await cors_http.post(
        "/graphql", json={"query": VIEWER}, headers={**headers, "Origin": "http://evil.example"}
    )
    assert other.status_code == 200  # answered, but a browser will not show it to the page
    assert "access-control-allow-origin" not in other.headers


async def test_the_services_own_refusals_reach_the_page_too(
    cors_http: httpx.AsyncClient,
) -> None:
    answer = await cors_http.post(
        "/graphql", content=b"x" * 2048,
        headers={"Origin": "https://till.example.com", "Content-Type": "application/json"},
    )  # fmt: skip

    assert answer.status_code == 413
    assert answer.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert answer.headers["access-control-allow-origin"] == "https://till.example.com"


async def test_without_cors_origins_no_origin_is_allowed(http: httpx.AsyncClient) -> None:
    answer = await http.options("/graphql", headers=preflight("http://localhost:5173"))

    assert answer.status_code == 405
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    "entry",
    ["*", "http://*", "localhost:3000", "http://localhost:3000/", "https://*.example.com",
     "ftp://example.com", "http://localhost:**", "http://localhost:abc"],
)  # fmt: skip
def test_an_entry_that_is_not_an_origin_stops_the_service_from_starting(
    settings: Settings, entry: str
) -> None:
    with pytest.raises(ValueError, match="CORS_ORIGINS takes origins"):
        create_app(replace(settings, cors_origins=(entry,)))


def test_cors_origins_is_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", " http://localhost:*, https://till.example.com ,")
    assert Settings.from_env().cors_origins == ORIGINS
    monkeypatch.setenv("CORS_ORIGINS", "")
    assert Settings.from_env().cors_origins == ()
    assert origin_pattern("HTTP://LocalHost:8000") == r"http://localhost:8000"


# --- In a browser ---------------------------------------------------------------------

PAGE = """<!doctype html>
<title>Till</title>
<pre id="result">waiting</pre>
<script>
fetch("%(api)s", {
  method: "POST",
  headers: {"Authorization": "Bearer %(key)s", "Content-Type": "application/json"},
  body: JSON.stringify({query: "%(query)s"}),
}).then(async r => {
  const answer = await r.json();
  document.getElementById("result").textContent =
    "answer " + JSON.stringify(answer) + " request id " + r.headers.get("X-Request-Id");
}, e => { document.getElementById("result").textContent = "refused " + e; });
</script>
"""


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service over TCP with ``make run``'s ``CORS_ORIGINS=http://localhost:*``."""
    running = Service(
        database_url, workers=1, log_path=tmp_path / "service.log", log_level="WARNING",
        env={"CORS_ORIGINS": "http://localhost:*"},
    )  # fmt: skip
    running.start()
    yield running
    running.stop()


@pytest.fixture
def till_app(service: Service) -> Iterator[tuple[int, dict[str, str]]]:
    """A second local server: a web till's page that calls the API with its key.
    Yields its port and the page's settings, for the test to fill in."""
    settings: dict[str, str] = {}

    class Till(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (PAGE % settings).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Till)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], settings
    server.shutdown()
    server.server_close()


async def test_a_page_on_another_origin_calls_the_api_only_when_listed(
    service: Service, till_app: tuple[int, dict[str, str]], owner_db: AsyncEngine,
    tmp_path: Path,
) -> None:  # fmt: skip
    chromium = chromium_or_skip()
    business = await admin.create_business(owner_db, name="Web Till Shop")
    key = (await admin.create_key(owner_db, business_id=business, role=Role.VIEWER)).token
    port, page_settings = till_app
    page_settings.update(api=f"http://{service.host}:{service.port}/graphql", key=key, query=VIEWER)

    async with open_page(chromium, tmp_path / "profile") as page:
        # http://localhost:<port> is listed (http://localhost:*); the API is on 127.0.0.1.
        await page.goto(f"http://localhost:{port}/")
        shown = await page.wait_for(
            "(t => t !== 'waiting' && t)(document.getElementById('result').textContent)"
        )
        assert shown.startswith("answer "), shown
        assert '{"data":{"viewer":{"business":{"name":"Web Till Shop"}}}}' in shown
        assert "request id null" not in shown  # X-Request-Id is exposed to the page

        # The same page from http://127.0.0.1:<port>, not listed: the browser refuses.
        await page.goto(f"http://127.0.0.1:{port}/")
        shown = await page.wait_for(
            "(t => t !== 'waiting' && t)(document.getElementById('result').textContent)"
        )
        assert shown == "refused TypeError: Failed to fetch", shown
