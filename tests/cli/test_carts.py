"""`shop carts show|purge-expired`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shop_core.bootstrap import bootstrap
from shop_core.domain.cart import customer_owner
from shop_core.services.cart import AddToCart
from shop_core.services.commands import RegisterUser
from tests.cli.conftest import UNREACHABLE_DATABASE, Cli, error_line, ok, table_rows
from tests.conftest import fast_hasher, make_settings
from tests.fakes import FakeClock
from tests.variants_support import add_variants

PASSWORD = "s3cret-pass"


@pytest.fixture
def cli(cli: Cli, tmp_path: Path) -> Cli:
    """The CLI's shop with LAMP-1 (10.00, 10 in stock) and MUG-1 (2.50, 3 in stock)."""
    csv = "sku,name,price,stock_quantity\nLAMP-1,Lamp,10,10\nMUG-1,Mug,2.5,3\n"
    (tmp_path / "products.csv").write_text(csv)
    ok(cli("catalog", "import", "products.csv"))
    return cli


def product_ids(cli: Cli) -> dict[str, int]:
    return {row["sku"]: int(row["id"]) for row in table_rows(ok(cli("products", "list")))}


def fill_cart(cli: Cli, email: str, lines: dict[str, int], *, at: datetime | None = None) -> int:
    """Register `email` (a customer) and add each sku's quantity to its cart, at `at` (now by default).

    Returns the customer's user id.
    """
    ids = product_ids(cli)
    clock = FakeClock(at) if at is not None else FakeClock()

    async def fill() -> int:
        settings = make_settings(cli.database_url)
        async with bootstrap(settings, hasher=fast_hasher(), clock=clock) as shop:
            user_id = (await shop.accounts.register(RegisterUser(email=email, password=PASSWORD))).id
            for sku, quantity in lines.items():
                await shop.cart.add_to_cart(
                    customer_owner(user_id), AddToCart(product_id=ids[sku], quantity=quantity)
                )
        return user_id

    return asyncio.run(fill())


def cart_owners(cli: Cli) -> set[str]:
    """The owners of the carts stored in the database, expired or not."""
    path = cli.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as conn:
        return {owner for (owner,) in conn.execute("SELECT owner FROM carts")}


def lines_of(output: str) -> dict[str, dict[str, str]]:
    return {row["sku"]: row for row in table_rows(output)}


def variant_ids(cli: Cli) -> dict[str, int]:
    """Every variant's id by its sku (a product without options: its default variant, its sku)."""
    path = cli.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT sku, id FROM product_variants"))


def test_show_lists_the_lines_priced_from_the_catalog(cli: Cli) -> None:
    fill_cart(cli, "ann@example.com", {"LAMP-1": 2, "MUG-1": 3})
    ids, variants = product_ids(cli), variant_ids(cli)

    out = ok(cli("carts", "show", "Ann@Example.com"))

    assert "Cart of ann@example.com" in out
    assert lines_of(out) == {
        "LAMP-1": {
            "product id": str(ids["LAMP-1"]),
            "variant id": str(variants["LAMP-1"]),
            "sku": "LAMP-1",
            "name": "Lamp",
            "variant": "",
            "unit price": "10.00",
            "quantity": "2",
            "line total": "20.00",
            "in stock": "yes",
        },
        "MUG-1": {
            "product id": str(ids["MUG-1"]),
            "variant id": str(variants["MUG-1"]),
            "sku": "MUG-1",
            "name": "Mug",
            "variant": "",
            "unit price": "2.50",
            "quantity": "3",
            "line total": "7.50",
            "in stock": "yes",
        },
    }
    assert "Subtotal: 27.50 USD (5 items;" in out


def test_show_uses_the_current_price_not_the_one_at_adding_time(cli: Cli, tmp_path: Path) -> None:
    fill_cart(cli, "ann@example.com", {"LAMP-1": 2})
    assert lines_of(ok(cli("carts", "show", "ann@example.com")))["LAMP-1"]["unit price"] == "10.00"

    (tmp_path / "repriced.csv").write_text("sku,name,price,stock_quantity\nLAMP-1,Lamp,12.25,10\n")
    ok(cli("catalog", "import", "repriced.csv"))
    out = ok(cli("carts", "show", "ann@example.com"))

    line = lines_of(out)["LAMP-1"]
    assert (line["unit price"], line["quantity"], line["line total"]) == ("12.25", "2", "24.50")
    assert "Subtotal: 24.50 USD (2 items;" in out


def test_a_line_beyond_the_stock_shows_out_of_stock_and_leaves_the_subtotal(cli: Cli) -> None:
    fill_cart(cli, "ann@example.com", {"LAMP-1": 2, "MUG-1": 3})
    ok(cli("stock", "set", "MUG-1", "1", "--reason", "damage"))

    out = ok(cli("carts", "show", "ann@example.com"))

    assert lines_of(out)["MUG-1"]["in stock"] == "no"
    assert lines_of(out)["LAMP-1"]["in stock"] == "yes"
    assert "Subtotal: 20.00 USD (2 items;" in out


def test_show_as_json(cli: Cli) -> None:
    fill_cart(cli, "ann@example.com", {"LAMP-1": 2, "MUG-1": 1})

    cart = json.loads(ok(cli("carts", "show", "ann@example.com", "--json")))

    assert sorted((line["sku"], line["quantity"], line["line_total"]) for line in cart["items"]) == [
        ("LAMP-1", 2, "20.00"),
        ("MUG-1", 1, "2.50"),
    ]
    assert cart["subtotal"] == "22.50"


def test_show_names_each_variant_of_a_product(cli: Cli) -> None:
    lamp = product_ids(cli)["LAMP-1"]

    async def fill() -> None:
        async with bootstrap(make_settings(cli.database_url), hasher=fast_hasher()) as shop:
            sizes = await add_variants(shop, lamp, "Shade", {"Linen": 4, "Paper": 4}, prices={"Paper": 850})
            user_id = (
                await shop.accounts.register(RegisterUser(email="ann@example.com", password=PASSWORD))
            ).id
            for shade, quantity in (("Linen", 1), ("Paper", 2)):
                await shop.cart.add_to_cart(
                    customer_owner(user_id),
                    AddToCart(product_id=lamp, variant_id=sizes[shade], quantity=quantity),
                )

    asyncio.run(fill())
    variants = variant_ids(cli)

    out = ok(cli("carts", "show", "ann@example.com"))

    shown = {
        sku: (row["variant id"], row["name"], row["variant"], row["unit price"], row["quantity"])
        for sku, row in lines_of(out).items()
    }
    assert shown == {
        "LAMP-1-Linen": (str(variants["LAMP-1-Linen"]), "Lamp", "Linen", "10.00", "1"),
        "LAMP-1-Paper": (str(variants["LAMP-1-Paper"]), "Lamp", "Paper", "8.50", "2"),
    }
    assert "Subtotal: 27.00 USD (3 items;" in out


def test_show_says_when_the_cart_is_empty(cli: Cli) -> None:
    fill_cart(cli, "ann@example.com", {})

    out = ok(cli("carts", "show", "ann@example.com"))

    assert out.strip() == "The cart of ann@example.com is empty."


def test_show_does_not_mix_up_customers(cli: Cli) -> None:
    fill_cart(cli, "ann@example.com", {"LAMP-1": 1})
    fill_cart(cli, "bob@example.com", {"MUG-1": 2})

    assert set(lines_of(ok(cli("carts", "show", "bob@example.com")))) == {"MUG-1"}
    assert set(lines_of(ok(cli("carts", "show", "ann@example.com")))) == {"LAMP-1"}


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.com", "error: No user with the email 'nobody@example.com'."),
        ("not-an-email", "error: email: Enter a valid email address."),
    ],
)
def test_show_for_an_unknown_email_is_one_error(cli: Cli, email: str, message: str) -> None:
    fill_cart(cli, "ann@example.com", {"LAMP-1": 1})

    result = cli("carts", "show", email)

    assert error_line(result) == message
    assert result.stdout == ""


def test_purge_expired_removes_carts_older_than_the_ttl_and_keeps_fresh_ones(cli: Cli) -> None:
    now = datetime.now(UTC)
    stale = now - timedelta(days=8)
    ann = fill_cart(cli, "ann@example.com", {"LAMP-1": 1}, at=stale)
    bob = fill_cart(cli, "bob@example.com", {"MUG-1": 1}, at=stale)
    carol = fill_cart(cli, "carol@example.com", {"LAMP-1": 1, "MUG-1": 2}, at=now - timedelta(days=6))
    everyone = {customer_owner(ann), customer_owner(bob), customer_owner(carol)}
    assert cart_owners(cli) == everyone
    week = {"SHOP_CART_TTL_DAYS": "7"}

    # The default TTL (30 days) leaves all three alone.
    assert ok(cli("carts", "purge-expired")).strip() == "Removed 0 expired carts."
    assert cart_owners(cli) == everyone

    assert ok(cli("carts", "purge-expired", env=week)).strip() == "Removed 2 expired carts."
    assert cart_owners(cli) == {customer_owner(carol)}
    assert set(lines_of(ok(cli("carts", "show", "carol@example.com", env=week)))) == {"LAMP-1", "MUG-1"}
    ann_cart = ok(cli("carts", "show", "ann@example.com", env=week))
    assert ann_cart.strip() == "The cart of ann@example.com is empty."

    assert ok(cli("carts", "purge-expired", env=week)).strip() == "Removed 0 expired carts."
    assert cart_owners(cli) == {customer_owner(carol)}


def test_purge_expired_says_one_cart_in_the_singular(cli: Cli) -> None:
    ann = fill_cart(cli, "ann@example.com", {"LAMP-1": 1}, at=datetime.now(UTC) - timedelta(days=3))

    assert ok(cli("carts", "purge-expired", env={"SHOP_CART_TTL_DAYS": "2"})).strip() == (
        "Removed 1 expired cart."
    )
    assert customer_owner(ann) not in cart_owners(cli)


def test_purge_expired_on_an_unmigrated_database_is_one_error(empty_cli: Cli) -> None:
    line = error_line(empty_cli("carts", "purge-expired"))

    assert line.startswith("error: the database is not migrated: run `shop db upgrade`")


def test_purge_expired_with_redis_says_redis_expires_carts_itself(cli: Cli) -> None:
    fill_cart(cli, "ann@example.com", {"LAMP-1": 1}, at=datetime.now(UTC) - timedelta(days=3))
    env = {"SHOP_CART_TTL_DAYS": "2", "SHOP_REDIS_URL": "redis://127.0.0.1:6379/0"}

    out = ok(cli("carts", "purge-expired", env=env))

    assert out.strip() == "Removed 0 expired carts (carts live in Redis, which expires them by itself)."
    assert len(cart_owners(cli)) == 1  # the database's carts are not the ones in use: left alone


CART_COMMANDS = [["carts", "show", "ann@example.com"], ["carts", "purge-expired"]]


@pytest.mark.parametrize("command", CART_COMMANDS, ids=["show", "purge-expired"])
def test_an_unreachable_database_is_one_error_line(cli: Cli, command: list[str]) -> None:
    line = error_line(cli(*command, env={"SHOP_DATABASE_URL": UNREACHABLE_DATABASE}))

    assert "Connect" in line


@pytest.mark.parametrize("command", CART_COMMANDS, ids=["show", "purge-expired"])
def test_an_invalid_ttl_setting_is_named(cli: Cli, command: list[str]) -> None:
    line = error_line(cli(*command, env={"SHOP_CART_TTL_DAYS": "zero"}))

    assert line.startswith("error: SHOP_CART_TTL_DAYS:")
