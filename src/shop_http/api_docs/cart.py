"""The documentation of `controllers.cart`: the current customer's (or guest's) cart and its
checkout.

Carts live 30 days after their last change. A line holds one variant of a product (`variant_id`,
`variant_name`; a product without options has one, its default variant). Lines whose product or
variant was deactivated or deleted stay in the cart with `in_stock: false` and count towards
neither `subtotal` nor `item_count`.
"""

from __future__ import annotations

from litestar.openapi.spec import OpenAPIHeader, OpenAPIType, Schema

from shop_core.domain.cart import CartLimits, StockShortage, check_quantity, guest_owner_of
from shop_core.domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, ServiceUnavailable
from shop_core.domain.orders import OutOfStock, parse_payment_method
from shop_core.domain.shipping import ShippingUnavailable
from shop_core.domain.tax import check_country
from shop_core.domain.variants import VariantRequired, line_variant
from shop_core.domain.vouchers import Reason, VoucherExhausted, VoucherInvalid
from shop_core.services.cart import NOT_IN_CART as VARIANT_NOT_IN_CART
from shop_core.services.cart import AddToCart, ApplyVoucher, CartView, SetQuantity
from shop_core.services.order_commands import Checkout
from shop_core.services.shipping_offers import ShippingOfferView
from shop_http.api_docs.examples import ADDRESS_INPUT, CART, EMPTY_CART, TWO_VARIANTS, VARIANT_CART
from shop_http.cart_token import CART_TOKEN
from shop_http.openapi import (
    ErrorBody,
    body,
    documented,
    error,
    example,
    header,
    ok,
    refusal,
    request_example,
    sample,
)

LIMITS = CartLimits()
GUEST_RULES = (
    "Customers send `Authorization: Bearer <access>`; guests send the `X-Cart-Token` they were given. "
    "A bearer token together with a guest's `X-Cart-Token` merges the guest cart into the customer's "
    "first (quantities add up, capped by stock and the per-line maximum; the guest cart is then gone)."
)
TOKEN_EXAMPLE = "3q2-7wEAAQIDBAUGBwgJCgsMDQ4P.pS0v8m3kZQ9uXyA1b2c3d4e5"  # noqa: S105 - an example
SENT_TOKEN = header(
    CART_TOKEN,
    "A guest's cart token, as a cart response gave it. Customers send it once, with their bearer token, "
    "to merge the guest cart into theirs.",
    examples=[TOKEN_EXAMPLE],
)
ECHOED_TOKEN = {
    CART_TOKEN: OpenAPIHeader(
        description="Guests only: the token of their cart (new when this request created it). Send it back "
        "as `X-Cart-Token` on every cart request.",
        schema=Schema(type=OpenAPIType.STRING, examples=[TOKEN_EXAMPLE]),
    )
}
CART_OPERATION = documented(parameters=[SENT_TOKEN], success_headers=ECHOED_TOKEN)
CHECKOUT_OPERATION = documented(parameters=[SENT_TOKEN])
LOG_IN_TO_CHECK_OUT = "Log in to check out; send your X-Cart-Token along to bring the guest cart."


class StockErrorBody(ErrorBody):
    """A 409 for stock names how many there are."""

    available: int | None = None


class VoucherErrorBody(ErrorBody):
    """A 400 `voucher_invalid` says why the voucher does not apply."""

    reason: str | None = None


# --- answers ---------------------------------------------------------------------------------------

ONE_CART = ok(
    CartView,
    "The cart, priced from the catalog.",
    example(CART, "A cart with one line"),
    example(VARIANT_CART, "A cart with a variant (size M, red) of a T-shirt"),
    example(EMPTY_CART, "An empty cart"),
)
EMPTIED = ok(CartView, "The cart, now empty.", example(EMPTY_CART))

# --- errors ----------------------------------------------------------------------------------------

BAD_TOKEN = error(
    InvalidInput,
    "Invalid input, or an `X-Cart-Token` this shop did not issue.",
    sample(refusal(guest_owner_of, TOKEN_EXAMPLE, "not the shop's secret", kind=InvalidInput)),
    sample(refusal(check_quantity, 0, LIMITS, kind=InvalidInput)),
)
BAD_INPUT = error(
    InvalidInput,
    "Invalid input (a quantity, a malformed `variant_id`), an `X-Cart-Token` this shop did not "
    f"issue, or `{VariantRequired.code}`: the product comes in several variants and none is named.",
    sample(refusal(check_quantity, 0, LIMITS, kind=InvalidInput)),
    sample(refusal(line_variant, 7, TWO_VARIANTS, None, kind=VariantRequired)),
    sample(refusal(guest_owner_of, TOKEN_EXAMPLE, "not the shop's secret", kind=InvalidInput)),
)
OPTIONAL_BEARER = error(
    AuthenticationFailed, "A bearer token was sent and it is invalid, expired or revoked (it is optional)."
)
CARTS_DOWN = error(
    ServiceUnavailable,
    "The cart store (Redis) is unreachable; retry after `Retry-After` seconds.",
    sample(ServiceUnavailable("Carts unavailable right now; try again shortly.")),
)
NO_PRODUCT = error(
    NotFound,
    "No such product or variant (of this product), or it is no longer sold.",
    sample(NotFound("No such product.")),
    sample(refusal(line_variant, 7, TWO_VARIANTS, 99, kind=NotFound)),
)
STOCK_CONFLICT = error(
    Conflict,
    f"More than the variant has in stock (`code` `{StockShortage.code}`, `available` says how many "
    "there are), or the cart already has its maximum number of lines.",
    sample(StockShortage(product_id=1, wanted=5, available=3), StockErrorBody),
    sample(StockShortage(product_id=7, wanted=5, available=2, variant_name="M / Red"), StockErrorBody),
    sample(Conflict(f"The cart is full: at most {LIMITS.max_lines} different products."), StockErrorBody),
    data_container=StockErrorBody,
)
NOT_IN_CART = error(
    NotFound,
    "That product (or that variant of it) is not in the cart.",
    sample(NotFound("That product is not in the cart.")),
    sample(NotFound(VARIANT_NOT_IN_CART)),
)
BAD_CHECKOUT = error(
    InvalidInput,
    "The cart is empty, an address or the payment method is invalid, the `X-Cart-Token` or "
    f"`Idempotency-Key` is malformed, or `{VoucherInvalid.code}`: the voucher does not apply.",
    sample(InvalidInput("The cart is empty.", {"cart": ["The cart is empty."]})),
    sample(VoucherInvalid(Reason.MINIMUM_NOT_MET)),
    sample(
        InvalidInput(
            "The order cannot be placed as sent.",
            refusal(parse_payment_method, "card", kind=InvalidInput).errors,
        )
    ),
)
NO_VOUCHER = error(
    InvalidInput,
    f"`{VoucherInvalid.code}`: the voucher does not apply to this cart now; `errors.code` says why "
    "(unknown, not started, expired, minimum not met, nothing in the cart it applies to, used up). "
    "The cart keeps the voucher it had.",
    *(sample(VoucherInvalid(reason), VoucherErrorBody) for reason in Reason),
    data_container=VoucherErrorBody,
)
NO_SHIPPING = error(
    InvalidInput,
    "`country` is missing or not an ISO 3166-1 alpha-2 code in capitals, an `X-Cart-Token` this shop "
    f"did not issue, or `{ShippingUnavailable.code}`: no shipping zone holds the country.",
    sample(refusal(check_country, "bd", kind=InvalidInput)),
    sample(ShippingUnavailable("AQ")),
)
SHIPPING_METHODS = ok(
    list[ShippingOfferView],
    "The methods that can carry the cart's in-stock lines there, cheapest first, each priced for "
    "this cart (an empty list when none takes its weight).",
    example(
        [
            {"id": 3, "name": "Standard", "price": "0.00", "delivery_days": 5},
            {"id": 4, "name": "Express", "price": "12.00", "delivery_days": 1},
        ]
    ),
)
NOT_LOGGED_IN = error(
    AuthenticationFailed,
    "No bearer token (guests log in to check out), or an invalid, expired or revoked one.",
    sample(AuthenticationFailed(LOG_IN_TO_CHECK_OUT)),
)

# --- descriptions and request bodies ---------------------------------------------------------------

VIEW = f"Without a bearer token or cart token: an empty cart. {GUEST_RULES}"
VARIANTS = (
    "A line holds one variant of a product: name it with `variant_id` (one of the product's "
    "`variants`). It may be left out for a product with one active variant (every product without "
    f"options), and is required (400 `{VariantRequired.code}`) for a product with several."
)
ADD = (
    "Adds `quantity` (default 1) to what the cart already holds of that variant. A guest without a "
    f"token gets a new cart and its token in the `X-Cart-Token` response header. {VARIANTS} "
    f"{GUEST_RULES}"
)
ADD_BODY = body(
    request_example(AddToCart, "Two of product 1", product_id=1, quantity=2),
    request_example(AddToCart, "One (the default)", product_id=1),
    request_example(AddToCart, "One T-shirt in M / Red (variant 23)", product_id=7, variant_id=23),
)
VARIANT_QUERY = (
    "The variant whose line this is (the line's `variant_id`; 0 for a line that shows 0: one of the "
    "product's default variant, which the product no longer has, and which can only be removed). "
    "May be left out when the cart holds one line of the product (setting a quantity above 0: when "
    "the product has one active variant)."
)
SET_QUANTITY = (
    "Replaces the quantity of the line of the product's variant (`?variant_id=`); 0 removes the "
    f"line. {VARIANTS} {GUEST_RULES}"
)
SET_QUANTITY_BODY = body(
    request_example(SetQuantity, "Three of it", quantity=3),
    request_example(SetQuantity, "Remove the line", quantity=0),
)
REMOVE = (
    "Removes the line of the product's variant (`?variant_id=`; without it, the cart's one line of "
    "the product, even of a product or variant no longer sold). 404 when that line is not in the "
    f"cart. {GUEST_RULES}"
)
CLEAR = GUEST_RULES
CHECKOUT = (
    "Customers only (a guest logs in first; its `X-Cart-Token` merges the guest cart). Everything in "
    "the cart becomes one order at the catalog's current prices and the cart is emptied. 400 for an "
    f"empty cart (also what a second click gets), 409 `{OutOfStock.code}` when stock ran out since "
    "it was added (nothing is taken and the cart is left as it was). Send an `Idempotency-Key`. "
    "The cart's voucher (or `voucher_code`, which wins over it) is applied and its use counted "
    f"with the order: 400 `{VoucherInvalid.code}` when it does not apply, 409 "
    f"`{VoucherExhausted.code}` when its uses (everyone's, or this customer's) are gone; either way "
    "the cart is left as it was."
)
APPLY_VOUCHER = (
    "Puts a voucher on the cart, replacing the one it had (one per cart). Codes are "
    "case-insensitive. The cart then shows `voucher_code`, the `discount` it gives now and the "
    "`total`; it is checked again on every read of the cart, and a voucher that stopped applying "
    "(expired, the cart fell below its minimum...) stays on the cart with `voucher_error` saying "
    "why, and checkout refuses it. Its uses are counted at checkout, not here. Rate-limited like "
    f"login, against guessing codes. {GUEST_RULES}"
)
APPLY_VOUCHER_BODY = body(request_example(ApplyVoucher, "A code", code="SAVE10"))
SHIPPING_METHODS_TEXT = (
    "The shipping methods of the zone holding `country` that can carry this cart (by the weight of "
    "its in-stock lines: each variant's `weight_grams` times its quantity), each priced as checkout "
    "will charge it: free from the method's `free_over` (the goods after discounts) or with a "
    "free-shipping voucher, else its price, before any tax on shipping. Send one's `id` as "
    "`shipping_method_id` at checkout. A shop without zones answers one entry with `id` null, its "
    f"flat shipping (checkout then takes no method). {GUEST_RULES}"
)
REMOVE_VOUCHER = f"Takes the voucher off the cart (a cart without one answers as it is). {GUEST_RULES}"
CHECKOUT_BODY = body(
    request_example(
        Checkout, "Pay by card (Stripe)", shipping_address=ADDRESS_INPUT, payment_method="stripe"
    ),
    request_example(
        Checkout,
        "Cash on delivery, billed elsewhere",
        shipping_address=ADDRESS_INPUT,
        billing_address={**ADDRESS_INPUT, "line1": "1 Billing Way", "postal_code": "EC1A 1BB"},
        payment_method="cod",
    ),
)
