"""The documentation of `controllers.sales`: staff's timed sales (what each operation does is in its
handler's docstring)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.sales import Sale, check_sale
from shop_core.services.sales import CreateSale, SaleView, UpdateSale
from shop_http.api_docs.examples import AT, BLACK_FRIDAY
from shop_http.openapi import body, error, example, ok, refusal, request_example, sample
from shop_http.pagination import PageOf

SUMMER = SaleView(
    id=2,
    name="Summer garden",
    percentage=Decimal("15.00"),
    starts_at=datetime(2027, 6, 1, tzinfo=UTC),
    ends_at=datetime(2027, 7, 1, tzinfo=UTC),
    product_ids=[],
    category_ids=[5],
    status="scheduled",
    created_at=AT,
    updated_at=AT,
)

# --- answers ---------------------------------------------------------------------------------------

PAGE = ok(
    PageOf[SaleView],
    "A page of sales, newest first: running, scheduled and ended alike.",
    example(PageOf(count=2, next=None, previous=None, results=[SUMMER, BLACK_FRIDAY]), "Every sale"),
)
CREATED = ok(SaleView, "The new sale.", example(BLACK_FRIDAY), status=201)
THE_SALE = ok(SaleView, "The sale.", example(BLACK_FRIDAY))

# --- errors ----------------------------------------------------------------------------------------

_SAMPLE = Sale(
    name="",
    percentage=Decimal("120"),
    starts_at=BLACK_FRIDAY.starts_at,
    ends_at=BLACK_FRIDAY.starts_at,
    created_at=AT,
    updated_at=AT,
)
BAD_SALE = error(
    InvalidInput,
    "A field is missing or invalid (every one at fault is named): a percentage not more than 0, over "
    "100 or with more than two decimals, an end not after the start, an instant without a time zone, "
    "no product nor category, or products or categories that do not exist.",
    sample(refusal(check_sale, replace(_SAMPLE, name="Black Friday"), kind=InvalidInput)),
    sample(
        InvalidInput(
            "The sale is not valid.",
            {"product_ids": ["There is no product 98, 99."], "category_ids": ["There is no category 7."]},
        )
    ),
)
NO_SALE = error(NotFound, "No sale has that id.", sample(NotFound("No such sale.")))

# --- request bodies --------------------------------------------------------------------------------

CREATE_BODY = body(
    request_example(
        CreateSale,
        "20% off two categories for Black Friday weekend",
        name="Black Friday",
        percentage="20.00",
        starts_at="2026-11-27T00:00:00Z",
        ends_at="2026-11-30T00:00:00Z",
        category_ids=[2, 5],
    ),
    request_example(
        CreateSale,
        "A flash sale on three products, from now",
        name="Flash sale",
        percentage="35",
        ends_at="2026-11-26T20:00:00+06:00",
        product_ids=[1, 3, 7],
    ),
)
UPDATE_BODY = body(
    request_example(UpdateSale, "Make it 25%", percentage="25.00"),
    request_example(UpdateSale, "Run a day longer", ends_at="2026-12-01T00:00:00Z"),
    request_example(UpdateSale, "End it now", ends_at="2026-11-28T09:30:00Z"),
    request_example(UpdateSale, "Other products (the list is replaced)", product_ids=[4, 6], category_ids=[]),
)
LIST = "Newest first. `status` is `scheduled`, `running` or `ended` as of the request."
DELETE = (
    "Erases the sale: prices are as if it never was (orders placed during it keep theirs). To stop a "
    "running sale but keep its record, PATCH its `ends_at` to now."
)
