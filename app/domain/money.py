"""Money is an integer count of minor units; only the edges speak decimal strings.

The business's currency decides how many minor units a major unit has (INR 2,
JPY 0, BHD 3).  An amount with more decimals than that is refused, never rounded.
"""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation

# ISO 4217 exponents for the currencies that differ from the common 2.
_MINOR_UNITS = {
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip
MAX_MINOR = 10**15
"""Largest amount accepted from a client: far beyond any sale, far below bigint overflow."""

# Scaling by a power of ten under the default context (28 digits) would round
# away a tiny fraction ("1.00000000000000000000000000001" became 1.00).
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


class MoneyError(ValueError):
    """An amount that cannot be represented in the business's currency."""


def minor_units_of(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def to_minor(amount: Decimal, minor_units: int) -> int:
    """Exact conversion of a major-unit decimal into minor units."""
    if not amount.is_finite():
        raise MoneyError("must be a finite number")
    # The bound comes first: comparing is exact and cheap even for 1E+999999999.
    if abs(amount) > Decimal(MAX_MINOR).scaleb(-minor_units):
        raise MoneyError("is too large")
    scaled = amount.scaleb(minor_units, context=_EXACT)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"has more than {minor_units} decimal places")
    return int(scaled)


_UNITS = tuple(Decimal(1).scaleb(-n) for n in range(10))
"""``1``, ``0.1``, ``0.01``...: one minor unit for each number of decimals."""


def from_minor(minor: int, minor_units: int) -> Decimal:
    """The decimal for a count of minor units, always with the currency's decimals.

    A product's exponent is the sum of its factors', so multiplying by one minor unit
    (``0.01``) gives exactly ``minor_units`` decimals (``0.00``, ``-0.05``), exact up to
    28 digits (the default context), far beyond a bigint's 19.  A third faster than
    shifting the exponent with ``scaleb``; a page of 50 customers makes 250 of these.
    """
    return Decimal(minor) * _UNITS[minor_units]


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal string (no exponent, no spaces, no thousands separators)."""
    stripped = text.strip()
    if not stripped or len(stripped) > 40 or any(c not in "+-.0123456789" for c in stripped):
        raise MoneyError('must be a decimal string such as "1250.50"')
    try:
        return Decimal(stripped)
    except InvalidOperation as exc:
        raise MoneyError('must be a decimal string such as "1250.50"') from exc
