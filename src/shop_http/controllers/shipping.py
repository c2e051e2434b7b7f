"""Shipping zones and their methods: staff say where the shop ships (a zone is a set of countries, a
country in one zone at most) and what each method there costs, in the store currency."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from shop_core.services.shipping_commands import CreateZone, MethodInput, UpdateMethod, UpdateZone
from shop_core.services.shipping_views import MethodView, ZoneView
from shop_core.services.views import UserView
from shop_http.api_docs import shipping as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, page_past_the_end, raises
from shop_http.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageOf, PageSize, page_of, window
from shop_http.security import actor_of, requires_staff

StaffRequest = Request[UserView, Any, Any]
ZoneId = Annotated[int, Parameter(description="The zone's id.", examples=[Example(value=1)])]
MethodId = Annotated[int, Parameter(description="The method's id.", examples=[Example(value=2)])]
ZONE = "/{zone_id:int}"
METHOD = "/{zone_id:int}/methods/{method_id:int}"


class ShippingZoneController(Controller):
    path = "/api/shipping/zones"
    tags = ["Shipping"]
    guards = [requires_staff]
    security = BEARER

    @get(
        "/",
        operation_id="listShippingZones",
        summary="Every shipping zone, with its methods (staff)",
        responses={
            **doc.PAGE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **page_past_the_end(),
            **raises(RATE_LIMITED),
        },
    )
    async def list_zones(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        page: PageNumber = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> PageOf[ZoneView]:
        """By name; each zone's countries sorted, its methods by price."""
        offset, limit = window(page, page_size)
        found = await shop.shipping.list_zones(actor_of(request.user), offset=offset, limit=limit)
        return page_of(request, found.items, found.total, page, page_size)

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="createShippingZone",
        summary="Create a shipping zone, and its methods with it (staff)",
        responses={
            **doc.CREATED_ZONE,
            **doc.BAD_ZONE,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.IN_ANOTHER_ZONE,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def create_zone(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        data: Annotated[CreateZone, doc.CREATE_ZONE_BODY],
    ) -> ZoneView:
        """`countries` are ISO 3166-1 alpha-2 codes in capitals, each in one zone at most (409
        `country_in_another_zone` names the zone that has it); names are unique in any case (409
        `zone_name_taken`). The `methods` sent are created with the zone: all or nothing."""
        return await shop.shipping.create_zone(data, actor_of(request.user))

    @get(
        ZONE,
        operation_id="getShippingZone",
        summary="One shipping zone, with its methods (staff)",
        responses={
            **doc.ZONE,
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_ZONE,
            **raises(RATE_LIMITED),
        },
    )
    async def get_zone(self, shop: NamedDependency[Shop], request: StaffRequest, zone_id: ZoneId) -> ZoneView:
        return await shop.shipping.get_zone(zone_id, actor_of(request.user))

    @patch(
        ZONE,
        operation_id="updateShippingZone",
        summary="Rename a shipping zone or change its countries (staff)",
        responses={
            **doc.ZONE,
            **doc.BAD_ZONE,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_ZONE,
            **doc.IN_ANOTHER_ZONE,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update_zone(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        zone_id: ZoneId,
        data: Annotated[UpdateZone, doc.UPDATE_ZONE_BODY],
    ) -> ZoneView:
        """Only the fields sent change; `countries` replaces the set (to move a country here, take it
        out of its zone first). Methods are changed on their own paths."""
        return await shop.shipping.update_zone(zone_id, data, actor_of(request.user))

    @delete(
        ZONE,
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteShippingZone",
        summary="Delete a shipping zone and its methods (staff)",
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_ZONE,
            **raises(RATE_LIMITED),
        },
    )
    async def delete_zone(self, shop: NamedDependency[Shop], request: StaffRequest, zone_id: ZoneId) -> None:
        """Its methods go with it; orders that used one keep its name and price (their
        `shipping_method_id` becomes null). Its countries are then in no zone."""
        await shop.shipping.delete_zone(zone_id, actor_of(request.user))

    @post(
        f"{ZONE}/methods",
        status_code=HTTP_201_CREATED,
        operation_id="addShippingMethod",
        summary="Add a shipping method to a zone (staff)",
        responses={
            **doc.CREATED_METHOD,
            **doc.BAD_METHOD,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_ZONE,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def add_method(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        zone_id: ZoneId,
        data: Annotated[MethodInput, doc.ADD_METHOD_BODY],
    ) -> MethodView:
        """`price` (and `free_over`: free when the goods, after discounts, come to at least this) in
        the store currency; weight bounds inclusive, in grams."""
        return await shop.shipping.add_method(zone_id, data, actor_of(request.user))

    @patch(
        METHOD,
        operation_id="updateShippingMethod",
        summary="Change some of a shipping method's fields (staff)",
        responses={
            **doc.METHOD,
            **doc.BAD_METHOD,
            **raises(AuthenticationFailed, PermissionDenied),
            **doc.NO_METHOD,
            **raises(REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update_method(
        self,
        shop: NamedDependency[Shop],
        request: StaffRequest,
        zone_id: ZoneId,
        method_id: MethodId,
        data: Annotated[UpdateMethod, doc.UPDATE_METHOD_BODY],
    ) -> MethodView:
        """Only the fields sent change; null clears an optional one. A method stays in its zone: to
        move it, add it to the other zone and delete it here. Orders placed with it keep the name
        and price they were placed with."""
        return await shop.shipping.update_method(method_id, data, actor_of(request.user), zone_id=zone_id)

    @delete(
        METHOD,
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteShippingMethod",
        summary="Delete a shipping method (staff)",
        responses={
            **raises(InvalidInput, AuthenticationFailed, PermissionDenied),
            **doc.NO_METHOD,
            **raises(RATE_LIMITED),
        },
    )
    async def delete_method(
        self, shop: NamedDependency[Shop], request: StaffRequest, zone_id: ZoneId, method_id: MethodId
    ) -> None:
        """Orders that used it keep its name and price (their `shipping_method_id` becomes null)."""
        await shop.shipping.delete_method(method_id, actor_of(request.user), zone_id=zone_id)
