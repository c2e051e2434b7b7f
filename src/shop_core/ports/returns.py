"""Where returns (goods of delivered orders sent back) are kept."""

from __future__ import annotations

from typing import Protocol

from shop_core.domain.returns import Return


class ReturnRepository(Protocol):
    async def add(self, item: Return) -> Return:
        """Store a return and its lines; sets its `id`."""
        ...

    async def get(self, return_id: int, *, for_update: bool = False) -> Return | None: ...

    async def by_refund(self, refund_id: int) -> Return | None:
        """The return a refund was made for, if any."""
        ...

    async def save(self, item: Return) -> bool:
        """Store its status and fields if nobody saved it since it was read (its `version`);
        False, and nothing changed, otherwise. Bumps `version`."""
        ...

    async def of_order(self, order_id: int) -> list[Return]:
        """Oldest first, each with its lines."""
        ...

    async def page(self, *, user_id: int | None, offset: int, limit: int) -> tuple[list[Return], int]:
        """Newest first; only the returns of `user_id`'s orders unless None; and how many in all."""
        ...
