"""Report files over HTTP, with the same authentication as ``/graphql``.

``GET /reports/{sales|inventory|credit|tax}.{csv|xlsx|pdf}?from=&to=`` and
``GET /customers/{id}/statement.{csv|pdf}?from=&to=``, for owners (the role table).
The caller is the ``Authorization: Bearer`` API key or access token, checked by the
same authenticator; the figures come from the same services as the GraphQL fields.
A refusal is JSON like every other refusal of the service: 400 ``BAD_USER_INPUT``
naming the argument, 401, 403, 404, 503.  CSV is streamed; XLSX and PDF are built
in a worker thread once the rows are read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.domain.identity import Identity, Role
from app.domain.ids import parse_id
from app.domain.money import from_minor
from app.domain.overdue import AGING_BUCKETS
from app.domain.percent import from_hundredths
from app.domain.reports import GroupBy, Period, PeriodError, today
from app.graphql.http import error_response
from app.graphql.permissions import IsAuthenticated
from app.reports.csv_file import csv_chunks
from app.reports.tables import Cell, Chart, Column, Kind, Report, rows_of
from app.services import analytics, overdue
from app.services.customers import get_customer
from app.services.inventory_report import product_pages
from app.services.retry import TryAgain
from app.services.sales_summary import sales_summary, store_time_zone
from app.services.statement import customer_statement
from app.services.unit_of_work import UnitsOfWork

REPORTS = ("sales", "inventory", "credit", "tax")
FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": "application/pdf"}  # fmt: skip
STATEMENT_FORMATS = ("csv", "pdf")
NO_STORE = {"Cache-Control": "private, no-store"}
EVERYTHING = 1_000_000
"""No ranking limit: every product sold in the period."""


class BadFileRequestError(Exception):
    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


def _bad(argument: str, message: str) -> JSONResponse:
    extensions = {"code": "BAD_USER_INPUT", "argument": argument}
    body = {"errors": [{"message": f"{argument}: {message}", "extensions": extensions}]}
    return JSONResponse(body, 400)


def _date(request: Request, name: str, default: date | None = None) -> date:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise BadFileRequestError(name, "is required (YYYY-MM-DD)")
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadFileRequestError(name, "must be a date that exists, YYYY-MM-DD") from None


def _split(file: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    name, dot, extension = file.rpartition(".")
    if not dot:
        raise BadFileRequestError("format", "the file needs an extension: " + ", ".join(allowed))
    if extension not in allowed:
        raise BadFileRequestError("format", "must be one of " + ", ".join(allowed))
    return name, extension


async def _caller(request: Request) -> Identity | Response:
    identity = await request.app.state.authenticator.authenticate(
        request.headers.get("authorization")
    )
    if identity is None:
        return error_response(401, IsAuthenticated.message, code="UNAUTHENTICATED")
    if identity.role is not Role.OWNER:
        return error_response(
            403, "Only an owner may download reports and statements.", code="FORBIDDEN"
        )
    return identity  # type: ignore[no-any-return]


Handler = Callable[[Request, Identity, UnitsOfWork], Awaitable[Response]]


def _guarded(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            caller = await _caller(request)
            if isinstance(caller, Response):
                return caller
            state = request.app.state
            units = UnitsOfWork(state.engine, state.driver_pool, caller.business.id)
            return await handler(request, caller, units)
        except BadFileRequestError as exc:
            return _bad(exc.argument, str(exc).partition(": ")[2])
        except TryAgain as exc:
            return error_response(503, str(exc))

    return endpoint


def _period(request: Request, zone: str, *, start_optional: bool = False) -> Period:
    end = _date(request, "to")
    start = _date(request, "from", end if start_optional else None)
    try:
        return Period.of(start, end)
    except PeriodError as exc:
        raise BadFileRequestError(exc.argument, exc.message) from None


async def _send(report: Report, extension: str, file_name: str) -> Response:
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{file_name}"'}
    if extension == "csv":
        return StreamingResponse(csv_chunks(report), media_type=FORMATS["csv"], headers=headers)
    rows = [row async for row in report.rows]
    # Imported on first use: matplotlib, fpdf2 and XlsxWriter would add about a second
    # to every worker's start for files most requests never ask for.
    if extension == "xlsx":
        from app.reports.xlsx import xlsx_bytes as build  # noqa: PLC0415
    else:
        from app.reports.pdf import pdf_bytes as build  # noqa: PLC0415
    body = await asyncio.to_thread(build, report.title, report.subtitle, report, rows)
    return Response(body, media_type=FORMATS[extension], headers=headers)


def _money_columns(*titles: str) -> list[Column]:
    return [Column(title, Kind.MONEY) for title in titles]


async def _sales(request: Request, who: Identity, units: UnitsOfWork, zone: str) -> Report:
    period = _period(request, zone)
    raw = request.query_params.get("groupBy", "day").lower()
    try:
        group_by = GroupBy(raw)
    except ValueError:
        raise BadFileRequestError("groupBy", "must be day, week or month") from None
    buckets = await sales_summary(units, period=period, group_by=group_by, time_zone=zone)
    mu = who.business.minor_units

    def m(minor: int) -> Cell:
        return from_minor(minor, mu)

    rows: list[list[Cell]] = [
        [b.start, b.bills, m(b.gross), m(b.discount), m(b.tax), m(b.total), m(b.corrections),
         m(b.net), m(b.paid), m(b.credit)]
        for b in buckets
    ]  # fmt: skip
    totals = [sum(b.total for b in buckets), sum(b.net for b in buckets)]
    return Report(
        name="sales", title=f"{who.business.name}: sales", subtitle=_subtitle(period, zone, who),
        columns=[Column(group_by.name.title(), Kind.DATE), Column("Bills", Kind.INT),
                 *_money_columns("Gross", "Discount", "Tax", "Total", "Returns", "Net",
                                 "Paid", "Credit")],
        rows=rows_of(rows), minor_units=mu,
        charts=[Chart(f"Net sales per {group_by.value}", [b.start.isoformat() for b in buckets],
                      [from_minor(b.net, mu) for b in buckets])],
        footer=[("Total", str(m(totals[0]))), ("Net", str(m(totals[1])))],
    )  # fmt: skip


async def _inventory(request: Request, who: Identity, units: UnitsOfWork, zone: str) -> Report:
    period = _period(request, zone)
    sold = await analytics.top_products(
        units, period=period, time_zone=zone, by=analytics.TopBy.REVENUE, limit=EVERYTHING
    )
    by_product = {row.product_id: row for row in sold}
    mu = who.business.minor_units

    async def rows() -> AsyncIterator[list[Cell]]:
        async for page in product_pages(units):
            for p in page:
                moved = by_product.get(p.id)
                yield [p.sku, p.name, from_minor(p.price, mu), p.stock, p.threshold,
                       "yes" if p.low else "no",
                       moved.quantity if moved else 0,
                       from_minor(moved.revenue if moved else 0, mu)]  # fmt: skip

    return Report(
        name="inventory", title=f"{who.business.name}: inventory",
        subtitle=_subtitle(period, zone, who) + "; stock as it is now",
        columns=[Column("SKU", Kind.TEXT), Column("Product", Kind.TEXT),
                 Column("Price", Kind.MONEY), Column("Stock", Kind.INT),
                 Column("Low stock at", Kind.INT), Column("Low", Kind.TEXT),
                 Column("Sold", Kind.INT), Column("Revenue", Kind.MONEY)],
        rows=rows(), minor_units=mu,
    )  # fmt: skip


async def _credit(request: Request, who: Identity, units: UnitsOfWork, zone: str) -> Report:
    period = _period(request, zone, start_optional=True)
    _, end = period.instants(zone)
    as_of: datetime | None = None if period.end >= today(zone) else end
    aging = await overdue.aging_report(units, as_of=as_of)
    mu = who.business.minor_units
    local = ZoneInfo(zone)

    async def rows() -> AsyncIterator[list[Cell]]:
        after: tuple[datetime, int] | None = None
        while True:
            page = await overdue.overdue_customers(
                units, as_of=as_of, min_days=0, limit=500, after=after
            )
            for row in page:
                status = row.status
                yield [row.customer.name, row.customer.phone, from_minor(status.balance, mu),
                       from_minor(status.overdue_amount, mu), status.days_overdue,
                       status.oldest_unpaid_at.astimezone(local)
                       if status.oldest_unpaid_at else None]  # fmt: skip
            if len(page) < 500:
                return
            after = (page[-1].due_at, page[-1].customer.id)

    when = "now" if as_of is None else f"the end of {period.end.isoformat()}"
    return Report(
        name="credit", title=f"{who.business.name}: credit and overdue",
        subtitle=f"As of {when} ({zone}), {who.business.currency}",
        columns=[Column("Customer", Kind.TEXT), Column("Phone", Kind.TEXT),
                 *_money_columns("Balance", "Overdue"), Column("Days overdue", Kind.INT),
                 Column("Oldest unpaid", Kind.INSTANT)],
        rows=rows(), minor_units=mu,
        charts=[Chart("Aging: what is owed by days past due",
                      [bucket.label for bucket in AGING_BUCKETS],
                      [from_minor(amount, mu) for amount in aging.amounts])],
        footer=[("Owed", str(from_minor(aging.total, mu))),
                ("Customers owing", str(aging.customers_owing)),
                *((f"Aging {bucket.label}", str(from_minor(amount, mu)))
                  for bucket, amount in zip(AGING_BUCKETS, aging.amounts, strict=True))],
    )  # fmt: skip


async def _tax(request: Request, who: Identity, units: UnitsOfWork, zone: str) -> Report:
    period = _period(request, zone)
    rates = await analytics.tax_summary(units, period=period, time_zone=zone)
    mu = who.business.minor_units
    rows: list[list[Cell]] = [
        [from_hundredths(int(r.rate * 100)), from_minor(r.taxable, mu), from_minor(r.tax, mu),
         from_minor(r.returned, mu)]
        for r in rates
    ]  # fmt: skip
    return Report(
        name="tax", title=f"{who.business.name}: tax by rate",
        subtitle=_subtitle(period, zone, who),
        columns=[Column("Rate %", Kind.PERCENT),
                 *_money_columns("Taxable", "Tax", "Returned (tax included)")],
        rows=rows_of(rows), minor_units=mu,
        footer=[("Tax", str(from_minor(sum(r.tax for r in rates), mu)))],
    )  # fmt: skip


def _subtitle(period: Period, zone: str, who: Identity) -> str:
    return (
        f"{period.start.isoformat()} to {period.end.isoformat()} ({zone}), {who.business.currency}"
    )


BUILDERS: dict[str, Callable[[Request, Identity, UnitsOfWork, str], Awaitable[Report]]] = {
    "sales": _sales, "inventory": _inventory, "credit": _credit, "tax": _tax,
}  # fmt: skip


async def _report(request: Request, who: Identity, units: UnitsOfWork) -> Response:
    name, extension = _split(request.path_params["file"], tuple(FORMATS))
    if name not in BUILDERS:
        raise BadFileRequestError("report", "must be one of " + ", ".join(REPORTS))
    zone = await store_time_zone(units)
    report = await BUILDERS[name](request, who, units, zone)
    return await _send(report, extension, f"{name}{_dates(request)}.{extension}")


def _dates(request: Request) -> str:
    return "".join(
        f"-{request.query_params[k]}" for k in ("from", "to") if k in request.query_params
    )


async def _statement(request: Request, who: Identity, units: UnitsOfWork) -> Response:
    name, extension = _split(request.path_params["file"], STATEMENT_FORMATS)
    if name != "statement":
        raise BadFileRequestError("file", "must be statement.csv or statement.pdf")
    customer_id = parse_id(request.path_params["customer_id"])
    if customer_id is None:
        raise BadFileRequestError("id", "is not a customer id")
    zone = await store_time_zone(units)
    period = _period(request, zone)
    async with units() as uow:
        customer = await get_customer(uow, customer_id)
    if customer is None:
        return error_response(404, f"There is no customer {customer_id}.", code="NOT_FOUND")
    found = await customer_statement(units, customer_id=customer_id, period=period, time_zone=zone)
    mu, local = who.business.minor_units, ZoneInfo(zone)
    rows: list[list[Cell]] = [
        [e.at.astimezone(local), e.kind.value, e.bill_number,
         e.method.value if e.method else None, e.reference, from_minor(e.amount, mu),
         from_minor(e.balance, mu)]
        for e in found.entries
    ]  # fmt: skip
    report = Report(
        name="statement", title=f"{who.business.name}: statement for {customer.name}",
        subtitle=_subtitle(period, zone, who),
        columns=[Column("Date", Kind.INSTANT), Column("Entry", Kind.TEXT),
                 Column("Bill", Kind.TEXT), Column("Method", Kind.TEXT),
                 Column("Reference", Kind.TEXT), *_money_columns("Amount", "Balance")],
        rows=rows_of([[None, "OPENING", None, None, None, None,
                       from_minor(found.opening_balance, mu)], *rows,
                      [None, "CLOSING", None, None, None, None,
                       from_minor(found.closing_balance, mu)]]),
        minor_units=mu,
        footer=[("Opening balance", str(from_minor(found.opening_balance, mu))),
                ("Debits", str(from_minor(found.debits, mu))),
                ("Credits", str(from_minor(found.credits, mu))),
                ("Closing balance", str(from_minor(found.closing_balance, mu)))],
    )  # fmt: skip
    return await _send(report, extension, f"statement-{customer_id}{_dates(request)}.{extension}")


report_file = _guarded(_report)
statement_file = _guarded(_statement)
