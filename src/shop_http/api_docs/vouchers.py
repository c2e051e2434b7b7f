"""The documentation of `controllers.vouchers`: staff's discount codes (what each operation does is
in its handler's docstring)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.voucher_codes import VoucherCodeTaken
from shop_core.domain.vouchers import Voucher, VoucherKind, check_voucher, normalize_code
from shop_core.services.voucher_admin import below_uses, unknown_targets
from shop_core.services.voucher_commands import CreateVoucher, UpdateVoucher
from shop_core.services.voucher_views import VoucherView
from shop_http.openapi import body, error, example, ok, refusal, request_example, sample
from shop_http.pagination import PageOf

# --- answers ---------------------------------------------------------------------------------------

XMAS = VoucherView(
    id=3,
    code="XMAS-15",
    kind=VoucherKind.PERCENTAGE,
    value="15.00",
    min_subtotal="50.00",
    starts_at=datetime(2026, 12, 1, tzinfo=UTC),
    ends_at=datetime(2026, 12, 27, tzinfo=UTC),
    usage_limit=500,
    per_customer_limit=1,
    used_count=120,
    product_ids=[],
    category_ids=[2],
    is_active=True,
    uses_left=380,
)
WELCOME = VoucherView(
    id=2,
    code="WELCOME-10",
    kind=VoucherKind.FIXED,
    value="10.00",
    min_subtotal=None,
    starts_at=None,
    ends_at=None,
    usage_limit=None,
    per_customer_limit=1,
    used_count=37,
    product_ids=[],
    category_ids=[],
    is_active=True,
    uses_left=None,
)
SHIP_FREE = msgspec.structs.replace(
    WELCOME, id=1, code="SHIPFREE", kind=VoucherKind.FREE_SHIPPING, value="0.00", is_active=False
)

PAGE = ok(
    PageOf[VoucherView],
    "A page of vouchers, newest first.",
    example(PageOf(count=3, next=None, previous=None, results=[XMAS, WELCOME, SHIP_FREE]), "Every voucher"),
)
ONE = ok(VoucherView, "The voucher.", example(XMAS))
CREATED = ok(VoucherView, "The new voucher.", example(XMAS), status=201)
CHANGED = ok(VoucherView, "The voucher as it is now.", example(XMAS))

# --- errors ----------------------------------------------------------------------------------------

_BAD_SAMPLES = (
    sample(
        refusal(check_voucher, Voucher("XMAS-15", VoucherKind.PERCENTAGE, Decimal(150)), kind=InvalidInput)
    ),
    sample(refusal(normalize_code, "XMAS 15", kind=InvalidInput)),
    sample(unknown_targets({99}, set())),
)
_BAD = (
    "A field is missing or invalid (a percentage outside 0-100 or with more than two decimals, a "
    "fixed amount of zero or less, a value for free shipping, `ends_at` not after `starts_at`, a "
    "limit below 1, a malformed code), or `product_ids`/`category_ids` name ones that do not exist"
)
BAD_VOUCHER = error(InvalidInput, f"{_BAD}.", *_BAD_SAMPLES)
BAD_CHANGE = error(
    InvalidInput, f"{_BAD}; or `usage_limit` is below `used_count`.", *_BAD_SAMPLES, sample(below_uses(120))
)
TAKEN = error(
    VoucherCodeTaken,
    "Another voucher has this code, in any case (`code` `voucher_code_taken`).",
    sample(VoucherCodeTaken("XMAS-15")),
)
NO_VOUCHER = error(NotFound, "No voucher has that id.", sample(NotFound("No such voucher.")))

# --- parameters and request bodies -----------------------------------------------------------------

SEARCH_FILTER = "Codes containing this, in any case."
ACTIVE_FILTER = "Only active (true) or deactivated (false) vouchers."
CREATE_BODY = body(
    request_example(
        CreateVoucher,
        "15% off a category in December, once per customer",
        code="xmas-15",
        kind="percentage",
        value="15.00",
        min_subtotal="50.00",
        starts_at="2026-12-01T00:00:00Z",
        ends_at="2026-12-27T00:00:00Z",
        usage_limit=500,
        per_customer_limit=1,
        category_ids=[2],
    ),
    request_example(
        CreateVoucher,
        "10.00 off, once per customer",
        code="WELCOME-10",
        kind="fixed",
        value="10.00",
        per_customer_limit=1,
    ),
    request_example(CreateVoucher, "Free shipping", code="SHIPFREE", kind="free_shipping"),
)
UPDATE_BODY = body(
    request_example(UpdateVoucher, "More uses", usage_limit=1000),
    request_example(UpdateVoucher, "No end date", ends_at=None),
    request_example(UpdateVoucher, "Make it a fixed amount", kind="fixed", value="5.00"),
    request_example(UpdateVoucher, "Stop it", is_active=False),
)
DELETE = (
    "Erases a voucher no order used; one that orders used is deactivated instead (they keep its code), "
    "and answers 204 too."
)
