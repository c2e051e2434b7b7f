"""An order's fulfilments: staff record what shipped, the owner and staff list them.

The routes only; what each operation means, its examples and its documented errors are in
`shop_http.api_docs.fulfilments` (served at /api/docs).
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
from shop_core.services.fulfilments import RecordFulfilment
from shop_core.services.order_views import FulfillmentView
from shop_core.services.views import UserView
from shop_http.api_docs import fulfilments as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, raises
from shop_http.security import actor_of, requires_staff

OrderId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The order's id.", examples=[Example(value=1)])
]


class FulfilmentController(Controller):
    path = "/api/orders/{order_id:int}/fulfillments"
    tags = ["Orders"]
    security = BEARER

    @post(
        "/",
        status_code=201,
        operation_id="createOrderFulfillment",
        summary="Record a shipped parcel of an order (staff)",
        description=doc.RECORD,
        guards=[requires_staff],
        responses={
            **doc.CREATED,
            **doc.BAD_FULFILMENT,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_ORDER,
            **doc.NOT_SHIPPABLE,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def record(
        self,
        shop: NamedDependency[Shop],
        request: Request[UserView, Any, Any],
        order_id: OrderId,
        data: Annotated[RecordFulfilment, doc.RECORD_BODY],
    ) -> FulfillmentView:
        return await shop.fulfilments.record(order_id, data, actor_of(request.user))

    @get(
        "/",
        operation_id="listOrderFulfillments",
        summary="The order's fulfilments, oldest first",
        description=doc.LIST_TEXT,
        responses={
            **doc.LIST,
            **raises(InvalidInput, AuthenticationFailed),
            **doc.NO_ORDER,
            **raises(RATE_LIMITED),
        },
    )
    async def list_fulfilments(
        self, shop: NamedDependency[Shop], request: Request[UserView, Any, Any], order_id: OrderId
    ) -> list[FulfillmentView]:
        return await shop.fulfilments.list_of_order(order_id, actor_of(request.user))
