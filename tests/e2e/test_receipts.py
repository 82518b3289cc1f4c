"""Receipts (issue 15, point 4): ``Order.receiptUrl`` and ``GET /receipts/{orderId}``.

The link opens the receipt without an API key, for its one order only; altered or
forged it answers 403, expired 410.  Expiry is tested with tokens signed in the
past with the service's own key (itsdangerous's timestamp), as the service would
have signed them then.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.domain.identity import Role
from app.main import create_app
from app.receipts.links import DAY_SECONDS, SALT
from bench.service import Service
from tests.conftest import Tenant, new_tenant
from tests.helpers import make_customer, make_product
from tests.purchases import new_key

SALE = """
mutation($input: PurchaseInput!) {
  purchase(input: $input) {
    __typename
    ... on PurchaseCompleted { order { id number createdAt receiptUrl } }
  }
}
"""
SETTINGS = """
mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { __typename } }
"""
RECEIPT_URL = "query($id: ID!) { order(id: $id) { receiptUrl } }"


class _Text(HTMLParser):
    """The text a page shows, whitespace collapsed (styles and the title left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._hidden += tag in ("style", "title")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("style", "title")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def shown(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


async def sell(tenant: Tenant, items: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    request = {"items": items, "idempotencyKey": new_key(), **more}
    data = await tenant.data(SALE, {"input": request}, role=Role.CLERK)
    assert data["purchase"]["__typename"] == "PurchaseCompleted", data
    return data["purchase"]["order"]  # type: ignore[no-any-return]


async def shop(tenant: Tenant, **settings: Any) -> tuple[str, str]:
    """A store in India taxing 5% by default; rice at 10.00, oil at 5.00 taxed 12%."""
    await tenant.data(
        SETTINGS,
        {"input": {"name": "Kirana Corner", "timeZone": "Asia/Kolkata", "defaultTaxRate": "5",
                   **settings}},
    )  # fmt: skip
    rice = await make_product(tenant, name="Rice", price="10.00", stock=50)
    oil = await make_product(tenant, name="Oil", price="5.00", stock=50, taxRate="12")
    return rice, oil


def path_of(url: str) -> str:
    """The link's path and query, to ask the in-process service for it."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


async def open_link(http: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    """GET the link as a customer would: no API key."""
    return await http.get(path_of(url), headers=headers)


async def test_a_receipt_shows_the_whole_sale(tenant: Tenant, http: httpx.AsyncClient) -> None:
    rice, oil = await shop(
        tenant, phone="+91 98450 00000", address="12 MG Road\nBengaluru",
        receiptHeader="GSTIN 29ABCDE1234F1Z5", receiptFooter="Thank you! Visit again.",
    )  # fmt: skip
    asha = await make_customer(tenant, name="Asha", credit_limit="100.00")
    await sell(tenant, [{"productId": rice, "quantity": 2}], customerId=asha)  # 21.00 on credit
    order = await sell(
        tenant,
        [{"productId": rice, "quantity": 3, "discount": "2.00"}, {"productId": oil, "quantity": 1}],
        customerId=asha, discount="3.00", note="Deliver by 6 pm",
        payments=[{"amount": "10.00", "method": "CASH"},
                  {"amount": "5.00", "method": "UPI", "reference": "UPI-981"}],
    )  # fmt: skip
    await sell(tenant, [{"productId": rice, "quantity": 1}], customerId=asha)  # later: 10.50 more
    url = order["receiptUrl"]
    assert url.startswith(f"http://test/receipts/{order['id']}?token=")

    answer = await open_link(http, url)

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["cache-control"] == "private, no-store"
    page = shown(answer.text)
    sold_at = datetime.fromisoformat(order["createdAt"]).astimezone(ZoneInfo("Asia/Kolkata"))
    for expected in (
        "Kirana Corner", "12 MG Road Bengaluru", "Phone +91 98450 00000",
        "GSTIN 29ABCDE1234F1Z5",
        f"Bill {order['number']}", f"Date {sold_at:%Y-%m-%d %H:%M} IST", "Customer Asha",
        "Rice 3 x 10.00 30.00 Discount -2.00 Tax 5% 1.27",
        "Oil 1 x 5.00 5.00 Tax 12% 0.55",
        "Subtotal 35.00", "Discounts -5.00", "of which bill discount -3.00", "Tax 1.82",
        "Total INR 31.82", "Paid by Cash 10.00", "Paid by UPI (UPI-981) 5.00",
        "On credit 16.82",
        # 21.00 owed before, 16.82 more: the balance just after this sale, not today's.
        "Balance after this bill INR 37.82",
        "Note: Deliver by 6 pm", "Thank you! Visit again.",
    ):  # fmt: skip
        assert expected in page, f"{expected!r} not in {page!r}"
    assert "width: 72mm" in answer.text

    a4 = await http.get(f"{path_of(url)}&paper=a4")
    assert a4.status_code == 200
    assert "size: A4" in a4.text
    assert "Item Qty Price Discount Tax Amount Rice 3 10.00 2.00 5% 1.27 28.00" in shown(a4.text)
    assert "Balance after this bill INR 37.82" in shown(a4.text)
    odd = await http.get(f"{path_of(url)}&paper=letter")
    assert odd.status_code == 400
    assert odd.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_walk_in_receipt_shows_no_customer_no_credit_and_no_balance(
    tenant: Tenant, http: httpx.AsyncClient
) -> None:
    rice, _ = await shop(tenant)
    order = await sell(
        tenant, [{"productId": rice, "quantity": 1}],
        payments=[{"amount": "10.50", "method": "CARD", "reference": "AUTH 1234"}],
    )  # fmt: skip

    answer = await open_link(http, order["receiptUrl"])

    assert answer.status_code == 200, answer.text
    page = shown(answer.text)
    assert "Total INR 10.50" in page
    assert "Paid by Card (AUTH 1234) 10.50" in page
    for absent in ("Customer", "On credit", "Balance"):
        assert absent not in page


async def test_the_link_is_the_same_through_either_read_and_works_for_any_role(
    tenant: Tenant, http: httpx.AsyncClient
) -> None:
    rice, _ = await shop(tenant)
    order = await sell(tenant, [{"productId": rice, "quantity": 1}],
                       payments=[{"amount": "10.50", "method": "CASH"}])  # fmt: skip
    data = await tenant.data(RECEIPT_URL, {"id": order["id"]}, role=Role.VIEWER)
    url = data["order"]["receiptUrl"]
    assert path_of(url).startswith(f"/receipts/{order['id']}?token=")
    assert (await open_link(http, url)).status_code == 200


def _forbidden(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_link_opens_its_own_order_and_no_other(
    tenant: Tenant, other_tenant: Tenant, http: httpx.AsyncClient
) -> None:
    rice, _ = await shop(tenant)
    mine = await sell(tenant, [{"productId": rice, "quantity": 1}],
                      payments=[{"amount": "10.50", "method": "CASH"}])  # fmt: skip
    second = await sell(tenant, [{"productId": rice, "quantity": 2}],
                        payments=[{"amount": "21.00", "method": "CASH"}])  # fmt: skip
    their_rice, _ = await shop(other_tenant)
    theirs = await sell(other_tenant, [{"productId": their_rice, "quantity": 1}],
                        payments=[{"amount": "10.50", "method": "CASH"}])  # fmt: skip
    token = token_of(mine["receiptUrl"])
    payload, timestamp, signature = token.split(".")

    # My token on another order's path: mine, or another tenant's.
    _forbidden(await http.get(f"/receipts/{second['id']}", params={"token": token}))
    _forbidden(await http.get(f"/receipts/{theirs['id']}", params={"token": token}))
    # Their payload (business and order) with my signature.
    their_payload = token_of(theirs["receiptUrl"]).split(".")[0]
    forged = f"{their_payload}.{timestamp}.{signature}"
    _forbidden(await http.get(f"/receipts/{theirs['id']}", params={"token": forged}))
    # My token, one character of its signature or its time changed: the first, whose six
    # bits all count (a last base64 digit may carry bits that decode to nothing).
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    _forbidden(await http.get(f"/receipts/{mine['id']}", params={"token": f"{payload}.{timestamp}.{flipped}"}))  # fmt: skip  # noqa: E501
    later = ("A" if timestamp[0] != "A" else "B") + timestamp[1:]
    _forbidden(await http.get(f"/receipts/{mine['id']}", params={"token": f"{payload}.{later}.{signature}"}))  # fmt: skip  # noqa: E501
    # No token, nonsense, an id that cannot be an order.
    _forbidden(await http.get(f"/receipts/{mine['id']}"))
    _forbidden(await http.get(f"/receipts/{mine['id']}", params={"token": "x.y.z"}))
    _forbidden(await http.get("/receipts/abc", params={"token": token}))
    # A browser gets a short page instead of JSON.
    page = await http.get(
        f"/receipts/{second['id']}", params={"token": token},
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )  # fmt: skip
    assert page.status_code == 403
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "This link does not open this receipt." in shown(page.text)
    # And the genuine link still works.
    assert (await open_link(http, mine["receiptUrl"])).status_code == 200


@pytest.mark.isolation
async def test_a_link_signed_for_one_business_shows_no_order_of_another(
    tenant: Tenant, other_tenant: Tenant, http: httpx.AsyncClient, owner_db: AsyncEngine
) -> None:
    """Were a genuine token to name another tenant's order, the read, bound to the token's
    business, would find nothing: directly, through PgBouncer, and without RLS."""
    their_rice, _ = await shop(other_tenant)
    theirs = await sell(other_tenant, [{"productId": their_rice, "quantity": 1}],
                        payments=[{"amount": "10.50", "method": "CASH"}])  # fmt: skip
    token = await _signed_days_ago(owner_db, 0, [tenant.id, int(theirs["id"])])

    answer = await http.get(f"/receipts/{theirs['id']}", params={"token": token})

    assert answer.status_code == 404, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await open_link(http, theirs["receiptUrl"])).status_code == 200


async def _signed_days_ago(owner_db: AsyncEngine, days: float, payload: list[int]) -> str:
    """A token the service would have signed ``days`` ago, with its key from the database."""
    async with owner_db.connect() as connection:
        secret = (
            await connection.execute(
                text("SELECT secret FROM service_secrets WHERE name = 'receipt_links'")
            )
        ).scalar_one()

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - days * DAY_SECONDS)

    serializer = URLSafeTimedSerializer(
        secret, salt=SALT, signer=Then, signer_kwargs={"digest_method": hashlib.sha256}
    )
    return serializer.dumps(payload)


@pytest.fixture
async def week_long_links(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The service with ``RECEIPT_LINK_DAYS=7``."""
    app = create_app(replace(settings, receipt_link_days=7))
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_a_link_works_for_30_days_then_answers_410(
    tenant: Tenant, http: httpx.AsyncClient, owner_db: AsyncEngine,
    week_long_links: httpx.AsyncClient,
) -> None:  # fmt: skip
    rice, _ = await shop(tenant)
    order = await sell(tenant, [{"productId": rice, "quantity": 1}],
                       payments=[{"amount": "10.50", "method": "CASH"}])  # fmt: skip
    path = f"/receipts/{order['id']}"
    payload = [tenant.id, int(order["id"])]

    assert (await open_link(http, order["receiptUrl"])).status_code == 200
    recent = await _signed_days_ago(owner_db, 29.9, payload)
    assert (await http.get(path, params={"token": recent})).status_code == 200
    old = await _signed_days_ago(owner_db, 30.1, payload)
    expired = await http.get(path, params={"token": old})
    assert expired.status_code == 410, expired.text
    assert expired.json()["errors"][0]["extensions"]["code"] == "LINK_EXPIRED"
    # Expired and altered: the signature is checked first.
    altered = old[:-5] + ("A" if old[-5] != "A" else "B") + old[-4:]  # a whole base64 digit
    _forbidden(await http.get(path, params={"token": altered}))
    # RECEIPT_LINK_DAYS=7: a week and a day is too old, six days are not.
    eight = await _signed_days_ago(owner_db, 8, payload)
    assert (await week_long_links.get(path, params={"token": eight})).status_code == 410
    six = await _signed_days_ago(owner_db, 6, payload)
    assert (await week_long_links.get(path, params={"token": six})).status_code == 200


async def test_user_input_on_the_receipt_is_escaped(
    tenant: Tenant, http: httpx.AsyncClient
) -> None:
    rice, _ = await shop(
        tenant, name="<script>alert('shop')</script>", receiptFooter="<b>bold</b> & co"
    )
    order = await sell(
        tenant, [{"productId": rice, "quantity": 1}], note='<img src=x onerror="alert(1)">',
        payments=[{"amount": "10.50", "method": "UPI", "reference": "</td><script>x()</script>"}],
    )  # fmt: skip

    answer = await open_link(http, order["receiptUrl"])

    assert answer.status_code == 200
    assert "<script" not in answer.text
    assert "<img" not in answer.text
    assert "<b>" not in answer.text
    assert "&lt;script&gt;alert(&#39;shop&#39;)&lt;/script&gt;" in answer.text
    page = shown(answer.text)
    assert "<script>alert('shop')</script>" in page
    assert "<b>bold</b> & co" in page
    assert "(</td><script>x()</script>)" in page


@pytest.fixture
async def second_instance(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another instance of the service, with its own start-up: as another worker or machine."""
    app = create_app(replace(settings, trust_forwarded_headers=True))
    async with app.starlette.router.lifespan_context(app.starlette):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as client:
            yield client


async def test_every_instance_signs_with_the_same_key_unless_given_its_own(
    tenant: Tenant, http: httpx.AsyncClient, second_instance: httpx.AsyncClient,
    settings: Settings,
) -> None:  # fmt: skip
    rice, _ = await shop(tenant)
    order = await sell(tenant, [{"productId": rice, "quantity": 1}],
                       payments=[{"amount": "10.50", "method": "CASH"}])  # fmt: skip
    assert (await open_link(second_instance, order["receiptUrl"])).status_code == 200

    own_key = create_app(replace(settings, secret_key="a key of this deployment's own"))
    async with own_key.starlette.router.lifespan_context(own_key.starlette):
        transport = httpx.ASGITransport(app=own_key)
        async with httpx.AsyncClient(transport=transport, base_url="http://own") as client:
            _forbidden(await open_link(client, order["receiptUrl"]))
            answer = await client.post(
                "/graphql", json={"query": RECEIPT_URL, "variables": {"id": order["id"]}},
                headers={"Authorization": f"Bearer {tenant.keys[Role.OWNER]}"},
            )  # fmt: skip
            url = answer.json()["data"]["order"]["receiptUrl"]
            assert url.startswith("http://own/receipts/")
            assert (await open_link(client, url)).status_code == 200
    _forbidden(await open_link(http, url))


async def test_forwarded_headers_make_the_link_only_when_trusted(
    tenant: Tenant, http: httpx.AsyncClient, second_instance: httpx.AsyncClient
) -> None:
    rice, _ = await shop(tenant)
    order = await sell(tenant, [{"productId": rice, "quantity": 1}],
                       payments=[{"amount": "10.50", "method": "CASH"}])  # fmt: skip
    request = {"query": RECEIPT_URL, "variables": {"id": order["id"]}}
    headers = {
        "Authorization": f"Bearer {tenant.keys[Role.VIEWER]}",
        "X-Forwarded-Proto": "https, http",
        "X-Forwarded-Host": "shop.example, internal:8000",
    }
    untrusted = (await http.post("/graphql", json=request, headers=headers)).json()
    assert untrusted["data"]["order"]["receiptUrl"].startswith("http://test/receipts/")
    trusted = (await second_instance.post("/graphql", json=request, headers=headers)).json()
    assert trusted["data"]["order"]["receiptUrl"].startswith(
        f"https://shop.example/receipts/{order['id']}?token="
    )


# --- In a browser ---------------------------------------------------------------------

MM = 72 / 25.4
"""PDF points per millimetre."""


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium (and poppler-utils to read what it prints), or skip; CI must have
    them (``make chromium``)."""
    found = shutil.which("chromium")
    if found is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("chromium or pdftotext is missing; .ci/run installs them (make chromium)")
        pytest.skip("chromium or pdftotext is missing (make chromium)")
    return found


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service in its own processes, two workers, over TCP."""
    running = Service(
        database_url, workers=2, log_path=tmp_path / "service.log", log_level="WARNING"
    )
    running.start()
    yield running
    running.stop()


async def run(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


async def render(chromium: str, profile: Path, url: str, *how: str) -> str:
    """What headless Chromium makes of ``url``: ``--dump-dom`` or ``--print-to-pdf=…``."""
    return await run(
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
        f"--user-data-dir={profile}", *how, url,
    )  # fmt: skip


def words_right_edge(bbox_html: str) -> float:
    """The right edge, in points, of the rightmost word of ``pdftotext -bbox`` output."""
    return max(float(x) for x in re.findall(r'<word [^>]*xMax="([^"]*)"', bbox_html))


async def test_chromium_renders_the_receipt_from_the_running_service(
    chromium: str, service: Service, owner_db: AsyncEngine, tmp_path: Path
) -> None:
    base = f"http://{service.host}:{service.port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        tenant = await new_tenant(owner_db, client)
        rice, oil = await shop(tenant, receiptFooter="Thank you!")
        asha = await make_customer(tenant, name="Asha", credit_limit="100.00")
        order = await sell(
            tenant,
            [{"productId": rice, "quantity": 3, "discount": "2.00"},
             {"productId": oil, "quantity": 1}],
            customerId=asha, discount="3.00",
            payments=[{"amount": "10.00", "method": "CASH"},
                      {"amount": "5.00", "method": "UPI", "reference": "UPI-981"}],
        )  # fmt: skip
    url = order["receiptUrl"]
    assert url.startswith(f"{base}/receipts/{order['id']}?token=")
    profile = tmp_path / "chromium"

    dom = shown(await render(chromium, profile, url, "--dump-dom"))
    for expected in ("Kirana Corner", f"Bill {order['number']}", "Customer Asha",
                     "Total INR 31.82", "On credit 16.82", "Balance after this bill INR 16.82",
                     "Thank you!"):  # fmt: skip
        assert expected in dom, f"{expected!r} not in {dom!r}"

    # Printed on 80 mm paper: the text, one column, nothing right of 76 mm.
    pdf = tmp_path / "receipt.pdf"
    await render(chromium, profile, url, f"--print-to-pdf={pdf}")
    printed = await run("pdftotext", "-layout", str(pdf), "-")
    lines = [" ".join(line.split()) for line in printed.splitlines()]
    for expected in ("Rice", "3 x 10.00 30.00", "Discount -2.00", "Tax 5% 1.27",
                     "Paid by Cash 10.00", "Paid by UPI (UPI-981) 5.00",
                     "Balance after this bill INR 16.82"):  # fmt: skip
        assert expected in lines, f"{expected!r} not a line of {printed}"
    assert "Print on A4" not in printed  # the paper switch is for the screen only
    assert words_right_edge(await run("pdftotext", "-bbox", str(pdf), "-")) < 76 * MM

    # Printed on A4: an A4 page, a table with a column per figure.
    a4 = tmp_path / "a4.pdf"
    await render(chromium, profile, f"{url}&paper=a4", f"--print-to-pdf={a4}")
    assert "(A4)" in await run("pdfinfo", str(a4))
    printed = " ".join((await run("pdftotext", "-layout", str(a4), "-")).split())
    assert "Item Qty Price Discount Tax Amount Rice 3 10.00 2.00 5% 1.27 28.00" in printed

    # An altered link: the browser is told so, in a page.
    altered = url[:-5] + ("A" if url[-5] != "A" else "B") + url[-4:]  # a whole base64 digit
    refused = shown(await render(chromium, profile, altered, "--dump-dom"))
    assert "This link does not open this receipt." in refused
