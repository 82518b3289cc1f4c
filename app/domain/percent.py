"""Percentages (tax rates) as integer hundredths of a percent: ``"5.00"`` is 500.

Like money, a rate with more decimals than it can hold (two) is refused, never
rounded; so is one outside 0-100.
"""

from __future__ import annotations

from decimal import Decimal

from app.domain.money import MoneyError, to_minor

DECIMALS = 2
HUNDRED = 100 * 10**DECIMALS


class PercentError(ValueError):
    """A percentage the API does not accept."""


def to_hundredths(value: Decimal) -> int:
    try:
        hundredths = to_minor(value, DECIMALS)
    except MoneyError as exc:
        raise PercentError(str(exc)) from exc
    if not 0 <= hundredths <= HUNDRED:
        raise PercentError("must be between 0 and 100")
    return hundredths


def from_hundredths(hundredths: int) -> Decimal:
    return Decimal(hundredths).scaleb(-DECIMALS)
