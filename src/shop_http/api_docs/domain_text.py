"""Prose about the domain's states written from the domain itself (the enums and the order's
`TRANSITIONS`), so the API docs never list a status the core does not have or miss one it has."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from shop_core.domain.orders import TRANSITIONS, OrderStatus


def one_of(values: type[StrEnum]) -> str:
    """Every value of an enum, in its order: `pending, paid, …`."""
    return ", ".join(value.value for value in values)


def any_of(values: Iterable[StrEnum]) -> str:
    """Some values, quoted, in the order given: "`stripe`, `sslcommerz` or `cod`"."""
    named = [f"`{value.value}`" for value in values]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"


def _either(statuses: Iterable[OrderStatus]) -> str:
    chosen = set(statuses)
    return any_of(status for status in OrderStatus if status in chosen)


def order_moves() -> str:
    """The moves an order may make, from `TRANSITIONS`: "`pending` → `paid` or `cancelled`; …;
    `cancelled` and `refunded` are final."""
    moves = [f"`{before.value}` → {_either(after)}" for before, after in TRANSITIONS.items() if after]
    final = [status for status, after in TRANSITIONS.items() if not after]
    if final:
        verb = "is" if len(final) == 1 else "are"
        moves.append(f"{_either(final).replace(' or ', ' and ')} {verb} final")
    return "; ".join(moves) + "."
