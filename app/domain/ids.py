"""Identifiers are positive 64-bit integers, exposed to clients as opaque ID strings."""

from __future__ import annotations

MAX_ID = 2**63 - 1


def parse_id(raw: object) -> int | None:
    """The integer id for a client-supplied ID, or ``None`` when it cannot be one of ours."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
    else:
        return None
    return value if 0 < value <= MAX_ID else None
