"""A store's settings: how it prints, taxes and tells the time.

``time_zone`` is an IANA name (``Asia/Kolkata``); the store's "today", the year of
its bill numbers and its report days are days in that zone.
"""

from __future__ import annotations

from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


class StoreSettings(NamedTuple):
    name: str
    phone: str | None
    address: str | None
    currency: str
    time_zone: str
    default_tax_rate: int
    """Hundredths of a percent (``app.domain.percent``)."""
    prices_include_tax: bool
    receipt_header: str | None
    receipt_footer: str | None
    payment_terms_days: int
    low_stock_default: int


def is_time_zone(name: str) -> bool:
    """An IANA zone name Python's zone database knows (not a path, not an abbreviation)."""
    if name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
