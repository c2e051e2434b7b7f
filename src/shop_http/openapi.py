"""The OpenAPI description of the API: the error body, the helpers controllers and their documentation
modules (`shop_http.api_docs`) describe operations with, and the schema document's configuration.

An operation's errors are declared as the exceptions it can raise (`raises`, `error`): their status
and meaning come from the one table in `errors.py`, and `sample` turns a core exception into the
body the API answers it with, so examples quote the core instead of copying it. Request examples are
checked against the command they must decode to when they are built: an example the API would
refuse fails at start-up, not in a client developer's hands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.enums import RequestEncodingType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityRequirement,
    Tag,
)
from litestar.params import BodyKwarg

from shop_core import __version__
from shop_core.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    GatewayUnavailable,
    InvalidInput,
    NotFound,
    PaymentDeclined,
    PermissionDenied,
    ServiceUnavailable,
)
from shop_core.services import paging
from shop_http.errors import CODE_OF_STATUS, MEANING_OF_STATUS, HttpError, body_of, http_error_of

# The scheme Litestar's JWTAuth registers; protected operations name it, public ones send `NO_AUTH`
# (`[{}]`) and optional-auth ones `OPTIONAL_AUTH`; `ShopOpenAPI` writes each the way clients read it.
BEARER: list[SecurityRequirement] = [{"BearerToken": []}]
OPTIONAL_AUTH: list[SecurityRequirement] = [{}, *BEARER]


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """Every error: a sentence for people, a code for programs, and (400 only) the fields at fault."""

    detail: Annotated[str, msgspec.Meta(description="A human sentence; show it, don't parse it.")]
    code: Annotated[
        str,
        msgspec.Meta(
            description="A stable machine code: `invalid`, `not_authenticated`, `not_found`, `conflict`, "
            "`insufficient_stock`, `throttled`, …"
        ),
    ]
    errors: (
        Annotated[
            dict[str, list[str]],
            msgspec.Meta(description="400 only: each field at fault and its problems."),
        ]
        | None
    ) = None


def as_sent(value: Any) -> msgspec.Raw:
    """A value as the API (or a client) sends it, JSON-encoded once. Litestar would drop every null
    from a plain dict or list when it writes the schema; encoded JSON reaches the schema unchanged."""
    return msgspec.Raw(msgspec.json.encode(value))


@dataclass
class NamedExample(Example):
    """An example whose `id` names it in the schema without being written into it (Litestar writes
    it, and the OpenAPI Example Object has no such field)."""

    @property
    def _exclude_fields(self) -> set[str]:
        return {"id"}


def example(value: Any, summary: str | None = None, *, key: str | None = None) -> Example:
    """An example of a response (a Struct, encoded as the API would send it); `key` (by default
    made from the summary) names it in the schema."""
    if key is None and summary:
        key = re.sub(r"[^a-z0-9]+", "-", summary.lower()).strip("-")
    return NamedExample(id=key, summary=summary, value=as_sent(value))


def request_example(command: type[Any], summary: str, **fields: Any) -> Example:
    """An example request body, as a client sends it; one the API would refuse fails at import."""
    msgspec.convert(fields, command)
    return Example(summary=summary, value=as_sent(fields))


def body(*examples: Example, description: str | None = None) -> BodyKwarg:
    """A JSON request body with examples: `data: Annotated[Command, body(...)]`."""
    return BodyKwarg(media_type=RequestEncodingType.JSON, examples=list(examples), description=description)


# What an operation can meet: an exception class a use case raises, or what the HTTP layer answers
# with itself (`errors.REQUEST_TOO_LARGE`, `errors.RATE_LIMITED`); a bare status is for the defaults.
Raised = type[DomainError] | HttpError | int


def status_of(raised: Raised) -> int:
    """The status an exception class answers with (the table, `errors.ERRORS`)."""
    if isinstance(raised, int):
        return raised
    return raised.status if isinstance(raised, HttpError) else http_error_of(raised).status


def sample(exc: DomainError, data_container: type[ErrorBody] = ErrorBody) -> ErrorBody:
    """The body the API answers an exception with (as `errors.domain_error` builds it), as an example:
    the core's own message and code, not a copy of them."""
    found = body_of(exc)
    fields: dict[str, Any] = {"detail": exc.detail, "code": exc.code, **(found["extra"] or {})}
    if found["errors"]:  # as `errors.error_response` writes it: only when some field is at fault
        fields["errors"] = found["errors"]
    return msgspec.convert(fields, data_container)


Refusal = TypeVar("Refusal", bound=DomainError)


def refusal(check: Callable[..., object], *args: Any, kind: type[Refusal]) -> Refusal:
    """What a core check raises (an exception of `kind`) for the arguments given, for an example that
    quotes the core."""
    try:
        check(*args)
    except kind as exc:
        return exc
    raise AssertionError(f"{check.__name__}{args!r} refused nothing")


# The example of each error status, where an operation gives none of its own: the body the API
# answers the table's exception with (or, for 413 and 429, the HTTP layer's own answer).
ERROR_EXAMPLES: dict[int, ErrorBody] = {
    400: sample(InvalidInput("The request is not valid.", {"email": ["This field is required."]})),
    401: sample(
        AuthenticationFailed("Authentication credentials were missing, invalid, expired or revoked.")
    ),
    402: sample(PaymentDeclined("Your card was declined.")),
    403: sample(PermissionDenied("Only staff may do this.")),
    404: sample(NotFound("No such product.")),
    409: sample(Conflict("A user with that email already exists.")),
    413: ErrorBody(detail="Request Entity Too Large.", code=CODE_OF_STATUS[413]),
    429: ErrorBody(detail="Too Many Requests.", code=CODE_OF_STATUS[429]),
    502: sample(GatewayUnavailable("The stripe gateway failed: timed out.")),
    503: sample(ServiceUnavailable("The database is unavailable right now; try again shortly.")),
}


def error(
    raised: Raised, description: str | None = None, *examples: ErrorBody, data_container: Any = ErrorBody
) -> dict[int, ResponseSpec]:
    """One error response: for an exception class the use case raises (or a status the HTTP layer
    answers with), the error body (or an extension of it), what the status means here, and examples."""
    status = status_of(raised)
    samples = examples or (ERROR_EXAMPLES[status],)
    codes = [sample.code for sample in samples]
    keys = codes if len(set(codes)) == len(codes) else [f"{c}-{n}" for n, c in enumerate(codes, start=1)]
    return {
        status: ResponseSpec(
            data_container=data_container,
            description=description or MEANING_OF_STATUS[status],
            generate_examples=False,
            examples=[example(sample, key=key) for sample, key in zip(samples, keys, strict=True)],
        )
    }


PAST_THE_END = sample(NotFound(paging.PAST_THE_END))


def page_past_the_end() -> dict[int, ResponseSpec]:
    """The 404 of a list endpoint asked for a page past its end (see `pagination.py`)."""
    return error(NotFound, "The page is past the end of the list.", PAST_THE_END)


def raises(*raised: Raised) -> dict[int, ResponseSpec]:
    """The error responses of an operation, from the exceptions it can raise (and what the HTTP layer
    answers with: a body too large, the rate limiter), each with its general meaning and an example.

    An `/api` operation (the rate-limited ones: 429) also answers 503 when the database cannot be
    reached; an operation that says more about its 503 (Redis, a gateway) lists it after this."""
    statuses = [status_of(one) for one in raised]
    if 429 in statuses and 503 not in statuses:
        statuses.append(503)
    found: dict[int, ResponseSpec] = {}
    for status in statuses:
        found |= error(status)
    return found


def ok(
    data_container: Any,
    description: str,
    *examples: Example,
    status: int = 200,
    media_type: str = "application/json",
) -> dict[int, ResponseSpec]:
    """The success response of an operation, with examples (instead of Litestar's bare one)."""
    return {
        status: ResponseSpec(
            data_container=data_container,
            description=description,
            generate_examples=False,
            examples=list(examples) or None,
            media_type=media_type,
        )
    }


def documented(
    *,
    parameters: list[Parameter] | None = None,
    request_body: RequestBody | None = None,
    optional_body: bool = False,
    success_headers: dict[str, OpenAPIHeader] | None = None,
    downloads: tuple[str, ...] = (),
) -> type[Operation]:
    """An `operation_class` that documents what a handler reads or sends by hand: headers it reads
    from the request, a raw or form body (or that its body may be left out), headers it sets on its
    successful answers, a file it answers with (`downloads`: the media types it is sent as, each a
    binary string, the default first)."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if parameters:
                self.parameters = [*(self.parameters or []), *parameters]
            if request_body is not None:
                self.request_body = request_body
            if optional_body and isinstance(self.request_body, RequestBody):
                self.request_body.required = False
            for status, response in (self.responses or {}).items():
                if not status.startswith("2") or not isinstance(response, OpenAPIResponse):
                    continue
                if success_headers:
                    response.headers = {**(response.headers or {}), **success_headers}
                if downloads:
                    binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                    response.content = {kind: OpenAPIMediaType(schema=binary) for kind in downloads}

    return DocumentedOperation


def header(name: str, description: str, *, required: bool = False, **schema: Any) -> Parameter:
    return Parameter(
        name=name,
        param_in="header",
        required=required,
        description=description,
        schema=Schema(type=OpenAPIType.STRING, **schema),
    )


def form_body(description: str, fields: Mapping[str, Schema], *examples: Example) -> RequestBody:
    """A form-encoded body (what the payment gateways post)."""
    return RequestBody(
        description=description,
        required=True,
        content={
            RequestEncodingType.URL_ENCODED.value: OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.OBJECT, properties=dict[str, Schema | Reference](fields)),
                examples={f"example-{n}": sample for n, sample in enumerate(examples, start=1)},
            )
        },
    )


@dataclass
class ShopOpenAPI(OpenAPI):
    """The schema document, with each operation's security written the way clients read it.

    Litestar leaves out an operation's empty `security` list, so handlers mark their needs with
    non-empty lists and this writes them out:
    - public (`NO_AUTH`, `[{}]`): `security: []`, no credentials at all;
    - optional (`OPTIONAL_AUTH`: a guest, or a bearer token): no `security` of its own, so it
      inherits the document's, which is exactly that, `[{}, {"BearerToken": []}]`;
    - protected (`BEARER`): stays `[{"BearerToken": []}]`.
    Client generators that read `[{}, …]` as "credentials required" (openapi-python-client, whose
    functions then take only an `AuthenticatedClient`) thus let guests call the optional ones too,
    while the document still says what the spec means by "optional".
    """

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        schema["security"] = [dict(requirement) for requirement in OPTIONAL_AUTH]
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                security = operation.get("security")
                if security == [{}]:
                    operation["security"] = []
                elif security == OPTIONAL_AUTH:
                    del operation["security"]
        return schema


class ShopOpenAPIConfig(OpenAPIConfig):
    def to_openapi_schema(self) -> OpenAPI:
        built = super().to_openapi_schema()
        return ShopOpenAPI(**{field.name: getattr(built, field.name) for field in fields(built)})


def openapi_config() -> OpenAPIConfig:
    return ShopOpenAPIConfig(
        title="Shop API",
        version=__version__,
        description=(
            "A headless shop. Authenticate with `Authorization: Bearer <access>` from "
            "`POST /api/auth/login/`. Errors are `{detail, code, errors?}`. Every path works with "
            "and without its trailing slash. Every `/api` endpoint is rate limited (429 with "
            "`Retry-After`); those that take passwords or mint tokens more strictly."
        ),
        path="/api/schema",
        render_plugins=[],
        tags=[
            Tag(name="Auth", description="Accounts, sessions and tokens."),
            Tag(name="Users (staff)", description="Staff views of accounts."),
            Tag(name="Catalog", description="Categories and products. Reads are public and cached."),
            Tag(
                name="Sales (staff)",
                description="Timed percentage sales on products and categories, shown in the catalog's "
                "`final_price` while they run.",
            ),
            Tag(name="Cart", description="The customer's (or a guest's) cart, priced from the catalog."),
            Tag(name="Addresses", description="The customer's address book, for checkout by id."),
            Tag(
                name="Shipping",
                description="Where the shop ships and what it costs: zones of countries, each with its "
                "methods (staff).",
            ),
            Tag(name="Orders", description="Placing orders, their life, and invoices."),
            Tag(
                name="Returns",
                description="Customers send delivered goods back; staff approve or reject, receive "
                "(restocking or not) and refund them.",
            ),
            Tag(
                name="Reviews",
                description="Customers who received a product review it; staff moderate. Products "
                "show `rating_average` and `rating_count` of the published reviews.",
            ),
            Tag(
                name="Payments",
                description="Stripe, SSLCommerz and cash on delivery: starting a payment, the gateways' "
                "webhooks, verification, refunds.",
            ),
            Tag(
                name="Vouchers (staff)",
                description="Discount codes: percentage, fixed amount or free shipping, with limits.",
            ),
            Tag(
                name="Tax",
                description="Tax rates by country and region (staff); checkout charges the most "
                "specific one for the address.",
            ),
            Tag(
                name="Webhooks (staff)",
                description="Outgoing webhooks: subscribe URLs to the shop's events; deliveries are "
                "signed per the Standard Webhooks specification and retried.",
            ),
            Tag(name="Health", description="Liveness and readiness."),
        ],
        use_handler_docstrings=True,
    )
