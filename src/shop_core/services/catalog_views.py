"""What the catalog answers with: products and categories as the API shows them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from shop_core.domain.catalog import Category, Product
from shop_core.domain.money import exponent_of, format_minor, percent_off
from shop_core.domain.reviews import rating_average
from shop_core.domain.sales import RunningSale, best_discount
from shop_core.domain.variants import ProductOption, Variant, stored_options, variant_name

FINAL_PRICE = (
    "Price less the discount it sells at: the better of the product's own `discount_percentage` and "
    "the best running sale (`sale`), never both; rounded half-up."
)


class CategoryView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    slug: str
    parent: int | None
    description: str

    @classmethod
    def of(cls, category: Category) -> CategoryView:
        assert category.id is not None
        return cls(
            id=category.id,
            name=category.name,
            slug=category.slug,
            parent=category.parent_id,
            description=category.description,
        )


class OptionView(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(examples=["Size"])]
    values: Annotated[list[str], msgspec.Meta(examples=[["S", "M", "L"]])]


class VariantView(msgspec.Struct, kw_only=True):
    """One variant of a product: what is priced, stocked, carted and ordered."""

    id: int
    sku: str
    name: Annotated[
        str,
        msgspec.Meta(
            examples=["M / Red"],
            description="Its option values in the product's option order; \"\" for a product's "
            "only (default) variant.",
        ),
    ]
    options: Annotated[dict[str, str], msgspec.Meta(examples=[{"Size": "M", "Color": "Red"}])]
    price: Annotated[
        str, msgspec.Meta(examples=["19.99"], description="Its own price, else the product's base price.")
    ]
    final_price: Annotated[str, msgspec.Meta(examples=["17.99"], description=FINAL_PRICE)]
    stock_quantity: int
    is_active: bool
    weight_grams: int | None


class RunningSaleView(msgspec.Struct, kw_only=True):
    """The running sale that sets a product's `final_price`."""

    id: int
    name: Annotated[str, msgspec.Meta(examples=["Black Friday"])]
    percentage: Annotated[Decimal, msgspec.Meta(description='Percent off, two decimals: "20.00".')]
    ends_at: Annotated[datetime, msgspec.Meta(description="When it ends, and the price with it.")]

    @classmethod
    def of(cls, sale: RunningSale) -> RunningSaleView:
        return cls(id=sale.id, name=sale.name, percentage=sale.percentage, ends_at=sale.ends_at)


class ProductView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    slug: str
    description: str
    category: int | None
    category_name: str | None
    price: Annotated[
        str,
        msgspec.Meta(
            examples=["19.99"],
            description="Decimal string, store currency: the lowest price of its active variants.",
        ),
    ]
    discount_percentage: Annotated[
        Decimal, msgspec.Meta(description="The product's own discount (a running sale may beat it).")
    ]
    final_price: Annotated[str, msgspec.Meta(examples=["17.99"], description=FINAL_PRICE)]
    stock_quantity: Annotated[int, msgspec.Meta(description="What its active variants hold together.")]
    sku: str
    image_url: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    rating_average: Annotated[
        Decimal | None,
        msgspec.Meta(
            examples=["4.3"],
            description="The average rating of its published reviews, one decimal (rounded half-up); "
            "null without any.",
        ),
    ] = None
    rating_count: Annotated[int, msgspec.Meta(description="How many published reviews it has.")] = 0
    options: Annotated[
        list[OptionView], msgspec.Meta(description="What its variants differ by (at most 3); [] for none.")
    ] = []
    variants: Annotated[
        list[VariantView],
        msgspec.Meta(
            description="At least one. A product without options has one, carrying its own sku, price "
            "and stock. Customers see the active ones; staff see all."
        ),
    ] = []
    sale: Annotated[
        RunningSaleView | None,
        msgspec.Meta(
            description="The running sale that sets `final_price` (and its variants' final prices): "
            "the best running sale on the product or its category (or a category above it), when "
            "it beats the product's own discount; else null."
        ),
    ] = None


class StaffProductView(ProductView, kw_only=True):
    """Staff also see what a product costs the shop."""

    cost_price: Annotated[str, msgspec.Meta(examples=["9.50"])] | None


class StockMovementView(msgspec.Struct, kw_only=True):
    id: int
    product_id: int
    variant_id: int | None
    delta: int
    reason: str
    balance_after: int
    actor: str
    note: str
    created_at: datetime


class EncodedPage(msgspec.Struct):
    """A page whose results are already JSON (cached bytes), with the total count."""

    count: int
    results: bytes


class _Prices:
    """One product's amounts as shown: formatted, and less the discount it sells at. Each amount is
    worked out once (its variants mostly cost what the product does)."""

    __slots__ = ("_discount", "_exponent", "_seen")

    def __init__(self, discount: Decimal, exponent: int) -> None:
        self._discount = discount
        self._exponent = exponent
        self._seen: dict[int, tuple[str, str]] = {}

    def __call__(self, minor: int) -> tuple[str, str]:
        """(the amount, the amount less the discount), as decimal strings."""
        found = self._seen.get(minor)
        if found is None:
            exponent, less = self._exponent, percent_off(minor, self._discount)
            found = (format_minor(minor, exponent), format_minor(less, exponent))
            self._seen[minor] = found
        return found


def _variant_view(
    raw: Mapping[str, Any], options: Sequence[ProductOption], base: int, prices: _Prices
) -> VariantView:
    price, final_price = prices(base if raw["price"] is None else int(raw["price"]))
    return VariantView(
        id=int(raw["id"]),
        sku=raw["sku"],
        name=variant_name(options, raw["options"]),
        options=dict(raw["options"]),
        price=price,
        final_price=final_price,
        stock_quantity=int(raw["stock_quantity"]),
        is_active=bool(raw["is_active"]),
        weight_grams=raw["weight_grams"],
    )


def _variant_views(
    row: Any, options: Sequence[ProductOption], prices: _Prices, *, staff: bool
) -> list[VariantView]:
    """The variants of a reader row (a JSON array), or none for a row without them."""
    base: int = getattr(row, "base_price", row.price)
    return [
        _variant_view(raw, options, base, prices)
        for raw in getattr(row, "variants", None) or ()
        if staff or raw["is_active"]
    ]


def variant_view(
    product: Product, variant: Variant, currency: str, sale: Decimal | None = None
) -> VariantView:
    """A variant of `product`, priced with the best running sale's percentage covering it, if any."""
    raw = {name: getattr(variant, name) for name in ("id", "sku", "options", "price", "stock_quantity")}
    raw |= {"is_active": variant.is_active, "weight_grams": variant.weight_grams}
    options = stored_options(product.options)
    discount = best_discount(product.discount_percentage, () if sale is None else (sale,))
    return _variant_view(raw, options, product.price, _Prices(discount, exponent_of(currency)))


def _fields(row: Any, currency: str, sale: RunningSale | None, *, staff: bool = False) -> dict[str, Any]:
    own: Decimal = row.discount_percentage
    discount = own if sale is None else best_discount(own, (sale.percentage,))
    prices = _Prices(discount, exponent_of(currency))
    price, final_price = prices(row.price)
    options = stored_options(row.options)
    count: int = getattr(row, "rating_count", 0)  # a domain Product made in this process has none yet
    return {
        "id": row.id,
        "name": row.name,
        "slug": row.slug,
        "description": row.description,
        "category": row.category_id,
        "category_name": getattr(row, "category_name", None),
        "price": price,
        "discount_percentage": own,
        "final_price": final_price,
        "stock_quantity": row.stock_quantity,
        "sku": row.sku,
        "image_url": row.image_url,
        "is_active": row.is_active,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "rating_average": rating_average(getattr(row, "rating_sum", 0), count),
        "rating_count": count,
        "options": [OptionView(name=o.name, values=list(o.values)) for o in options],
        "variants": _variant_views(row, options, prices, staff=staff),
        "sale": RunningSaleView.of(sale) if sale is not None and discount != own else None,
    }


def product_view(row: Any, currency: str, sale: RunningSale | None = None) -> ProductView:
    """A product row (a domain Product, or a reader row with `category_name`) as customers see it,
    priced with the best running sale covering it, if any."""
    return ProductView(**_fields(row, currency, sale))


def staff_product_view(row: Any, currency: str, sale: RunningSale | None = None) -> StaffProductView:
    cost = row.cost_price
    return StaffProductView(
        **_fields(row, currency, sale, staff=True),
        cost_price=None if cost is None else format_minor(cost, exponent_of(currency)),
    )


def view_for(staff: bool) -> Callable[[Any, str, RunningSale | None], ProductView]:
    return staff_product_view if staff else product_view
