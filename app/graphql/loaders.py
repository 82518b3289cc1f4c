"""Per-request dataloaders, created on first use in ``info.context.loaders``.

Each batch is one statement in one short unit of work, whatever the number of
keys, so a response costs a constant number of queries per level.  Loaders live
only as long as their request: nothing is cached across requests or tenants.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from app.domain.purchases import OrderItemRecord, OrderRecord
from app.domain.records import CustomerRecord, ProductRecord
from app.graphql.context import Info
from app.services import catalog, customers, orders
from app.services.unit_of_work import UnitOfWork, UnitsOfWork

K = TypeVar("K")
V = TypeVar("V")


def _loader(
    info: Info,
    name: str,
    fetch: Callable[[UnitOfWork, Sequence[K]], Awaitable[Mapping[K, V]]],
) -> DataLoader[K, V | None]:
    loaders = info.context.loaders
    loader: DataLoader[K, V | None] | None = loaders.get(name)
    if loader is None:
        units: UnitsOfWork = info.context.uow

        async def load(keys: list[K]) -> list[V | None]:
            async with units() as uow:
                found = await fetch(uow, keys)
            return [found.get(key) for key in keys]

        loader = loaders[name] = DataLoader(load_fn=load)
    return loader


def customer_by_id(info: Info) -> DataLoader[int, CustomerRecord | None]:
    return _loader(info, "customer_by_id", customers.get_customers)


def product_by_id(info: Info) -> DataLoader[int, ProductRecord | None]:
    return _loader(info, "product_by_id", catalog.get_products)


def order_by_id(info: Info) -> DataLoader[int, OrderRecord | None]:
    return _loader(info, "order_by_id", orders.get_orders)


def items_by_order(info: Info) -> DataLoader[int, tuple[OrderItemRecord, ...] | None]:
    return _loader(info, "items_by_order", orders.get_items)


def customer_orders(info: Info) -> DataLoader[orders.PageRequest, list[OrderRecord] | None]:
    loaders = info.context.loaders
    loader: DataLoader[orders.PageRequest, list[OrderRecord] | None] | None = loaders.get(
        "customer_orders"
    )
    if loader is None:
        units: UnitsOfWork = info.context.uow

        async def load(keys: list[orders.PageRequest]) -> list[list[OrderRecord] | None]:
            async with units() as uow:
                return list(await orders.customer_order_pages(uow, keys))

        loader = loaders["customer_orders"] = DataLoader(load_fn=load)
    return loader
