"""`shop wishlist list --user EMAIL` and `shop wishlist popular [--limit N]`."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import CreateProduct, UpdateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.wishlist import AddToWishlist
from tests.cli.conftest import Cli, error_line, ok, table_rows
from tests.conftest import fast_hasher, make_settings

PASSWORD = "s3cret-pass"
STAFF = Actor.operator()


def fill(cli: Cli) -> dict[str, int]:
    """Three products; ada wishes for all three (the lamp then made inactive), bob for the mug."""

    async def run() -> dict[str, int]:
        async with bootstrap(make_settings(cli.database_url), hasher=fast_hasher()) as shop:
            ids: dict[str, int] = {}
            for name, stock in (("Lamp [b]bold[/b]", 3), ("Mug", 0), ("Pan", 1)):
                made = await shop.catalog.create_product(
                    CreateProduct(name=name, sku=name[:3].upper(), price=Decimal(5), stock_quantity=stock),
                    STAFF,
                )
                ids[name.split()[0]] = made.id
            for email, products in (
                ("ada@example.com", ["Lamp", "Mug", "Pan"]),
                ("bob@example.com", ["Mug"]),
            ):
                user = await shop.accounts.register(RegisterUser(email=email, password=PASSWORD))
                actor = Actor.user(user.id, user.email, is_staff=False)
                for name in products:
                    await shop.wishlist.add_item(
                        actor, AddToWishlist(product_id=ids[name], notify=name == "Mug")
                    )
            await shop.catalog.update_product(ids["Lamp"], UpdateProduct(is_active=False), STAFF)
            return ids

    return asyncio.run(run())


def test_list_shows_a_customers_wishlist_with_live_stock(cli: Cli) -> None:
    ids = fill(cli)
    out = ok(cli("wishlist", "list", "--user", "ADA@example.com"))
    assert "[b]bold[/b]" in out  # a product's name is shown as written, never as markup
    rows = table_rows(out)
    assert [(r["product"], r["stock"], r["available"], r["email when back"]) for r in rows] == [
        (f"Lamp [b]bold[/b] (#{ids['Lamp']})", "3", "no", ""),
        (f"Mug (#{ids['Mug']})", "0", "yes", "yes"),
        (f"Pan (#{ids['Pan']})", "1", "yes", ""),
    ]
    listed = json.loads(ok(cli("wishlist", "list", "--user", "bob@example.com", "--json")))
    assert [(e["product_id"], e["notify"], e["final_price"]) for e in listed] == [(ids["Mug"], True, "5.00")]


def test_list_of_someone_without_one_or_unknown(cli: Cli) -> None:
    fill(cli)
    ok(cli("users", "create-admin", "--email", "boss@example.com", "--password", PASSWORD))
    assert "Nothing on the wishlist of boss@example.com." in ok(
        cli("wishlist", "list", "--user", "boss@example.com")
    )
    assert error_line(cli("wishlist", "list", "--user", "nobody@example.com")) == (
        "error: No user with the email 'nobody@example.com'."
    )
    assert error_line(cli("wishlist", "list", "--user", "not an email")).startswith("error: ")
    assert cli("wishlist", "list").exit_code == 2  # --user is required


def test_popular_ranks_the_most_wishlisted_products(cli: Cli) -> None:
    ids = fill(cli)
    rows = table_rows(ok(cli("wishlist", "popular")))
    assert [(r["product"], r["wishlists"]) for r in rows] == [
        (str(ids["Mug"]), "2"),
        (str(ids["Lamp"]), "1"),
        (str(ids["Pan"]), "1"),
    ]
    top = json.loads(ok(cli("wishlist", "popular", "--limit", "1", "--json")))
    assert top == [{"product_id": ids["Mug"], "name": "Mug", "entries": 2}]


def test_popular_with_nothing_wishlisted(cli: Cli) -> None:
    assert "No product is on any wishlist." in ok(cli("wishlist", "popular"))


@pytest.mark.parametrize("limit", ["0", "-1", "101", "abc", "99999999999999999999"])
def test_popular_refuses_a_limit_out_of_range(cli: Cli, limit: str) -> None:
    result = cli("wishlist", "popular", "--limit", limit)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "--limit" in result.output
