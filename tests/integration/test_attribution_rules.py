"""The database keeps attribution honest (migration 0018): a row names a user or a key,
never both, and only one of its own business."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.identity import Role
from app.services import admin
from app.services.retry import sqlstate

FOREIGN_KEY_VIOLATION = "23503"
CHECK_VIOLATION = "23514"

ATTRIBUTED = (
    "orders", "payments", "credit_ledger", "stock_movements", "order_voids", "order_returns",
    "payment_reversals", "balance_adjustments", "refunds",
)  # fmt: skip


async def business_with_user_and_key(owner_db: AsyncEngine) -> tuple[int, int, int, int]:
    """(business, product, user id, key id)."""
    business = await admin.create_business(owner_db, name="Shop", currency="INR", terms_days=30)
    key = await admin.create_key(owner_db, business_id=business, role=Role.OWNER)
    user = await admin.create_user(
        owner_db, business_id=business, email=f"owner-{business}@example.com", role=Role.OWNER
    )
    async with owner_db.begin() as connection:
        await connection.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business)}
        )
        product = (
            await connection.execute(
                text(
                    "INSERT INTO products (business_id, name, sku, price)"
                    " VALUES (:b, 'Rice', 'R', 100) RETURNING id"
                ),
                {"b": business},
            )
        ).scalar_one()
    return business, product, user.user.id, key.ref.key_id


async def move_stock(
    owner_db: AsyncEngine, business: int, product: int, user_id: int | None, key_id: int | None
) -> None:
    async with owner_db.begin() as connection:
        await connection.execute(
            text("SELECT set_config('app.business_id', :b, true)"), {"b": str(business)}
        )
        await connection.execute(
            text(
                "INSERT INTO stock_movements (business_id, product_id, kind, quantity,"
                " created_by_user_id, created_by_key_id) VALUES (:b, :p, 'restock', 1, :u, :k)"
            ),
            {"b": business, "p": product, "u": user_id, "k": key_id},
        )


async def test_a_row_names_a_user_or_a_key_but_never_both(owner_db: AsyncEngine) -> None:
    business, product, user_id, key_id = await business_with_user_and_key(owner_db)
    await move_stock(owner_db, business, product, user_id, None)
    await move_stock(owner_db, business, product, None, key_id)
    await move_stock(owner_db, business, product, None, None)
    with pytest.raises(DBAPIError) as refused:
        await move_stock(owner_db, business, product, user_id, key_id)
    assert sqlstate(refused.value) == CHECK_VIOLATION


@pytest.mark.parametrize("who", ["user", "key"])
async def test_a_row_cannot_name_another_businesss_user_or_key(
    owner_db: AsyncEngine, who: str
) -> None:
    business, product, _, _ = await business_with_user_and_key(owner_db)
    _, _, other_user, other_key = await business_with_user_and_key(owner_db)
    named = (other_user, None) if who == "user" else (None, other_key)
    with pytest.raises(DBAPIError) as refused:
        await move_stock(owner_db, business, product, *named)
    assert sqlstate(refused.value) == FOREIGN_KEY_VIOLATION


async def test_every_attributed_table_has_both_columns_the_check_and_both_keys(
    owner_db: AsyncEngine,
) -> None:
    async with owner_db.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT conrelid::regclass::text AS tab, conname, contype,"
                " pg_get_constraintdef(oid) AS definition FROM pg_constraint"
                " WHERE conname LIKE '%created_by%'"
            )
        )
        found = {(row.tab, row.conname): row.definition for row in rows}
        # Since 0023 the tables every sale or payment writes hold their rules in one
        # function, <table>_rules(), which their one CHECK calls.
        rules = dict(
            (
                await connection.execute(
                    text(
                        "SELECT c.conrelid::regclass::text, p.prosrc FROM pg_constraint c"
                        " JOIN pg_proc p ON p.proname = c.conname"
                        " WHERE c.contype = 'c'"
                        " AND c.conname = c.conrelid::regclass::text || '_rules'"
                    )
                )
            ).all()
        )
    for table in ATTRIBUTED:
        if table in rules:
            assert (
                "NOT ((created_by_user_id IS NULL) OR (created_by_key_id IS NULL)) THEN\n"
                f"        broken := '{table}_created_by_one'" in rules[table]
            )
        else:
            assert "CHECK" in found[(table, f"{table}_created_by_one")]
        user_key = found[(table, f"{table}_created_by_user_fkey")]
        key_key = found[(table, f"{table}_created_by_key_fkey")]
        assert user_key.startswith("FOREIGN KEY (business_id, created_by_user_id)"), user_key
        assert "REFERENCES users(business_id, id)" in user_key
        assert key_key.startswith("FOREIGN KEY (business_id, created_by_key_id)"), key_key
        assert "REFERENCES api_keys(business_id, id)" in key_key


async def test_only_the_service_role_may_call_the_new_purchase_and_payment_functions(
    owner_db: AsyncEngine,
) -> None:
    async with owner_db.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT proname, pronargs, proacl::text AS acl FROM pg_proc"
                " WHERE proname IN ('purchase', 'record_payment')"
            )
        )
        found = {(row.proname, row.pronargs): row.acl for row in rows}
    assert set(found) == {("purchase", 16), ("record_payment", 9)}
    for acl in found.values():
        entries = acl.strip("{}").split(",")
        assert not any(entry.startswith("=") for entry in entries), acl  # not PUBLIC
        assert any(entry.startswith("credit_ledger_app=X/") for entry in entries), acl
