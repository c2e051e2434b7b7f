"""The store of timed sales, and the questions prices ask of it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from shop_core.domain.sales import RunningSale, Sale


class SaleRepository(Protocol):
    async def add(self, sale: Sale) -> Sale:
        """Store a new sale with its products and categories; the sale with its id."""
        ...

    async def get(self, sale_id: int) -> Sale | None: ...

    async def page(self, *, offset: int, limit: int) -> tuple[list[Sale], int]:
        """Newest first (by creation, then id), and how many there are in all."""
        ...

    async def save(self, sale: Sale) -> None:
        """Store the changes to a sale loaded here, its products and categories included."""
        ...

    async def delete(self, sale: Sale) -> None: ...

    async def unknown(
        self, product_ids: Collection[int], category_ids: Collection[int]
    ) -> tuple[list[int], list[int]]:
        """Those of the products and categories named that do not exist (each sorted), in one query."""
        ...

    async def running(
        self, product_category: Mapping[int, int | None], now: datetime
    ) -> dict[int, RunningSale]:
        """For each product (`product_category` maps its id to its category's, or None), the best
        sale running at `now` that covers it (`domain.sales.best_of`): directly, or through its
        category or any category above it. Products that no running sale covers are left out. One
        query."""
        ...

    async def running_percentages(
        self, product_category: Mapping[int, int | None], now: datetime
    ) -> dict[int, Decimal]:
        """`running`, the percentages alone: what a cart line and an order line are priced with."""
        ...

    async def running_percentages_of(self, product_ids: Collection[int], now: datetime) -> dict[int, Decimal]:
        """`running_percentages` for products by id alone, their categories as stored (for a caller
        that has not loaded them, as checkout has not): still one query."""
        ...

    async def next_boundary(self, now: datetime) -> datetime | None:
        """The earliest instant after `now` at which a sale starts or ends; None when none will."""
        ...
