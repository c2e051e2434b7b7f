"""Cart rules: what a line is (a product's variant), quantities, line limits, guest-cart merges,
sliding expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shop_core.domain.errors import Conflict, DomainError, InvalidInput
from shop_core.domain.variants import Variant

DEFAULT_VARIANT = 0
"""The variant key of a product's default variant (the one variant of a product without options)."""

LineKey = tuple[int, int]
"""What a cart line is: (product id, variant key). The variant key is `DEFAULT_VARIANT` (0) for the
product's default variant, which is what every line of a cart from before variants means (in the
database and in Redis alike), and the variant's id for any other variant."""


def line_key(variant: Variant) -> LineKey:
    """The key of the line holding `variant` (a stored variant)."""
    assert variant.id is not None
    return variant.product_id, DEFAULT_VARIANT if variant.is_default else variant.id


def keyed_variant(key: LineKey, variants: Iterable[Variant]) -> Variant | None:
    """The variant a line key means among its product's variants (active or not): for key 0 the
    product's default variant; None when there is no such variant any more (a product that got
    options has no default variant; a variant may be deleted)."""
    product_id, variant_key = key
    for variant in variants:
        if variant.product_id != product_id:
            continue
        if variant.is_default if variant_key == DEFAULT_VARIANT else variant.id == variant_key:
            return variant
    return None


@dataclass(frozen=True)
class CartLimits:
    max_quantity: int = 99
    max_lines: int = 100
    ttl: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class CartSnapshot:
    """What a store holds for one cart: line key (product id, variant key) → quantity, and when it
    last changed."""

    lines: dict[LineKey, int]
    updated_at: datetime
    voucher_code: str | None = None
    """The code of the voucher applied to the cart (normalized), if any."""


def customer_owner(user_id: int) -> str:
    return f"user:{user_id}"


def customer_of(owner: str) -> int | None:
    """The customer whose cart `owner` is (None for a guest's cart)."""
    kind, _, user_id = owner.partition(":")
    return int(user_id) if kind == "user" and user_id.isdigit() else None


def guest_owner(token_id: str) -> str:
    return f"guest:{token_id}"


def check_quantity(quantity: int, limits: CartLimits, *, allow_zero: bool = False) -> None:
    lowest = 0 if allow_zero else 1
    if not lowest <= quantity <= limits.max_quantity:
        raise InvalidInput.field("quantity", f"Use a whole number from {lowest} to {limits.max_quantity}.")


# The cart limits. A store applies them inside its atomic write (a Lua script, a conditional
# upsert), so concurrent adds cannot together pass them; what they are, and what the customer is
# told, is decided here.


def within_line_maximum(quantity: int, limits: CartLimits) -> bool:
    """Whether one line may hold `quantity` of a product."""
    return quantity <= limits.max_quantity


def has_room_for(lines_held: int, *, has_line: bool, limits: CartLimits) -> bool:
    """Whether a cart holding `lines_held` lines may take a change of one line (a new line needs room)."""
    return has_line or lines_held < limits.max_lines


def limit_error(limits: CartLimits, *, lines: bool) -> DomainError:
    """What the customer is told when a store refused a change past `limits` (`lines`: the line
    count; otherwise a line's maximum)."""
    if lines:
        return Conflict(f"The cart is full: at most {limits.max_lines} different products.")
    return InvalidInput.field("quantity", f"At most {limits.max_quantity} of one product per cart.")


def check_stock(product_id: int, wanted: int, available: int, variant_name: str = "") -> None:
    """Conflict (naming what is available) when the cart would hold more than the stock (of the
    line's variant, `variant_name` "M / Red"; "" for a product's default variant)."""
    if wanted > available:
        raise StockShortage(product_id, wanted, available, variant_name)


def merged_quantity(guest: int, customer: int, available: int, limits: CartLimits) -> int:
    """A guest line merged into the customer's: the sum, capped by stock and the line maximum."""
    return max(0, min(guest + customer, available, limits.max_quantity))


def is_expired(updated_at: datetime, now: datetime, limits: CartLimits) -> bool:
    return updated_at + limits.ttl <= now


class StockShortage(Conflict):
    """More of a product's variant than is in stock; `available` says how many there are."""

    code = "insufficient_stock"

    def __init__(self, product_id: int, wanted: int, available: int, variant_name: str = "") -> None:
        which = f"product {product_id} ({variant_name})" if variant_name else f"product {product_id}"
        super().__init__(f"Only {available} of {which} in stock; the cart would hold {wanted}.")
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
