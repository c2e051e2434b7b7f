"""Categories (a tree), products, and the rules on them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.money import percent_off

MAX_SLUG_LENGTH = 200


def slugify(text: str) -> str:
    """ASCII, lower-case, hyphen-separated: "Café Crème 2" → "cafe-creme-2"."""
    # Punctuation outside ASCII ("Red—Blue") separates words too, rather than vanishing.
    words = re.sub(r"[^\w]+", " ", unicodedata.normalize("NFC", text))
    ascii_text = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-")


def valid_slug(raw: str, *, field_name: str = "slug") -> str:
    slug = raw.strip().lower()
    if not slug or slug != slugify(slug):
        raise InvalidInput.field(field_name, "Use lower-case letters, digits and single hyphens.")
    return slug


def product_slug_base(name: str) -> str:
    """The slug a product gets from its name when none is given."""
    return slugify(name) or "product"


def numbered_slugs(base: str) -> Iterator[str]:
    """The slugs to try, in order, until one is free: `base`, then `base-2`, `base-3`..."""
    yield base
    n = 2
    while True:
        yield f"{base[:190]}-{n}"
        n += 1


class ProductSlugTaken(Conflict):
    """A slug asked for by name is another product's (a slug made from a name is numbered instead)."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"A product with the slug {slug!r} already exists.")


@dataclass(eq=False)
class Category:
    name: str
    slug: str
    parent_id: int | None = None
    description: str = ""
    id: int | None = field(default=None)


def check_parent(category_id: int | None, parent_id: int | None, parents: Mapping[int, int | None]) -> None:
    """Refuse a parent that does not exist, or that would make the tree a cycle.

    `parents` maps every existing category id to its parent id.
    """
    if parent_id is None:
        return
    if parent_id not in parents:
        raise InvalidInput.field("parent", f"There is no category {parent_id}.")
    seen: set[int] = set()
    node: int | None = parent_id
    while node is not None and node not in seen:
        if node == category_id:
            raise InvalidInput.field("parent", "A category cannot be placed under itself or its descendants.")
        seen.add(node)
        node = parents.get(node)


def descendants(root: int, parents: Mapping[int, int | None]) -> set[int]:
    """`root` and every category below it."""
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


@dataclass(eq=False)
class Product:
    """Prices are integer minor units of the store currency."""

    name: str
    slug: str
    sku: str
    price: int
    created_at: datetime
    updated_at: datetime
    description: str = ""
    category_id: int | None = None
    cost_price: int | None = None
    discount_percentage: Decimal = Decimal("0.00")
    stock_quantity: int = 0
    image_url: str = ""
    is_active: bool = True
    options: list[dict[str, Any]] = field(default_factory=list)
    """What its variants differ by: [{"name": "Size", "values": ["S", "M"]}]; [] for none."""
    id: int | None = field(default=None)

    @property
    def final_price(self) -> int:
        return percent_off(self.price, self.discount_percentage)


@dataclass(frozen=True)
class TakenProduct:
    """A product as it stood when stock was taken from it: what pricing and the movement need."""

    id: int
    name: str
    sku: str
    price: int
    discount_percentage: Decimal
    stock_quantity: int
    """What is left after the take."""
    variant_id: int
    """The variant the stock was taken from."""
    variant_stock: int
    """What that variant has left (the product's `stock_quantity` is the sum over its variants)."""
    variant_name: str = ""
    """"M / Red"; "" for a product's default variant. `sku` and `price` are the variant's."""
    category_id: int | None = None
    """The product's category (what vouchers restricted to categories look at)."""
    sale_percentage: Decimal | None = None
    """The best sale running when the stock was taken that covers the product, if any."""
    weight_grams: int | None = None
    """The variant's weight per unit, if it has one (shipping methods' weight bounds look at it)."""

    @property
    def final_price(self) -> int:
        return percent_off(self.price, self.discount_percentage)


DISCOUNT_STEP = Decimal("0.01")


def discount_percentage(value: Decimal) -> Decimal:
    """A discount as stored: given with at most two decimal places, kept with exactly two."""
    stored = value.quantize(DISCOUNT_STEP)
    if stored != value:
        raise InvalidInput.field("discount_percentage", "Use at most two decimal places.")
    return stored


def check_product(product: Product) -> None:
    """The invariants a product must keep; InvalidInput lists every broken one."""
    errors: dict[str, list[str]] = {}
    if product.price < 0:
        errors["price"] = ["The price cannot be negative."]
    if product.cost_price is not None and product.cost_price < 0:
        errors["cost_price"] = ["The cost price cannot be negative."]
    if not Decimal(0) <= product.discount_percentage <= Decimal(100):
        errors["discount_percentage"] = ["Use a percentage from 0 to 100."]
    if product.stock_quantity < 0:
        errors["stock_quantity"] = ["Stock cannot be negative."]
    if errors:
        raise InvalidInput("The product is not valid.", errors)
