"""Client-supplied ids are positive 64-bit integers, or nothing at all."""

from __future__ import annotations

import pytest

from app.domain.ids import MAX_ID, parse_id


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", 1),
        ("42", 42),
        ("007", 7),
        (str(MAX_ID), MAX_ID),
        (1, 1),
        (MAX_ID, MAX_ID),
    ],
)
def test_a_positive_64_bit_integer_is_an_id(raw: object, value: int) -> None:
    assert parse_id(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "-1",
        "abc",
        "",
        " 1",
        "1 ",
        "+1",
        "1.0",
        "1e3",
        "0x10",
        str(MAX_ID + 1),
        "99999999999999999999",
        "0" * 19 + "1",  # 20 characters, even though the value is small
        "\u0661",  # Arabic-Indic one: a digit, but not ASCII
        "\u00b2",  # superscript two: str.isdigit() says yes
        0,
        -1,
        MAX_ID + 1,
        True,
        1.0,
        None,
        b"1",
    ],
)
def test_anything_else_is_not_an_id(raw: object) -> None:
    assert parse_id(raw) is None
