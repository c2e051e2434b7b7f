"""Orders: what was bought at which price, and the one table of moves an order's life allows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shop_core.domain.addresses import Address
from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.pricing import PricedLine, TaxTerms, Totals
from shop_core.domain.tax import TaxGroup, grouped


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class OrderPaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"


class FulfillmentStatus(StrEnum):
    """How much of the order has shipped (its fulfilments); `status` keeps its own life."""

    UNFULFILLED = "unfulfilled"
    PARTIAL = "partial"
    FULFILLED = "fulfilled"


class PaymentMethod(StrEnum):
    STRIPE = "stripe"
    SSLCOMMERZ = "sslcommerz"
    COD = "cod"


# Every move an order may make; anything else is refused and changes nothing.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED, OrderStatus.REFUNDED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.SHIPPED, OrderStatus.REFUNDED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED, OrderStatus.REFUNDED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}
# Stock taken for an order goes back when it leaves through one of these, from a state in which
# the goods had not left the warehouse.
RESTOCKING = frozenset(
    {
        (OrderStatus.PENDING, OrderStatus.CANCELLED),
        (OrderStatus.PAID, OrderStatus.CANCELLED),
        (OrderStatus.PAID, OrderStatus.REFUNDED),
    }
)
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone


def parse_status(raw: str) -> OrderStatus:
    try:
        return OrderStatus(raw)
    except ValueError:
        names = ", ".join(s.value for s in OrderStatus)
        raise InvalidInput.field("status", f"Unknown status {raw!r}; one of {names}.") from None


def parse_payment_method(raw: str) -> PaymentMethod:
    try:
        return PaymentMethod(raw)
    except ValueError:
        names = ", ".join(m.value for m in PaymentMethod)
        raise InvalidInput.field(
            "payment_method", f"Unknown payment method {raw!r}; one of {names}."
        ) from None


def new_order_number(now: datetime) -> str:
    """`ORD-2026-8K4Q2P`: the year, then 8 random characters (40 bits): not guessable in sequence."""
    drawn = secrets.token_bytes(8)  # 256 is a multiple of 32: every character equally likely
    return f"ORD-{now.year}-{''.join(_ALPHABET[b % 32] for b in drawn)}"


@dataclass(frozen=True)
class OrderLine:
    product_id: int
    product_name: str
    sku: str
    unit_price: int
    quantity: int
    line_total: int
    discount_amount: int
    tax_amount: int
    variant_id: int | None = None
    variant_name: str = ""
    """"M / Red"; "" for a product's default variant."""
    voucher_discount: int = 0
    """The line's share of the order's voucher discount (part of `discount_amount`)."""
    tax_rate: Decimal | None = None
    """The rate applied to the line (0.2 is 20%); None on orders from before rates were kept."""
    tax_name: str | None = None
    """What the rate is called ("VAT")."""
    id: int | None = None
    """The line's id (what a fulfilment names as `item_id`); None until the order is stored."""

    @classmethod
    def of(cls, priced: PricedLine) -> OrderLine:
        return cls(
            priced.product_id,
            priced.product_name,
            priced.sku,
            priced.unit_price,
            priced.quantity,
            priced.line_total,
            priced.discount_amount,
            priced.tax_amount,
            voucher_discount=priced.voucher_discount,
            tax_rate=priced.tax_rate,
            tax_name=priced.tax_name,
        )


@dataclass(frozen=True)
class OrderEvent:
    """One entry of an order's audit trail: who did what, when."""

    action: str
    at: datetime
    actor: str
    from_status: str = ""
    to_status: str = ""
    note: str = ""
    order_id: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class ShippingChoice:
    """The shipping method an order was placed with, copied: its id then, its name and its list
    price (what it charged may be less: free from its threshold, or with a voucher)."""

    method_id: int | None
    """None once the method is deleted."""
    name: str
    price: int


@dataclass(eq=False)
class Order:
    number: str
    user_id: int
    status: OrderStatus
    payment_status: OrderPaymentStatus
    payment_method: PaymentMethod
    currency: str
    subtotal: int
    discount_amount: int
    tax_amount: int
    shipping_cost: int
    total_price: int
    shipping_address: Address
    billing_address: Address
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLine] = field(default_factory=list)
    paid_at: datetime | None = None
    delivered_at: datetime | None = None
    version: int = 1
    id: int | None = None
    voucher_id: int | None = None
    voucher_code: str | None = None
    """The voucher used, as its code was when the order was placed."""
    voucher_discount: int = 0
    """The voucher's part of `discount_amount`."""
    refunded_amount: int = 0
    """What its payments gave back so far (read from them; never written with the order)."""
    shipping_method: ShippingChoice | None = None
    """None: the shop's flat shipping (no zones), or an order from before zones."""
    shipping_tax: int = 0
    """The shipping's part of `tax_amount`."""
    tax_rate: Decimal | None = None
    """The rate applied (to every line, and to shipping when it is taxed); None on older orders."""
    tax_name: str | None = None
    prices_include_tax: bool = False
    """Catalog prices were gross: the amounts kept are net, the tax extracted from them."""
    fulfillment_status: FulfillmentStatus = FulfillmentStatus.UNFULFILLED

    @classmethod
    def place(
        cls,
        *,
        user_id: int,
        lines: list[PricedLine],
        totals: Totals,
        currency: str,
        payment_method: PaymentMethod,
        shipping_address: Address,
        billing_address: Address,
        now: datetime,
        voucher: tuple[int, str] | None = None,
        shipping_method: ShippingChoice | None = None,
        tax: TaxTerms | None = None,
    ) -> Order:
        """A new pending order; `voucher`: the (id, code) of the voucher it used, whose discount
        `totals` and `lines` hold; `shipping_method` the method chosen; `tax` the terms the lines
        and `totals` were priced on."""
        if not lines:
            raise InvalidInput.field("items", "An order needs at least one item.")
        return cls(
            number=new_order_number(now),
            user_id=user_id,
            status=OrderStatus.PENDING,
            payment_status=OrderPaymentStatus.UNPAID,
            payment_method=payment_method,
            currency=currency,
            subtotal=totals.subtotal,
            discount_amount=totals.discount_amount,
            tax_amount=totals.tax_amount,
            shipping_cost=totals.shipping_cost,
            total_price=totals.total_price,
            shipping_address=shipping_address,
            billing_address=billing_address,
            created_at=now,
            updated_at=now,
            lines=[OrderLine.of(line) for line in lines],
            voucher_id=voucher[0] if voucher else None,
            voucher_code=voucher[1] if voucher else None,
            voucher_discount=totals.voucher_discount,
            shipping_method=shipping_method,
            shipping_tax=totals.shipping_tax,
            tax_rate=None if tax is None else tax.rate,
            tax_name=None if tax is None else tax.name,
            prices_include_tax=tax is not None and tax.included,
        )

    def tax_groups(self) -> list[TaxGroup]:
        """The order's tax by rate, as an invoice lists it: each line's at the rate it was taxed
        at, and the shipping's at the order's (their tax adds up to `tax_amount`)."""
        parts = [
            (line.tax_name, line.tax_rate, line.line_total - line.discount_amount, line.tax_amount)
            for line in self.lines
        ]
        if self.shipping_tax:
            parts.append((self.tax_name, self.tax_rate, self.shipping_cost, self.shipping_tax))
        return grouped(parts)

    @property
    def was_paid(self) -> bool:
        """The money came at some point (the order may have been refunded since)."""
        return self.paid_at is not None or self.payment_status in (
            OrderPaymentStatus.PAID,
            OrderPaymentStatus.REFUNDED,
        )

    @property
    def is_unpaid(self) -> bool:
        return self.status is OrderStatus.PENDING and self.payment_status is not OrderPaymentStatus.PAID

    def payment_failed(self, now: datetime) -> bool:
        """An attempt to pay failed: an unpaid order says so (another attempt may still pay it);
        False when nothing changed."""
        if not self.is_unpaid or self.payment_status is OrderPaymentStatus.FAILED:
            return False
        self.payment_status = OrderPaymentStatus.FAILED
        self.updated_at = now
        return True

    def can_move_to(self, target: OrderStatus) -> bool:
        return target in TRANSITIONS[self.status]

    def move_to(self, target: OrderStatus, now: datetime, actor: str, note: str = "") -> OrderEvent:
        """Apply one move of the table (Conflict, changing nothing, for any other); the event to record."""
        if not self.can_move_to(target):
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[self.status])) or "none"
            raise Conflict(
                f"Order {self.number} is {self.status.value}; it cannot become {target.value} "
                f"(allowed from here: {allowed})."
            )
        before = self.status
        self.status = target
        self.updated_at = now
        if target is OrderStatus.PAID:
            self.payment_status = OrderPaymentStatus.PAID
            self.paid_at = now
        elif target is OrderStatus.DELIVERED:
            self.delivered_at = now
        elif target is OrderStatus.REFUNDED:
            self.payment_status = OrderPaymentStatus.REFUNDED
        elif target is OrderStatus.CANCELLED and before is OrderStatus.PAID:
            self.payment_status = OrderPaymentStatus.REFUNDED  # a paid order cancelled is refunded
        return OrderEvent("status", now, actor, before.value, target.value, note)

    def returns_stock_on(self, before: OrderStatus, after: OrderStatus) -> bool:
        return (before, after) in RESTOCKING


@dataclass(frozen=True)
class Shortage:
    product_id: int
    requested: int
    available: int
    variant_id: int | None = None
    """The variant the line asked for, when it is not the product's default variant."""
    variant_name: str = ""
    """"M / Red"; "" for a product's default variant."""

    @property
    def described(self) -> str:
        which = f"product {self.product_id}"
        return f"{which} ({self.variant_name})" if self.variant_name else which


class OutOfStock(Conflict):
    """Some lines cannot be served; nothing was taken. Each short line says what is available."""

    code = "insufficient_stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        named = "; ".join(f"{s.described}: {s.requested} wanted, {s.available} available" for s in shortages)
        super().__init__(f"Not enough stock: {named}.")
        self.shortages = shortages
