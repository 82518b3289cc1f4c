"""What a product is beyond its name and price: units, status, barcode, limits, alerts.

``status`` is separate from archiving: an archived product leaves the lists, a
product that is not ``ACTIVE`` stays listed but cannot be sold.  A product is low
on stock when its stock is below its minimum (its own ``min_stock``, else the
store's ``low_stock_default``); the lowest ratio of stock to minimum comes first.
"""

from __future__ import annotations

from datetime import date
from enum import Enum

MAX_BARCODE_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 2000
MAX_CATEGORY_LENGTH = 100
EARLIEST_EXPIRY = date(2000, 1, 1)
MAX_MIN_STOCK = 2**31 - 1
"""A GraphQL Int, as stock is."""


class Unit(Enum):
    PCS = "PCS"
    KG = "KG"
    G = "G"
    L = "L"
    ML = "ML"
    DOZEN = "DOZEN"
    PACK = "PACK"
    BOX = "BOX"


class ProductStatus(Enum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    DISCONTINUED = "DISCONTINUED"


def barcode_problem(barcode: str) -> str | None:
    """Why ``barcode`` cannot be stored, or ``None``."""
    if len(barcode) > MAX_BARCODE_LENGTH:
        return f"must be at most {MAX_BARCODE_LENGTH} characters"
    if any(not character.isprintable() for character in barcode):
        return "must not contain control characters"
    return None


def minimum(own: int | None, store_default: int) -> int:
    """A product's minimum stock: its own, else the store's default."""
    return store_default if own is None else own


def is_low(stock: int, own_minimum: int | None, store_default: int) -> bool:
    return stock < minimum(own_minimum, store_default)


def days_left(expiry: date, today: date) -> int:
    """Days until ``expiry`` from the store's ``today``; negative once expired."""
    return (expiry - today).days
