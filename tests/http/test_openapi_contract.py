"""The API against its own OpenAPI schema: schemathesis generates requests for every operation from
the schema, sends them to the app in-process, and checks that each answer is one the schema
documents (status code, content type, body) and never a server error.

Every case is sent twice: as generated (anonymous, or with whatever credentials schemathesis made
up) and again with a staff member's valid bearer token, so the protected and staff-only paths run
too. The shop is the embedded default (SQLite, no Redis, no payment gateway configured) with a small
catalog, an order and its payment, so the ids the schema's examples name hit real rows.

`SHOP_TEST_CONTRACT_EXAMPLES=200` explores deeper (the default keeps the run well under a minute);
the cases are derandomized, so a run is repeatable.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from litestar.serialization import encode_json
from schemathesis import Case
from schemathesis.checks import CheckContext
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import CreateCategory, CreateProduct
from shop_core.services.commands import CreateAdmin, RegisterUser
from shop_core.services.order_commands import AddressInput, OrderItemInput, PlaceOrder
from shop_core.services.sales import CreateSale
from shop_core.settings import Settings
from tests.conftest import build_app, fast_hasher, make_settings

SCHEMA_PATH = "/api/schema/openapi.json"
STAFF_EMAIL = "staff@example.com"
CUSTOMER_EMAIL = "customer@example.com"
PASSWORD = "correct-horse-battery"
MAX_EXAMPLES = int(os.environ.get("SHOP_TEST_CONTRACT_EXAMPLES", "6"))  # per operation and mode
CONFIG = schemathesis.Config.from_dict(
    {
        # Valid and invalid input alike; the coverage phase's exhaustive edge cases would take minutes.
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


def no_server_error(ctx: CheckContext, response: schemathesis.Response, case: Case) -> bool | None:
    """Never a 500. A 502 or 503 only where documented (a payment gateway or dependency that is down
    or not configured here), which status_code_conformance checks."""
    assert response.status_code < 500 or response.status_code in (502, 503), (
        f"{case.operation.label} answered {response.status_code}: {response.text[:500]}"
    )
    return None


CHECKS = [no_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _schema_of_the_app() -> dict[str, Any]:
    """The schema the app serves, built without starting it (nothing connects)."""
    app = build_app(make_settings("sqlite+aiosqlite:///never-opened.db"))
    built: dict[str, Any] = json.loads(encode_json(app.openapi_schema.to_schema()))
    return built


SCHEMA = _schema_of_the_app()
schema = schemathesis.openapi.from_dict(copy.deepcopy(SCHEMA), config=CONFIG)


async def _seed(settings: Settings) -> None:
    """A staff member, a customer, two categories, three products, a cash order and its payment, and
    a sale running on the products."""
    async with bootstrap(settings, hasher=fast_hasher()) as shop:
        staff = await shop.accounts.create_admin(
            CreateAdmin(email=STAFF_EMAIL, password=PASSWORD), Actor.operator()
        )
        customer = await shop.accounts.register(RegisterUser(email=CUSTOMER_EMAIL, password=PASSWORD))
        home = await shop.catalog.create_category(CreateCategory(name="Home"), Actor.operator())
        mugs = await shop.catalog.create_category(
            CreateCategory(name="Mugs", parent=home.id), Actor.operator()
        )
        for n, price in enumerate(("5.00", "12.50", "99.99"), start=1):
            product = CreateProduct(
                name=f"Product {n}", sku=f"SKU-{n}", price=Decimal(price), category=mugs.id, stock_quantity=50
            )
            await shop.catalog.create_product(product, Actor("seed", is_staff=True))
        address = AddressInput(
            full_name="Ada Lovelace", line1="1 Main St", city="London", postal_code="N1 1AA", country="GB"
        )
        order = PlaceOrder(
            items=[OrderItemInput(product_id=1, quantity=2)], shipping_address=address, payment_method="cod"
        )
        placed = await shop.orders.place_order(customer.id, Actor(CUSTOMER_EMAIL, customer.id), order)
        await shop.payments.confirm_cash(
            placed.order.order_number, Actor(STAFF_EMAIL, staff.id, is_staff=True)
        )
        ends = shop.ports.clock.now() + timedelta(days=30)
        sale = CreateSale(name="Mugs month", percentage=Decimal(15), ends_at=ends, category_ids=[mugs.id])
        await shop.sales.create_sale(sale, Actor.operator())


@pytest.fixture(scope="module")
def client(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[asgi.ASGIClient]:
    """One seeded app for the whole module, reached through schemathesis's in-process ASGI client."""
    path = tmp_path_factory.mktemp("contract") / "shop.db"
    shutil.copy(sqlite_template, path)
    # A live order stream (GET /api/orders/{id}/events/) ends after its longest life: here at once.
    settings = make_settings(f"sqlite+aiosqlite:///{path}", sse_max_stream_seconds=0.05)
    asyncio.run(_seed(settings))
    try:
        with asgi.get_client(build_app(settings)) as started:
            yield started
    finally:
        asgi.shutdown_lifespans()  # the client started the app's lifespan on schemathesis's event loop


@pytest.fixture
def identities(client: asgi.ASGIClient) -> list[dict[str, str]]:
    """Anonymous, then staff (a fresh login per operation: testing logout revokes the token it sends)."""
    login = client.post("/api/auth/login/", json={"email": STAFF_EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return [{}, {"Authorization": f"Bearer {login.json()['access']}"}]


def test_the_app_serves_the_schema_under_test(client: asgi.ASGIClient) -> None:
    served = client.get(SCHEMA_PATH)

    assert served.status_code == 200
    assert served.json() == SCHEMA


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(
    case: Case, client: asgi.ASGIClient, identities: list[dict[str, str]]
) -> None:
    for headers in identities:
        sent = case.as_transport_kwargs(base_url=f"http://{asgi.HOST}", headers=headers)
        response = client.request(**sent)
        case.validate_response(response, checks=CHECKS, headers=sent["headers"], transport_kwargs=sent)
