"""Commands on the catalog, validated by msgspec when decoded or converted."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from shop_core.domain.ids import MAX_ID
from shop_core.services.commands import NO_NUL, Command

Amount = Annotated[Decimal, msgspec.Meta(description='A decimal amount, e.g. "19.99".')]
Percent = Annotated[Decimal, msgspec.Meta(description="0 to 100, at most two decimals.")]
Quantity = Annotated[int, msgspec.Meta(ge=0, le=2_000_000_000)]
Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Text = Annotated[str, msgspec.Meta(max_length=10_000, pattern=NO_NUL)]
ShortName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Url = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^(https?://[^\s\x00]+)?$")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
UNSET = msgspec.UNSET
Unset = msgspec.UnsetType


class OptionInput(Command):
    """One way a product's variants differ: a name and its values, in the order shown."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=NO_NUL, examples=["Size"])]
    values: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]],
        msgspec.Meta(min_length=1, max_length=100, examples=[["S", "M", "L"]]),
    ]


Options = Annotated[
    list[OptionInput],
    msgspec.Meta(
        max_length=3,
        description="What the product's variants differ by, at most 3 (Size, Color, ...). The values "
        "of existing variants must stay among them.",
    ),
]


class CreateProduct(Command):
    name: ShortName
    sku: Sku
    price: Amount
    slug: Slug | None = None
    description: Text = ""
    category: Id | None = None
    cost_price: Amount | None = None
    discount_percentage: Percent = Decimal(0)
    stock_quantity: Quantity = 0
    image_url: Url = ""
    is_active: bool = True
    options: Options = []


class UpdateProduct(Command):
    """PATCH: only the fields sent change."""

    name: ShortName | Unset = UNSET
    sku: Sku | Unset = UNSET
    price: Amount | Unset = UNSET
    slug: Slug | Unset = UNSET
    description: Text | Unset = UNSET
    category: Id | Unset | None = UNSET
    cost_price: Amount | Unset | None = UNSET
    discount_percentage: Percent | Unset = UNSET
    stock_quantity: Quantity | Unset = UNSET
    image_url: Url | Unset = UNSET
    is_active: bool | Unset = UNSET
    options: Options | Unset = UNSET


class ReplaceProduct(Command):
    """PUT: the required fields must be sent; optional fields left out keep their values (as DRF)."""

    name: ShortName
    sku: Sku
    price: Amount
    slug: Slug | Unset = UNSET
    description: Text | Unset = UNSET
    category: Id | Unset | None = UNSET
    cost_price: Amount | Unset | None = UNSET
    discount_percentage: Percent | Unset = UNSET
    stock_quantity: Quantity | Unset = UNSET
    image_url: Url | Unset = UNSET
    is_active: bool | Unset = UNSET
    options: Options | Unset = UNSET


class CreateCategory(Command):
    name: ShortName
    slug: Slug | None = None
    parent: Id | None = None
    description: Text = ""


class UpdateCategory(Command):
    name: ShortName | Unset = UNSET
    slug: Slug | Unset = UNSET
    parent: Id | Unset | None = UNSET
    description: Text | Unset = UNSET


class ReplaceCategory(Command):
    """PUT: `name` must be sent; optional fields left out keep their values (as DRF)."""

    name: ShortName
    slug: Slug | Unset = UNSET
    parent: Id | Unset | None = UNSET
    description: Text | Unset = UNSET


class ChangeStock(Command):
    """Set stock to `quantity`, or move it by `delta`; exactly one of the two."""

    sku: Sku
    reason: Reason
    quantity: Quantity | None = None
    delta: Annotated[int, msgspec.Meta(ge=-2_000_000_000, le=2_000_000_000)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)] = ""


class ProductQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A product list request, as a client sends it (prices in major units)."""

    category: Id | None = None
    search: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    min_price: Amount | None = None
    max_price: Amount | None = None
    in_stock: bool = False
    ordering: str | None = None
    low_stock_below: Quantity | None = None
