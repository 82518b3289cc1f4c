"""What a key-change notification names (payloads of migration 0007)."""

from __future__ import annotations

import pytest

from app.services.key_changes import scope


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ("cl_12_345", (12, 345)),  # a key: its public id
        ("cl_12", (12, None)),  # a business and all its keys
        ("", (None, None)),  # after a TRUNCATE: everything
        ("cl_0_1", (None, None)),  # anything unexpected: everything, to be safe
        ("cl_x", (None, None)),
        ("xx_12_345", (None, None)),
    ],
)
def test_a_notification_names_a_key_a_business_or_everything(
    payload: str, named: tuple[int | None, int | None]
) -> None:
    assert scope(payload) == named
