"""Vouchers (discount codes): what a voucher is, when it applies to a cart, how much it takes off,
and how that discount is spread over the lines it applies to. Plain data and rules.

Money is integer minor units. A percentage voucher's discount is rounded half-up once, on the
eligible goods as a whole; the discount is then spread over the eligible lines in proportion to
their value, each line's share rounded down and the few units left over given to the largest lines
first, so the shares always add up to the discount exactly and no line is discounted below zero
(tax per line and later partial refunds stay exact).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.money import round_half_up

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,31}$")
PERCENT_STEP = Decimal("0.01")


class VoucherKind(StrEnum):
    PERCENTAGE = "percentage"
    """`value` % off the eligible goods."""
    FIXED = "fixed"
    """`value` minor units off the eligible goods (never more than they cost)."""
    FREE_SHIPPING = "free_shipping"
    """No shipping cost; nothing off the goods."""


class Reason(StrEnum):
    """Why a voucher does not apply to a cart, as the customer is told."""

    UNKNOWN = "unknown"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    MINIMUM_NOT_MET = "minimum_not_met"
    NOT_APPLICABLE = "not_applicable"
    USED_UP = "used_up"


_MESSAGES = {
    Reason.UNKNOWN: "There is no such voucher.",
    Reason.NOT_STARTED: "This voucher is not valid yet.",
    Reason.EXPIRED: "This voucher has expired.",
    Reason.MINIMUM_NOT_MET: "The cart does not reach this voucher's minimum.",
    Reason.NOT_APPLICABLE: "This voucher applies to nothing in the cart.",
    Reason.USED_UP: "This voucher has been used as often as it may be.",
}


class VoucherInvalid(InvalidInput):
    """A voucher that does not apply (400 `voucher_invalid`), saying why."""

    code = "voucher_invalid"

    def __init__(self, reason: Reason) -> None:
        super().__init__(_MESSAGES[reason], {"code": [_MESSAGES[reason]]})
        self.reason = reason


class VoucherExhausted(Conflict):
    """Checkout found the voucher's uses (all customers', or this customer's) gone."""

    code = "voucher_exhausted"

    def __init__(self) -> None:
        super().__init__("This voucher has been used as often as it may be.")


def normalize_code(raw: str) -> str:
    """A code as stored and compared: trimmed, upper-case (codes are case-insensitive); 3 to 32
    letters, digits, hyphens or underscores."""
    code = raw.strip().upper()
    if not CODE.match(code):
        raise InvalidInput.field(
            "code", "Use 3 to 32 letters, digits, hyphens or underscores, starting with a letter or digit."
        )
    return code


@dataclass(eq=False)
class Voucher:
    code: str
    kind: VoucherKind
    value: Decimal
    """The percentage (0 < value <= 100, two decimals) or the fixed amount in minor units; 0 for
    free shipping."""
    min_subtotal: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    used_count: int = 0
    product_ids: frozenset[int] = field(default_factory=frozenset)
    category_ids: frozenset[int] = field(default_factory=frozenset)
    is_active: bool = True
    id: int | None = None

    @property
    def uses_left(self) -> int | None:
        return None if self.usage_limit is None else max(0, self.usage_limit - self.used_count)

    @property
    def restricted(self) -> bool:
        return bool(self.product_ids or self.category_ids)


def check_voucher(voucher: Voucher) -> None:
    """The invariants a voucher keeps; InvalidInput lists every broken one."""
    errors: dict[str, list[str]] = {}
    value = voucher.value
    if voucher.kind is VoucherKind.PERCENTAGE:
        if not Decimal(0) < value <= Decimal(100):
            errors["value"] = ["A percentage is more than 0 and at most 100."]
        elif value.quantize(PERCENT_STEP) != value:
            errors["value"] = ["Use at most two decimal places."]
    elif voucher.kind is VoucherKind.FIXED:
        if value <= 0 or value != int(value):
            errors["value"] = ["A fixed amount is more than 0."]
    elif value != 0:
        errors["value"] = ["Free shipping takes no value."]
    if voucher.min_subtotal is not None and voucher.min_subtotal < 0:
        errors["min_subtotal"] = ["The minimum cannot be negative."]
    if voucher.starts_at and voucher.ends_at and voucher.ends_at <= voucher.starts_at:
        errors["ends_at"] = ["The voucher must end after it starts."]
    for name in ("usage_limit", "per_customer_limit"):
        limit = getattr(voucher, name)
        if limit is not None and limit < 1:
            errors[name] = ["A limit is at least 1 (leave it out for none)."]
    if errors:
        raise InvalidInput("The voucher is not valid.", errors)


@dataclass(frozen=True)
class VoucherLine:
    """A cart or order line as a voucher sees it: its product, the product's category, and what
    the line costs after the product's own discount (minor units)."""

    product_id: int
    category_id: int | None
    amount: int


def eligible(voucher: Voucher, line: VoucherLine, categories: Iterable[int]) -> bool:
    """Whether the voucher applies to the line. `categories` are the voucher's categories with
    all their descendants (a category includes its subcategories)."""
    if not voucher.restricted:
        return True
    within = categories if isinstance(categories, (set, frozenset)) else set(categories)
    return line.product_id in voucher.product_ids or (
        line.category_id is not None and line.category_id in within
    )


def check_applies(voucher: Voucher | None, *, now: datetime, subtotal: int, eligible_total: int) -> Voucher:
    """The voucher, if it applies to a cart now (`subtotal` of all goods, `eligible_total` of the
    lines it applies to); VoucherInvalid saying why not otherwise."""
    if voucher is None or not voucher.is_active:
        raise VoucherInvalid(Reason.UNKNOWN)
    if voucher.starts_at is not None and now < voucher.starts_at:
        raise VoucherInvalid(Reason.NOT_STARTED)
    if voucher.ends_at is not None and now >= voucher.ends_at:
        raise VoucherInvalid(Reason.EXPIRED)
    if voucher.uses_left == 0:
        raise VoucherInvalid(Reason.USED_UP)
    if voucher.min_subtotal is not None and subtotal < voucher.min_subtotal:
        raise VoucherInvalid(Reason.MINIMUM_NOT_MET)
    if voucher.kind is not VoucherKind.FREE_SHIPPING and eligible_total <= 0:
        raise VoucherInvalid(Reason.NOT_APPLICABLE)
    return voucher


def discount_of(voucher: Voucher, eligible_total: int) -> int:
    """What the voucher takes off the eligible goods (minor units), never more than they cost."""
    if voucher.kind is VoucherKind.PERCENTAGE:
        return min(eligible_total, round_half_up(Decimal(eligible_total) * voucher.value / 100))
    if voucher.kind is VoucherKind.FIXED:
        return min(eligible_total, int(voucher.value))
    return 0


@dataclass(frozen=True)
class Deal:
    """A voucher as it applies to the lines of one cart or order (in their order)."""

    voucher: Voucher
    eligible: tuple[bool, ...]

    @property
    def free_shipping(self) -> bool:
        return self.voucher.kind is VoucherKind.FREE_SHIPPING

    def shares(self, amounts: Sequence[int]) -> list[int]:
        """Each line's share of the voucher's discount, the lines costing `amounts` (after their
        own discounts): the discount of the eligible lines' total, spread over them."""
        if len(amounts) != len(self.eligible):
            raise ValueError("One amount per line.")
        counted = [a if e else 0 for a, e in zip(amounts, self.eligible, strict=True)]
        return spread(discount_of(self.voucher, sum(counted)), counted)


def deal(
    voucher: Voucher | None,
    lines: Sequence[VoucherLine],
    *,
    categories: Iterable[int],
    now: datetime,
    counted: bool = False,
) -> Deal:
    """The voucher applied to these lines, or VoucherInvalid saying why it does not apply.
    `categories`: the voucher's categories with their descendants. `counted`: this use is already
    counted in `used_count` (at checkout), so reaching the limit with it is fine."""
    within = frozenset(categories)
    flags = tuple(voucher is not None and eligible(voucher, line, within) for line in lines)
    if voucher is not None and counted:
        voucher = replace(voucher, used_count=voucher.used_count - 1)
    applied = check_applies(
        voucher,
        now=now,
        subtotal=sum(line.amount for line in lines),
        eligible_total=sum(line.amount for line, e in zip(lines, flags, strict=True) if e),
    )
    return Deal(applied, flags)


def spread(discount: int, amounts: Sequence[int]) -> list[int]:
    """`discount` shared over lines costing `amounts`, in proportion to them: each share rounded
    down, then the units left over one each to the largest lines first (the first of equal ones),
    never past a line's amount. The shares add up to `discount` exactly."""
    total = sum(amounts)
    if discount < 0 or any(a < 0 for a in amounts) or discount > total:
        raise ValueError(f"Cannot spread {discount} over {list(amounts)}.")
    if discount == 0:
        return [0] * len(amounts)
    shares = [discount * a // total for a in amounts]
    left = discount - sum(shares)
    for index in sorted(range(len(amounts)), key=lambda i: (-amounts[i], i)):
        if left == 0:
            break
        extra = min(left, amounts[index] - shares[index])
        shares[index] += extra
        left -= extra
    return shares
