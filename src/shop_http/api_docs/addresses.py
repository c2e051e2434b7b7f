"""The documentation of `controllers.addresses`: the customer's address book."""

from __future__ import annotations

import msgspec

from shop_core.domain.address_book import AddressBookFull
from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.services.address_book import NO_SUCH_ADDRESS, SaveAddress, SavedAddressView, UpdateAddress
from shop_http.api_docs.examples import ADDRESS, ADDRESS_INPUT
from shop_http.openapi import body, error, example, ok, request_example, sample

HOME = SavedAddressView(
    **msgspec.structs.asdict(ADDRESS), id=1, is_default_shipping=True, is_default_billing=True
)
OFFICE = SavedAddressView(
    **(msgspec.structs.asdict(ADDRESS) | {"line1": "1 Office Park", "postal_code": "EC1A 1BB"}),
    id=2,
    is_default_shipping=False,
    is_default_billing=False,
)

LIST = ok(
    list[SavedAddressView],
    "The customer's addresses, oldest first.",
    example([HOME, OFFICE], "Two addresses"),
)
ONE = ok(SavedAddressView, "The address.", example(HOME))
CREATED = ok(SavedAddressView, "The new address.", example(OFFICE), status=201)

BAD_ADDRESS = error(
    InvalidInput,
    "A field is missing, too long or invalid (every one at fault is named under `address.`).",
    sample(
        InvalidInput(
            "The address is incomplete or invalid.",
            {"address.country": ["Use an ISO 3166-1 alpha-2 country code, such as US, GB or BD."]},
        )
    ),
)
NO_ADDRESS = error(NotFound, "No such address, or someone else's.", sample(NotFound(NO_SUCH_ADDRESS)))
FULL = error(AddressBookFull, "The address book is full.", sample(AddressBookFull()))

CREATE_BODY = body(
    request_example(SaveAddress, "An address", **ADDRESS_INPUT),
    request_example(SaveAddress, "The new default for shipping", **ADDRESS_INPUT, is_default_shipping=True),
)
UPDATE_BODY = body(
    request_example(UpdateAddress, "A new phone number", phone="+44 20 7946 0001"),
    request_example(UpdateAddress, "Make it the default for billing", is_default_billing=True),
)
