"""An order's request checked: its addresses (sent, or from the customer's address book), payment
method and voucher code; its items' limits; its Idempotency-Key; and the fingerprint that tells a
retry of the same request from a different one."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import msgspec

from shop_core.domain.address_book import Default
from shop_core.domain.addresses import Address, address_of
from shop_core.domain.cart import DEFAULT_VARIANT, LineKey
from shop_core.domain.errors import InvalidInput
from shop_core.domain.orders import PaymentMethod, parse_payment_method
from shop_core.services.address_book import address_for_order
from shop_core.services.order_commands import IDEMPOTENCY_KEY, AddressInput, Checkout, PlaceOrder
from shop_core.services.order_context import OrderContext
from shop_core.services.voucher_deals import code_of


@dataclass(frozen=True)
class OrderRequest:
    """An order's request as checked: where it goes, who is billed, how it is paid, its voucher
    code and shipping method, and its fingerprint (what an Idempotency-Key's retry must match)."""

    shipping: Address
    billing: Address
    method: PaymentMethod
    fingerprint: str
    voucher_code: str | None = None
    """The code sent with the request (normalized): it wins over the cart's."""
    shipping_method_id: int | None = None


def check_idempotency_key(raw: str | None) -> str | None:
    """The key as sent, or InvalidInput when it is not 1-255 printable ASCII characters."""
    if raw is None:
        return None
    if re.fullmatch(IDEMPOTENCY_KEY, raw) is None:
        raise InvalidInput.field(
            "Idempotency-Key", "Use 1 to 255 printable ASCII characters (a UUID is ideal)."
        )
    return raw


# Fields after Part 1's: left out of a request's fingerprint when not sent, so the same request
# is fingerprinted as it was before they existed.
_NEWER_FIELDS = ("voucher_code", "shipping_address_id", "billing_address_id", "shipping_method_id")


async def checked_request(
    cmd: PlaceOrder | Checkout, scope: str, user_id: int, ctx: OrderContext
) -> OrderRequest:
    """The request checked (InvalidInput naming every field that is wrong), its saved addresses
    looked up, and fingerprinted within its `scope` ("orders" or "cart")."""
    errors: dict[str, list[str]] = {}
    shipping = billing = None
    for kind in ("shipping", "billing"):
        if getattr(cmd, f"{kind}_address") is not None and getattr(cmd, f"{kind}_address_id") is not None:
            errors[f"{kind}_address_id"] = [f"Send {kind}_address or {kind}_address_id, not both."]
    try:
        shipping = (
            None if cmd.shipping_address is None else _address(cmd.shipping_address, "shipping_address")
        )
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        billing = None if cmd.billing_address is None else _address(cmd.billing_address, "billing_address")
    except InvalidInput as exc:
        errors.update(exc.errors)
    method = None
    try:
        method = parse_payment_method(cmd.payment_method)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if errors or method is None:
        raise InvalidInput("The order cannot be placed as sent.", errors)
    if shipping is None or cmd.billing_address_id is not None:
        shipping, billing = await _saved_addresses(cmd, user_id, shipping, billing, ctx)
    code = None if cmd.voucher_code is None else code_of(cmd.voucher_code)
    fields = {k: v for k, v in msgspec.structs.asdict(cmd).items() if v is not None or k not in _NEWER_FIELDS}
    for name in ("shipping_address", "billing_address"):
        if isinstance(sent := fields[name], AddressInput):
            # An address without a region is fingerprinted as it was before regions existed.
            fields[name] = {k: v for k, v in msgspec.structs.asdict(sent).items() if k != "region" or v}
    body = msgspec.json.encode(fields, order="sorted")
    fingerprint = hashlib.sha256(scope.encode() + b"\0" + body).hexdigest()
    return OrderRequest(shipping, billing or shipping, method, fingerprint, code, cmd.shipping_method_id)


async def _saved_addresses(
    cmd: PlaceOrder | Checkout,
    user_id: int,
    shipping: Address | None,
    billing: Address | None,
    ctx: OrderContext,
) -> tuple[Address, Address | None]:
    """The addresses an order names from the customer's address book (by id, or the defaults when
    it sends no shipping address): copied, so a later change of the book changes no order."""
    async with ctx.uow() as uow:
        if cmd.shipping_address_id is not None:
            shipping = await address_for_order(uow, user_id, cmd.shipping_address_id, "shipping_address_id")
        elif shipping is None:
            default = await uow.addresses.default(user_id, Default.SHIPPING)
            if default is None:
                raise InvalidInput(
                    "The order cannot be placed as sent.",
                    {"shipping_address": ["This field is required (or save a default shipping address)."]},
                )
            shipping = default.address
            if billing is None and cmd.billing_address_id is None:
                found = await uow.addresses.default(user_id, Default.BILLING)
                billing = None if found is None else found.address
        if cmd.billing_address_id is not None:
            billing = await address_for_order(uow, user_id, cmd.billing_address_id, "billing_address_id")
    return shipping, billing


def _address(raw: AddressInput, field: str) -> Address:
    return address_of(msgspec.structs.asdict(raw), field)


def check_items(wanted: dict[LineKey, int], ctx: OrderContext) -> None:
    """InvalidInput when an order has more lines, or a line more units, than the shop allows."""
    if len(wanted) > ctx.max_lines:
        raise InvalidInput.field("items", f"At most {ctx.max_lines} different products per order.")
    errors = {
        _item_field(line): [f"At most {ctx.max_quantity} of one product per order."]
        for line, quantity in wanted.items()
        if quantity > ctx.max_quantity
    }
    if errors:
        raise InvalidInput("A quantity is too large.", errors)


def _item_field(line: LineKey) -> str:
    product_id, variant_key = line
    if variant_key == DEFAULT_VARIANT:
        return f"items.{product_id}.quantity"
    return f"items.{product_id}.variant.{variant_key}.quantity"
