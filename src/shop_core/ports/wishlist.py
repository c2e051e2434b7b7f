"""Where customers' wishlists live."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shop_core.domain.wishlist import WishlistItem


class WishlistRepository(Protocol):
    async def add(self, item: WishlistItem) -> WishlistItem:
        """Store a new entry (`id` set on it)."""
        ...

    async def find(self, user_id: int, product_id: int, variant_id: int | None) -> WishlistItem | None:
        """The customer's entry for this product and variant (None: the product's own entry)."""
        ...

    async def get(self, item_id: int) -> WishlistItem | None: ...

    async def of_user(self, user_id: int) -> list[WishlistItem]:
        """The customer's entries, oldest first."""
        ...

    async def count(self, user_id: int) -> int: ...

    async def save(self, item: WishlistItem) -> None: ...

    async def remove(self, user_id: int, product_id: int, variant_id: int | None = None) -> int:
        """Remove the customer's entries for the product (only the variant's, when given); how many."""
        ...

    async def watching(self, product_ids: Sequence[int]) -> list[WishlistItem]:
        """The entries on these products whose customers asked to be emailed, by id."""
        ...

    async def count_restock(self, item_id: int) -> int:
        """Count one more restock the entry is told about, in one statement; the new count."""
        ...

    async def popular(self, limit: int) -> list[tuple[int, str, int]]:
        """The most wishlisted products: (product id, name, entries), most first, then by id."""
        ...
