"""Per-request dataloaders, created on first use in ``info.context.loaders``.

A resolver asks for a loader by name; the first call in a request creates it
with a batch function bound to that request's context, so batches never mix
requests (or tenants) and nothing is cached across requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar, cast

from strawberry.dataloader import DataLoader

from app.graphql.context import Context, Info

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def request_loader(
    info: Info, name: str, batch: Callable[[Context, list[K]], Awaitable[Sequence[V]]]
) -> DataLoader[K, V]:
    context = info.context
    loader = context.loaders.get(name)
    if loader is None:

        async def load(keys: list[K]) -> Sequence[V]:
            return await batch(context, keys)

        loader = context.loaders[name] = DataLoader(load_fn=load)
    return cast("DataLoader[K, V]", loader)
