"""The ``purchase`` database function computes exactly what ``app.domain.checkout`` says,
on random carts: line and bill discounts (valid or not), product and default tax rates,
prices with and without tax, walk-in and customer sales, payments of any size.

Each example runs the real function on the real database inside a transaction that
is rolled back, so examples never see each other's products or sales.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from app.domain.checkout import CartLine, Checkout, checkout
from app.domain.results import Invalid

PURCHASE = (
    "SELECT purchase(%(b)s, %(c)s, %(ids)s, %(quantities)s, %(discounts)s, %(bill)s,"
    " %(amounts)s, %(methods)s, %(refs)s, NULL, NULL, 'k', 'h', NULL)"
)


@pytest.fixture
def connection(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    plain = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(plain.render_as_string(hide_password=False)) as connection:
        yield connection


@pytest.fixture
def store(connection: psycopg.Connection[Any]) -> tuple[int, int]:
    """A business and a customer whose limit no cart reaches."""
    business = connection.execute(
        "SELECT nextval(pg_get_serial_sequence('businesses', 'id'))"
    ).fetchone()[0]  # type: ignore[index]
    connection.execute("SELECT set_config('app.business_id', %s, true)", [str(business)])
    connection.execute(
        "INSERT INTO businesses (id, name, currency, currency_minor_units)"
        " VALUES (%s, 'Checkout fuzz', 'INR', 2)",
        [business],
    )
    customer = connection.execute(
        "INSERT INTO customers (business_id, name, credit_limit)"
        " VALUES (%s, 'Big spender', 9000000000000000000) RETURNING id",
        [business],
    ).fetchone()[0]  # type: ignore[index]
    connection.commit()
    return business, customer


rates = st.integers(0, 10_000)
line = st.tuples(
    st.integers(0, 10**7),  # unit price
    st.integers(1, 1000),  # quantity
    st.one_of(st.integers(0, 100), st.integers(-5, 120)),  # discount, % of the line (or wrong)
    st.one_of(st.none(), rates),  # the product's own rate
)


@settings(
    max_examples=150, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(
    lines=st.lists(line, min_size=1, max_size=8),
    default_rate=rates, inclusive=st.booleans(), walk_in=st.booleans(),
    bill_cut=st.one_of(st.integers(0, 100), st.integers(-5, 120)), data=st.data(),
)  # fmt: skip
def test_the_database_checkout_is_the_python_checkout(
    connection: psycopg.Connection[Any], store: tuple[int, int], *, lines: list[Any],
    default_rate: int, inclusive: bool, walk_in: bool, bill_cut: int, data: st.DataObject,
) -> None:  # fmt: skip
    business, customer = store
    cart = [
        CartLine(price, quantity, price * quantity * cut // 100,
                 default_rate if own is None else own)
        for price, quantity, cut, own in lines
    ]  # fmt: skip
    after_own = sum(max(0, c.unit_price * c.quantity - max(c.discount, 0)) for c in cart)
    bill_discount = after_own * bill_cut // 100
    unpaid = checkout(cart, bill_discount=bill_discount, payments=[],
                      prices_include_tax=inclusive, walk_in=False)  # fmt: skip
    total = unpaid.total if isinstance(unpaid, Checkout) else 1000
    payments = data.draw(
        st.lists(st.one_of(st.integers(1, max(total, 1)), st.integers(-10, total + 10)),
                 max_size=3)
        | st.just([total]).filter(lambda _: total > 0)
    )  # fmt: skip
    expected = checkout(cart, bill_discount=bill_discount, payments=payments,
                        prices_include_tax=inclusive, walk_in=walk_in)  # fmt: skip

    try:
        connection.execute("SELECT set_config('app.business_id', %s, true)", [str(business)])
        connection.execute(
            "UPDATE businesses SET default_tax_rate = %s / 100.0, prices_include_tax = %s"
            " WHERE id = %s",
            [default_rate, inclusive, business],
        )
        ids = []
        for (price, _, _, own), cart_line in zip(lines, cart, strict=True):
            product = connection.execute(
                "INSERT INTO products (business_id, name, sku, price, tax_rate)"
                " VALUES (%s, 'P', gen_random_uuid()::text, %s, %s / 100.0) RETURNING id",
                [business, price, own],
            ).fetchone()[0]  # type: ignore[index]
            connection.execute(
                "INSERT INTO stock_movements (business_id, product_id, kind, quantity)"
                " VALUES (%s, %s, 'initial', %s)",
                [business, product, cart_line.quantity],
            )
            ids.append(product)
        answer = connection.execute(
            PURCHASE,
            {"b": business, "c": None if walk_in else customer, "ids": ids,
             "quantities": [c.quantity for c in cart], "discounts": [c.discount for c in cart],
             "bill": bill_discount, "amounts": payments, "methods": ["CASH"] * len(payments),
             "refs": [None] * len(payments)},
        ).fetchone()[0]  # type: ignore[index]  # fmt: skip
    finally:
        connection.rollback()

    if isinstance(expected, Invalid):
        assert answer["result"] == "invalid_input", (answer, expected)
        fields = [
            f"items[{p['line']}].{p['field']}" if "line" in p else p["field"]
            for p in answer["problems"]
        ]
        assert fields == [p.field for p in expected.problems]
        return
    assert answer["result"] == "completed", (answer, expected)
    order = answer["order"]
    assert (order["subtotal"], order["discountTotal"], order["taxTotal"], order["total"],
            order["paidAmount"]) == (expected.subtotal, expected.discount_total,
                                     expected.tax_total, expected.total, expected.paid)  # fmt: skip
    assert [
        (item["lineTotal"], item["discount"], item["billDiscount"], item["taxAmount"])
        for item in order["items"]
    ] == [(li.amount, li.discount, li.bill_discount, li.tax_amount) for li in expected.lines]
    assert order["billDiscount"] == bill_discount
