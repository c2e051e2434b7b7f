"""Recording stock movements: the one way every stock change is written down (staff adjustments,
product and variant edits, imports, cancelled orders, returns received with restock), so what
follows a change, the back-in-stock emails, follows every one of them in its transaction."""

from __future__ import annotations

from collections.abc import Sequence

from shop_core.domain.stock import StockMovement
from shop_core.ports.persistence import UnitOfWork
from shop_core.services.back_in_stock import notice_restocks


async def record_movement(uow: UnitOfWork, movement: StockMovement) -> None:
    """Record one movement (its `id` set)."""
    await uow.stock.add(movement)
    await notice_restocks(uow, [movement])


async def record_movements(uow: UnitOfWork, movements: Sequence[StockMovement]) -> None:
    """Record several movements at once."""
    await uow.stock.add_many(movements)
    await notice_restocks(uow, movements)
