"""The OpenAPI schema is complete: what a client developer (or a generator, Postman, Insomnia) needs
of every operation is there, consistent with what the app's handlers really do.

The schema is checked against the app's own routes (public or not, staff-only or not, body or not);
that the app answers as the schema says is test_openapi_contract's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.serialization import encode_json

from shop_http.security import requires_staff
from tests.conftest import build_app, make_settings

METHODS = ("get", "put", "post", "delete", "patch")
OPERATION_ID = re.compile(r"^[a-z][A-Za-z0-9]+$")
BEARER = [{"BearerToken": []}]
ERROR_BODY = "#/components/schemas/ErrorBody"
# Optional credentials: a guest (no token) or a customer (a bearer token).
OPTIONAL_BEARER = [{}, {"BearerToken": []}]


def _encoded(app: Litestar) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(encode_json(app.openapi_schema.to_schema()))
    return schema


APP = build_app(make_settings("sqlite+aiosqlite:///never-opened.db"))
SCHEMA = _encoded(APP)
OPERATIONS = [
    (path, method, operation)
    for path, item in SCHEMA["paths"].items()
    for method, operation in item.items()
    if method in METHODS
]
IDS = [f"{method.upper()} {path}" for path, method, _ in OPERATIONS]


def _handlers(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """(schema path, method, handler) of every route in the schema."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for handler in route.route_handlers:
            if handler.resolve_include_in_schema():
                for method in handler.http_methods:
                    yield path, method.lower(), handler


HANDLERS = {(path, method): handler for path, method, handler in _handlers(APP)}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator({**schema, "components": SCHEMA["components"]})


def _examples(media: dict[str, Any]) -> list[Any]:
    """The examples of a media type, wherever they are given (media type or its schema)."""
    found = [e["value"] for e in media.get("examples", {}).values()]
    if "example" in media:
        found.append(media["example"])
    return found + list(media.get("schema", {}).get("examples", []))


def test_every_route_is_in_the_schema_and_nothing_else() -> None:
    documented = {(path, method) for path, method, _ in OPERATIONS}

    assert documented == set(HANDLERS)
    assert all(path.startswith(("/api/", "/health/")) for path, _ in documented)
    assert not [path for path, _ in documented if "metrics" in path]  # an operator's endpoint


def test_operation_ids_are_readable_and_unique() -> None:
    ids = [operation.get("operationId", "") for _, _, operation in OPERATIONS]

    assert [i for i in ids if not OPERATION_ID.fullmatch(i)] == []
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    # set on every handler, not made up by Litestar from the path (which would change with it)
    assert all(isinstance(handler.operation_id, str) for handler in HANDLERS.values())


def test_the_schema_is_the_same_on_every_build() -> None:
    """No example is made up at random (Litestar's generated examples would be)."""
    assert _encoded(build_app(make_settings("sqlite+aiosqlite:///other.db"))) == SCHEMA


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_is_described(path: str, method: str, operation: dict[str, Any]) -> None:
    assert operation.get("summary"), "a summary"
    assert operation.get("tags"), "a tag"
    successes = {status: r for status, r in operation["responses"].items() if status.startswith("2")}
    assert successes, "a 2xx response"
    for status, response in successes.items():
        assert response["description"]
        if status == "204":
            assert not response.get("content")
            continue
        assert response.get("content"), f"{status} has a body"
        for media_type, media in response["content"].items():
            assert media.get("schema"), f"{status} has a schema"
            assert _examples(media) or media_type != "application/json", f"{status} has an example"


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_error_responses_are_the_error_body(path: str, method: str, operation: dict[str, Any]) -> None:
    errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
    if path == "/health/ready":  # the readiness report itself, for load balancers
        assert set(errors) == {"503"}
        return
    required = set(SCHEMA["components"]["schemas"]["ErrorBody"]["required"])
    for status, response in errors.items():
        assert response["description"], status
        media = response["content"]["application/json"]
        schema = media["schema"]
        if schema != {"$ref": ERROR_BODY}:  # an extension naming more (e.g. the stock available)
            resolved = _resolve(schema)
            assert required <= set(resolved["required"]), (status, schema)
            assert set(SCHEMA["components"]["schemas"]["ErrorBody"]["properties"]) <= set(
                resolved["properties"]
            )
        assert "status_code" not in json.dumps(_resolve(schema)), "not Litestar's own error shape"
        assert _examples(media), f"{status} has an example"


# Operations open to customers that a core rule may still refuse them (403), beside staff-only ones.
REFUSES_CUSTOMERS = {
    ("/api/products/{product_id}/reviews", "post"),  # never received the product
    ("/api/reviews/{review_id}", "patch"),  # someone else's review, or `is_published`
    ("/api/reviews/{review_id}", "delete"),  # someone else's review
}


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_security_is_what_the_handler_enforces(path: str, method: str, operation: dict[str, Any]) -> None:
    handler = HANDLERS[(path, method)]
    public = bool(handler.opt.get("exclude_from_auth"))
    statuses = set(operation["responses"])
    catalog_read = method == "get" and path.startswith(("/api/products", "/api/categories"))
    if not public:
        assert operation.get("security") == BEARER
        assert "401" in statuses
    elif (path.startswith("/api/cart") and path != "/api/cart/checkout") or catalog_read:
        # Guests and customers (staff see more of the catalog): the document's own optional
        # requirement, inherited (openapi-python-client then takes a plain Client for it).
        assert "security" not in operation
        assert SCHEMA["security"] == OPTIONAL_BEARER
    elif path in ("/api/cart/checkout", "/api/orders/{order_id}/events"):
        # Public to the middleware, but refuses guests itself (the events take a stream ticket too).
        assert operation.get("security") == BEARER
        assert "401" in statuses
    else:
        assert operation.get("security") == []  # explicitly no credentials needed
    staff_only = any(requires_staff in (layer.guards or []) for layer in handler.ownership_layers)
    assert ("403" in statuses) is (staff_only or (path, method) in REFUSES_CUSTOMERS)
    if staff_only:
        assert "staff" in operation["summary"].lower()


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_the_errors_every_operation_can_meet_are_documented(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    statuses = set(operation["responses"])
    if path.startswith("/api/"):
        assert "429" in statuses, "the rate limiter guards every /api path"
    else:
        assert "429" not in statuses
    if "requestBody" in operation:
        assert {"400", "413"} <= statuses
    if "{" in path or (method == "get" and {p["name"] for p in operation.get("parameters", [])} & {"page"}):
        assert "404" in statuses, "a path id, or a page past the end"
    if operation.get("parameters") or "requestBody" in operation:
        assert "400" in statuses


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_request_bodies_have_examples(path: str, method: str, operation: dict[str, Any]) -> None:
    handler = HANDLERS[(path, method)]
    reads_a_body = "data" in handler.parsed_fn_signature.parameters
    assert reads_a_body <= ("requestBody" in operation)
    if "requestBody" not in operation:
        return
    for media_type, media in operation["requestBody"]["content"].items():
        assert media.get("schema"), media_type
        assert _examples(media), media_type


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_example_matches_its_schema(path: str, method: str, operation: dict[str, Any]) -> None:
    medias = [media for r in operation["responses"].values() for media in r.get("content", {}).values()]
    medias += list(operation.get("requestBody", {}).get("content", {}).values())
    for media in medias:
        if media["schema"].get("type") == "string" and not _examples(media):  # the invoice's PDF
            continue
        validator = _validator(media["schema"])
        for value in _examples(media):
            assert validator.is_valid(value), (value, [e.message for e in validator.iter_errors(value)])
    for parameter in operation.get("parameters", []):
        validator = _validator(parameter["schema"])
        for example in parameter.get("examples", {}).values():
            assert validator.is_valid(example["value"]), (parameter["name"], example)


def test_the_bearer_scheme_is_described() -> None:
    schemes = SCHEMA["components"]["securitySchemes"]

    assert schemes["BearerToken"]["type"] == "http"
    assert schemes["BearerToken"]["scheme"].lower() == "bearer"
    assert schemes["BearerToken"]["bearerFormat"] == "JWT"
    assert "/api/auth/login/" in schemes["BearerToken"]["description"]


def test_the_cart_token_is_documented_both_ways() -> None:
    view = SCHEMA["paths"]["/api/cart"]["get"]

    assert "X-Cart-Token" in {p["name"] for p in view["parameters"] if p["in"] == "header"}
    assert "X-Cart-Token" in view["responses"]["200"]["headers"]


def test_the_gateways_bodies_are_documented() -> None:
    stripe = SCHEMA["paths"]["/api/payments/webhook"]["post"]
    ipn = SCHEMA["paths"]["/api/payments/webhook/sslcommerz"]["post"]

    assert "Stripe-Signature" in {p["name"] for p in stripe["parameters"] if p["required"]}
    assert "application/json" in stripe["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in ipn["requestBody"]["content"]
