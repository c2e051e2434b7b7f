"""Vouchers (discount codes): staff list, create, change and remove them. Customers apply one to
their cart (POST /api/cart/voucher/) and checkout counts its use."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.services.views import UserView
from shop_core.services.voucher_commands import CreateVoucher, UpdateVoucher
from shop_core.services.voucher_views import VoucherView
from shop_http.api_docs import vouchers as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import actor_of, requires_staff

StaffRequest = Request[UserView, Any, Any]
VoucherId = Annotated[int, Parameter(description="The voucher's id.", examples=[Example(value=3)])]


class VoucherController(Controller):
    path = "/api/vouchers"
    tags = ["Vouchers (staff)"]
    guards = [requires_staff]
    security = BEARER

    @get(
        "/",
        operation_id="listVouchers",
        summary="A page of vouchers (staff)",
        responses={
            **doc.PAGE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_vouchers(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        *,
        search: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                required=False,
                description=doc.SEARCH_FILTER,
                examples=[Example(value="xmas")],
            ),
        ] = None,
        is_active: Annotated[
            bool | None,
            QueryParameter(required=False, description=doc.ACTIVE_FILTER, examples=[Example(value=True)]),
        ] = None,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[VoucherView]:
        """Newest first, deactivated ones too unless `is_active` says otherwise; `uses_left` is null
        for a voucher without a `usage_limit`."""
        offset, limit = window(page, page_size)
        found = await shop.vouchers.list_vouchers(
            actor_of(request.user), search=search, active=is_active, offset=offset, limit=limit
        )
        return page_of(request, found.items, found.total, page, page_size)

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="createVoucher",
        summary="Create a voucher (staff)",
        responses={
            **doc.CREATED,
            **doc.BAD_VOUCHER,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def create(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        data: Annotated[CreateVoucher, doc.CREATE_BODY],
    ) -> VoucherView:
        """`value` is the percent off for `percentage`, an amount in the store currency for `fixed`,
        nothing for `free_shipping`. The code is stored upper-case; codes are unique in any case.
        Restricted to `product_ids` and/or `category_ids` (subcategories included), the discount
        applies to those goods only."""
        return await shop.vouchers.create_voucher(data, actor_of(request.user))

    @get(
        "/{voucher_id:int}",
        operation_id="getVoucher",
        summary="One voucher (staff)",
        responses={
            **doc.ONE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_VOUCHER,
            **raises(RATE_LIMITED),
        },
    )
    async def get_voucher(
        self, shop: NamedDependency[Shop], request: StaffRequest, voucher_id: VoucherId
    ) -> VoucherView:
        """With `used_count` and `uses_left` as they are now."""
        return await shop.vouchers.get_voucher(voucher_id, actor_of(request.user))

    @patch(
        "/{voucher_id:int}",
        operation_id="updateVoucher",
        summary="Change some of a voucher's fields (staff)",
        responses={
            **doc.CHANGED,
            **doc.BAD_CHANGE,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_VOUCHER,
            **doc.TAKEN,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        voucher_id: VoucherId,
        data: Annotated[UpdateVoucher, doc.UPDATE_BODY],
    ) -> VoucherView:
        """Only the fields sent change; null clears an optional one (`ends_at: null`: no end).
        `product_ids` and `category_ids` replace the lists. A new `kind` needs its `value` (except
        `free_shipping`). `usage_limit` may not go below `used_count` (400); equal to it, the
        voucher has no uses left."""
        return await shop.vouchers.update_voucher(voucher_id, data, actor_of(request.user))

    @delete(
        "/{voucher_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteVoucher",
        summary="Delete a voucher (staff)",
        description=doc.DELETE,
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_VOUCHER,
            **raises(RATE_LIMITED),
        },
    )
    async def remove(self, shop: NamedDependency[Shop], request: StaffRequest, voucher_id: VoucherId) -> None:
        await shop.vouchers.delete_voucher(voucher_id, actor_of(request.user))
