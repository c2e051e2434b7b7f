"""Returns: asking to send delivered goods back, the one table of moves a return's life allows, and
the exact share of what was paid that a return refunds.

What the customer paid for order line i is `P_i = line_total - discount_amount + tax_amount` (its
product discount, sale and voucher share are in `discount_amount`), for `Q_i` units; the order's
`total_price` is `sum(P_i) + shipping_cost + shipping_tax`. With `share(P, Q, n) = P * n // Q`
(rounded down; `share(P, Q, Q) == P`), a return of `k` units of line i, after `r` of its units were
refunded by earlier returns, refunds `share(P_i, Q_i, r + k) - share(P_i, Q_i, r)`. What a line
refunds depends only on how many of its units have come back, never on how they were grouped into
returns: the refunds of a line never go past `P_i`, and reach it exactly with its last unit. The
tax part of a line's refund is the line's tax in the same proportion (`T_i * refunded // P_i`,
cumulative, rounded down), the goods part the rest, so both parts add up to the line's exactly too
and neither is ever negative (sharing the tax on its own, `share(T_i, Q_i, n)`, could leave a
return a negative goods part: P=3, T=2, Q=5 gives the third unit 0 in all but 1 of tax).
Shipping (`shipping_cost + shipping_tax`) is refunded once, by the return that brings the last unit
of the whole order back.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, Protocol

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.orders import OrderStatus

REASON_MAX = 1000


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"
    REFUNDED = "refunded"


# Every move a return may make; anything else is refused and changes nothing.
RETURN_MOVES: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    ReturnStatus.REQUESTED: frozenset({ReturnStatus.APPROVED, ReturnStatus.REJECTED}),
    ReturnStatus.APPROVED: frozenset({ReturnStatus.RECEIVED}),
    ReturnStatus.REJECTED: frozenset(),
    ReturnStatus.RECEIVED: frozenset({ReturnStatus.REFUNDED}),
    ReturnStatus.REFUNDED: frozenset(),
}


class ReturnMoveRefused(Conflict):
    """A move outside the table (409); nothing changed."""

    code = "return_move_refused"

    def __init__(self, return_id: int | None, before: ReturnStatus, after: ReturnStatus) -> None:
        allowed = ", ".join(sorted(s.value for s in RETURN_MOVES[before])) or "none"
        which = "This return" if return_id is None else f"Return {return_id}"
        super().__init__(
            f"{which} is {before.value}; it cannot become {after.value} (allowed from here: {allowed})."
        )
        self.before, self.after = before, after


class ReturnNotAllowed(Conflict):
    """The order cannot be returned (409): not delivered, or its return window has closed."""

    code = "return_not_allowed"


class ReturnTooMany(Conflict):
    """More units than were delivered and are not already in a return (409); `left` per item."""

    code = "return_too_many"

    def __init__(self, left: dict[int, tuple[int, int]]) -> None:
        named = "; ".join(f"item {i}: {wanted} wanted, {n} left to return" for i, (wanted, n) in left.items())
        super().__init__(f"Too many units to return: {named}.")
        self.left = {item_id: n for item_id, (_, n) in left.items()}


class RefundExceedsPaid(Conflict):
    """A refund would take the order's refunds past what was paid (409); nothing is refunded."""

    code = "refund_exceeds_paid"


class ReturnableLine(Protocol):
    """What returns read of an order line."""

    @property
    def id(self) -> int | None: ...
    @property
    def quantity(self) -> int: ...
    @property
    def line_total(self) -> int: ...
    @property
    def discount_amount(self) -> int: ...
    @property
    def tax_amount(self) -> int: ...


class ReturnableOrder(Protocol):
    """What returns read of an order (a domain Order once its lines carry their ids)."""

    @property
    def number(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def status(self) -> OrderStatus: ...
    @property
    def delivered_at(self) -> datetime | None: ...
    @property
    def lines(self) -> Sequence[ReturnableLine]: ...
    @property
    def shipping_cost(self) -> int: ...
    @property
    def shipping_tax(self) -> int: ...
    @property
    def total_price(self) -> int: ...


class ReturnLine(NamedTuple):
    item_id: int
    quantity: int


def clean_text(raw: str, field: str, *, required: bool) -> str:
    """Plain text of at most 1000 characters, trimmed, line breaks as `\\n`; no other control
    characters (NUL among them: PostgreSQL cannot store it)."""
    text = raw.replace("\r\n", "\n").strip()
    if required and not text:
        raise InvalidInput.field(field, "Say why (at least one character).")
    if len(text) > REASON_MAX:
        raise InvalidInput.field(field, f"Use at most {REASON_MAX} characters.")
    if any(c != "\n" and unicodedata.category(c) == "Cc" for c in text):
        raise InvalidInput.field(field, "Use plain text: no control characters other than line breaks.")
    return text


def parse_lines(order: ReturnableOrder, lines: Sequence[tuple[int, int]]) -> tuple[ReturnLine, ...]:
    """The lines asked for, each an item of this order named once with a quantity of 1 or more (an
    item named twice is refused, not summed: a client sending it twice has a bug to show)."""
    known = {line.id for line in order.lines if line.id is not None}
    problems: list[str] = []
    seen: set[int] = set()
    for item_id, quantity in lines:
        if item_id not in known:
            problems.append(f"Order {order.number} has no item {item_id}.")
        elif item_id in seen:
            problems.append(f"Item {item_id} is named twice; name each item once.")
        if quantity < 1:
            problems.append(f"Return at least 1 unit of item {item_id}, not {quantity}.")
        seen.add(item_id)
    if not lines:
        problems.append("Name at least one item to return.")
    if problems:
        raise InvalidInput(problems[0], {"lines": problems})
    return tuple(ReturnLine(item_id, quantity) for item_id, quantity in lines)


def check_request(
    order: ReturnableOrder,
    lines: Sequence[tuple[int, int]],
    *,
    in_returns: Mapping[int, int],
    now: datetime,
    window: timedelta,
) -> tuple[ReturnLine, ...]:
    """The lines of a return the customer may ask for now: 400 for malformed lines, 409
    `return_not_allowed` unless the order is delivered and `now` is within `window` of its delivery
    (inclusive), 409 `return_too_many` past what was delivered less `in_returns` (units per item
    already in returns that were not rejected)."""
    asked = parse_lines(order, lines)
    if order.status is not OrderStatus.DELIVERED or order.delivered_at is None:
        raise ReturnNotAllowed(f"Order {order.number} is {order.status.value}; only delivered goods go back.")
    closes = order.delivered_at + window
    if now > closes:
        raise ReturnNotAllowed(
            f"Returns of order {order.number} were open until {closes.isoformat(timespec='seconds')}."
        )
    ordered = {line.id: line.quantity for line in order.lines}
    left = {i: ordered[i] - in_returns.get(i, 0) for i, _ in asked}
    over = {i: (n, max(left[i], 0)) for i, n in asked if n > left[i]}
    if over:
        raise ReturnTooMany(over)
    return asked


@dataclass(eq=False)
class Return:
    """Goods of one order a customer sends back, and where that stands."""

    order_id: int
    lines: tuple[ReturnLine, ...]
    reason: str
    status: ReturnStatus
    created_at: datetime
    updated_at: datetime
    refund_amount: int | None = None
    """Fixed once, when the refund is worked out (before the gateway is asked); then kept."""
    restock: bool | None = None
    """Whether the goods went back into stock; None until received."""
    note: str = ""
    """Staff's word on a rejection."""
    received_at: datetime | None = None
    refunded_at: datetime | None = None
    id: int | None = None
    refund_id: int | None = None
    """The refund made for it (its id is the gateway's idempotency key), once one is."""
    version: int = 1
    """Moves are optimistic: a save of a stale version changes nothing."""

    @classmethod
    def request(cls, order_id: int, lines: tuple[ReturnLine, ...], reason: str, now: datetime) -> Return:
        """A new return of `lines` (as `check_request` gave them back), with the customer's reason."""
        return cls(
            order_id, lines, clean_text(reason, "reason", required=True), ReturnStatus.REQUESTED, now, now
        )

    @property
    def units(self) -> dict[int, int]:
        return {line.item_id: line.quantity for line in self.lines}

    def approve(self, now: datetime) -> None:
        self._move(ReturnStatus.APPROVED, now)

    def reject(self, now: datetime, note: str = "") -> None:
        text = clean_text(note, "note", required=False)
        self._move(ReturnStatus.REJECTED, now)
        self.note = text

    def receive(self, now: datetime, restock: bool) -> None:
        self._move(ReturnStatus.RECEIVED, now)
        self.restock, self.received_at = restock, now

    def fix_refund(self, amount: int, now: datetime) -> int:
        """Keep the amount this return refunds, once (a retry then asks the gateway for the same);
        the amount kept, which an earlier call may have fixed already."""
        if self.status is not ReturnStatus.RECEIVED:
            raise ReturnMoveRefused(self.id, self.status, ReturnStatus.REFUNDED)
        if amount < 0:
            raise ValueError(f"A refund is 0 or more, not {amount}.")
        if self.refund_amount is None:
            self.refund_amount, self.updated_at = amount, now
        return self.refund_amount

    def refunded(self, now: datetime, amount: int) -> None:
        """The gateway paid `amount` back (the amount fixed, if one was)."""
        if self.status is ReturnStatus.RECEIVED and self.refund_amount not in (None, amount):
            raise ValueError(f"Return {self.id} was to refund {self.refund_amount}, not {amount}.")
        self._move(ReturnStatus.REFUNDED, now)
        self.refund_amount, self.refunded_at = amount, now

    def _move(self, target: ReturnStatus, now: datetime) -> None:
        if target not in RETURN_MOVES[self.status]:
            raise ReturnMoveRefused(self.id, self.status, target)
        self.status, self.updated_at = target, now


def units_in(returns: Sequence[Return], *, refunded_only: bool = False) -> dict[int, int]:
    """Units per item in `returns`: those not rejected (what `check_request` counts), or only those
    whose refund is fixed or paid (what `refund_for` counts as returned before)."""
    counted: dict[int, int] = {}
    for r in returns:
        if r.status is ReturnStatus.REJECTED or (refunded_only and r.refund_amount is None):
            continue
        for item_id, quantity in r.lines:
            counted[item_id] = counted.get(item_id, 0) + quantity
    return counted


def share(paid: int, quantity: int, units: int) -> int:
    """The part of `paid` (for `quantity` units) that `units` of them make, rounded down."""
    return paid * units // quantity


@dataclass(frozen=True)
class LineRefund:
    item_id: int
    quantity: int
    goods: int
    """Net of the line's discounts, without tax."""
    tax: int

    @property
    def amount(self) -> int:
        return self.goods + self.tax


@dataclass(frozen=True)
class RefundShare:
    """What a return refunds, in parts a credit note can show."""

    lines: tuple[LineRefund, ...]
    shipping_cost: int = 0
    shipping_tax: int = 0

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines) + self.shipping_cost + self.shipping_tax

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines) + self.shipping_tax


def line_refund(line: ReturnableLine, before: int, returning: int) -> LineRefund:
    """`returning` units of `line` after `before` of its units were refunded (see the module)."""
    if line.id is None or before < 0 or returning < 1 or before + returning > line.quantity:
        raise ValueError(f"Cannot refund {returning} units of item {line.id} after {before}.")
    paid, tax = line.line_total - line.discount_amount + line.tax_amount, line.tax_amount
    start, end = share(paid, line.quantity, before), share(paid, line.quantity, before + returning)
    tax_part = share(tax, paid, end) - share(tax, paid, start) if paid else 0
    return LineRefund(line.id, returning, end - start - tax_part, tax_part)


def refund_for(
    order: ReturnableOrder,
    returned_before: Mapping[int, int],
    returning: Mapping[int, int],
    shipping_refunded: bool,
    *,
    already_refunded_total: int,
) -> RefundShare:
    """What returning `returning` (units per item) refunds, after `returned_before` units per item
    were refunded (or had their refund fixed) by earlier returns; shipping too when this brings the
    whole order back and it was not refunded yet. RefundExceedsPaid past `total_price -
    already_refunded_total` (every refund of the order, these and any other)."""
    lines = {line.id: line for line in order.lines if line.id is not None}
    named = set(returning) | set(returned_before)
    if len(lines) != len(order.lines) or not returning or not named <= set(lines):
        raise ValueError(f"Cannot refund items {dict(returning)} of order {order.number}.")
    parts = tuple(line_refund(lines[i], returned_before.get(i, 0), n) for i, n in returning.items())
    whole = all(returned_before.get(i, 0) + returning.get(i, 0) == line.quantity for i, line in lines.items())
    refund = RefundShare(parts)
    if whole and not shipping_refunded:
        refund = RefundShare(parts, order.shipping_cost, order.shipping_tax)
    if refund.amount > order.total_price - already_refunded_total:
        exponent = exponent_of(order.currency)
        shown = [
            format_minor(a, exponent) for a in (refund.amount, already_refunded_total, order.total_price)
        ]
        raise RefundExceedsPaid(
            f"Order {order.number}: refunding {shown[0]} {order.currency} after {shown[1]} would pass "
            f"the {shown[2]} paid."
        )
    return refund
