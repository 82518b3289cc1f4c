"""What an audit entry keeps of a mutation: no secrets, the fields an update changed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import strawberry

from app.domain.audit import REDACTED, changes
from app.domain.identity import Role
from app.domain.records import CustomerRecord
from app.domain.users import UserRecord
from app.graphql.audited import audit_input
from app.graphql.schema import Mutation
from app.graphql.sessions import ChangePasswordInput, LoginInput
from app.graphql.users import UpdateUserInput


def test_secrets_are_redacted_at_any_depth_and_unset_fields_left_out() -> None:
    change = ChangePasswordInput(current_password="old secret", new_password="new secret")
    login = LoginInput(email="a@b.c", password="hunter2hunter2")
    update = UpdateUserInput(user_id=strawberry.ID("7"), role=None)

    assert audit_input({"self": None, "info": None, "input": change}) == {
        "input": {"currentPassword": REDACTED, "newPassword": REDACTED}
    }
    assert audit_input({"input": login}) == {"input": {"email": "a@b.c", "password": REDACTED}}
    assert audit_input({"refresh_token": "clr_1_2_secret"}) == {"refreshToken": REDACTED}
    assert audit_input({"input": update}) == {"input": {"userId": "7", "role": None}}


def test_an_update_keeps_only_the_fields_that_changed_by_their_api_names() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    before = CustomerRecord(1, "Asha", None, None, 1000, 30, None, 0, None, at)
    after = before._replace(name="Asha K", credit_limit=2000, archived_at=at)

    assert changes(before, after) == (
        {"name": "Asha", "creditLimit": 1000, "archivedAt": None},
        {"name": "Asha K", "creditLimit": 2000, "archivedAt": "2026-01-02T00:00:00+00:00"},
    )


def test_dataclass_records_compare_too_with_enums_by_value() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    before = UserRecord(7, "a@b.c", "A", Role.CASHIER, True, None, at)
    after = dataclasses.replace(before, role=Role.VIEWER, active=False)

    assert changes(before, after) == (
        {"role": "cashier", "active": True},
        {"role": "viewer", "active": False},
    )


def test_every_mutation_is_audited() -> None:
    fields = Mutation.__strawberry_definition__.fields  # type: ignore[attr-defined]
    unaudited = [
        field.name for field in fields
        if not getattr(field.base_resolver.wrapped_func, "audited", False)
    ]  # fmt: skip

    assert len(fields) >= 24
    assert unaudited == []


def test_text_postgresql_cannot_store_is_replaced_not_refused() -> None:
    assert audit_input({"note": "a\x00b", "reason": "x\ud800y"}) == {
        "note": "a\ufffdb",
        "reason": "x\ufffd\ufffd\ufffdy",
    }
