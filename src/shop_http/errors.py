"""Every error the API answers with is `{"detail", "code", "errors"?}` (see `openapi.ErrorBody`) with
one status code.

Domain errors map by class, once, here: `ERRORS` is the one table of exception class, status and
what the status means, which both the error handlers and the OpenAPI schema (an operation documents
the exceptions it can raise, `openapi.raises`) read. Nothing else in the API builds an error body.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from shop_core.domain.cart import StockShortage
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
    TooManyAttempts,
)
from shop_core.domain.orders import OutOfStock, Shortage
from shop_core.domain.vouchers import VoucherInvalid

log = logging.getLogger("shop.http")


@dataclass(frozen=True)
class HttpError:
    """How the API answers an exception: its status, and what that status means in the API docs."""

    status: int
    meaning: str


# The one table: each domain error's status and meaning (a subclass answers as its nearest entry).
ERRORS: dict[type[DomainError], HttpError] = {
    InvalidInput: HttpError(400, "Malformed or invalid input; `errors` maps each field to its problems."),
    AuthenticationFailed: HttpError(401, "Missing, invalid, expired or revoked credentials."),
    PermissionDenied: HttpError(403, "Authenticated, but not allowed (staff only)."),
    NotFound: HttpError(404, "Not found, or not yours."),
    Conflict: HttpError(409, "Conflicts with what is stored (duplicate email, …)."),
    TooManyAttempts: HttpError(429, "Too many requests; retry after `Retry-After` seconds."),
    ServiceUnavailable: HttpError(503, "A dependency is down; retry after `Retry-After` seconds."),
    GatewayUnavailable: HttpError(
        502, "The payment gateway failed or could not be reached; nothing was charged twice, retry later."
    ),
    PaymentDeclined: HttpError(
        402, "The payment gateway declined the customer's payment details; they may try again."
    ),
}
# What the HTTP layer itself answers, before any use case runs: a body over the limit, and the rate
# limiter (which answers as `TooManyAttempts` does).
REQUEST_TOO_LARGE = HttpError(413, "The request body is too large.")
RATE_LIMITED = ERRORS[TooManyAttempts]
STATUS_OF: dict[type[DomainError], int] = {cls: error.status for cls, error in ERRORS.items()}
MEANING_OF_STATUS: dict[int, str] = {
    error.status: error.meaning for error in (*ERRORS.values(), REQUEST_TOO_LARGE)
}


def http_error_of(exc: type[DomainError]) -> HttpError:
    """The table's entry for an exception class (its own, or its nearest base class's)."""
    return next(
        (ERRORS[cls] for cls in exc.__mro__ if cls in ERRORS),
        ERRORS[InvalidInput],  # a bare DomainError: as `domain_error` answers it
    )


CODE_OF_STATUS = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    501: "not_implemented",
    503: "service_unavailable",
}


def error_response(
    status: int,
    detail: str,
    code: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    *,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    """The error body; `extra` adds fields a client acts on (e.g. `available` for a stock shortage)."""
    body: dict[str, Any] = {"detail": detail, "code": code or CODE_OF_STATUS.get(status, "error")}
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return Response(body, status_code=status, headers=headers, media_type=MediaType.JSON)


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status = http_error_of(type(exc)).status
    headers: dict[str, str] = {}
    if isinstance(exc, TooManyAttempts | ServiceUnavailable):
        headers["Retry-After"] = str(max(exc.retry_after, 1))
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(status, exc.detail, exc.code, headers=headers, **body_of(exc))


def body_of(exc: DomainError) -> dict[str, Any]:
    """What an error body says beyond `detail` and `code`: the fields at fault, or what a client acts
    on (e.g. `available` for a stock shortage). The API docs' examples are built with it too."""
    errors = exc.errors if isinstance(exc, InvalidInput) else None
    extra: dict[str, Any] | None = None
    if isinstance(exc, StockShortage):
        extra = {"available": exc.available}
    elif isinstance(exc, OutOfStock):
        extra = {"shortages": [_shortage(short) for short in exc.shortages]}
    elif isinstance(exc, VoucherInvalid):
        extra = {"reason": exc.reason.value}
    return {"errors": errors, "extra": extra}


def _shortage(short: Shortage) -> dict[str, Any]:
    """A short line: the product, what was asked and what is available; the variant too when the
    line is one of a product's option variants (a product's default variant is the product)."""
    found: dict[str, Any] = {
        "product_id": short.product_id,
        "requested": short.requested,
        "available": short.available,
    }
    if short.variant_id is not None:
        found |= {"variant_id": short.variant_id, "variant_name": short.variant_name}
    return found


def validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors: dict[str, list[str]] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key, message = _field_and_message(item)
            errors.setdefault(key, []).append(message)
    detail = "The request is not valid." if errors else _sentence(exc.detail or "The request is not valid.")
    return error_response(400, detail, "invalid", errors or None)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status == 405 and _names_no_resource(request):
        return error_response(404, "Not Found.", "not_found")
    headers = dict(exc.headers or {})
    if status == 429 and "Retry-After" not in headers:
        headers["Retry-After"] = headers.get("RateLimit-Reset", "60")
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    detail = exc.detail
    if status == 401 and detail in (
        "",
        "Unauthorized",
        "Invalid token",
        "No JWT token found in request header",
    ):
        detail = "Authentication credentials were missing, invalid, expired or revoked."
    return error_response(status, _sentence(detail), None, None, headers)


_PATH_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")


@cache
def _id_paths(route_paths: tuple[str, ...]) -> tuple[tuple[re.Pattern[str], tuple[int, ...]], ...]:
    """Each route path with an integer parameter, as a pattern of its segments, and which of the
    pattern's groups are integers."""
    found = []
    for path in route_paths:
        kinds = [kind for _, kind in _PATH_PARAMETER.findall(path)]
        if "int" not in kinds:
            continue
        pattern = "".join(
            re.escape(part) if n % 3 == 0 else "([^/]+)" if n % 3 == 1 else ""
            for n, part in enumerate(_PATH_PARAMETER.split(path))
        )
        integers = tuple(group for group, kind in enumerate(kinds, start=1) if kind == "int")
        found.append((re.compile(pattern), integers))
    return tuple(found)


def _names_no_resource(request: Request[Any, Any, Any]) -> bool:
    """Whether a path the router answered 405 fills an id segment with something that is no id.

    The router matches `/api/orders/create` to `/api/orders/{order_id:int}` before it parses the
    id, and finds no POST there; that is a path naming nothing (404), not a method the order refuses.
    """
    path = str(request.scope.get("path", "")).rstrip("/") or "/"
    routes = tuple(route.path for route in request.app.routes)
    if path in routes:  # a path of its own (`/api/orders/create`), whose methods are what they are
        return False
    for pattern, integers in _id_paths(routes):
        if found := pattern.fullmatch(path):
            for group in integers:
                try:
                    int(found[group])  # as the router parses an `int` path parameter
                except ValueError:
                    return True
    return False


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    shop = getattr(request.app.state, "shop", None)
    outage = shop.operations.database_outage(exc) if shop is not None else None
    if outage is not None:  # the database is down or restarting: 503, retry; not a bug to trace
        log.error(
            "%s %s: %s (%s: %s)", request.method, request.url.path, outage.detail, type(exc).__name__, exc
        )
        return domain_error(request, outage)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong on our side.", "server_error")


_AT_PATH = re.compile(r"^(?P<msg>.*?) - at `\$\.?(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]*)`(?: - at `\$\.?(?P<path>[^`]*)`)?$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]*)`(?: - at `\$\.?(?P<path>[^`]*)`)?$")


def _field_and_message(item: dict[str, Any]) -> tuple[str, str]:
    """Name the body field msgspec complains about (`$.email` → `email`) instead of `data`."""
    key = str(item.get("key") or "body")
    message = str(item.get("message", "Invalid value."))
    if key != "data":  # Litestar already names the parameter or body field (`page`, `email`)
        return key, _sentence(message)
    if message == "'data'":  # no body at all: Litestar reports the KeyError of the missing `data`
        return "body", "A JSON object is required."
    for pattern, text in ((_UNKNOWN, "Unknown field."), (_MISSING, "This field is required.")):
        if found := pattern.match(message):
            prefix = f"{found['path']}." if found["path"] else ""
            return prefix + found["field"], text
    if found := _AT_PATH.match(message):
        return found["path"] or "body", _sentence(found["msg"])
    return "body", _sentence(message)


def _sentence(text: str) -> str:
    text = text.strip() or "Invalid request."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: server_error,
}
