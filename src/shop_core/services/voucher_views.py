"""A voucher as staff see it (API.md Part 2, "Vouchers and sales"), money in the store currency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from shop_core.domain.money import exponent_of, format_minor
from shop_core.domain.vouchers import PERCENT_STEP, Voucher, VoucherKind


class VoucherView(msgspec.Struct, kw_only=True):
    id: int
    code: Annotated[str, msgspec.Meta(examples=["XMAS-10"], description="As stored: upper-case.")]
    kind: VoucherKind
    value: Annotated[
        str,
        msgspec.Meta(
            examples=["15.00"],
            description='`percentage`: the percent off, two decimals ("15.00", as a product\'s '
            '`discount_percentage`); `fixed`: the amount off in the store currency ("10.00"); '
            '`free_shipping`: zero ("0.00").',
        ),
    ]
    min_subtotal: Annotated[
        str | None, msgspec.Meta(examples=["50.00"], description="Store currency; null: no minimum.")
    ]
    starts_at: datetime | None
    ends_at: Annotated[datetime | None, msgspec.Meta(description="Valid until just before this moment.")]
    usage_limit: Annotated[int | None, msgspec.Meta(description="Uses by all customers; null: unlimited.")]
    per_customer_limit: Annotated[int | None, msgspec.Meta(description="Uses per customer; null: unlimited.")]
    used_count: Annotated[
        int,
        msgspec.Meta(description="Uses counted (at checkout; an unpaid order cancelled gives its use back)."),
    ]
    product_ids: list[int]
    category_ids: list[int]
    is_active: bool
    uses_left: Annotated[
        int | None, msgspec.Meta(description="`usage_limit` less `used_count`; null: unlimited.")
    ]

    @classmethod
    def of(cls, voucher: Voucher, currency: str) -> VoucherView:
        assert voucher.id is not None
        exponent = exponent_of(currency)
        if voucher.kind is VoucherKind.PERCENTAGE:
            value = percent(voucher.value)
        else:
            value = format_minor(int(voucher.value), exponent)
        return cls(
            id=voucher.id,
            code=voucher.code,
            kind=voucher.kind,
            value=value,
            min_subtotal=None
            if voucher.min_subtotal is None
            else format_minor(voucher.min_subtotal, exponent),
            starts_at=voucher.starts_at,
            ends_at=voucher.ends_at,
            usage_limit=voucher.usage_limit,
            per_customer_limit=voucher.per_customer_limit,
            used_count=voucher.used_count,
            product_ids=sorted(voucher.product_ids),
            category_ids=sorted(voucher.category_ids),
            is_active=voucher.is_active,
            uses_left=voucher.uses_left,
        )


def percent(value: Decimal) -> str:
    """A percentage as the views write it: two decimals."""
    return str(value.quantize(PERCENT_STEP))
