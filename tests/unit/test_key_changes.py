"""What a key-change notification names (payloads of migrations 0007 and 0012)."""

from __future__ import annotations

import pytest

from app.services.key_changes import Scope, scope


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ("cl_12_345", Scope(12, key_id=345)),  # a key: its public id
        ("clu_12_7", Scope(12, user_id=7)),  # a user and their sessions
        ("cl_12", Scope(12)),  # a business and all its keys and users
        ("", Scope(None)),  # after a TRUNCATE: everything
        ("cl_0_1", Scope(None)),  # anything unexpected: everything, to be safe
        ("cl_x", Scope(None)),
        ("clu_12", Scope(None)),
        ("clu_12_x", Scope(None)),
        ("xx_12_345", Scope(None)),
    ],
)
def test_a_notification_names_a_key_a_user_a_business_or_everything(
    payload: str, named: Scope
) -> None:
    assert scope(payload) == named
