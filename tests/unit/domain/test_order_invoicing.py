"""Which orders have been paid, for their invoice (numbered only once the money came)."""

from __future__ import annotations

import pytest

from shop_core.domain.orders import OrderStatus
from tests.unit.domain.test_order_life import LATER, placed

S = OrderStatus


@pytest.mark.parametrize(
    ("path", "was_paid"),
    [
        ((), False),
        ((S.CANCELLED,), False),  # never paid: no invoice number spent on it
        ((S.PAID,), True),
        ((S.PAID, S.CANCELLED), True),  # paid, then refunded: its invoice stays
        ((S.PAID, S.PROCESSING, S.SHIPPED, S.DELIVERED, S.REFUNDED), True),
    ],
)
def test_was_paid_follows_the_money(path: tuple[OrderStatus, ...], was_paid: bool) -> None:
    order = placed()
    for target in path:
        order.move_to(target, LATER, "staff")

    assert order.was_paid is was_paid
