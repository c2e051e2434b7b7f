"""Where fulfilments (what shipped of each order) are kept."""

from __future__ import annotations

from typing import Protocol

from shop_core.domain.fulfilment import Fulfilment


class FulfilmentRepository(Protocol):
    async def add(self, fulfilment: Fulfilment) -> Fulfilment:
        """Store a fulfilment and its lines; sets its `id`."""
        ...

    async def get(self, fulfilment_id: int) -> Fulfilment | None: ...

    async def of_order(self, order_id: int) -> list[Fulfilment]:
        """Oldest first, each with its lines."""
        ...

    async def shipped(self, order_id: int) -> dict[int, int]:
        """How many of each order line (by its id) the order's fulfilments shipped."""
        ...
