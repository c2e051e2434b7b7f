"""What a wishlist entry shows: the live product (or variant), priced as the catalog prices it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from shop_core.domain.catalog import Product
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.sales import sale_price
from shop_core.domain.variants import Variant
from shop_core.domain.wishlist import WishlistItem
from shop_core.ports.persistence import UnitOfWork
from shop_core.services.catalog_views import FINAL_PRICE, VariantView, variant_view


class WishlistItemView(msgspec.Struct, kw_only=True):
    """One entry, with what its product (or its chosen variant) costs and holds right now."""

    id: int
    product_id: int
    variant_id: Annotated[int | None, msgspec.Meta(description="The chosen variant; null: the product.")]
    name: Annotated[str, msgspec.Meta(examples=["T-shirt"], description="The product's name.")]
    slug: str
    image_url: str
    price: Annotated[
        str,
        msgspec.Meta(examples=["19.99"], description="The variant's price, else the product's (its lowest)."),
    ]
    final_price: Annotated[str, msgspec.Meta(examples=["17.99"], description=FINAL_PRICE)]
    stock_quantity: Annotated[
        int, msgspec.Meta(description="The variant's stock, else what the product's active variants hold.")
    ]
    in_stock: Annotated[bool, msgspec.Meta(description="Available, with some stock.")]
    is_available: Annotated[
        bool,
        msgspec.Meta(
            description="False when the product (or the chosen variant) is inactive: it stays listed."
        ),
    ]
    notify: Annotated[bool, msgspec.Meta(description="Email me when it comes back in stock.")]
    created_at: datetime
    variant: Annotated[
        VariantView | None, msgspec.Meta(description="The chosen variant's details; null for the product.")
    ] = None


def item_view(
    item: WishlistItem, product: Product, variant: Variant | None, currency: str, sale: Decimal | None
) -> WishlistItemView:
    assert item.id is not None
    assert product.id is not None
    chosen = None if variant is None else variant_view(product, variant, currency, sale)
    if chosen is None:
        exponent = exponent_of(currency)
        price = format_minor(product.price, exponent)
        final = format_minor(sale_price(product.price, product.discount_percentage, _sales(sale)), exponent)
        stock = product.stock_quantity
    else:
        price, final, stock = chosen.price, chosen.final_price, chosen.stock_quantity
    available = product.is_active and (variant is None or variant.is_active)
    return WishlistItemView(
        id=item.id,
        product_id=product.id,
        variant_id=item.variant_id,
        name=product.name,
        slug=product.slug,
        image_url=product.image_url,
        price=price,
        final_price=final,
        stock_quantity=stock,
        in_stock=available and stock > 0,
        is_available=available,
        notify=item.notify,
        created_at=item.created_at,
        variant=chosen,
    )


def _sales(sale: Decimal | None) -> tuple[Decimal, ...]:
    return () if sale is None else (sale,)


async def item_views(
    uow: UnitOfWork, items: Sequence[WishlistItem], currency: str, now: datetime
) -> list[WishlistItemView]:
    """The entries with their live products, in three queries (products, variants, running sales)."""
    if not items:
        return []
    ids = sorted({item.product_id for item in items})
    products = await uow.products.by_ids(ids)
    variants = {v.id: v for vs in (await uow.variants.for_products(ids)).values() for v in vs}
    sales = await uow.sales.running_percentages_of(ids, now)
    return [
        item_view(item, product, _variant(variants, item), currency, sales.get(item.product_id))
        for item in items
        if (product := products.get(item.product_id)) is not None
    ]


def _variant(variants: dict[int | None, Variant], item: WishlistItem) -> Variant | None:
    return None if item.variant_id is None else variants.get(item.variant_id)
