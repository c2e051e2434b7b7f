"""What staff ask of vouchers (the API's POST and PATCH /api/vouchers/, `shop vouchers ...`),
validated by msgspec when decoded or converted; the rules that need the store currency or the
database are the use cases' (`services.vouchers`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from shop_core.domain.ids import MAX_ID
from shop_core.domain.voucher_codes import MAX_GENERATED
from shop_core.domain.vouchers import VoucherKind
from shop_core.services.catalog_commands import UNSET, Amount, Id, Unset
from shop_core.services.commands import NO_NUL, Command

Code = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        pattern=NO_NUL,
        examples=["XMAS-10"],
        description="3 to 32 letters, digits, hyphens or underscores, starting with a letter or digit; "
        "case-insensitive (stored upper-case) and unique.",
    ),
]
Value = Annotated[
    Decimal,
    msgspec.Meta(
        description='`percentage`: the percent off, more than 0 and at most 100, two decimals ("15.00"); '
        '`fixed`: the amount off in the store currency ("10.00"); `free_shipping`: none (or "0").'
    ),
]
Moment = Annotated[
    datetime,
    msgspec.Meta(tz=True, description="ISO 8601 with a timezone, e.g. 2026-12-01T00:00:00Z; stored in UTC."),
]
Limit = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID, description="At least 1; null or left out: no limit.")]
Ids = Annotated[list[Id], msgspec.Meta(max_length=1000)]
ProductIds = Annotated[
    Ids, msgspec.Meta(description="Only these products (and those of `category_ids`) get the discount.")
]
CategoryIds = Annotated[
    Ids, msgspec.Meta(description="Only products of these categories (subcategories included) get it.")
]
MinSubtotal = Annotated[
    Amount, msgspec.Meta(description="The least the cart's goods must come to, in the store currency.")
]


class VoucherTerms(Command, kw_only=True):
    """What a voucher gives and when: everything but its code."""

    kind: VoucherKind
    value: Value | None = None
    min_subtotal: MinSubtotal | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    usage_limit: Limit | None = None
    per_customer_limit: Limit | None = None
    product_ids: ProductIds = []
    category_ids: CategoryIds = []
    is_active: bool = True


class CreateVoucher(VoucherTerms, kw_only=True):
    code: Code


class GenerateVouchers(VoucherTerms, kw_only=True):
    """`count` vouchers on the same terms, each with a code of its own: `prefix` + 10 random
    characters."""

    count: Annotated[int, msgspec.Meta(ge=1, le=MAX_GENERATED)]
    prefix: Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL, examples=["XMAS-"])] = ""


class UpdateVoucher(Command):
    """PATCH: only the fields sent change; null clears an optional one. A change of `kind` needs
    its `value` (except to `free_shipping`); `usage_limit` cannot go below `used_count`."""

    code: Code | Unset = UNSET
    kind: VoucherKind | Unset = UNSET
    value: Value | Unset | None = UNSET
    min_subtotal: MinSubtotal | Unset | None = UNSET
    starts_at: Moment | Unset | None = UNSET
    ends_at: Moment | Unset | None = UNSET
    usage_limit: Limit | Unset | None = UNSET
    per_customer_limit: Limit | Unset | None = UNSET
    product_ids: ProductIds | Unset = UNSET
    category_ids: CategoryIds | Unset = UNSET
    is_active: bool | Unset = UNSET
