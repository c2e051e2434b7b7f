"""Hypothesis strategies for priced baskets, shared by the pricing, voucher and refund property
tests: catalog items with a price and a percent discount, baskets of them, and vouchers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import strategies as st

from shop_core.domain.money import percent_off
from shop_core.domain.vouchers import Voucher, VoucherKind


@dataclass(frozen=True)
class Item:
    """What pricing needs of a catalog item (the `Priceable` shape)."""

    id: int
    price: int
    discount: Decimal = Decimal(0)
    category_id: int | None = None
    name: str = "Thing"
    sku: str = "SKU"

    @property
    def final_price(self) -> int:
        return percent_off(self.price, self.discount)


Basket = list[tuple[Item, int]]


def items(exponent: int, *, max_quantity: int = 50, max_lines: int = 8) -> st.SearchStrategy[Basket]:
    """A basket: distinct items (in categories None, 1 or 2) with their quantities."""
    item = st.builds(
        Item,
        id=st.integers(1, 10_000),
        price=st.integers(0, 5_000 * 10**exponent),
        discount=st.decimals(0, 100, places=2),
        category_id=st.sampled_from([None, 1, 2]),
    )
    lines = st.tuples(item, st.integers(1, max_quantity))
    return st.lists(lines, min_size=1, max_size=max_lines, unique_by=lambda t: t[0].id)


def discount_vouchers(exponent: int) -> st.SearchStrategy[Voucher]:
    """Percentage vouchers (on everything or category 1) and fixed ones (on everything or category 2)."""
    percentage = st.builds(
        Voucher,
        code=st.just("P"),
        kind=st.just(VoucherKind.PERCENTAGE),
        value=st.decimals(Decimal("0.01"), 100, places=2),
        category_ids=st.sampled_from([frozenset(), frozenset({1})]),
    )
    fixed = st.builds(
        Voucher,
        code=st.just("F"),
        kind=st.just(VoucherKind.FIXED),
        value=st.integers(1, 10_000 * 10**exponent).map(Decimal),
        category_ids=st.sampled_from([frozenset(), frozenset({2})]),
    )
    return st.one_of(percentage, fixed)


def vouchers(exponent: int) -> st.SearchStrategy[Voucher | None]:
    """No voucher, a discount voucher, or free shipping."""
    free = st.just(Voucher("SHIP", VoucherKind.FREE_SHIPPING, Decimal(0)))
    return st.none() | discount_vouchers(exponent) | free
