"""What running sales take off prices, for every place a price is computed: the catalog (through
its reader, `catalog_reads`), and the cart and checkout (through their unit of work, here).

The rule is one (`domain.sales`): a product sells at its price less the better of its own
`discount_percentage` and the best sale running now that covers it (named directly, or through its
category or any category above it), never both stacked, rounded half-up.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import Decimal

from shop_core.domain.sales import best_discount, sale_price
from shop_core.ports.persistence import UnitOfWork

__all__ = ["best_discount", "sale_percentages", "sale_percentages_of", "sale_price"]


async def sale_percentages(
    uow: UnitOfWork, product_category: Mapping[int, int | None], now: datetime
) -> dict[int, Decimal]:
    """For each product (`product_category` maps a product's id to its category's id, or None),
    the percentage of the best sale running at `now` that covers it; products no running sale
    covers are left out. One query (none for no products), in the unit of work's transaction:
    call it inside `async with uow`, with the shop's clock's `now`.

    A line is then priced `sale_price(listed, product.discount_percentage, [found[id]] if id in
    found else [])`, or its product given `best_discount(own, ...)` as its discount."""
    return await uow.sales.running_percentages(product_category, now)


async def sale_percentages_of(
    uow: UnitOfWork, product_ids: Collection[int], now: datetime
) -> dict[int, Decimal]:
    """`sale_percentages` for products by id alone (checkout's taken stock does not carry their
    categories): their categories as stored, read in the same one query."""
    return await uow.sales.running_percentages_of(product_ids, now)
