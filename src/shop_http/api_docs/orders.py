"""The documentation of `controllers.orders`: placing orders (and checking the cart out), their
life, their payments and invoices.

Placing an order takes the stock in the same transaction (409 `insufficient_stock` names every
short line, with what is available; nothing is taken then). Send an `Idempotency-Key` header (a
UUID) with every placement: a retry with the same key and body answers with the first order and
the same status code, and places nothing; the same key with another body is 409
`idempotency_key_reused`. Keys are kept for 24 hours.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shop_core.domain.errors import Conflict, GatewayUnavailable, InvalidInput, NotFound, ServiceUnavailable
from shop_core.domain.orders import (
    TRANSITIONS,
    OrderStatus,
    OutOfStock,
    PaymentMethod,
    Shortage,
    parse_status,
)
from shop_core.domain.variants import VariantRequired, line_variant
from shop_core.domain.vouchers import Reason, VoucherExhausted, VoucherInvalid
from shop_core.services.order_commands import ChangeOrderStatus, PlaceOrder
from shop_core.services.order_placement import IdempotencyKeyInUse, IdempotencyKeyReused
from shop_core.services.order_views import OrderView
from shop_core.services.payment_views import PaymentView
from shop_core.services.payments import OrderNotPayable, not_configured
from shop_http.api_docs.domain_text import any_of, one_of, order_moves
from shop_http.api_docs.examples import ADDRESS_INPUT, AT, ORDER, PAID_ORDER, STRIPE_PAYMENT, TWO_VARIANTS
from shop_http.openapi import ErrorBody, body, error, example, ok, refusal, request_example, sample
from shop_http.pagination import PageOf

STATUSES = one_of(OrderStatus)
METHODS = any_of(PaymentMethod)


class ShortLine(msgspec.Struct, omit_defaults=True):
    product_id: int
    requested: int
    available: int
    variant_id: Annotated[
        int | None,
        msgspec.Meta(description="The variant, when the line is one of the product's option variants."),
    ] = None
    variant_name: Annotated[
        str | None, msgspec.Meta(description='With `variant_id`: the variant\'s values, "M / Red".')
    ] = None


class OutOfStockBody(ErrorBody):
    """409 for stock names every short line and what is available."""

    shortages: list[ShortLine] | None = None


def _move_refused(before: OrderStatus, target: OrderStatus) -> Conflict:
    allowed = ", ".join(sorted(status.value for status in TRANSITIONS[before])) or "none"
    return Conflict(
        f"Order ORD-2026-8K4Q2PXM is {before.value}; it cannot become {target.value} "
        f"(allowed from here: {allowed})."
    )


# --- answers ---------------------------------------------------------------------------------------

PLACED = ok(
    OrderView,
    "The order, placed (or replayed for a key).",
    example(ORDER, "A new order, waiting for its payment"),
    status=201,
)
ONE_ORDER = ok(
    OrderView,
    "The order (staff also see its audit trail, `events`).",
    example(ORDER, "As its customer sees it"),
    example(PAID_ORDER, "As staff see it"),
)
PAGE = ok(
    PageOf[OrderView],
    "A page of orders.",
    example(PageOf(count=1, next=None, previous=None, results=[ORDER]), "One order"),
)
CANCELLED = ok(
    OrderView,
    "The order, now cancelled.",
    example(msgspec.structs.replace(ORDER, status="cancelled"), "Cancelled before payment"),
)
PAYMENTS = ok(list[PaymentView], "The order's payments.", example([STRIPE_PAYMENT], "One card payment"))
COD_PAYMENT = msgspec.structs.replace(
    STRIPE_PAYMENT,
    id=3,
    gateway=PaymentMethod.COD.value,
    status="succeeded",
    gateway_reference="cod-ORD-2026-8K4Q2PXM-1",
    client_secret=None,
    updated_at=AT,
)
CASH_CONFIRMED = ok(PaymentView, "The cash payment, succeeded.", example(COD_PAYMENT))
INVOICE_FILE = "The PDF file."

# --- errors ----------------------------------------------------------------------------------------

CONFLICT = error(
    Conflict,
    f"`{OutOfStock.code}`: some lines cannot be served (`shortages` names each, nothing was taken); "
    f"`{IdempotencyKeyReused.code}`: the key was used for a different request; "
    f"`{IdempotencyKeyInUse.code}`: a request with that key is still being processed; "
    f"`{VoucherExhausted.code}`: the voucher's uses (everyone's, or this customer's) are gone.",
    sample(OutOfStock([Shortage(product_id=1, requested=5, available=3)]), OutOfStockBody),
    sample(VoucherExhausted(), OutOfStockBody),
    sample(
        OutOfStock([Shortage(product_id=7, requested=2, available=1, variant_id=23, variant_name="M / Red")]),
        OutOfStockBody,
    ),
    sample(IdempotencyKeyReused(), OutOfStockBody),
    data_container=OutOfStockBody,
)
MOVE_CONFLICT = error(
    Conflict,
    "The order's life does not allow that move (or it changed meanwhile); nothing changed.",
    sample(_move_refused(OrderStatus.DELIVERED, OrderStatus.CANCELLED), OutOfStockBody),
    data_container=OutOfStockBody,
)
NO_ORDER = error(NotFound, "No such order, or someone else's.", sample(NotFound("No such order.")))
BAD_ORDER = error(
    InvalidInput,
    "A field is missing or invalid (an address, the payment method, a quantity), a product or variant "
    f"is unknown or not sold, `{VariantRequired.code}` (an item names no `variant_id` and the product "
    "has several variants), the `Idempotency-Key` is malformed, or "
    f"`{VoucherInvalid.code}`: the voucher does not apply (`errors.code` says why).",
    sample(refusal(line_variant, 7, TWO_VARIANTS, None, kind=VariantRequired)),
    sample(VoucherInvalid(Reason.EXPIRED)),
    ErrorBody(
        detail="The order cannot be placed as sent.",
        code=InvalidInput.code,
        errors={
            "shipping_address.country": ["Use an ISO 3166-1 alpha-2 country code, such as US, GB or BD."]
        },
    ),
)
BAD_FILTER = error(
    InvalidInput,
    "A filter or page parameter is invalid.",
    sample(refusal(parse_status, "lost", kind=InvalidInput)),
)
GATEWAY_REFUND = {
    **error(
        GatewayUnavailable,
        "Staff cancelling a paid order: the gateway did not confirm the refund; it stays pending and is "
        "asked about again, never made twice. The order is left as it was.",
        sample(
            GatewayUnavailable(
                "The stripe gateway did not confirm refund #1: timed out. It stays pending and is tried "
                "again by reconciliation."
            )
        ),
    ),
    **error(
        ServiceUnavailable,
        "Staff cancelling a paid order whose gateway is not configured on this shop.",
        sample(ServiceUnavailable(not_configured(PaymentMethod.STRIPE))),
    ),
}
NOT_CASH = error(
    Conflict,
    f"`{OrderNotPayable.code}`: not a cash order, or nothing left to pay.",
    sample(OrderNotPayable("Order ORD-2026-8K4Q2PXM is paid by stripe, not cash.")),
)

# --- descriptions and request bodies ---------------------------------------------------------------

LIST = (
    f"Customers see their own orders. Staff see everyone's and may filter by `status` ({STATUSES}) "
    "and `user` (a user id)."
)
STATUS_FILTER = f"Staff only: one of {STATUSES}."
USER_FILTER = "Staff only: a user's id."
PLACE = (
    "Each item is a product's variant: `variant_id` (one of the product's `variants`) may be left out "
    "for a product with one active variant (every product without options), and is required "
    f"(400 `{VariantRequired.code}`) for a product with several; items of one variant add up. "
    "Prices are the catalog's at this moment (the variant's, after the product's discount), frozen "
    f"on the order. `billing_address` defaults to the shipping address. `payment_method`: {METHODS}. "
    "Send an `Idempotency-Key`."
)
PLACE_LEGACY = (
    "`POST /api/orders/` under the path the original API's clients call, with the same body, "
    "`Idempotency-Key` and answers. Use `POST /api/orders/`."
)
PLACE_BODY = body(
    request_example(
        PlaceOrder,
        "Two mugs, paid by card",
        items=[{"product_id": 1, "quantity": 2}],
        shipping_address=ADDRESS_INPUT,
        payment_method="stripe",
    ),
    request_example(
        PlaceOrder,
        "A T-shirt in M / Red (variant 23) and a mug, paid by card",
        items=[{"product_id": 7, "variant_id": 23, "quantity": 1}, {"product_id": 1, "quantity": 1}],
        shipping_address=ADDRESS_INPUT,
        payment_method="stripe",
    ),
    request_example(
        PlaceOrder,
        "Cash on delivery",
        items=[{"product_id": 1, "quantity": 1}, {"product_id": 2, "quantity": 3}],
        shipping_address=ADDRESS_INPUT,
        payment_method="cod",
    ),
)
GET = "Staff also see its audit trail (`events`). Someone else's order is 404."
MOVE = (
    f"{order_moves()} Any other move is 409 and changes nothing. A refund recorded this way is made by "
    "hand (use the payment's refund endpoint to refund through the gateway)."
)
MOVE_AS_PUT = "As PUT."
STATUS_BODY = body(
    request_example(ChangeOrderStatus, "Shipped", status="shipped"),
    request_example(ChangeOrderStatus, "Refunded (by hand)", status="refunded"),
)
CANCEL = (
    "Customers cancel their own unpaid orders; staff cancel pending and paid ones (a paid order is "
    "refunded through its gateway first). The stock goes back, once, even if two cancels race."
)
INVOICE = (
    "A paid order's invoice, numbered per year without gaps (`INV-2026-000001`); an unpaid order's "
    "pro-forma, without a number. Owner and staff only. Sent inline with a file name "
    '(`Content-Disposition: inline; filename="INV-2026-000001.pdf"`), as '
    "`application/pdf`, or as `application/octet-stream` (the same bytes) for a client whose "
    "`Accept` header prefers it."
)
ORDER_PAYMENTS = "Each attempt to collect the order's money. Owner and staff; another's order is 404."
CONFIRM_CASH = (
    f"The order (paid by `{PaymentMethod.COD.value}`) becomes paid; 409 `{OrderNotPayable.code}` when it "
    "is paid by another method, already paid, or cancelled. No request body."
)
IDEMPOTENCY_KEY = "A key the client makes up per order (a UUID); a retry with it places nothing twice."
