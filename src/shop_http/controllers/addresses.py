"""The customer's address book: saved addresses, with a default for shipping and one for billing.
Checkout takes `shipping_address_id`/`billing_address_id` instead of an address typed again; the
order copies the address, so editing or deleting it later changes no order."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from shop_core.bootstrap import Shop
from shop_core.domain.errors import AuthenticationFailed, InvalidInput
from shop_core.domain.ids import MAX_ID
from shop_core.services.address_book import SaveAddress, SavedAddressView, UpdateAddress
from shop_core.services.views import UserView
from shop_http.api_docs import addresses as doc
from shop_http.errors import RATE_LIMITED, REQUEST_TOO_LARGE
from shop_http.openapi import BEARER, raises
from shop_http.security import actor_of

CustomerRequest = Request[UserView, Any, Any]
AddressId = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The address's id.", examples=[Example(value=1)])
]


class AddressController(Controller):
    path = "/api/addresses"
    tags = ["Addresses"]
    security = BEARER

    @get(
        "/",
        operation_id="listAddresses",
        summary="The customer's address book",
        responses={**doc.LIST, **raises(AuthenticationFailed, RATE_LIMITED)},
    )
    async def list_addresses(
        self, shop: NamedDependency[Shop], request: CustomerRequest
    ) -> list[SavedAddressView]:
        return await shop.addresses.list_addresses(actor_of(request.user))

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        operation_id="addAddress",
        summary="Save an address",
        responses={
            **doc.CREATED,
            **doc.BAD_ADDRESS,
            **doc.FULL,
            **raises(AuthenticationFailed, REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def add(
        self,
        shop: NamedDependency[Shop],
        request: CustomerRequest,
        data: Annotated[SaveAddress, doc.CREATE_BODY],
    ) -> SavedAddressView:
        """The customer's first address is their default for shipping and billing; `is_default_*`
        makes a later one the default (the one before stops being it). At most 50 (409
        `address_book_full`)."""
        return await shop.addresses.add_address(actor_of(request.user), data)

    @get(
        "/{address_id:int}",
        operation_id="getAddress",
        summary="One saved address",
        responses={**doc.ONE, **doc.NO_ADDRESS, **raises(InvalidInput, AuthenticationFailed, RATE_LIMITED)},
    )
    async def get_address(
        self, shop: NamedDependency[Shop], request: CustomerRequest, address_id: AddressId
    ) -> SavedAddressView:
        return await shop.addresses.get_address(actor_of(request.user), address_id)

    @patch(
        "/{address_id:int}",
        operation_id="updateAddress",
        summary="Change a saved address",
        responses={
            **doc.ONE,
            **doc.BAD_ADDRESS,
            **doc.NO_ADDRESS,
            **raises(AuthenticationFailed, REQUEST_TOO_LARGE, RATE_LIMITED),
        },
    )
    async def update(
        self,
        shop: NamedDependency[Shop],
        request: CustomerRequest,
        address_id: AddressId,
        data: Annotated[UpdateAddress, doc.UPDATE_BODY],
    ) -> SavedAddressView:
        """The fields sent change; `is_default_*: true` makes it the default of that kind, `false`
        leaves none. Orders placed with it keep their copy."""
        return await shop.addresses.update_address(actor_of(request.user), address_id, data)

    @delete(
        "/{address_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="deleteAddress",
        summary="Delete a saved address",
        responses={**doc.NO_ADDRESS, **raises(InvalidInput, AuthenticationFailed, RATE_LIMITED)},
    )
    async def delete_address(
        self, shop: NamedDependency[Shop], request: CustomerRequest, address_id: AddressId
    ) -> None:
        """Orders placed with it keep their copy; a default deleted leaves no default of its kind."""
        await shop.addresses.delete_address(actor_of(request.user), address_id)
