"""Variants: a product's options (Size, Color, ... at most three) and the variants that combine their
values, each with its own sku, price override, stock and weight. The variant is the unit that is
priced, stocked, carted and ordered; a product without options has one default variant carrying its
own sku, price and stock.

Plain data and the rules on it; the stores keep the product's derived `price` (the lowest active
variant price) and `stock_quantity` (the sum over active variants) in step with `product_price` and
`product_stock` below.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shop_core.domain.errors import Conflict, InvalidInput, NotFound

MAX_OPTIONS = 3
MAX_VALUES = 100
MAX_NAME_LENGTH = 50
MAX_VALUE_LENGTH = 100
NAME_SEPARATOR = " / "


class VariantRequired(InvalidInput):
    """A cart or order line names a product that has several active variants, and not which one."""

    code = "variant_required"


class DuplicateCombination(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"The product already has a variant {name!r}.")


@dataclass(frozen=True)
class ProductOption:
    """One way the variants of a product differ ("Size": "S", "M", "L"), in the order shown."""

    name: str
    values: tuple[str, ...]


@dataclass(eq=False)
class Variant:
    """Prices are integer minor units; `price` None means the product's own price."""

    product_id: int
    sku: str
    options: dict[str, str] = field(default_factory=dict)
    price: int | None = None
    stock_quantity: int = 0
    weight_grams: int | None = None
    is_active: bool = True
    is_default: bool = False
    """The one variant of a product without options: it carries the product's own sku and stock,
    which the legacy product fields change."""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None

    def effective_price(self, product_price: int) -> int:
        return product_price if self.price is None else self.price


def check_options(raw: Iterable[tuple[str, Iterable[str]]]) -> tuple[ProductOption, ...]:
    """A product's options as given (name, values), trimmed and checked: at most three, each named
    once (any case), each with at least one value, no value twice; InvalidInput naming the problem."""
    given = list(raw)
    if len(given) > MAX_OPTIONS:
        raise InvalidInput.field("options", f"A product has at most {MAX_OPTIONS} options.")
    options: list[ProductOption] = []
    seen: set[str] = set()
    for position, (raw_name, raw_values) in enumerate(given):
        name = raw_name.strip()
        where = f"options[{position}]"
        if not name or len(name) > MAX_NAME_LENGTH:
            raise InvalidInput.field(where, f"An option needs a name of 1 to {MAX_NAME_LENGTH} characters.")
        if name.casefold() in seen:
            raise InvalidInput.field(where, f"The option {name!r} is given twice.")
        seen.add(name.casefold())
        values = tuple(v.strip() for v in raw_values)
        if not values or len(values) > MAX_VALUES:
            raise InvalidInput.field(where, f"The option {name!r} needs 1 to {MAX_VALUES} values.")
        if any(not v or len(v) > MAX_VALUE_LENGTH for v in values):
            raise InvalidInput.field(
                where, f"Each value of {name!r} needs 1 to {MAX_VALUE_LENGTH} characters."
            )
        repeated = sorted({v for v in values if sum(w.casefold() == v.casefold() for w in values) > 1})
        if repeated:
            raise InvalidInput.field(where, f"The option {name!r} repeats the value {repeated[0]!r}.")
        options.append(ProductOption(name, values))
    return tuple(options)


def check_values(options: Sequence[ProductOption], given: Mapping[str, str]) -> dict[str, str]:
    """A variant's option values, matched to the product's options (names and values in any case,
    stored as the product spells them): one value for every option, nothing else."""
    by_name = {o.name.casefold(): o for o in options}
    chosen: dict[str, str] = {}
    for raw_name, raw_value in given.items():
        option = by_name.get(raw_name.strip().casefold())
        if option is None:
            known = ", ".join(o.name for o in options) or "none"
            raise InvalidInput.field(
                "options", f"Unknown option {raw_name.strip()!r}; the product's: {known}."
            )
        value = next((v for v in option.values if v.casefold() == raw_value.strip().casefold()), None)
        if value is None:
            raise InvalidInput.field(
                "options",
                f"{raw_value.strip()!r} is not a value of {option.name!r}; "
                f"one of {', '.join(option.values)}.",
            )
        chosen[option.name] = value
    missing = [o.name for o in options if o.name not in chosen]
    if missing:
        raise InvalidInput.field("options", f"Give a value for {', '.join(missing)}.")
    return {o.name: chosen[o.name] for o in options}


def stored_options(raw: Iterable[Mapping[str, Any]]) -> tuple[ProductOption, ...]:
    """A product's options as stored (`Product.options`: [{"name": .., "values": [..]}])."""
    return tuple(ProductOption(str(o["name"]), tuple(str(v) for v in o["values"])) for o in raw)


def options_stored(options: Iterable[ProductOption]) -> list[dict[str, Any]]:
    """What `stored_options` reads back."""
    return [{"name": o.name, "values": list(o.values)} for o in options]


def variant_name(options: Sequence[ProductOption], values: Mapping[str, str]) -> str:
    """What customers see on a line: the values in the product's option order ("M / Red"); "" for
    the default variant of a product without options."""
    return NAME_SEPARATOR.join(values[o.name] for o in options if o.name in values)


def line_title(product_name: str, variant_name: str) -> str:
    """How a cart or order line names what it holds: "T-shirt (M / Red)"; the product's name alone
    for a product's default variant (no variant name)."""
    return f"{product_name} ({variant_name})" if variant_name else product_name


def name_in(product_options: Iterable[Mapping[str, Any]], values: Mapping[str, str]) -> str:
    """`variant_name` of a variant's values, from its product's options as stored."""
    return variant_name(stored_options(product_options), values)


def same_values(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether two sets of option values are the same combination (names and values in any case)."""
    return {k.casefold(): v.casefold() for k, v in a.items()} == {
        k.casefold(): v.casefold() for k, v in b.items()
    }


def check_new_combination(
    options: Sequence[ProductOption], values: Mapping[str, str], existing: Iterable[Variant]
) -> None:
    """DuplicateCombination when another variant of the product has exactly these values."""
    for variant in existing:
        if same_values(variant.options, values):
            raise DuplicateCombination(variant_name(options, variant.options))


def find_variant(
    stored: Iterable[Variant], sku: str | None, values: Mapping[str, str], *, taken: Container[int] = ()
) -> Variant | None:
    """The stored variant a row of an import means: the one with its sku, else the one with its
    option values; None for a new one. Variants whose `id()` is in `taken` are already matched."""
    unmatched = [v for v in stored if id(v) not in taken]
    by_sku = next((v for v in unmatched if sku is not None and v.sku == sku), None)
    return by_sku or next((v for v in unmatched if same_values(v.options, values)), None)


class VariantMisfit(InvalidInput):
    """Options that a variant's values would no longer fit (the variant is never dropped silently)."""

    def __init__(self, sku: str, problem: str) -> None:
        message = f"The variant {sku!r} would not fit the options: {problem}"
        super().__init__(message, {"options": [message]})
        self.sku = sku
        self.problem = problem


def check_fit(
    options: Sequence[ProductOption], variants: Iterable[tuple[Variant, Mapping[str, str]]]
) -> None:
    """Every option variant, with the values it is to have, must fit the product's options:
    VariantMisfit naming the first that would not. A default variant has no values to fit."""
    for variant, values in variants:
        if variant.is_default:
            continue
        try:
            check_values(options, values)
        except InvalidInput as exc:
            raise VariantMisfit(variant.sku, exc.detail) from None


def product_price(product_price: int, variants: Iterable[Variant]) -> int:
    """The price a product shows: its lowest active variant's (its own price when none is active)."""
    prices = [v.effective_price(product_price) for v in variants if v.is_active]
    return min(prices, default=product_price)


def product_stock(variants: Iterable[Variant]) -> int:
    """The stock a product shows: what its active variants hold together."""
    return sum(v.stock_quantity for v in variants if v.is_active)


def line_variant(product_id: int, variants: Sequence[Variant], variant_id: int | None) -> Variant:
    """The variant a cart or order line means. Without `variant_id`, the product's only active
    variant (VariantRequired when it has several); a variant of another product is NotFound, as a
    missing one is."""
    if variant_id is None:
        active = [v for v in variants if v.is_active]
        if len(active) == 1:
            return active[0]
        if not active:
            raise NotFound("No such product.")
        raise VariantRequired(
            "This product comes in several variants: say which one (variant_id).",
            {"variant_id": ["Required for a product with several variants."]},
        )
    found = next((v for v in variants if v.id == variant_id and v.product_id == product_id), None)
    if found is None:
        raise NotFound("No such variant of this product.")
    return found
