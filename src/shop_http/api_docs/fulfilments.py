"""The documentation of `controllers.fulfilments`: staff record what shipped of an order, in
parcels with carrier and tracking number; the order's owner and staff list them."""

from __future__ import annotations

from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.fulfilment import OrderNotFulfillable, OverFulfilment
from shop_core.services.fulfilments import RecordFulfilment
from shop_core.services.order_views import FulfillmentLineView, FulfillmentView
from shop_http.api_docs.examples import AT
from shop_http.openapi import body, error, example, ok, request_example, sample

PARCEL = FulfillmentView(
    id=1,
    order_id=1,
    lines=[FulfillmentLineView(item_id=1, quantity=1)],
    carrier="DHL",
    tracking_number="JD014600006281230498",
    created_at=AT,
)

# --- answers ---------------------------------------------------------------------------------------

CREATED = ok(
    FulfillmentView, "The fulfilment recorded.", example(PARCEL, "One of two mugs shipped"), status=201
)
LIST = ok(list[FulfillmentView], "The order's fulfilments, oldest first.", example([PARCEL], "One parcel"))

# --- errors ----------------------------------------------------------------------------------------

NOT_SHIPPABLE = error(
    OrderNotFulfillable,
    f"`{OverFulfilment.code}`: a line asks for more than is left to ship (each such item is named); "
    f"`{OrderNotFulfillable.code}`: the order cannot ship now (unpaid and not cash on delivery, "
    "cancelled, refunded, or already shipped). Nothing was recorded.",
    sample(
        OverFulfilment(
            "More than is left to ship on order ORD-2026-8K4Q2PXM: item 1: 3 asked, 1 left to ship."
        )
    ),
    sample(
        OrderNotFulfillable(
            "Order ORD-2026-8K4Q2PXM cannot be fulfilled: it is unpaid and paid by stripe, not cash on "
            "delivery."
        )
    ),
)
BAD_FULFILMENT = error(
    InvalidInput,
    "A field is missing or invalid: no lines, a quantity below 1, an `item_id` that is not one of "
    "the order's lines, a carrier or tracking number over 100 characters or with control characters.",
    sample(InvalidInput.field("lines", "Item 99 is not a line of order ORD-2026-8K4Q2PXM.")),
)
NO_ORDER = error(NotFound, "No such order, or someone else's.", sample(NotFound("No such order.")))

# --- descriptions and request bodies ---------------------------------------------------------------

RECORD = (
    "Staff record one parcel: which order lines (`item_id`: an item's `id`) and how many, with the "
    "carrier and tracking number. An item named twice counts once with its quantities added up. "
    "The order's `fulfillment_status` becomes `partial`, or `fulfilled` once every line has shipped "
    "whole; then a paid order's `status` becomes `shipped` (and the customer gets the shipped email "
    "with every tracking number); a part shipment sends its own email. A paid order (`paid`, "
    "`processing`) can ship, and a cash-on-delivery order that is neither cancelled nor refunded "
    "(`pending` too: it keeps `pending` until the cash is confirmed). Racing requests never ship "
    "more than was ordered."
)
RECORD_BODY = body(
    request_example(
        RecordFulfilment,
        "One of two mugs, by DHL",
        lines=[{"item_id": 1, "quantity": 1}],
        carrier="DHL",
        tracking_number="JD014600006281230498",
    ),
    request_example(
        RecordFulfilment,
        "Two lines, no tracking",
        lines=[{"item_id": 1, "quantity": 2}, {"item_id": 2, "quantity": 1}],
    ),
)
LIST_TEXT = "The order's parcels, oldest first. Owner and staff; someone else's order is 404."
