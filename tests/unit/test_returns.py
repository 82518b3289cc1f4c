"""The credit note of a return: exact in total however the units come back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain.purchases import OrderItemRecord
from app.domain.returns import credit_for, paid_for, settle


def _item(quantity: int, price: int, discount: int, share: int, tax: int) -> OrderItemRecord:
    return OrderItemRecord(
        product_id=1, product_name="Rice", quantity=quantity, unit_price=price,
        line_total=quantity * price, discount=discount, bill_discount=share, tax_amount=tax,
    )  # fmt: skip


def test_a_return_credits_its_share_of_discounts_and_tax() -> None:
    item = _item(4, 1000, discount=200, share=100, tax=185)  # paid 3700 + 185 = 3885
    assert paid_for(item, prices_include_tax=False) == 3885
    assert credit_for(item, prices_include_tax=False, already=0, returning=1) == 971
    assert paid_for(item, prices_include_tax=True) == 3700


@given(
    st.integers(1, 50),
    st.integers(0, 10_000),
    st.data(),
    st.booleans(),
)
def test_returning_every_unit_in_any_steps_gives_back_exactly_what_was_paid(
    quantity: int, price: int, data: st.DataObject, included: bool
) -> None:
    line = quantity * price
    discount = data.draw(st.integers(0, line))
    share = data.draw(st.integers(0, line - discount))
    tax = data.draw(st.integers(0, 5_000))
    item = _item(quantity, price, discount, share, tax)
    returned, credited = 0, 0
    while returned < quantity:
        step = data.draw(st.integers(1, quantity - returned))
        credit = credit_for(item, prices_include_tax=included, already=returned, returning=step)
        assert credit >= 0
        credited += credit
        returned += step
    assert credited == paid_for(item, prices_include_tax=included)


def test_the_balance_is_reduced_first_and_the_rest_refunded() -> None:
    assert settle(500, 2000) == (500, 0)
    assert settle(500, 200) == (200, 300)
    assert settle(500, -100) == (0, 500)
    assert settle(500, None) == (0, 500)
