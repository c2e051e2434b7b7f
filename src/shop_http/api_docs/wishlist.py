"""The documentation of `controllers.wishlist`: the customer's wishlist."""

from __future__ import annotations

from datetime import UTC, datetime

from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.wishlist import WishlistFull
from shop_core.services.catalog_views import VariantView
from shop_core.services.wishlist import (
    NO_SUCH_PRODUCT,
    NO_SUCH_VARIANT,
    NOT_ON_WISHLIST,
    AddToWishlist,
)
from shop_core.services.wishlist_views import WishlistItemView
from shop_http.openapi import body, error, example, ok, request_example, sample

_WHEN = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
MUG = WishlistItemView(
    id=1,
    product_id=3,
    variant_id=None,
    name="Enamel mug",
    slug="enamel-mug",
    image_url="",
    price="12.00",
    final_price="10.80",
    stock_quantity=0,
    in_stock=False,
    is_available=True,
    notify=True,
    created_at=_WHEN,
)
SHIRT = WishlistItemView(
    id=2,
    product_id=1,
    variant_id=23,
    name="T-shirt",
    slug="t-shirt",
    image_url="https://cdn.example.com/t-shirt.jpg",
    price="21.99",
    final_price="21.99",
    stock_quantity=4,
    in_stock=True,
    is_available=True,
    notify=False,
    created_at=_WHEN,
    variant=VariantView(
        id=23,
        sku="TS-M-RED",
        name="M / Red",
        options={"Size": "M", "Color": "Red"},
        price="21.99",
        final_price="21.99",
        stock_quantity=4,
        is_active=True,
        weight_grams=180,
    ),
)

LIST = ok(
    list[WishlistItemView],
    "The customer's entries, oldest first, each with its product's live price and stock. An "
    "entry whose product or variant was made inactive stays, with `is_available: false`.",
    example([MUG, SHIRT], "A product and a variant"),
)
CREATED = ok(WishlistItemView, "Added: the new entry.", example(MUG), status=201)
ALREADY = ok(
    WishlistItemView,
    "It was on the wishlist already: the entry there (its `notify` changed when sent), nothing added.",
    example(MUG),
)
NO_PRODUCT = error(
    NotFound,
    "No such product or variant, an inactive one, or a variant of another product.",
    sample(NotFound(NO_SUCH_PRODUCT)),
    sample(NotFound(NO_SUCH_VARIANT)),
)
NOT_THERE = error(
    NotFound, "Nothing of that product (or variant) is on the wishlist.", sample(NotFound(NOT_ON_WISHLIST))
)
BAD_INPUT = error(
    InvalidInput,
    "A field is missing, of the wrong type, out of range or unknown.",
    sample(InvalidInput("Expected `int` >= 1", {"product_id": ["Expected `int` >= 1"]})),
)
FULL = error(WishlistFull, "The wishlist is full.", sample(WishlistFull()))

ADD_BODY = body(
    request_example(AddToWishlist, "A product", product_id=3),
    request_example(
        AddToWishlist, "A variant, emailed when back in stock", product_id=1, variant_id=23, notify=True
    ),
)
