"""Stock movements: every change of a product's stock, so stock can be audited and rebuilt."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shop_core.domain.catalog import Product
from shop_core.domain.errors import InvalidInput


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
    variant_id: int | None = None
    """The variant whose stock moved (None: the product's default variant, filled in by the store)."""
    id: int | None = field(default=None)


@dataclass(frozen=True, slots=True)
class OrderStockMovement:
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
    variant_id: int | None = None


ZERO_DELTA = "A delta of 0 changes nothing: give how much to add, or to remove (negative)."
BLANK_REASON = "The reason cannot be blank."


def check_change(*, quantity: int | None, delta: int | None, reason: str) -> None:
    """An operator's stock change names exactly one of a level to set (`quantity`) or a non-zero
    `delta`, and a reason that is not blank; InvalidInput, naming the field, otherwise."""
    if (quantity is None) == (delta is None):
        raise InvalidInput.field("quantity", "Give either a quantity to set or a delta to add.")
    if delta == 0:
        raise InvalidInput.field("delta", ZERO_DELTA)
    if not reason.strip():
        raise InvalidInput.field("reason", BLANK_REASON)


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
