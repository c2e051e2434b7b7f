"""What every order use case runs with: the unit of work, the clock, pricing and the order limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shop_core.domain.pricing import Pricing
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services.cart import CartContext


@dataclass(frozen=True)
class OrderContext:
    uow: UnitOfWorkFactory
    clock: Clock
    pricing: Pricing
    currency: str
    cart: CartContext
    max_quantity: int
    max_lines: int
    payment_timeout: timedelta
    low_stock_threshold: int = 0
    cod_timeout: timedelta | None = None
    """How long a cash-on-delivery order may wait for its cash; None: for ever (the default)."""
