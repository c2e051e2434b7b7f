"""Returns: the order's customer asks to send goods back; staff approve, reject, receive, refund.

The routes only; what each operation means, its examples and its documented errors are in
`shop_http.api_docs.returns` (served at /api/docs).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.domain.ids import MAX_ID
from shop_core.services.returns import ReceiveReturn, RejectReturn, RequestReturn, ReturnView
from shop_core.services.views import UserView
from shop_http.api_docs import returns as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import actor_of, requires_staff

OrderId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The order's id.", examples=[Example(value=1)])
]
ReturnId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The return's id.", examples=[Example(value=1)])
]


class OrderReturnController(Controller):
    path = "/api/orders/{order_id:int}/returns"
    tags = ["Returns"]
    security = BEARER

    @post(
        "/",
        status_code=201,
        operation_id="requestOrderReturn",
        summary="Ask to return goods of a delivered order (its customer, or staff for them)",
        description=doc.REQUEST,
        responses={
            **doc.CREATED,
            **doc.BAD_RETURN,
            **raises(AuthenticationFailed),
            **doc.NO_ORDER,
            **doc.NOT_RETURNABLE,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def request_return(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        order_id: OrderId,
        data: Annotated[RequestReturn, doc.REQUEST_BODY],
    ) -> ReturnView:
        return await shop.returns.request(order_id, data, actor_of(request.user))


STAFF_MOVE = {
    **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
    **doc.NO_RETURN,
    **doc.MOVE_REFUSED,
    **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
}


class ReturnController(Controller):
    path = "/api/returns"
    tags = ["Returns"]
    security = BEARER

    @get(
        "/",
        operation_id="listReturns",
        summary="Returns, newest first (staff all, customers their own)",
        description=doc.LIST,
        responses={
            **doc.PAGE,
            **raises(InvalidInput, AuthenticationFailed),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_returns(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        *,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[ReturnView]:
        offset, limit = window(page, page_size)
        found = await shop.returns.list(actor_of(request.user), offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)

    @get(
        "/{return_id:int}",
        operation_id="getReturn",
        summary="One return",
        description=doc.GET,
        responses={
            **doc.ONE,
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NO_RETURN,
            **raises(RATE_LIMITED),
        },
    )
    async def get_return(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], return_id: ReturnId
    ) -> ReturnView:
        return await shop.returns.get(return_id, actor_of(request.user))

    @post(
        "/{return_id:int}/approve",
        status_code=200,
        operation_id="approveReturn",
        summary="Approve a requested return (staff)",
        description=doc.APPROVE,
        guards=[requires_staff],
        responses={**doc.ONE, **STAFF_MOVE},
    )
    async def approve(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], return_id: ReturnId
    ) -> ReturnView:
        return await shop.returns.approve(return_id, actor_of(request.user))

    @post(
        "/{return_id:int}/reject",
        status_code=200,
        operation_id="rejectReturn",
        summary="Reject a requested return (staff)",
        description=doc.REJECT,
        guards=[requires_staff],
        responses={**doc.ONE, **STAFF_MOVE},
    )
    async def reject(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        return_id: ReturnId,
        data: Annotated[RejectReturn, doc.REJECT_BODY],
    ) -> ReturnView:
        return await shop.returns.reject(return_id, data, actor_of(request.user))

    @post(
        "/{return_id:int}/receive",
        status_code=200,
        operation_id="receiveReturn",
        summary="Record a return's goods as received, restocked or not (staff)",
        description=doc.RECEIVE,
        guards=[requires_staff],
        responses={**doc.ONE, **STAFF_MOVE},
    )
    async def receive(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        return_id: ReturnId,
        data: Annotated[ReceiveReturn, doc.RECEIVE_BODY],
    ) -> ReturnView:
        return await shop.returns.receive(return_id, data, actor_of(request.user))

    @post(
        "/{return_id:int}/refund",
        status_code=200,
        operation_id="refundReturn",
        summary="Refund a received return through the order's payment (staff)",
        description=doc.REFUND,
        guards=[requires_staff],
        responses={
            **doc.REFUND_DONE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_RETURN,
            **doc.REFUND_REFUSED,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
            **doc.GATEWAY_DOWN,
            **doc.NOT_CONFIGURED,
        },
    )
    async def refund(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], return_id: ReturnId
    ) -> ReturnView:
        return await shop.returns.refund(return_id, actor_of(request.user))
