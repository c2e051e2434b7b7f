"""The API docs say what the core says: status lists and the order's moves are written from the
enums and `TRANSITIONS`, and an operation's documented errors come from the one table that also
answers the exceptions (`errors.ERRORS`)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from litestar.serialization import encode_json

from shop_core.domain.errors import DomainError, InvalidInput, NotFound, ServiceUnavailable, TooManyAttempts
from shop_core.domain.orders import TRANSITIONS, OrderStatus, OutOfStock, Shortage, parse_status
from shop_core.domain.payments import PaymentState
from shop_http.api_docs.domain_text import any_of, one_of, order_moves
from shop_http.api_docs.orders import OutOfStockBody
from shop_http.errors import ERRORS, REQUEST_TOO_LARGE, domain_error, http_error_of
from shop_http.openapi import raises, refusal, sample
from tests.conftest import build_app, make_settings

REQUEST: Any = None  # the error handlers do not read the request
SCHEMA: dict[str, Any] = json.loads(
    encode_json(build_app(make_settings("sqlite+aiosqlite:///never-opened.db")).openapi_schema.to_schema())
)


def test_the_order_moves_are_every_transition_and_nothing_else() -> None:
    prose = order_moves()
    said = {}
    for clause in prose.rstrip(".").split("; "):
        if " → " in clause:
            before, after = clause.split(" → ")
            said[OrderStatus(before.strip("`"))] = {
                OrderStatus(name.strip("`")) for name in after.replace(" or ", ", ").split(", ")
            }
    final = {status for status, after in TRANSITIONS.items() if not after}

    assert said == {status: after for status, after in TRANSITIONS.items() if after}
    assert prose.endswith(f"{' and '.join(f'`{s.value}`' for s in OrderStatus if s in final)} are final.")


def test_the_operations_describe_the_order_moves_and_status_lists_of_the_core() -> None:
    order = SCHEMA["paths"]["/api/orders/{order_id}"]["put"]
    payments = SCHEMA["paths"]["/api/payments"]["get"]
    orders = SCHEMA["paths"]["/api/orders"]["get"]

    assert order_moves() in order["description"]
    assert one_of(PaymentState) in payments["description"]
    assert one_of(OrderStatus) in orders["description"]
    assert [s.value for s in PaymentState] == one_of(PaymentState).split(", ")


def test_any_of_quotes_the_values_in_order() -> None:
    assert any_of([OrderStatus.PAID]) == "`paid`"
    assert any_of([OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.REFUNDED]) == (
        "`paid`, `shipped` or `refunded`"
    )


@pytest.mark.parametrize("exception", list(ERRORS), ids=lambda cls: cls.__name__)
def test_an_exception_is_documented_with_the_status_it_is_answered_with(exception: type[DomainError]) -> None:
    raised = TooManyAttempts("Too many.", 5) if exception is TooManyAttempts else exception("Refused.")

    answered = domain_error(REQUEST, raised)

    assert http_error_of(exception).status == answered.status_code
    assert answered.status_code in raises(exception)


def test_a_subclass_is_answered_and_documented_as_its_nearest_entry_in_the_table() -> None:
    class NoSuchVoucher(NotFound):
        code = "no_such_voucher"

    assert http_error_of(NoSuchVoucher) is ERRORS[NotFound]
    assert domain_error(REQUEST, NoSuchVoucher("No such voucher.")).status_code == 404
    assert list(raises(NoSuchVoucher)) == [404]
    assert list(raises(REQUEST_TOO_LARGE)) == [413]


@pytest.mark.parametrize(
    "exc",
    [
        ServiceUnavailable("Carts unavailable right now; try again shortly."),
        refusal(parse_status, "lost", kind=InvalidInput),
        OutOfStock([Shortage(product_id=1, requested=5, available=3)]),
    ],
    ids=["plain", "fields", "extra"],
)
def test_an_example_is_the_body_the_api_answers_the_exception_with(exc: DomainError) -> None:
    answered = domain_error(REQUEST, exc).content

    assert msgspec.to_builtins(sample(exc, OutOfStockBody)) == answered
