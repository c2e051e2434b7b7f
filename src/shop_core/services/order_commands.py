"""What drivers ask of orders, validated when built."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shop_core.domain.ids import MAX_ID
from shop_core.services.cart import VARIANT_ID_RULE, VariantId
from shop_core.services.commands import NO_NUL, Command

Text = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"  # printable ASCII, no spaces: what clients generate (UUIDs)


Region = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        pattern=NO_NUL,
        examples=["CA", "Dhaka"],
        description="State, province or division: a tax rate set for it applies (else the country's).",
    ),
]


class AddressInput(Command):
    full_name: Text
    line1: Text
    city: Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)]
    postal_code: Annotated[str, msgspec.Meta(max_length=20, pattern=NO_NUL)]
    country: Annotated[str, msgspec.Meta(max_length=2, pattern=NO_NUL, examples=["US", "GB", "BD"])]
    line2: Text = ""
    phone: Annotated[str, msgspec.Meta(max_length=32, pattern=r"^[0-9+() .-]*$")] = ""
    region: Region = ""


class OrderItemInput(Command, kw_only=True, omit_defaults=True):
    """One line: a product's variant and how many. (`omit_defaults`: an item without a variant
    encodes as it did before variants, so an Idempotency-Key's fingerprint of it is unchanged.)"""

    product_id: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
    variant_id: Annotated[VariantId | None, msgspec.Meta(description=VARIANT_ID_RULE)] = None
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


VoucherCode = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        pattern=NO_NUL,
        examples=["SAVE10"],
        description="A voucher's code (any case). Cart checkout uses the cart's voucher when this is "
        "left out. 400 `voucher_invalid` when it does not apply, 409 `voucher_exhausted` when its "
        "uses are gone.",
    ),
]


SavedAddressId = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=MAX_ID,
        description="An address of the customer's address book (`/api/addresses/`), copied into the "
        "order; instead of the address itself. Someone else's is 404.",
    ),
]
ShippingMethodId = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=MAX_ID,
        description="The shipping method (`GET /api/cart/shipping-methods/?country=XX`): required once "
        "the shop has shipping zones, left out otherwise. 400 `shipping_unavailable` when it cannot "
        "ship this order there.",
    ),
]
SHIPPING_ADDRESS = (
    "Where to ship; or `shipping_address_id`; with neither, the customer's default shipping address."
)


class PlaceOrder(Command):
    items: Annotated[list[OrderItemInput], msgspec.Meta(min_length=1, max_length=1000)]
    payment_method: Annotated[str, msgspec.Meta(max_length=32, examples=["stripe", "sslcommerz", "cod"])]
    shipping_address: Annotated[AddressInput | None, msgspec.Meta(description=SHIPPING_ADDRESS)] = None
    billing_address: AddressInput | None = None
    voucher_code: VoucherCode | None = None
    shipping_address_id: SavedAddressId | None = None
    billing_address_id: SavedAddressId | None = None
    shipping_method_id: ShippingMethodId | None = None


class Checkout(Command):
    payment_method: Annotated[str, msgspec.Meta(max_length=32, examples=["stripe", "sslcommerz", "cod"])]
    shipping_address: Annotated[AddressInput | None, msgspec.Meta(description=SHIPPING_ADDRESS)] = None
    billing_address: AddressInput | None = None
    voucher_code: VoucherCode | None = None
    shipping_address_id: SavedAddressId | None = None
    billing_address_id: SavedAddressId | None = None
    shipping_method_id: ShippingMethodId | None = None


class ChangeOrderStatus(Command):
    status: Annotated[str, msgspec.Meta(max_length=32, examples=["processing", "shipped"])]
