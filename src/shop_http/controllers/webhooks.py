"""Outgoing webhooks (staff): subscriptions, their deliveries, and redelivering one.

The routes only; what each operation means, its examples and its documented errors are in
`shop_http.api_docs.webhooks` (served at /api/docs).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.domain.ids import MAX_ID
from shop_core.services.views import UserView
from shop_core.services.webhooks import (
    CreatedSubscriptionView,
    CreateSubscription,
    DeliveryView,
    SubscriptionView,
    UpdateSubscription,
)
from shop_http.api_docs import webhooks as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import actor_of, requires_staff

StaffRequest = Request[UserView, Any, Any]
SubscriptionId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The subscription's id.", examples=[Example(value=1)])
]
DeliveryId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The delivery attempt's id.", examples=[Example(value=1)])
]


class WebhookController(Controller):
    path = "/api/webhooks"
    tags = ["Webhooks (staff)"]
    guards = [requires_staff]
    security = BEARER

    @get(
        "/",
        operation_id="listWebhooks",
        summary="Every webhook subscription (staff)",
        description=doc.LIST,
        responses={
            **doc.PAGE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_subscriptions(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[SubscriptionView]:
        offset, limit = window(page, page_size)
        found = await shop.webhooks.list(actor_of(request.user), offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="createWebhook",
        summary="Subscribe a URL to events (staff); the secret is shown once",
        description=doc.CREATE,
        responses={
            **doc.CREATED,
            **doc.BAD_SUBSCRIPTION,
            **raises(AuthenticationFailed, PermissionDenied),
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def create(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        data: Annotated[CreateSubscription, doc.CREATE_BODY],
    ) -> CreatedSubscriptionView:
        return await shop.webhooks.create(data, actor_of(request.user))

    @get(
        "/{subscription_id:int}",
        operation_id="getWebhook",
        summary="One webhook subscription (staff)",
        responses={
            **doc.THE_SUBSCRIPTION,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_SUBSCRIPTION,
            **raises(RATE_LIMITED),
        },
    )
    async def get_subscription(
        self, shop: NamedDependency[Shop], request: StaffRequest, subscription_id: SubscriptionId
    ) -> SubscriptionView:
        return await shop.webhooks.get(subscription_id, actor_of(request.user))

    @patch(
        "/{subscription_id:int}",
        operation_id="updateWebhook",
        summary="Change, pause or resume a webhook subscription (staff)",
        responses={
            **doc.THE_SUBSCRIPTION,
            **doc.BAD_SUBSCRIPTION,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_SUBSCRIPTION,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        subscription_id: SubscriptionId,
        data: Annotated[UpdateSubscription, doc.UPDATE_BODY],
    ) -> SubscriptionView:
        """Only the fields sent change (the same rules as at creation); `is_active: false` pauses
        it: nothing more is sent to it, attempts already waiting included."""
        return await shop.webhooks.update(subscription_id, data, actor_of(request.user))

    @delete(
        "/{subscription_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteWebhook",
        summary="Delete a webhook subscription and its deliveries (staff)",
        description=doc.DELETE,
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_SUBSCRIPTION,
            **raises(RATE_LIMITED),
        },
    )
    async def remove(
        self, shop: NamedDependency[Shop], request: StaffRequest, subscription_id: SubscriptionId
    ) -> None:
        await shop.webhooks.remove(subscription_id, actor_of(request.user))

    @get(
        "/{subscription_id:int}/deliveries",
        operation_id="listWebhookDeliveries",
        summary="A subscription's delivery attempts, newest first (staff)",
        description=doc.DELIVERIES_TEXT,
        responses={
            **doc.DELIVERIES,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_SUBSCRIPTION,
            **raises(RATE_LIMITED),
        },
    )
    async def deliveries(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        subscription_id: SubscriptionId,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[DeliveryView]:
        offset, limit = window(page, page_size)
        found = await shop.webhooks.deliveries(
            subscription_id, actor_of(request.user), offset=offset, limit=limit
        )
        return page_of(request, found.items, found.total, page, page_size)

    @post(
        "/{subscription_id:int}/deliveries/{delivery_id:int}/redeliver",
        status_code=HTTP_202_ACCEPTED,
        operation_id="redeliverWebhook",
        summary="Send a delivery's event again, as a new attempt (staff)",
        description=doc.REDELIVER,
        responses={
            **doc.REDELIVERED,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_DELIVERY,
            **doc.NOT_NOW,
            **raises(RATE_LIMITED),
        },
    )
    async def redeliver(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        subscription_id: SubscriptionId,
        delivery_id: DeliveryId,
    ) -> DeliveryView:
        return await shop.webhooks.redeliver(
            delivery_id, actor_of(request.user), subscription_id=subscription_id
        )
