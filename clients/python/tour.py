"""A customer and a product, a sale on credit, a payment, and the overdue list, through
the generated client.  ``CREDIT_LEDGER_URL`` and ``CREDIT_LEDGER_KEY`` (an owner's API
key) say where and as whom; it prints what it saw as JSON."""

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from credit_ledger_client import (
    Client,
    CreateCustomerInput,
    CreateProductInput,
    PaymentMethod,
    PurchaseInput,
    PurchaseItemInput,
    RecordPaymentInput,
)


async def main() -> None:
    client = Client(
        url=os.environ["CREDIT_LEDGER_URL"],
        headers={"Authorization": f"Bearer {os.environ['CREDIT_LEDGER_KEY']}"},
    )
    created = await client.create_customer(
        CreateCustomerInput(
            name="Asha Traders", credit_limit=Decimal("500.00"), payment_terms_days=30
        )
    )
    assert created.create_customer.typename__ == "CustomerCreated", created
    customer = created.create_customer.customer
    product = (
        await client.create_product(
            CreateProductInput(
                name="Rice 5 kg",
                sku=f"RICE-{uuid.uuid4().hex[:8]}",
                price=Decimal("40.00"),
                stock=10,
            )
        )
    ).create_product.product

    sale = (
        await client.sale(
            PurchaseInput(
                customer_id=customer.id,
                items=[PurchaseItemInput(product_id=product.id, quantity=3)],
                idempotency_key=str(uuid.uuid4()),
            )
        )
    ).purchase
    assert sale.typename__ == "PurchaseCompleted", sale

    payment = (
        await client.record_payment(
            RecordPaymentInput(
                customer_id=customer.id,
                amount=Decimal("50.00"),
                method=PaymentMethod.UPI,
                idempotency_key=str(uuid.uuid4()),
            )
        )
    ).record_payment
    assert payment.typename__ == "PaymentRecorded", payment

    in_45_days = datetime.now(UTC) + timedelta(days=45)
    overdue = await client.overdue(first=20, as_of=in_45_days)
    print(
        json.dumps(
            {
                "total": str(sale.order.total),
                "sold_at_is_aware": sale.order.created_at.tzinfo is not None,
                "balance_after_payment": str(payment.customer.balance),
                "overdue_in_45_days": [
                    {
                        "name": e.node.customer.name,
                        "amount": str(e.node.overdue_amount),
                        "days": e.node.days_overdue,
                    }
                    for e in overdue.overdue_customers.edges
                ],
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
