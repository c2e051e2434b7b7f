"""Timed sales: a percentage off some products and categories (a category with all its descendants)
from one instant to another. Plain data and rules; the use cases are `services.sales`.

While a sale runs, a product costs its price less the better of its own `discount_percentage` and
the best running sale that covers it: never both stacked (`best_discount`). Sales start and stop by
the clock, so prices change at instants nobody writes anything: `next_boundary` is the next such
instant, which no cached price may outlive.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from shop_core.domain.errors import InvalidInput
from shop_core.domain.money import percent_off

PERCENT_STEP = Decimal("0.01")
MAX_NAME_LENGTH = 200
NO_TARGET = "Name at least one product or category."


class Scheduled(Protocol):
    """Anything that runs from `starts_at` (included) to `ends_at` (excluded)."""

    @property
    def starts_at(self) -> datetime: ...

    @property
    def ends_at(self) -> datetime: ...


def is_running(window: Scheduled, now: datetime) -> bool:
    return window.starts_at <= now < window.ends_at


@dataclass(eq=False, kw_only=True)
class Sale:
    """`percentage` off the products named and those of the categories named (and of their
    descendants) from `starts_at` until just before `ends_at`."""

    name: str
    percentage: Decimal
    starts_at: datetime
    ends_at: datetime
    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    created_at: datetime
    updated_at: datetime
    id: int | None = None

    def is_running(self, now: datetime) -> bool:
        """starts_at <= now < ends_at."""
        return is_running(self, now)

    def has_ended(self, now: datetime) -> bool:
        return now >= self.ends_at

    def covers(self, product_id: int, categories: Collection[int]) -> bool:
        """Whether the sale applies to a product, given its category and every one above it
        (`ancestry`): a sale on a category covers the products of its descendants too."""
        return product_id in self.product_ids or not self.category_ids.isdisjoint(categories)


@dataclass(frozen=True)
class RunningSale:
    """A running sale as a product shows it: the one that sets its price."""

    id: int
    name: str
    percentage: Decimal
    ends_at: datetime


def check_sale(sale: Sale) -> None:
    """The invariants a sale keeps; InvalidInput lists every broken one."""
    errors: dict[str, list[str]] = {}
    if not sale.name.strip() or len(sale.name) > MAX_NAME_LENGTH:
        errors["name"] = [f"Use 1 to {MAX_NAME_LENGTH} characters."]
    percentage = sale.percentage
    if not percentage.is_finite() or not Decimal(0) < percentage <= Decimal(100):
        errors["percentage"] = ["A percentage is more than 0 and at most 100."]
    elif percentage.quantize(PERCENT_STEP) != percentage:
        errors["percentage"] = ["Use at most two decimal places."]
    for name in ("starts_at", "ends_at"):
        if getattr(sale, name).utcoffset() is None:
            errors[name] = ["Give the time zone (e.g. 2026-11-27T00:00:00Z)."]
    if not errors.keys() & {"starts_at", "ends_at"} and sale.ends_at <= sale.starts_at:
        errors["ends_at"] = ["The sale must end after it starts."]
    if not sale.product_ids and not sale.category_ids:
        errors["product_ids"] = errors["category_ids"] = [NO_TARGET]
    if errors:
        raise InvalidInput("The sale is not valid.", errors)


def in_utc(value: datetime, field: str) -> datetime:
    """An instant with a time zone, in UTC; InvalidInput when it has none or cannot be one."""
    if value.utcoffset() is None:
        raise InvalidInput.field(field, "Give the time zone (e.g. 2026-11-27T00:00:00Z).")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput.field(field, "Use a date from year 1 to 9999 in UTC.") from None


def best_discount(own: Decimal, sales: Iterable[Decimal]) -> Decimal:
    """The discount a product sells at: the better of its own and the best of the running sales
    that cover it. Never stacked."""
    return max((own, *sales))


def sale_price(price: int, own: Decimal, sales: Iterable[Decimal]) -> int:
    """A price (minor units) less the discount it sells at (`best_discount`), rounded half-up."""
    return percent_off(price, best_discount(own, sales))


def best_of(sales: Iterable[RunningSale]) -> RunningSale | None:
    """The sale that sets a product's price among those covering it: the highest percentage, then
    the one that lasts longest, then the oldest (so the choice is the same on every read)."""
    return max(sales, key=lambda s: (s.percentage, s.ends_at, -s.id), default=None)


def next_boundary(sales: Iterable[Scheduled], now: datetime) -> datetime | None:
    """The earliest instant after `now` at which one of the sales starts or ends (None: never), the
    next time the prices they set can change."""
    return min(
        (at for sale in sales for at in (sale.starts_at, sale.ends_at) if at > now),
        default=None,
    )


def ancestry(category_id: int | None, parents: Mapping[int, int | None]) -> list[int]:
    """The category and every category above it, nearest first (none for no category). `parents`
    maps each category id to its parent's."""
    found: list[int] = []
    node = category_id
    while node is not None and node not in found:
        found.append(node)
        node = parents.get(node)
    return found
