"""Money conversion is exact: it refuses what it cannot represent instead of rounding."""

from __future__ import annotations

from decimal import Context, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.money import (
    MAX_MINOR,
    MoneyError,
    from_minor,
    minor_units_of,
    parse_decimal,
    to_minor,
)
from app.graphql.scalars import _serialize_money as serialize_money


@pytest.mark.parametrize(
    ("amount", "minor_units", "minor"),
    [
        ("1250.50", 2, 125050),
        ("0.01", 2, 1),
        ("0", 2, 0),
        ("1.500", 2, 150),
        ("-5.00", 2, -500),
        ("1500", 0, 1500),
        ("1.0", 0, 1),
        ("1.005", 3, 1005),
        ("0.0001", 4, 1),
    ],
)
def test_an_amount_with_at_most_the_currency_decimals_converts_exactly(
    amount: str, minor_units: int, minor: int
) -> None:
    assert to_minor(Decimal(amount), minor_units) == minor


@pytest.mark.parametrize(
    ("amount", "minor_units"),
    [
        ("1.005", 2),
        ("1.5", 0),
        ("0.0001", 3),
        ("-0.001", 2),
        # More significant digits than the default decimal context keeps: must not
        # silently round to 1.00.
        ("1.00000000000000000000000000001", 2),
        ("1E-999999", 2),
    ],
)
def test_an_amount_with_more_decimals_than_the_currency_is_refused_not_rounded(
    amount: str, minor_units: int
) -> None:
    with pytest.raises(MoneyError, match="decimal places"):
        to_minor(Decimal(amount), minor_units)


@pytest.mark.parametrize("minor_units", [0, 2, 3])
def test_the_largest_accepted_amount_is_max_minor_in_either_direction(minor_units: int) -> None:
    largest = Decimal(MAX_MINOR).scaleb(-minor_units)
    assert to_minor(largest, minor_units) == MAX_MINOR
    assert to_minor(-largest, minor_units) == -MAX_MINOR


@pytest.mark.parametrize(
    ("amount", "minor_units"),
    [
        ("10000000000000.01", 2),
        ("-10000000000000.01", 2),
        ("1000000000000001", 0),
        ("99999999999999999999999999999999999999", 2),
        ("1E+999999", 2),
    ],
)
def test_an_amount_beyond_the_bound_is_refused_as_too_large(amount: str, minor_units: int) -> None:
    with pytest.raises(MoneyError, match="too large"):
        to_minor(Decimal(amount), minor_units)


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_a_non_finite_amount_is_refused(amount: str) -> None:
    with pytest.raises(MoneyError, match="finite"):
        to_minor(Decimal(amount), 2)


@pytest.mark.parametrize(
    ("minor", "minor_units", "text"),
    [
        (125050, 2, "1250.50"),
        (0, 2, "0.00"),
        (-1, 2, "-0.01"),
        (1500, 0, "1500"),
        (1005, 3, "1.005"),
        (MAX_MINOR, 2, "10000000000000.00"),
    ],
)
def test_from_minor_always_shows_the_currency_decimals(
    minor: int, minor_units: int, text: str
) -> None:
    assert format(from_minor(minor, minor_units), "f") == text


@given(
    minor=st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR),
    minor_units=st.integers(min_value=0, max_value=4),
)
def test_from_minor_then_to_minor_gives_back_the_same_count(minor: int, minor_units: int) -> None:
    assert to_minor(from_minor(minor, minor_units), minor_units) == minor


@given(
    minor=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    minor_units=st.integers(min_value=0, max_value=4),
)
def test_from_minor_is_an_exact_shift_for_any_bigint(minor: int, minor_units: int) -> None:
    amount = from_minor(minor, minor_units)
    assert amount.as_tuple().exponent == -minor_units
    assert amount == Decimal(minor).scaleb(-minor_units, context=Context(prec=40))
    assert serialize_money(amount) == format(amount, "f")


@pytest.mark.parametrize(
    ("amount", "text"),
    [("1E+3", "1000"), ("1E-7", "0.0000001"), ("-0.05", "-0.05"), ("-0.00", "-0.00")],
)
def test_money_is_serialized_in_plain_notation(amount: str, text: str) -> None:
    assert serialize_money(Decimal(amount)) == text


@pytest.mark.parametrize(
    ("currency", "minor_units"),
    [("INR", 2), ("USD", 2), ("JPY", 0), ("jpy", 0), ("BHD", 3), ("KWD", 3), ("XYZ", 2)],
)
def test_minor_units_follow_iso_4217(currency: str, minor_units: int) -> None:
    assert minor_units_of(currency) == minor_units


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1250.50", "1250.50"),
        ("0", "0"),
        ("-1", "-1"),
        ("+1", "1"),
        (".5", "0.5"),
        ("5.", "5"),
        ("000123.4500", "123.45"),
        (" 7.25 ", "7.25"),
    ],
)
def test_parse_decimal_reads_plain_decimal_strings(text: str, value: str) -> None:
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "1e3",
        "1E3",
        "Infinity",
        "NaN",
        "1,000",
        "1 000",
        "1.2.3",
        "-",
        ".",
        "+-1",
        "1-",
        "0x10",
        "\u0661\u0662",  # Arabic-Indic digits
        "1" * 41,
    ],
)
def test_parse_decimal_refuses_anything_else(text: str) -> None:
    with pytest.raises(MoneyError, match="decimal string"):
        parse_decimal(text)
