"""The OpenAPI description of the API and of its errors."""

from __future__ import annotations

import msgspec
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Tag

from shop_core import __version__

ERROR_MEANING = {
    400: "Malformed or invalid input; `errors` maps each field to its problems.",
    401: "Missing, invalid, expired or revoked credentials.",
    403: "Authenticated, but not allowed (staff only).",
    404: "Not found, or not yours.",
    402: "The payment gateway declined the customer's payment details; they may try again.",
    409: "Conflicts with what is stored (duplicate email, …).",
    413: "The request body is too large.",
    429: "Too many requests; retry after `Retry-After` seconds.",
    502: "The payment gateway failed or could not be reached; nothing was charged twice, retry later.",
    503: "A dependency is down; retry after `Retry-After` seconds.",
}


class ErrorBody(msgspec.Struct):
    detail: str
    code: str
    errors: dict[str, list[str]] | None = None


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        s: ResponseSpec(data_container=ErrorBody, description=ERROR_MEANING[s], generate_examples=False)
        for s in statuses
    }


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Shop API",
        version=__version__,
        description=(
            "A headless shop. Authenticate with `Authorization: Bearer <access>` from "
            "`POST /api/auth/login/`. Errors are `{detail, code, errors?}`. Every path works with "
            "and without its trailing slash."
        ),
        path="/api/schema",
        render_plugins=[],
        tags=[
            Tag(name="Auth", description="Accounts, sessions and tokens."),
            Tag(name="Users (staff)", description="Staff views of accounts."),
            Tag(name="Catalog", description="Categories and products. Reads are public and cached."),
            Tag(name="Cart", description="The customer's (or a guest's) cart, priced from the catalog."),
            Tag(name="Orders", description="Placing orders, their life, and invoices."),
            Tag(
                name="Payments",
                description="Stripe, SSLCommerz and cash on delivery: starting a payment, the gateways' "
                "webhooks, verification, refunds.",
            ),
            Tag(name="Health", description="Liveness and readiness."),
        ],
        use_handler_docstrings=True,
    )
