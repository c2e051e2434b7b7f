"""Where vouchers live, and the one way a use of a voucher is counted: a conditional update in the
order's transaction, so that however many checkouts race for the last use, only `usage_limit` of
them (and, per customer, `per_customer_limit`) get it. The order placement counts it
(`OrderRepository.add_placed`), as the transaction's last write to the voucher's row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shop_core.domain.vouchers import Voucher


@dataclass(frozen=True)
class VoucherFilter:
    search: str | None = None
    """Codes containing this (case-insensitive)."""
    active: bool | None = None
    """Only active (True) or deactivated (False) vouchers."""


class VoucherRepository(Protocol):
    async def add(self, voucher: Voucher, now: datetime) -> Voucher:
        """Store a new voucher with its restrictions (`id` set on it). The caller has checked that
        the code is free (`codes_taken`); a code taken meanwhile raises Conflict."""
        ...

    async def add_many(self, vouchers: Sequence[Voucher], now: datetime) -> None:
        """Store many new vouchers at once (bulk generation); Conflict when a code is taken."""
        ...

    async def get(self, voucher_id: int, *, for_update: bool = False) -> Voucher | None:
        """The voucher with this id; `for_update` locks its row until the transaction ends (a
        checkout's `use` then waits for a staff change of its limits, and sees it)."""
        ...

    async def by_code(self, code: str) -> Voucher | None:
        """The voucher with this (normalized) code, as the cart and checkout read it: `used_count`
        is exact for a voucher with a `usage_limit` (its row counts the uses) and not counted for
        one without (`get` and `page` count every voucher's uses)."""
        ...

    async def codes_taken(self, codes: Sequence[str]) -> set[str]:
        """Which of these (normalized) codes are already used."""
        ...

    async def page(self, where: VoucherFilter, *, offset: int, limit: int) -> tuple[list[Voucher], int]:
        """Newest first, with the total."""
        ...

    async def save(self, voucher: Voucher, now: datetime) -> None:
        """Write a changed voucher and its restrictions. With a `usage_limit`, its row's count of
        uses is set from the customers' counts (a voucher without one does not count them on its
        row); lock the voucher first (`get(..., for_update=True)`) so no use slips past."""
        ...

    async def delete(self, voucher_id: int) -> bool: ...

    async def naming_product(self, product_id: int) -> list[str]:
        """The codes of the vouchers restricted to this product (it cannot be erased, only
        deactivated: without it such a voucher could apply to everything)."""
        ...

    async def naming_category(self, category_id: int) -> list[str]:
        """The codes of the vouchers restricted to this category (it cannot be deleted)."""
        ...

    async def is_ordered(self, voucher_id: int) -> bool:
        """Whether any order used the voucher (orders keep its code; such a voucher is deactivated,
        never erased)."""
        ...

    async def count_use(self, voucher_id: int, user_id: int, *, held: bool = False) -> bool:
        """Count one use of the active voucher by this customer, if it has uses left for everyone
        (`usage_limit`) and for this customer (`per_customer_limit`); False, counting nothing, when
        it has not (or is inactive). Conditional updates in the caller's transaction: concurrent
        uses queue on the voucher's row, so call it last (the order placement does). `held`: the
        use for everyone was counted already (`hold_use`); only the customer's is counted here."""
        ...

    async def hold_use(self, voucher_id: int) -> bool:
        """Count one use of the active voucher for everyone (`usage_limit`) at once, if one is
        left, committed on its own rather than in the caller's transaction: the voucher's row, which
        every checkout with it needs, is then locked for one statement instead of a whole order
        placement. True: held; the order placement then counts only the customer's use
        (`OrderRepository.add_placed(..., voucher_held=True)`), and the caller gives the use back
        (`release_hold`) unless that order is stored. False, holding nothing: the voucher has no
        `usage_limit`, is inactive or used up, or this store cannot count apart from a transaction
        already open (the placement then counts the use itself, as `count_use` does)."""
        ...

    async def release_hold(self, voucher_id: int) -> None:
        """Give back a use `hold_use` held for an order that was not stored."""
        ...

    async def give_back(self, voucher_id: int, user_id: int) -> None:
        """Undo one use by this customer (an unpaid order cancelled or expired)."""
        ...

    async def uses_by(self, voucher_id: int, user_id: int) -> int:
        """How often this customer has used the voucher."""
        ...
