"""A customer's wishlist: products (or one variant of a product) kept for later, each shown with its
live price and stock, and an optional email when it comes back in stock.

One entry per (customer, product, variant or none). An entry stays when its product or variant is
made inactive: it shows as unavailable. `restocks` counts the restocks the entry was told about
(each names one back-in-stock email, so a restock emails once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from shop_core.domain.errors import Conflict

MAX_WISHLIST_ITEMS = 100


class WishlistFull(Conflict):
    code = "wishlist_full"

    def __init__(self) -> None:
        super().__init__(f"A wishlist holds at most {MAX_WISHLIST_ITEMS} entries; remove one first.")


@dataclass(eq=False)
class WishlistItem:
    user_id: int
    product_id: int
    variant_id: int | None
    created_at: datetime
    notify: bool = False
    """Email the customer when it comes back in stock."""
    restocks: int = 0
    id: int | None = None


@dataclass(frozen=True)
class StockMove:
    """One recorded stock movement of a variant: what it held after, and by how much it moved."""

    variant_id: int
    delta: int
    balance_after: int

    @property
    def before(self) -> int:
        return self.balance_after - self.delta

    @property
    def came_back(self) -> bool:
        """It took the variant from no stock to some."""
        return self.before <= 0 < self.balance_after


@dataclass(frozen=True)
class VariantStock:
    id: int
    is_active: bool
    stock_quantity: int


def restocked_variants(moves: Iterable[StockMove], variants: Iterable[VariantStock]) -> set[int]:
    """The active variants these moves (of one product, in one transaction) brought from no stock
    to some."""
    active = {v.id for v in variants if v.is_active}
    return {m.variant_id for m in moves if m.came_back and m.variant_id in active}


def product_came_back(moves: Iterable[StockMove], variants: Iterable[VariantStock]) -> bool:
    """Whether the product as a whole (what its active variants hold together) went from no stock
    to some: before the moves, every active variant was out; a variant the moves did not touch
    holds what it holds now."""
    first: dict[int, StockMove] = {}
    for move in moves:
        first.setdefault(move.variant_id, move)
    active = [v for v in variants if v.is_active]
    before: Mapping[int, int] = {
        v.id: first[v.id].before if v.id in first else v.stock_quantity for v in active
    }
    return bool(restocked_variants(first.values(), active)) and all(n <= 0 for n in before.values())
