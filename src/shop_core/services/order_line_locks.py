"""The locks an order's lines take before they move the stock of a product that several of them share
(placing an order, returning its stock when it is cancelled, receiving a return)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from shop_core.ports.persistence import UnitOfWork


def shared_products(product_ids: Iterable[int]) -> set[int]:
    """The products that more than one line of an order takes from (or gives back to)."""
    return {product_id for product_id, n in Counter(product_ids).items() if n > 1}


async def lock_if_shared(uow: UnitOfWork, product_id: int, shared: set[int]) -> None:
    """Before the first line of a product that several lines move: lock all its variants, in id
    order. Each stock change locks a variant row, then the product's row; a second variant taken
    while holding the product's row would deadlock with a concurrent change of that variant
    (holding it, waiting for the product's row). Lines are handled in (product, variant) order, so
    these locks come in product order too."""
    if product_id in shared:
        shared.discard(product_id)
        await uow.variants.for_product(product_id, for_update=True)
