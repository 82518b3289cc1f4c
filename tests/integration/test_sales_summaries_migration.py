"""Migration 0017 sums the sales already made into the summaries it creates (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.db.migrations import downgrade, upgrade
from tests.db import create_database, drop_database

SALE = (
    "SELECT purchase(%(b)s, %(c)s, ARRAY[%(p)s]::bigint[], '{3}', '{0}', 0,"
    " %(amounts)s::bigint[], %(methods)s::text[], %(refs)s::text[], NULL, NULL, %(k)s, 'h',"
    " %(at)s)"
)


@pytest.fixture
def database(server: str) -> Iterator[str]:
    url = create_database(server, prefix="credit_ledger_summaries")
    yield url
    drop_database(server, url)


def test_the_summaries_start_with_every_earlier_sale_and_payment(database: str) -> None:
    upgrade(database, "0013_corrections")
    plain = make_url(database).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        (b,) = connection.execute(
            "INSERT INTO businesses (name, currency, currency_minor_units)"
            " VALUES ('Old shop', 'INR', 2) RETURNING id"
        ).fetchone() or (0,)
        connection.execute("SELECT set_config('app.business_id', %s, false)", (str(b),))
        (c,) = connection.execute(
            "INSERT INTO customers (business_id, name, credit_limit) VALUES (%s, 'Asha', 100000)"
            " RETURNING id", (b,)
        ).fetchone() or (0,)  # fmt: skip
        (p,) = connection.execute(
            "INSERT INTO products (business_id, name, sku, price) VALUES (%s, 'Rice', 'R', 250)"
            " RETURNING id", (b,)
        ).fetchone() or (0,)  # fmt: skip
        connection.execute(
            "INSERT INTO stock_movements (business_id, product_id, kind, quantity)"
            " VALUES (%s, %s, 'initial', 100)", (b, p)
        )  # fmt: skip
        at = "2026-05-01T10:05:00+00:00"
        for key, customer, amounts, methods in [
            ("a", c, [500], ["UPI"]), ("b", None, [300, 450], ["CASH", "CARD"]), ("c", c, [], []),
        ]:  # fmt: skip
            answer = connection.execute(SALE, {
                "b": b, "c": customer, "p": p, "amounts": amounts, "methods": methods,
                "refs": [None] * len(amounts), "k": key, "at": at,
            }).fetchone()  # fmt: skip
            assert answer is not None
            assert answer[0]["result"] == "completed", answer

        upgrade(database)
        row = connection.execute(
            "SELECT slot, sum(bills), sum(total), sum(paid), sum(credit), sum(paid_in_full),"
            " sum(partly_paid), sum(on_credit), sum(received_upi), sum(received_cash),"
            " sum(received_card) FROM sales_summaries WHERE business_id = %s GROUP BY slot",
            (b,),
        ).fetchall()
    assert [tuple(map(str, r)) for r in row] == [
        ("2026-05-01 10:00:00+00:00", "3", "2250", "1250", "1000", "1", "1", "1", "500",
         "300", "450"),
    ]  # fmt: skip

    downgrade(database, "0013_corrections")
