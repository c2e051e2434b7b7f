"""Stock movements: every change of a product's stock, so stock can be audited and rebuilt."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shop_core.domain.catalog import Product
from shop_core.domain.errors import Conflict


class StockReason(StrEnum):
    INITIAL = "initial"
    RESTOCK = "restock"
    ADJUSTMENT = "adjustment"
    CORRECTION = "correction"
    IMPORT = "import"
    SALE = "sale"
    CANCELLATION = "cancellation"
    RETURN = "return"
    DAMAGE = "damage"


@dataclass(eq=False)
class StockMovement:
    product_id: int
    delta: int
    reason: str
    balance_after: int
    created_at: datetime
    actor: str = ""
    note: str = ""
    id: int | None = field(default=None)


@dataclass(frozen=True, slots=True)
class Take:
    """Stock an order took, to be recorded as a movement with the order (see
    OrderRepository.add_placed). A plain value: placing an order makes several of them, and the
    persisted StockMovement class costs more to build."""

    product_id: int
    delta: int
    reason: str
    balance_after: int
    created_at: datetime
    actor: str
    note: str


def apply_delta(current: int, delta: int) -> int:
    """The stock after `delta`; Conflict when it would go below zero."""
    after = current + delta
    if after < 0:
        raise Conflict(f"Only {current} in stock; cannot remove {-delta}.")
    return after


def movement_of(product: Product, delta: int, reason: str, actor: str, now: datetime) -> StockMovement:
    """The movement that brought `product` (already changed) to its current stock."""
    assert product.id is not None
    return StockMovement(
        product_id=product.id,
        delta=delta,
        reason=reason,
        balance_after=product.stock_quantity,
        created_at=now,
        actor=actor,
    )


def fell_below(threshold: int, balance_after: int, delta: int) -> bool:
    """Whether a movement took the stock from at least `threshold` to below it: the moment staff
    are alerted (once per fall, not at every sale below the line). A threshold of 0 never alerts."""
    return balance_after < threshold <= balance_after - delta
