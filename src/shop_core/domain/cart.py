"""Cart rules: quantities, line limits, guest-cart merges, sliding expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from shop_core.domain.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class CartLimits:
    max_quantity: int = 99
    max_lines: int = 100
    ttl: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class CartSnapshot:
    """What a store holds for one cart: product id → quantity, and when it last changed."""

    lines: dict[int, int]
    updated_at: datetime


def customer_owner(user_id: int) -> str:
    return f"user:{user_id}"


def guest_owner(token_id: str) -> str:
    return f"guest:{token_id}"


def check_quantity(quantity: int, limits: CartLimits, *, allow_zero: bool = False) -> None:
    lowest = 0 if allow_zero else 1
    if not lowest <= quantity <= limits.max_quantity:
        raise InvalidInput.field("quantity", f"Use a whole number from {lowest} to {limits.max_quantity}.")


def check_stock(product_id: int, wanted: int, available: int) -> None:
    """Conflict (naming what is available) when the cart would hold more than the stock."""
    if wanted > available:
        raise StockShortage(product_id, wanted, available)


def merged_quantity(guest: int, customer: int, available: int, limits: CartLimits) -> int:
    """A guest line merged into the customer's: the sum, capped by stock and the line maximum."""
    return max(0, min(guest + customer, available, limits.max_quantity))


def is_expired(updated_at: datetime, now: datetime, limits: CartLimits) -> bool:
    return updated_at + limits.ttl <= now


class StockShortage(Conflict):
    """More of a product than is in stock; `available` says how many there are."""

    code = "insufficient_stock"

    def __init__(self, product_id: int, wanted: int, available: int) -> None:
        super().__init__(f"Only {available} of product {product_id} in stock; the cart would hold {wanted}.")
        self.product_id = product_id
        self.available = available


def new_guest_token(secret: str) -> str:
    """An opaque guest-cart token: a random id and its HMAC, so forged tokens are told apart."""
    cart_id = secrets.token_urlsafe(18)
    return f"{cart_id}.{_signature(cart_id, secret)}"


def guest_owner_of(token: str, secret: str) -> str:
    """The cart owner a guest token names; InvalidInput when the token is malformed or forged."""
    cart_id, _, signature = token.strip().partition(".")
    expected = _signature(cart_id, secret).encode()
    # bytes, not str: compare_digest refuses non-ASCII str, and a forged token may carry any text
    if not cart_id or len(token) > 200 or not hmac.compare_digest(signature.encode(), expected):
        raise InvalidInput.field("X-Cart-Token", "This cart token is not one we issued.")
    return guest_owner(cart_id)


def _signature(cart_id: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"cart:{cart_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()
