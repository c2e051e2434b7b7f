"""The documentation of `controllers.returns`: customers ask to send delivered goods back; staff
approve or reject, receive (restocking or not) and refund them."""

from __future__ import annotations

from shop_core.domain.errors import GatewayUnavailable, InvalidInput, NotFound, ServiceUnavailable
from shop_core.domain.returns import (
    RefundExceedsPaid,
    ReturnMoveRefused,
    ReturnNotAllowed,
    ReturnStatus,
    ReturnTooMany,
)
from shop_core.services.returns import (
    OrderNotRefundable,
    ReceiveReturn,
    RejectReturn,
    RequestReturn,
    ReturnLineView,
    ReturnView,
)
from shop_http.api_docs.examples import AT
from shop_http.openapi import body, error, example, ok, request_example, sample
from shop_http.pagination import PageOf

REQUESTED = ReturnView(
    id=1,
    order_id=1,
    status="requested",
    lines=[ReturnLineView(item_id=1, quantity=1)],
    reason="Too small",
    note="",
    refund_amount=None,
    restock=None,
    refund_id=None,
    created_at=AT,
    updated_at=AT,
    received_at=None,
    refunded_at=None,
)
RECEIVED = ReturnView(
    **{
        **{f: getattr(REQUESTED, f) for f in REQUESTED.__struct_fields__},
        "status": "received",
        "restock": True,
    }
)

# --- answers ---------------------------------------------------------------------------------------

CREATED = ok(ReturnView, "The return, requested.", example(REQUESTED, "One mug back"), status=201)
ONE = ok(ReturnView, "The return.", example(REQUESTED, "Requested"), example(RECEIVED, "Received, restocked"))
PAGE = ok(
    PageOf[ReturnView],
    "A page of returns, newest first.",
    example(PageOf(count=1, next=None, previous=None, results=[REQUESTED]), "One return"),
)

# --- errors ----------------------------------------------------------------------------------------

NOT_RETURNABLE = error(
    ReturnNotAllowed,
    f"`{ReturnNotAllowed.code}`: the order is not delivered, or its return window has closed; "
    f"`{ReturnTooMany.code}`: more units than were delivered and are not in another return (each "
    "such item is named). Nothing was recorded.",
    sample(ReturnNotAllowed("Order ORD-2026-8K4Q2PXM is shipped; only delivered goods go back.")),
    sample(ReturnTooMany({1: (3, 1)})),
)
MOVE_REFUSED = error(
    ReturnMoveRefused,
    f"`{ReturnMoveRefused.code}`: the return cannot make this move from where it stands "
    "(requested → approved or rejected, approved → received, received → refunded). Nothing changed.",
    sample(ReturnMoveRefused(1, ReturnStatus.REJECTED, ReturnStatus.APPROVED)),
)
BAD_RETURN = error(
    InvalidInput,
    "A field is missing or invalid: no lines, an item named twice or not one of the order's lines, a "
    "quantity below 1, an empty reason, or text over 1000 characters or with control characters.",
    sample(InvalidInput.field("lines", "Order ORD-2026-8K4Q2PXM has no item 99.")),
)
NO_ORDER = error(NotFound, "No such order, or someone else's.", sample(NotFound("No such order.")))
NO_RETURN = error(NotFound, "No such return, or someone else's.", sample(NotFound("No such return.")))

# --- descriptions and request bodies ---------------------------------------------------------------

REQUEST = (
    "The order's customer asks to send units of a delivered order back, within the return window "
    "(`SHOP_RETURN_WINDOW_DAYS` after delivery), naming each item (`item_id`: an item's `id`) once. "
    "Units already in a return that was not rejected cannot be asked for again; racing requests never "
    "ask back more than was delivered. Staff may ask on the customer's behalf; another customer's "
    "order is 404."
)
REQUEST_BODY = body(
    request_example(RequestReturn, "One mug back", lines=[{"item_id": 1, "quantity": 1}], reason="Too small"),
)
LIST = "Staff see every return; customers the returns of their own orders. Newest first."
GET = "The return: its customer's or staff's; someone else's is 404."
APPROVE = "Staff accept a requested return: the customer may send the goods."
REJECT = "Staff refuse a requested return, with a note the customer sees."
REJECT_BODY = body(request_example(RejectReturn, "Worn", note="Worn; not as sent."))
RECEIVE = (
    "Staff received the goods of an approved return; with `restock` their units go back into stock "
    "(stock movements with reason `return`)."
)
RECEIVE_BODY = body(
    request_example(ReceiveReturn, "Back on the shelf", restock=True),
    request_example(ReceiveReturn, "Damaged: not restocked", restock=False),
)

REFUNDED = ReturnView(
    **{
        **{f: getattr(REQUESTED, f) for f in REQUESTED.__struct_fields__},
        "status": "refunded",
        "restock": True,
        "refund_amount": "5.00",
        "refund_id": 1,
        "received_at": AT,
        "refunded_at": AT,
    }
)
REFUND_DONE = ok(ReturnView, "The return, refunded.", example(REFUNDED, "One mug refunded"))
REFUND_REFUSED = error(
    ReturnMoveRefused,
    f"`{ReturnMoveRefused.code}`: the return is not `received` (already refunded, say); "
    f"`{OrderNotRefundable.code}`: the order holds no money (unpaid); `{RefundExceedsPaid.code}`: "
    "the refund would pass what was paid. Nothing was refunded.",
    sample(ReturnMoveRefused(1, ReturnStatus.REFUNDED, ReturnStatus.REFUNDED)),
    sample(
        OrderNotRefundable(
            "Order ORD-2026-8K4Q2PXM has no payment that took its money through the shop (payment "
            "status unpaid); nothing to refund through it."
        )
    ),
    sample(
        RefundExceedsPaid(
            "Order ORD-2026-8K4Q2PXM: refunding 5.00 USD after 30.00 would pass the 30.00 paid."
        )
    ),
)
GATEWAY_DOWN = error(
    GatewayUnavailable,
    f"`{GatewayUnavailable.code}`: the gateway did not confirm the refund. It stays pending on the "
    "return (still `received`); this request again, or reconciliation, asks for the same refund.",
    sample(GatewayUnavailable("The stripe gateway did not confirm refund #1: timed out.")),
)
NOT_CONFIGURED = error(
    ServiceUnavailable,
    "The order's gateway is not configured on this shop, or the database is unavailable.",
    sample(ServiceUnavailable("stripe payments are not configured on this shop.", 60)),
)
REFUND = (
    "Staff refund a received return: its exact share of what was paid (each line's units at what "
    "was paid for them, discounts and tax included; shipping with the return that brings the last "
    "unit back), fixed once, through the order's paid payment (cash on delivery: recorded as handed "
    "back). The return becomes `refunded`, and the order `refunded` once everything paid has been "
    "given back. When the gateway does not answer, the refund stays pending: calling this again "
    "(or reconciliation) asks for the same refund, so nothing is refunded twice."
)
