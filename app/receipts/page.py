"""``GET /receipts/{order_id}?token=…``: an order's receipt as a printable HTML page.

The token alone authorises the request (``app.receipts.links``), and the business it
was signed for is the tenant: the order is read under that business like any other
read (``UnitOfWork``), so a link can open no other tenant's order.

The page is laid out for an 80 mm thermal printer (``paper=80mm``, the default: one
narrow column, each line's figures under its name) or for A4 (``paper=a4``: a table),
by ``@page`` and print styles.  Jinja2 escapes every value (shop names, notes and
references are user input).  Money is in the store's currency with its decimals,
times in the store's time zone.  Refusals are JSON like the rest of the service, or a
short HTML page for a browser that asks for HTML.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from zoneinfo import ZoneInfo

import mimeparse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.domain.ids import parse_id
from app.domain.money import from_minor, minor_units_of
from app.domain.percent import from_hundredths
from app.domain.purchases import PaymentMethod
from app.graphql.http import error_response
from app.receipts.links import Expired, ReceiptLinks, Refused
from app.services import bills
from app.services.receipts import Receipt, get_receipt
from app.services.retry import TryAgain
from app.services.unit_of_work import UnitOfWork, UnitsOfWork

PAPERS = ("80mm", "a4")
NO_STORE = {"Cache-Control": "private, no-store"}
"""A receipt is one customer's business: no shared cache keeps it, no cache at all."""
METHODS = {
    PaymentMethod.CASH: "Cash", PaymentMethod.UPI: "UPI", PaymentMethod.CARD: "Card",
    PaymentMethod.BANK_TRANSFER: "Bank transfer", PaymentMethod.CHEQUE: "Cheque",
    PaymentMethod.OTHER: "Other",
}  # fmt: skip

templates = Environment(
    loader=PackageLoader("app.receipts"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

REFUSED = "This link does not open this receipt."
EXPIRED = "This receipt link has expired; ask the shop for a new one."
NOT_FOUND = "There is no such receipt."


async def receipt_page(request: Request) -> Response:
    paper = request.query_params.get("paper", PAPERS[0]).lower()
    if paper not in PAPERS:
        return _refusal(request, 400, "paper must be 80mm or a4.", "BAD_USER_INPUT")
    token = request.query_params.get("token", "")
    try:
        receipt = await _opened(request, token)
    except Refused:
        return _refusal(request, 403, REFUSED, "FORBIDDEN")
    except Expired:
        return _refusal(request, 410, EXPIRED, "LINK_EXPIRED")
    except TryAgain as exc:
        return error_response(503, str(exc))
    if receipt is None:
        return _refusal(request, 404, NOT_FOUND, "NOT_FOUND")
    html = templates.get_template("receipt.html").render(page(receipt, paper, token))
    return HTMLResponse(html, headers=NO_STORE)


async def _opened(request: Request, token: str) -> Receipt | None:
    """The receipt ``token`` opens, read as its business; ``Refused`` or ``Expired``."""
    links: ReceiptLinks = request.app.state.receipt_links
    order_id = parse_id(request.path_params["order_id"])
    if order_id is None:
        raise Refused
    business_id = await links.business_of(token, order_id)
    async with UnitOfWork(request.app.state.engine, business_id) as uow:
        receipt = await get_receipt(uow, order_id)
    if receipt is not None and receipt.order.number is None:
        units = UnitsOfWork(request.app.state.engine, request.app.state.driver_pool, business_id)
        number = await bills.number_sale(units, order_id)
        receipt = replace(receipt, order=replace(receipt.order, number=number))
    return receipt


def page(receipt: Receipt, paper: str, token: str) -> dict[str, object]:
    """What the template shows, every figure already formatted."""
    store, order = receipt.store, receipt.order
    minor_units = minor_units_of(store.currency)

    def money(minor: int) -> str:
        return f"{from_minor(minor, minor_units):,}"

    return {
        "paper": paper,
        "token": token,
        "other_paper": PAPERS[1 - PAPERS.index(paper)],
        "store": store,
        "order": order,
        "customer": receipt.customer,
        "sold_at": order.created_at.astimezone(ZoneInfo(store.time_zone)),
        "currency": store.currency,
        "money": money,
        "percent": _percent,
        "methods": METHODS,
        "balance_after": receipt.balance_after,
    }


def _percent(hundredths: int) -> str:
    rate: Decimal = from_hundredths(hundredths).normalize()
    return f"{rate:f}%"


def _refusal(request: Request, status: int, message: str, code: str) -> Response:
    if _wants_html(request.headers.get("accept")):
        html = templates.get_template("refused.html").render(status=status, message=message)
        return HTMLResponse(html, status, headers=NO_STORE)
    response = error_response(status, message, code=code)
    response.headers.update(NO_STORE)
    return response


def _wants_html(accept: str | None) -> bool:
    """A browser's ``Accept`` (HTML above the rest); API clients and ties get JSON."""
    if not accept:
        return False
    try:
        best: str = mimeparse.best_match(["text/html", "application/json"], accept.lower())
    except ValueError:  # a range that is not type/subtype
        return False
    return best == "text/html"
