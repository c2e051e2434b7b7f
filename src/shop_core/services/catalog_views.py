"""What the catalog answers with: products and categories as the API shows them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from shop_core.domain.catalog import Category
from shop_core.domain.money import exponent_of, format_minor, percent_off


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


class ProductView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    slug: str
    description: str
    category: int | None
    category_name: str | None
    price: Annotated[str, msgspec.Meta(examples=["19.99"], description="Decimal string, store currency.")]
    discount_percentage: Decimal
    final_price: Annotated[str, msgspec.Meta(examples=["17.99"], description="Price less the discount.")]
    stock_quantity: int
    sku: str
    image_url: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class StaffProductView(ProductView, kw_only=True):
    """Staff also see what a product costs the shop."""

    cost_price: Annotated[str, msgspec.Meta(examples=["9.50"])] | None


class StockMovementView(msgspec.Struct, kw_only=True):
    id: int
    product_id: int
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


def _fields(row: Any, currency: str) -> dict[str, Any]:
    discount: Decimal = row.discount_percentage
    exponent = exponent_of(currency)
    return {
        "id": row.id,
        "name": row.name,
        "slug": row.slug,
        "description": row.description,
        "category": row.category_id,
        "category_name": getattr(row, "category_name", None),
        "price": format_minor(row.price, exponent),
        "discount_percentage": discount,
        "final_price": format_minor(percent_off(row.price, discount), exponent),
        "stock_quantity": row.stock_quantity,
        "sku": row.sku,
        "image_url": row.image_url,
        "is_active": row.is_active,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def product_view(row: Any, currency: str) -> ProductView:
    """A product row (a domain Product, or a reader row with `category_name`) as customers see it."""
    return ProductView(**_fields(row, currency))


def staff_product_view(row: Any, currency: str) -> StaffProductView:
    cost = row.cost_price
    return StaffProductView(
        **_fields(row, currency),
        cost_price=None if cost is None else format_minor(cost, exponent_of(currency)),
    )


def view_for(staff: bool) -> Callable[[Any, str], ProductView]:
    return staff_product_view if staff else product_view
