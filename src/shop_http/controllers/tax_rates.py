"""Tax rates by country and region: staff list, create, change and remove them. Checkout charges the
most specific one for the shipping address (`SHOP_TAX_RATE` where none applies)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.services.tax_rates import CreateTaxRate, TaxRateView, UpdateTaxRate
from shop_core.services.views import UserView
from shop_http.api_docs import tax_rates as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import actor_of, requires_staff

StaffRequest = Request[UserView, Any, Any]
TaxRateId = Annotated[int, Parameter(description="The tax rate's id.", examples=[Example(value=1)])]


class TaxRateController(Controller):
    path = "/api/tax-rates"
    tags = ["Tax"]
    guards = [requires_staff]
    security = BEARER

    @get(
        "/",
        operation_id="listTaxRates",
        summary="Every tax rate, by country (staff)",
        description=doc.LIST,
        responses={
            **doc.PAGE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_rates(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[TaxRateView]:
        offset, limit = window(page, page_size)
        found = await shop.tax.list_rates(actor_of(request.user), offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="createTaxRate",
        summary="Create a tax rate (staff)",
        responses={
            **doc.CREATED,
            **doc.BAD_RATE,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def create(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        data: Annotated[CreateTaxRate, doc.CREATE_BODY],
    ) -> TaxRateView:
        """`rate` for `country`, or for one of its regions (`region`, compared without regard to
        case). One rate per country and region: another is 409 `tax_rate_taken`. `name` (default
        "Tax") is what invoices call it."""
        return await shop.tax.create_rate(data, actor_of(request.user))

    @get(
        "/{rate_id:int}",
        operation_id="getTaxRate",
        summary="One tax rate (staff)",
        responses={
            **doc.THE_RATE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_RATE,
            **raises(RATE_LIMITED),
        },
    )
    async def get_rate(
        self, shop: NamedDependency[Shop], request: StaffRequest, rate_id: TaxRateId
    ) -> TaxRateView:
        return await shop.tax.get_rate(rate_id, actor_of(request.user))

    @patch(
        "/{rate_id:int}",
        operation_id="updateTaxRate",
        summary="Change some of a tax rate's fields (staff)",
        responses={
            **doc.THE_RATE,
            **doc.BAD_RATE,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_RATE,
            **doc.TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        rate_id: TaxRateId,
        data: Annotated[UpdateTaxRate, doc.UPDATE_BODY],
    ) -> TaxRateView:
        """Only the fields sent change (`region: null` makes it the whole country's rate); the rate
        must still hold whole. 409 `tax_rate_taken` when it would move onto a country or region
        that has a rate."""
        return await shop.tax.update_rate(rate_id, data, actor_of(request.user))

    @delete(
        "/{rate_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteTaxRate",
        summary="Delete a tax rate (staff)",
        description=doc.DELETE,
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_RATE,
            **raises(RATE_LIMITED),
        },
    )
    async def remove(self, shop: NamedDependency[Shop], request: StaffRequest, rate_id: TaxRateId) -> None:
        await shop.tax.delete_rate(rate_id, actor_of(request.user))
