"""The workloads, as data: one constant GraphQL text, a variables template, how to read answers.

A variables template is plain JSON in which ``<<name>>`` stands for a value drawn
per request: ``<<key>>`` a fresh idempotency key, any other name a random member
of that pool (``customer``, ``product``, ``hot_product``, ``amount``; see
``bench/seed.py``).  Both load generators expand the same template, so adding a
workload is one entry below.

``ok`` lists the ``__typename`` values that count as success (empty: any answer
without GraphQL errors); ``refusals`` the typed business refusals, counted apart
and never as errors.  Any other answer is an error.  ``dataset`` says which
seeded business the workload runs against: ``shop`` (1,000 products),
``catalogue`` (100,000 products and 100,000 customers, ``bench/catalogue.py``) or
``ledger`` (the 100,000-customer, 2,000,000-entry history of issue 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from app.domain.identity import Role


@dataclass(frozen=True)
class Target:
    """What the issue asks of a workload on this machine."""

    min_ratio: float | None = None
    """Requests per second as a fraction of pgbench's tps in the same run."""
    p95_ms: float | None = None
    p99_ms: float | None = None

    def describe(self) -> str:
        parts = []
        if self.min_ratio is not None:
            parts.append(f">={self.min_ratio:.2f}x")
        if self.p95_ms is not None:
            parts.append(f"p95<{self.p95_ms:g}")
        if self.p99_ms is not None:
            parts.append(f"p99<{self.p99_ms:g}")
        return " ".join([*parts, "0 err"])


@dataclass(frozen=True)
class Workload:
    name: str
    operation: tuple[Literal["query", "mutation"], str]
    """The root field that must exist in the schema, else the workload is skipped."""
    query: str
    variables: dict[str, Any]
    dataset: Literal["shop", "catalogue", "ledger"]
    ok: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    writes: bool = False
    """Check the ledger and stock invariants afterwards."""
    role: Role = Role.CLERK
    target: Target | None = None
    issue: int | None = None
    notes: str = field(default="", compare=False)


PURCHASE = """
mutation Purchase($input: PurchaseInput!) {
  purchase(input: $input) {
    __typename
    ... on PurchaseCompleted { order { id } }
  }
}
"""

PAYMENT = """
mutation RecordPayment($input: RecordPaymentInput!) {
  recordPayment(input: $input) {
    __typename
    ... on PaymentRecorded { payment { id } }
  }
}
"""

CUSTOMERS_PAGE = """
query CustomersPage($first: Int!) {
  customers(first: $first) {
    edges {
      cursor
      node {
        id
        name
        balance
        availableCredit
        overdue { isOverdue overdueAmount oldestUnpaidAt daysOverdue }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

OVERDUE_LIST = """
query OverdueList($first: Int!) {
  overdueCustomers(first: $first) {
    edges {
      cursor
      node {
        customer { id name }
        balance
        overdueAmount
        oldestUnpaidAt
        daysOverdue
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

RESTOCK = """
mutation Restock($input: RestockProductInput!) {
  restockProduct(input: $input) {
    __typename
    ... on ProductRestocked { product { id stock } }
  }
}
"""

CUSTOMER_LOOKUP = """
query CustomerLookup($id: ID!) {
  customer(id: $id) { id name creditLimit balance availableCredit }
}
"""

PRODUCT_SEARCH = """
query ProductSearch($search: String!) {
  products(first: 20, search: $search) {
    edges { cursor node { id name sku barcode price stock status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CUSTOMER_SEARCH = """
query CustomerSearch($search: String!) {
  customers(first: 20, search: $search) {
    edges { cursor node { id name phone balance } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

BARCODE_LOOKUP = """
query BarcodeLookup($barcode: String!) {
  productByBarcode(barcode: $barcode) { id name price stock status taxRate }
}
"""

PURCHASE_REFUSALS = ("InsufficientStock", "CreditLimitExceeded", "ProductNotActive")

SALE = """
mutation Sale($input: PurchaseInput!) {
  purchase(input: $input) {
    __typename
    ... on PurchaseCompleted { order { id number total paymentStatus } }
  }
}
"""

DASHBOARD = """
query Dashboard {
  dashboard {
    date
    sales { totalAmount billsCount paidInFull partlyPaid onCredit }
    collections { total byMethod { method amount } }
    creditOutstanding { totalAmount customersCount }
    overdue { totalAmount customersCount }
    inventory { activeProducts lowStockCount expiringCount }
    customers { total newThisWeek }
    alerts { lowStock(first: 5) { productId name stock } }
  }
}
"""

SALES_SUMMARY = """
query SalesSummary($from: Date!, $to: Date!) {
  salesSummary(from: $from, to: $to, groupBy: DAY) {
    start billsCount gross discount tax total returns net paid credit
  }
}
"""

_TODAY = datetime.now(UTC).date()
MONTH = {"from": (_TODAY - timedelta(days=30)).isoformat(), "to": _TODAY.isoformat()}
"""The last 31 days of the seeded history (bench/history.py spreads it over 180)."""

WORKLOADS: tuple[Workload, ...] = (
    Workload(
        name="purchase-uniform",
        operation=("mutation", "purchase"),
        query=PURCHASE,
        variables={
            "input": {
                "customerId": "<<customer>>",
                "items": [
                    {"productId": "<<product>>", "quantity": 1},
                    {"productId": "<<product>>", "quantity": 1},
                ],
                "idempotencyKey": "<<key>>",
            }
        },
        dataset="shop",
        ok=("PurchaseCompleted",),
        refusals=PURCHASE_REFUSALS,
        writes=True,
        target=Target(min_ratio=0.20, p99_ms=50),
        issue=3,
    ),
    Workload(
        name="purchase-hot",
        operation=("mutation", "purchase"),
        query=PURCHASE,
        variables={
            "input": {
                "customerId": "<<customer>>",
                "items": [{"productId": "<<hot_product>>", "quantity": 1}],
                "idempotencyKey": "<<key>>",
            }
        },
        dataset="shop",
        ok=("PurchaseCompleted",),
        refusals=PURCHASE_REFUSALS,
        writes=True,
        target=Target(min_ratio=0.12, p99_ms=50),
        issue=3,
    ),
    Workload(
        name="sale-counter",
        operation=("mutation", "purchase"),
        query=SALE,
        variables={
            "input": {
                "items": [
                    {"productId": "<<counter_a>>", "quantity": 2, "discount": "10.00"},
                    {"productId": "<<counter_b>>", "quantity": 1},
                    {"productId": "<<counter_c>>", "quantity": 1},
                ],
                "discount": "5.00",
                "payments": [
                    {"amount": "<<counter_cash>>", "method": "CASH"},
                    {"amount": "<<counter_upi>>", "method": "UPI", "reference": "bench"},
                ],
                "idempotencyKey": "<<key>>",
            }
        },
        dataset="shop",
        ok=("PurchaseCompleted",),
        refusals=PURCHASE_REFUSALS,
        writes=True,
        issue=15,
        notes="walk-in, 3 lines of 120.00 at 5% tax, 10.00 off a line and 5.00 off the"
        " bill, paid in cash and UPI (bench/seed.py: COUNTER_*); each takes a bill number",
    ),
    Workload(
        name="payment",
        operation=("mutation", "recordPayment"),
        query=PAYMENT,
        variables={
            "input": {
                "customerId": "<<customer>>",
                "amount": "<<amount>>",
                "method": "CASH",
                "reference": "bench",
                "idempotencyKey": "<<key>>",
            }
        },
        dataset="shop",
        ok=("PaymentRecorded",),
        refusals=("PaymentExceedsBalance",),
        writes=True,
        target=Target(p99_ms=50),
        issue=3,
    ),
    Workload(
        name="customers-page",
        operation=("query", "customers"),
        query=CUSTOMERS_PAGE,
        variables={"first": 50},
        dataset="ledger",
        role=Role.VIEWER,
        target=Target(min_ratio=0.20),
        issue=4,
    ),
    Workload(
        name="overdue-list",
        operation=("query", "overdueCustomers"),
        query=OVERDUE_LIST,
        variables={"first": 50},
        dataset="ledger",
        role=Role.VIEWER,
        target=Target(p95_ms=100),
        issue=4,
    ),
    Workload(
        name="dashboard",
        operation=("query", "dashboard"),
        query=DASHBOARD,
        variables={},
        dataset="ledger",
        role=Role.VIEWER,
        target=Target(p95_ms=100),
        issue=19,
        notes="today's sales and collections from the summaries; owed, overdue, stock now",
    ),
    Workload(
        name="sales-summary",
        operation=("query", "salesSummary"),
        query=SALES_SUMMARY,
        variables=MONTH,
        dataset="ledger",
        role=Role.OWNER,
        target=Target(p95_ms=150),
        issue=19,
        notes="the last 31 days by day, from the 15-minute summaries",
    ),
    Workload(
        name="product-search",
        operation=("query", "products"),
        query=PRODUCT_SEARCH,
        variables={"search": "<<search_term>>"},
        dataset="catalogue",
        role=Role.VIEWER,
        target=Target(p95_ms=50),
        issue=18,
        notes="first page (20) of a search for 3-6 characters of a seeded name, SKU or"
        " barcode among 100,000 products",
    ),
    Workload(
        name="customer-search",
        operation=("query", "customers"),
        query=CUSTOMER_SEARCH,
        variables={"search": "<<customer_term>>"},
        dataset="catalogue",
        role=Role.VIEWER,
        target=Target(p95_ms=50),
        issue=18,
        notes="first page (20) of a search for 3-6 characters of a seeded name or phone"
        " among 100,000 customers",
    ),
    Workload(
        name="barcode-lookup",
        operation=("query", "productByBarcode"),
        query=BARCODE_LOOKUP,
        variables={"barcode": "<<barcode>>"},
        dataset="catalogue",
        role=Role.CLERK,
        issue=18,
        notes="a scan at the counter: one of 100,000 products by its barcode",
    ),
    # Stand-ins from the foundation: they exercise the same path (locked row,
    # stock movement, idempotency record) and keep the harness honest end to end.
    Workload(
        name="restock",
        operation=("mutation", "restockProduct"),
        query=RESTOCK,
        variables={
            "input": {"productId": "<<product>>", "quantity": 1, "idempotencyKey": "<<key>>"}
        },
        dataset="shop",
        ok=("ProductRestocked",),
        writes=True,
    ),
    Workload(
        name="customer-lookup",
        operation=("query", "customer"),
        query=CUSTOMER_LOOKUP,
        variables={"id": "<<customer>>"},
        dataset="shop",
        role=Role.VIEWER,
    ),
)

BY_NAME = {workload.name: workload for workload in WORKLOADS}


def select(names: str | None) -> list[Workload]:
    """The workloads named in a comma-separated list (all of them when empty)."""
    if not names or not names.strip():
        return list(WORKLOADS)
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BY_NAME]
    if unknown:
        known = ", ".join(BY_NAME)
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; known: {known}")
    return [BY_NAME[name] for name in chosen]
