"""Where customers' address books live."""

from __future__ import annotations

from typing import Protocol

from shop_core.domain.address_book import Default, SavedAddress


class AddressRepository(Protocol):
    async def add(self, saved: SavedAddress) -> SavedAddress:
        """Store a new address (`id` set on it)."""
        ...

    async def get(self, user_id: int, address_id: int, *, for_update: bool = False) -> SavedAddress | None:
        """The customer's address with this id; None for an unknown id or someone else's."""
        ...

    async def of_user(self, user_id: int) -> list[SavedAddress]:
        """The customer's addresses, oldest first."""
        ...

    async def count(self, user_id: int) -> int: ...

    async def default(self, user_id: int, kind: Default) -> SavedAddress | None:
        """The customer's default address for shipping or billing."""
        ...

    async def clear_default(self, user_id: int, kind: Default) -> None:
        """No address of the customer's is the default of that kind any more (before another
        becomes it)."""
        ...

    async def save(self, saved: SavedAddress) -> None: ...

    async def delete(self, saved: SavedAddress) -> None: ...
