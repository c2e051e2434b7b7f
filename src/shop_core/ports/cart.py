"""Where carts live: Redis (a hash per cart) or the database (the embedded default).

A store keeps quantities by line key, `(product id, variant key)` (see `domain.cart.LineKey`: the
variant key is 0 for a product's default variant); what a key means is the core's business."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shop_core.domain.cart import CartLimits, CartSnapshot, LineKey


class CartLimitReached(Exception):
    """The store refused a change that would exceed the line maximum or the line count."""

    def __init__(self, *, lines: bool) -> None:
        super().__init__("too many lines" if lines else "quantity above the line maximum")
        self.lines = lines


class CartStore(Protocol):
    """Every write refreshes the cart's expiry (`limits.ttl` from `now`)."""

    async def get(self, owner: str, now: datetime, limits: CartLimits) -> CartSnapshot | None:
        """The cart, or None when there is none or it expired."""
        ...

    async def add(self, owner: str, line: LineKey, quantity: int, now: datetime, limits: CartLimits) -> int:
        """Atomically add to a line (concurrent adds all count); the line's new quantity.

        Raises CartLimitReached, changing nothing, past `limits.max_quantity` or `limits.max_lines`.
        """
        ...

    async def set(self, owner: str, line: LineKey, quantity: int, now: datetime, limits: CartLimits) -> None:
        """Set a line's quantity; 0 removes it. Raises CartLimitReached for a new line past the count."""
        ...

    async def remove(self, owner: str, line: LineKey, now: datetime, limits: CartLimits) -> bool:
        """Drop a line; False when it was not there."""
        ...

    async def set_voucher(self, owner: str, code: str | None, now: datetime, limits: CartLimits) -> None:
        """Apply a voucher's code to the cart (creating it, empty, if need be), or take it off
        (None). A cart keeps one voucher: a new code replaces the one it had."""
        ...

    async def clear(self, owner: str) -> None: ...

    async def take(self, owner: str, now: datetime, limits: CartLimits) -> CartSnapshot | None:
        """Remove the cart and return what it held (its voucher too), atomically: of two concurrent
        takes, one gets the lines and the other None (checkout cannot turn one cart into two
        orders)."""
        ...

    async def purge_expired(self, now: datetime, limits: CartLimits) -> int:
        """Remove carts past their expiry; how many went (stores that expire on their own say 0)."""
        ...
