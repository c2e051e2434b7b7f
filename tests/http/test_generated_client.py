"""The real proof the schema is right: a client generated from it by openapi-python-client, used
against a real server.

The client is generated offline from the schema the app serves (`--meta none`: a bare package, no
project files, nothing fetched; no post-hooks, so no formatter is needed), imported, and driven
through register → login → list products → add to cart → checkout → invoice against uvicorn serving
the app on a free port (SQLite, one discounted product, cash on delivery).
"""

from __future__ import annotations

import asyncio
import importlib
import re
import shutil
import socket
import subprocess
import sys
import threading
import types
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from litestar.serialization import encode_json

from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import CreateProduct
from shop_core.settings import Settings
from tests.conftest import build_app, make_settings, shop_factory

PACKAGE = "shop_api_client"
# No post-hooks: the generator would run `ruff` on its output by default.
GENERATOR_CONFIG = "post_hooks: []\n"
PASSWORD = "correct-horse-battery"
LAMP_SKU = "LAMP-120"


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The schema the app serves, built without starting it."""
    app = build_app(make_settings("sqlite+aiosqlite:///never-opened.db"))
    built: dict[str, Any] = app.openapi_schema.to_schema()
    return built


@pytest.fixture(scope="module")
def client_package(
    schema: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[types.ModuleType]:
    """The generated client, imported. The generator must take every operation and response: it
    warns about anything it leaves out (an `application/pdf` response it cannot read, …)."""
    root = tmp_path_factory.mktemp("generated")
    (root / "openapi.json").write_bytes(encode_json(schema))
    (root / "config.yaml").write_text(GENERATOR_CONFIG)
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(root / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
            "--config",
            str(root / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = generated.stdout + generated.stderr
    assert generated.returncode == 0, report
    assert "Warning" not in report, report
    assert "Error" not in report, report
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield path, method, operation


def test_every_operation_is_generated_and_takes_the_client_its_security_needs(
    schema: dict[str, Any], client_package: types.ModuleType
) -> None:
    """Public and optional-auth operations (login, health, the catalog, the cart) take a plain
    `Client`; protected ones an `AuthenticatedClient`. The invoice answers with a file."""
    plain = importlib.import_module(f"{PACKAGE}.client").Client
    authenticated = importlib.import_module(f"{PACKAGE}.client").AuthenticatedClient
    file_type = importlib.import_module(f"{PACKAGE}.types").File
    takes_plain: set[str] = set()
    for path, method, operation in _operations(schema):
        tag = _snake(re.sub(r"[^A-Za-z0-9]+", "_", operation["tags"][0]).strip("_"))
        module = importlib.import_module(f"{PACKAGE}.api.{tag}.{_snake(operation['operationId'])}")
        hints = typing.get_type_hints(module.sync_detailed)
        accepted = set(typing.get_args(hints["client"])) or {hints["client"]}
        security = operation.get("security", schema["security"])
        needs_token = bool(security) and {} not in security  # `[]`: none; `[{}, …]`: optional
        assert authenticated in accepted, (method, path)
        assert (plain in accepted) is not needs_token, (method, path, security)
        if plain in accepted:
            takes_plain.add(operation["operationId"])
    assert {"login", "register", "live", "listProducts", "getProduct", "addToCart", "viewCart"} <= takes_plain
    assert not {"placeOrder", "checkoutCart", "getOrder", "getOrderInvoice"} & takes_plain

    invoice = importlib.import_module(f"{PACKAGE}.api.orders.get_order_invoice")
    [answers] = typing.get_args(typing.get_type_hints(invoice.sync_detailed)["return"])
    assert file_type in typing.get_args(answers)


# --- a real server --------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn, telling when it listens (or gave up starting)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.up.set()


@dataclass
class Served:
    base_url: str
    lamp_id: int


async def _seed(settings: Settings) -> int:
    """One product: 120.46 at 25% off (90.35 to the customer)."""
    async with shop_factory(settings) as shop:
        created = await shop.catalog.create_product(
            CreateProduct(
                name="Lamp",
                sku=LAMP_SKU,
                price=Decimal("120.46"),
                discount_percentage=Decimal(25),
                stock_quantity=10,
            ),
            Actor("seed", is_staff=True),
        )
        return created.id


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app under uvicorn on a free port, in a thread, on its own SQLite file."""
    path = tmp_path_factory.mktemp("served") / "shop.db"
    shutil.copy(sqlite_template, path)
    settings = make_settings(f"sqlite+aiosqlite:///{path}")
    lamp_id = asyncio.run(_seed(settings))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = _Server(uvicorn.Config(build_app(settings), lifespan="on", log_config=None, access_log=False))

    def run() -> None:
        try:
            server.run(sockets=[listener])
        finally:
            server.up.set()  # also when it could not start: the fixture then fails, not hangs

    thread = threading.Thread(target=run, name="uvicorn", daemon=True)
    thread.start()
    try:
        assert server.up.wait(timeout=120), "uvicorn did not start"
        assert server.started, "uvicorn could not start the app"
        yield Served(f"http://127.0.0.1:{port}", lamp_id)
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


def test_a_customer_shops_through_the_generated_client(
    client_package: types.ModuleType, served: Served
) -> None:
    api = f"{PACKAGE}.api"
    models = importlib.import_module(f"{PACKAGE}.models")
    client_module = importlib.import_module(f"{PACKAGE}.client")
    register = importlib.import_module(f"{api}.auth.register")
    login = importlib.import_module(f"{api}.auth.login")
    live = importlib.import_module(f"{api}.health.live")
    list_products = importlib.import_module(f"{api}.catalog.list_products")
    add_to_cart = importlib.import_module(f"{api}.cart.add_to_cart")
    view_cart = importlib.import_module(f"{api}.cart.view_cart")
    checkout_cart = importlib.import_module(f"{api}.cart.checkout_cart")
    get_order = importlib.import_module(f"{api}.orders.get_order")
    get_order_invoice = importlib.import_module(f"{api}.orders.get_order_invoice")
    email = f"gen-{uuid.uuid4().hex[:8]}@example.com"

    with client_module.Client(base_url=served.base_url, raise_on_unexpected_status=True) as guest:
        assert live.sync_detailed(client=guest).status_code == 200
        created = register.sync(client=guest, body=models.RegisterUser(email=email, password=PASSWORD))
        assert isinstance(created, models.UserView), created
        assert created.email == email
        tokens = login.sync(client=guest, body=models.Login(email=email, password=PASSWORD))
        assert isinstance(tokens, models.TokenPair), tokens

        page = list_products.sync(client=guest, search="Lamp")  # a guest browses with a plain Client
        assert isinstance(page, models.PageOfProductView), page
        [lamp] = [p for p in page.results if p.sku == LAMP_SKU]
        assert (lamp.id, lamp.price, lamp.final_price) == (served.lamp_id, "120.46", "90.35")

    with client_module.AuthenticatedClient(
        base_url=served.base_url, token=tokens.access, raise_on_unexpected_status=True
    ) as me:
        cart = add_to_cart.sync(client=me, body=models.AddToCart(product_id=lamp.id, quantity=2))
        assert isinstance(cart, models.CartView), cart
        [line] = cart.items
        assert (line.quantity, line.unit_price, line.list_unit_price, line.line_total) == (
            2,
            "90.35",
            "120.46",
            "180.70",
        )
        assert cart.subtotal == "180.70"

        address = models.AddressInput(
            full_name="Ada Lovelace", line1="1 Main St", city="London", postal_code="N1 1AA", country="GB"
        )
        placed = checkout_cart.sync_detailed(
            client=me,
            body=models.Checkout(shipping_address=address, payment_method="cod"),
            idempotency_key=str(uuid.uuid4()),
        )
        assert placed.status_code == 201, placed.content
        order = placed.parsed
        assert isinstance(order, models.OrderView), order
        assert (order.status, order.payment_method, order.total_price) == ("pending", "cod", "180.70")
        [item] = order.items
        assert (item.product_id, item.quantity, item.unit_price, item.final_unit_price) == (
            lamp.id,
            2,
            "120.46",
            "90.35",
        )
        assert (item.line_total, item.discount_amount) == ("240.92", "60.22")
        assert view_cart.sync(client=me).items == []  # the cart became the order

        again = get_order.sync(order.id, client=me)
        assert isinstance(again, models.OrderView), again
        assert again.order_number == order.order_number

        invoice = get_order_invoice.sync_detailed(order.id, client=me)
        assert invoice.status_code == 200
        assert invoice.headers["content-type"] == "application/pdf"
        pdf = invoice.parsed.payload.read()
        assert pdf.startswith(b"%PDF-")
        assert pdf == invoice.content
