"""The documentation of `controllers.shipping`: staff's shipping zones and methods (what each
operation does is in its handler's docstring)."""

from __future__ import annotations

from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.shipping import CountryInAnotherZone, Method, Zone, ZoneNameTaken
from shop_core.services.shipping_admin import NO_SUCH_METHOD, NO_SUCH_ZONE, method_of, not_in_zone, zone_of
from shop_core.services.shipping_commands import CreateZone, MethodInput, UpdateMethod, UpdateZone
from shop_core.services.shipping_views import MethodView, ZoneView
from shop_http.openapi import body, error, example, ok, refusal, request_example, sample
from shop_http.pagination import PageOf

# --- answers ---------------------------------------------------------------------------------------

STANDARD = MethodView(
    id=1,
    name="Standard",
    price="4.99",
    free_over="50.00",
    min_weight_grams=None,
    max_weight_grams=20_000,
    delivery_days=5,
)
EXPRESS = MethodView(
    id=2,
    name="Express",
    price="14.99",
    free_over=None,
    min_weight_grams=None,
    max_weight_grams=5_000,
    delivery_days=2,
)
COURIER = MethodView(
    id=3,
    name="Courier",
    price="9.00",
    free_over=None,
    min_weight_grams=None,
    max_weight_grams=None,
    delivery_days=None,
)
ASIA = ZoneView(id=1, name="Asia", countries=["BD", "IN", "NP"], methods=[STANDARD, EXPRESS])
EUROPE = ZoneView(id=2, name="Europe", countries=["DE", "FR", "GB"], methods=[COURIER])

PAGE = ok(
    PageOf[ZoneView],
    "A page of zones, by name, each with its methods (by price).",
    example(PageOf(count=2, next=None, previous=None, results=[ASIA, EUROPE]), "Every zone"),
)
ZONE = ok(ZoneView, "The zone, with its methods.", example(ASIA))
CREATED_ZONE = ok(ZoneView, "The new zone, with the methods created with it.", example(ASIA), status=201)
METHOD = ok(MethodView, "The method as it is now.", example(STANDARD))
CREATED_METHOD = ok(MethodView, "The new method.", example(EXPRESS), status=201)

# --- errors ----------------------------------------------------------------------------------------

_BAD_METHOD = sample(
    refusal(
        method_of,
        Method(zone_id=1, name="Standard", price=499),
        {"min_weight_grams": 5_000, "max_weight_grams": 1_000, "delivery_days": -2},
        "USD",
        kind=InvalidInput,
    )
)
BAD_ZONE = error(
    InvalidInput,
    "A field is missing or invalid (every one at fault is named): a name of no or more than 100 "
    "characters, no country, a country that is no ISO 3166-1 alpha-2 code in capitals (`bd` is "
    "refused, not guessed at), or a method at fault (named as `methods[0].price`).",
    sample(refusal(zone_of, " ", ["BD", "bd", "XX"], kind=InvalidInput)),
    sample(
        InvalidInput(
            "The shipping zone is not valid.", {"methods[0].price": ["Use an amount of zero or more."]}
        )
    ),
)
BAD_METHOD = error(
    InvalidInput,
    "A field is missing or invalid (every one at fault is named): a name of no or more than 100 "
    "characters, an amount below zero or finer than the store currency, a weight or a number of days "
    "below zero, a maximum weight below the minimum, or an unknown field (`zone_id` among them: a "
    "method stays in its zone).",
    _BAD_METHOD,
)
IN_ANOTHER_ZONE = error(
    CountryInAnotherZone,
    "A country is in another zone already (`country_in_another_zone`, naming it), or another zone "
    "has the name, in any case (`zone_name_taken`).",
    sample(CountryInAnotherZone("BD", "South Asia")),
    sample(ZoneNameTaken("Asia")),
)
NO_ZONE = error(NotFound, "No zone has that id.", sample(NotFound(NO_SUCH_ZONE)))
NO_METHOD = error(
    NotFound,
    "No zone has that id, no method has that id, or the method is another zone's.",
    sample(NotFound(NO_SUCH_ZONE)),
    sample(NotFound(NO_SUCH_METHOD)),
    sample(not_in_zone(Method(zone_id=2, name="Courier", price=900, id=3), Zone("Asia", id=1))),
)

# --- request bodies --------------------------------------------------------------------------------

_STANDARD_INPUT = {
    "name": "Standard",
    "price": "4.99",
    "free_over": "50.00",
    "max_weight_grams": 20000,
    "delivery_days": 5,
}
CREATE_ZONE_BODY = body(
    request_example(
        CreateZone,
        "A zone and its methods at once",
        name="Asia",
        countries=["BD", "IN", "NP"],
        methods=[
            _STANDARD_INPUT,
            {"name": "Express", "price": "14.99", "max_weight_grams": 5000, "delivery_days": 2},
        ],
    ),
    request_example(CreateZone, "A zone, its methods to come", name="Europe", countries=["DE", "FR", "GB"]),
)
UPDATE_ZONE_BODY = body(
    request_example(UpdateZone, "Rename it", name="South Asia"),
    request_example(UpdateZone, "Its countries (the set is replaced)", countries=["BD", "IN", "LK", "NP"]),
)
ADD_METHOD_BODY = body(
    request_example(MethodInput, "A method free from 50.00", **_STANDARD_INPUT),
    request_example(MethodInput, "A flat price, nothing else", name="Courier", price="9.00"),
)
UPDATE_METHOD_BODY = body(
    request_example(UpdateMethod, "A new price", price="5.49"),
    request_example(UpdateMethod, "Never free, any weight", free_over=None, max_weight_grams=None),
)
