"""Back-in-stock emails: a customer who asked (`notify` on a wishlist entry) hears once when the
product, or the chosen variant, goes from no stock to some.

`notice_restocks` runs in the transaction of every stock change (through `stock_movements`, the
one way movements are recorded): for each entry that came back it counts one more restock on the
entry and records a job keyed by the entry and that count (the outbox), so a restock emails once,
the next restock again, and a rolled-back change nothing. Raises while it was already in stock,
stock coming back to an inactive product or variant, and customers who did not ask, email nobody.
The email itself: `back_in_stock_email`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shop_core.domain.stock import StockMovement
from shop_core.domain.variants import Variant
from shop_core.domain.wishlist import (
    StockMove,
    VariantStock,
    WishlistItem,
    product_came_back,
    restocked_variants,
)
from shop_core.ports.persistence import UnitOfWork
from shop_core.services import jobs


async def notice_restocks(uow: UnitOfWork, movements: Sequence[StockMovement]) -> None:
    """Record a back-in-stock email for every watching entry these movements (just recorded in
    `uow`'s transaction) brought back into stock. No query unless one of them came back from none."""
    back = [m for m in movements if m.delta > 0 and m.balance_after - m.delta <= 0 < m.balance_after]
    if not back:
        return
    product_ids = sorted({m.product_id for m in back})
    watching = await uow.wishlist.watching(product_ids)
    if not watching:
        return
    products = await uow.products.by_ids(product_ids)
    variants = await uow.variants.for_products(product_ids)
    for product_id in product_ids:
        product = products.get(product_id)
        if product is None or not product.is_active:
            continue
        entries = [item for item in watching if item.product_id == product_id]
        moved = [m for m in movements if m.product_id == product_id]
        for item in _came_back(entries, moved, variants.get(product_id, [])):
            await _record(uow, item, back[0].created_at)


def _came_back(
    entries: list[WishlistItem], movements: list[StockMovement], variants: list[Variant]
) -> list[WishlistItem]:
    default = next((v.id for v in variants if v.is_default), None)
    stocks = [VariantStock(v.id, v.is_active, v.stock_quantity) for v in variants if v.id is not None]
    moves = [
        StockMove(which, m.delta, m.balance_after)
        for m in movements
        if (which := m.variant_id if m.variant_id is not None else default) is not None
    ]
    variants_back = restocked_variants(moves, stocks)
    whole = product_came_back(moves, stocks)
    return [e for e in entries if (whole if e.variant_id is None else e.variant_id in variants_back)]


async def _record(uow: UnitOfWork, item: WishlistItem, now: datetime) -> None:
    assert item.id is not None
    restock = await uow.wishlist.count_restock(item.id)
    name = jobs.BACK_IN_STOCK_EMAIL
    await jobs.record(uow, name, f"{name}:{item.id}:{restock}", {"wishlist_item_id": item.id}, now)
