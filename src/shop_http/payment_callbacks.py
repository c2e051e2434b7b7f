"""What the payment gateways' callbacks (webhooks, the customer's return from a payment page) are
answered with, and the longest transaction id they may bring back."""

from __future__ import annotations

import msgspec

MAX_TRAN_ID = 255


class WebhookAnswer(msgspec.Struct):
    """What became of a delivery: `applied`, `duplicate` (already handled) or `ignored` (not news
    about one of our payments)."""

    status: str


class ReturnAnswer(msgspec.Struct):
    """Where the payment stands once the gateway was asked (`pending` while it has not decided)."""

    status: str
    order_id: int
