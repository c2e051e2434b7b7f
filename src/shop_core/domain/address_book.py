"""A customer's address book: saved addresses, one default for shipping and one for billing.

An order copies the address it is placed with, so editing or deleting a saved address later changes
no order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shop_core.domain.addresses import Address
from shop_core.domain.errors import Conflict

MAX_ADDRESSES = 50


class Default(StrEnum):
    SHIPPING = "shipping"
    BILLING = "billing"


class AddressBookFull(Conflict):
    code = "address_book_full"

    def __init__(self) -> None:
        super().__init__(f"An address book holds at most {MAX_ADDRESSES} addresses; delete one first.")


@dataclass(eq=False)
class SavedAddress:
    user_id: int
    address: Address
    created_at: datetime
    updated_at: datetime
    is_default_shipping: bool = False
    is_default_billing: bool = False
    id: int | None = None

    def is_default(self, kind: Default) -> bool:
        return self.is_default_shipping if kind is Default.SHIPPING else self.is_default_billing


def first_becomes_default(saved: SavedAddress, held: int) -> None:
    """A customer's first address is their default for both shipping and billing."""
    if held == 0:
        saved.is_default_shipping = saved.is_default_billing = True
