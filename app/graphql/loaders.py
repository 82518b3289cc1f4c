"""Per-request dataloaders, created on first use in ``info.context.loaders``.

A resolver asks for a loader by name; the first call in a request creates it with
a batch function bound to that request's context, so batches never mix requests
(or tenants).

A batch costs the same whatever the number of keys, so a response costs a
constant number of queries per level: customers, products, orders, their items and
payments, and a customer's totals in one round trip on the driver pool
(``UnitsOfWork.read``, as the pages are read), the others in one short unit of
work.  Loaders live only as long as their request: nothing is cached across
requests or tenants.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TypeVar, cast

from strawberry.dataloader import DataLoader

from app.domain.identity import CreatedBy
from app.domain.ids import parse_id
from app.domain.purchases import OrderItemRecord, OrderRecord, PaymentRecord
from app.domain.records import CustomerRecord, ProductRecord
from app.domain.users import UserRecord
from app.graphql.context import Context, Info
from app.services import (
    catalog,
    customers,
    key_records,
    order_corrections,
    orders,
    payments,
    users,
)
from app.services.key_records import ApiKeyRecord
from app.services.unit_of_work import UnitOfWork, UnitsOfWork

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def request_loader(
    info: Info, name: str, batch: Callable[[Context, list[K]], Awaitable[Sequence[V]]]
) -> DataLoader[K, V]:
    """The request's loader called ``name``, created with ``batch`` on first use."""
    context = info.context
    loader = context.loaders.get(name)
    if loader is None:

        async def load(keys: list[K]) -> Sequence[V]:
            return await batch(context, keys)

        loader = context.loaders[name] = DataLoader(load_fn=load)
    return cast("DataLoader[K, V]", loader)


def _by_id_loader(
    info: Info,
    name: str,
    fetch: Callable[[UnitOfWork, Sequence[K]], Awaitable[Mapping[K, V]]],
) -> DataLoader[K, V | None]:
    """Rows by key, each batch in one short unit of work: one snapshot for a read of
    several statements (an order's void, returns and refunds)."""

    async def batch(context: Context, keys: list[K]) -> list[V | None]:
        async with context.uow() as uow:
            found = await fetch(uow, keys)
        return [found.get(key) for key in keys]

    return request_loader(info, name, batch)


def _read_loader(
    info: Info,
    name: str,
    fetch: Callable[[UnitsOfWork, Sequence[K]], Awaitable[Mapping[K, V]]],
) -> DataLoader[K, V | None]:
    """Rows by key, one statement per batch on the driver pool: a single round trip,
    where a unit of work costs four (begin, bind, select, roll back) and SQLAlchemy's
    Python around each (bench/README.md, "seventh machine")."""

    async def batch(context: Context, keys: list[K]) -> list[V | None]:
        found = await fetch(context.uow, keys)
        return [found.get(key) for key in keys]

    return request_loader(info, name, batch)


async def load_by_client_id(loader: DataLoader[int, V | None], raw_id: str) -> V | None:
    """The row for a client-supplied ID; ``None`` when malformed, unknown or another tenant's."""
    id_ = parse_id(raw_id)
    return None if id_ is None else await loader.load(id_)


def customer_by_id(info: Info) -> DataLoader[int, CustomerRecord | None]:
    return _read_loader(info, "customer_by_id", customers.read_customers)


def product_by_id(info: Info) -> DataLoader[int, ProductRecord | None]:
    return _read_loader(info, "product_by_id", catalog.read_products)


def order_by_id(info: Info) -> DataLoader[int, OrderRecord | None]:
    return _read_loader(info, "order_by_id", orders.read_orders)


def items_by_order(info: Info) -> DataLoader[int, tuple[OrderItemRecord, ...] | None]:
    return _read_loader(info, "items_by_order", orders.read_items)


def order_by_number(info: Info) -> DataLoader[str, OrderRecord | None]:
    return _read_loader(info, "order_by_number", orders.read_orders_by_number)


def payment_by_id(info: Info) -> DataLoader[int, PaymentRecord | None]:
    return _read_loader(info, "payment_by_id", payments.read_payments)


def payments_by_order(info: Info) -> DataLoader[int, tuple[PaymentRecord, ...] | None]:
    return _read_loader(info, "payments_by_order", payments.read_order_payments)


def corrections_by_order(
    info: Info,
) -> DataLoader[int, order_corrections.OrderCorrections | None]:
    """What became of each order: its void, returns and refunds."""
    return _by_id_loader(info, "order_corrections", order_corrections.order_corrections)


def customer_totals(info: Info) -> DataLoader[int, tuple[int, int] | None]:
    """A customer's number of orders and what they came to."""
    return _read_loader(info, "customer_totals", orders.read_customer_totals)


def customer_orders(info: Info) -> DataLoader[orders.PageRequest, list[OrderRecord] | None]:
    async def batch(
        context: Context, keys: list[orders.PageRequest]
    ) -> list[list[OrderRecord] | None]:
        async with context.uow() as uow:
            return list(await orders.customer_order_pages(uow, keys))

    return request_loader(info, "customer_orders", batch)


def actor_by_ref(info: Info) -> DataLoader[CreatedBy, UserRecord | ApiKeyRecord | None]:
    """Who wrote rows (``createdBy``): users and API keys of a batch in one unit of work,
    one statement for the users and one for the keys."""

    async def batch(
        context: Context, keys: list[CreatedBy]
    ) -> list[UserRecord | ApiKeyRecord | None]:
        user_ids = {key.user_id for key in keys if key.user_id is not None}
        key_ids = {key.key_id for key in keys if key.key_id is not None}
        async with context.uow() as uow:
            found_users = await users.get_users(uow, sorted(user_ids)) if user_ids else {}
            found_keys = await key_records.get_api_keys(uow, sorted(key_ids)) if key_ids else {}
        return [
            found_users.get(key.user_id) if key.user_id is not None
            else None if key.key_id is None else found_keys.get(key.key_id)
            for key in keys
        ]  # fmt: skip

    return request_loader(info, "actor_by_ref", batch)
