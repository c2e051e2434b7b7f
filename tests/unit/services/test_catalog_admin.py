"""Staff use cases that change the catalog, on the fakes: products, categories, and their 400/404/409s."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.services.catalog_commands import (
    ChangeStock,
    CreateCategory,
    CreateProduct,
    UpdateCategory,
    UpdateProduct,
)
from shop_core.services.catalog_views import CategoryView, StaffProductView
from shop_core.settings import Environment, Settings
from tests.fakes import FakeClock, FakeDatabase, fake_shop


@dataclass
class World:
    shop: Shop
    db: FakeDatabase
    clock: FakeClock

    async def product(self, name: str = "Desk Lamp", **fields: Any) -> StaffProductView:
        values = {"name": name, "sku": fields.pop("sku", name.upper().replace(" ", "-")), "price": "19.99"}
        return await self.shop.catalog.create_product(
            msgspec.convert(values | fields, CreateProduct, strict=False),
            Actor("staff@example.com", is_staff=True),
        )

    async def patch(self, product_id: int, **fields: Any) -> StaffProductView:
        return await self.shop.catalog.update_product(
            product_id,
            msgspec.convert(fields, UpdateProduct, strict=False),
            Actor("staff@example.com", is_staff=True),
        )

    async def category(self, name: str, **fields: Any) -> CategoryView:
        return await self.shop.catalog.create_category(
            msgspec.convert({"name": name} | fields, CreateCategory, strict=False), Actor.operator()
        )

    async def patch_category(self, category_id: int, **fields: Any) -> CategoryView:
        return await self.shop.catalog.update_category(
            category_id, msgspec.convert(fields, UpdateCategory), Actor.operator()
        )

    def movements(self, product_id: int) -> list[tuple[int, str, int, str]]:
        return [
            (m.delta, m.reason, m.balance_after, m.actor)
            for m in sorted(self.db.movements.values(), key=lambda m: m.id or 0)
            if m.product_id == product_id
        ]


@pytest.fixture
def world() -> World:
    return World(*fake_shop())


def field_of(caught: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return list(caught.value.errors)


# --- creating products ---------------------------------------------------------------------


async def test_create_a_product(world: World) -> None:
    home = await world.category("Home")
    created = await world.product(
        "Desk Lamp",
        sku="L-1",
        price="19.99",
        cost_price="8.5",
        discount_percentage="10",
        category=home.id,
        description="  Warm light  ",
        image_url="https://img.example/lamp.png",
    )
    assert created.id == 1
    assert (created.name, created.slug, created.sku) == ("Desk Lamp", "desk-lamp", "L-1")
    assert (created.price, created.cost_price) == ("19.99", "8.50")
    assert (created.discount_percentage, created.final_price) == (Decimal("10.00"), "17.99")
    assert (created.category, created.category_name) == (home.id, "Home")
    assert created.description == "Warm light"
    assert created.stock_quantity == 0
    assert created.is_active is True
    assert created.created_at == created.updated_at == world.clock.now()
    assert world.movements(1) == []  # no stock, nothing moved


async def test_creating_with_stock_records_the_initial_movement(world: World) -> None:
    created = await world.product(stock_quantity=12)
    assert world.movements(created.id) == [(12, "initial", 12, "staff@example.com")]
    assert world.db.products[created.id].stock_quantity == 12


async def test_slugs_come_from_the_name_and_never_clash(world: World) -> None:
    first = await world.product("Desk Lamp", sku="A")
    second = await world.product("Desk Lamp", sku="B")
    third = await world.product("Desk  lamp!", sku="C")
    odd = await world.product("日本", sku="D")
    assert [first.slug, second.slug, third.slug, odd.slug] == [
        "desk-lamp",
        "desk-lamp-2",
        "desk-lamp-3",
        "product",
    ]


async def test_a_duplicate_sku_is_a_conflict(world: World) -> None:
    await world.product(sku="L-1")
    with pytest.raises(Conflict, match="sku 'L-1'"):
        await world.product("Another", sku="L-1")
    assert len(world.db.products) == 1


async def test_a_duplicate_slug_is_a_conflict(world: World) -> None:
    await world.product("Desk Lamp", sku="A")
    with pytest.raises(Conflict, match="slug 'desk-lamp'"):
        await world.product("Other", sku="B", slug="desk-lamp")
    assert len(world.db.products) == 1


async def test_an_unknown_category_is_invalid(world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        await world.product(category=42)
    assert field_of(caught) == ["category"]
    assert world.db.products == {}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": "19.999"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "1e13"}, "price"),
        ({"cost_price": "-0.01"}, "cost_price"),
        ({"cost_price": "1.001"}, "cost_price"),
        ({"discount_percentage": "100.5"}, "discount_percentage"),
        ({"discount_percentage": "-1"}, "discount_percentage"),
        ({"discount_percentage": "12.345"}, "discount_percentage"),
    ],
)
async def test_bad_amounts_are_invalid(world: World, fields: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await world.product(**fields)
    assert field_of(caught) == [field]
    assert world.db.products == {}


async def test_prices_follow_the_store_currency() -> None:
    shop, db, _ = fake_shop(Settings(env=Environment.TEST, currency="JPY"))
    world = World(shop, db, FakeClock())
    created = await world.product(price="1500", discount_percentage="15")
    assert (created.price, created.final_price) == ("1500", "1275")
    with pytest.raises(InvalidInput) as caught:
        await world.product("Other", price="15.5")
    assert "at most 0 decimal places for JPY" in caught.value.detail


# --- updating products ---------------------------------------------------------------------


async def test_patch_changes_only_what_is_sent(world: World) -> None:
    created = await world.product(description="Warm", cost_price="5")
    world.clock.advance(60)
    patched = await world.patch(created.id, price="24.50", name="Big Lamp")
    assert (patched.name, patched.price, patched.description) == ("Big Lamp", "24.50", "Warm")
    assert patched.cost_price == "5.00"
    assert patched.slug == "desk-lamp"  # a rename keeps the slug links use
    assert patched.created_at == created.created_at
    assert patched.updated_at == world.clock.now() != created.updated_at
    assert world.db.products[created.id].price == 2450


async def test_patch_can_clear_the_category_and_cost(world: World) -> None:
    home = await world.category("Home")
    created = await world.product(category=home.id, cost_price="5")
    patched = await world.patch(created.id, category=None, cost_price=None)
    assert (patched.category, patched.category_name, patched.cost_price) == (None, None, None)


async def test_patching_the_stock_records_an_adjustment(world: World) -> None:
    created = await world.product(stock_quantity=10)
    await world.patch(created.id, stock_quantity=4)
    await world.patch(created.id, stock_quantity=4)  # no change, no movement
    await world.patch(created.id, stock_quantity=9)
    assert world.movements(created.id) == [
        (10, "initial", 10, "staff@example.com"),
        (-6, "adjustment", 4, "staff@example.com"),
        (5, "adjustment", 9, "staff@example.com"),
    ]
    async with world.shop.ports.uow() as tx:
        assert await tx.stock.total(created.id) == 9


async def test_put_replaces_every_field(world: World) -> None:
    home = await world.category("Home")
    created = await world.product(description="Warm", category=home.id, discount_percentage="5")
    replaced = await world.shop.catalog.update_product(
        created.id, CreateProduct(name="Lamp", sku="L-2", price=Decimal(3)), Actor("staff", is_staff=True)
    )
    assert (replaced.sku, replaced.price, replaced.description) == ("L-2", "3.00", "")
    assert (replaced.category, replaced.discount_percentage) == (None, Decimal("0.00"))
    assert replaced.slug == "desk-lamp"


async def test_changing_to_a_taken_sku_or_slug_is_a_conflict(world: World) -> None:
    first = await world.product("Desk Lamp", sku="A")
    second = await world.product("Mug", sku="B")
    with pytest.raises(Conflict):
        await world.patch(second.id, sku="A")
    with pytest.raises(Conflict):
        await world.patch(second.id, slug=first.slug)
    same = await world.patch(second.id, sku="B", slug="mug")  # its own values are fine
    assert (same.sku, same.slug) == ("B", "mug")
    assert world.db.products[second.id].sku == "B"


async def test_updating_an_unknown_product_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.patch(99, price="1")


async def test_an_invalid_patch_changes_nothing(world: World) -> None:
    created = await world.product(stock_quantity=3)
    with pytest.raises(InvalidInput):
        await world.patch(created.id, name="New name", discount_percentage="101")
    stored = world.db.products[created.id]
    assert (stored.name, stored.discount_percentage) == ("Desk Lamp", Decimal(0))


# --- deleting products ---------------------------------------------------------------------


async def test_delete_a_product_and_its_movements(world: World) -> None:
    created = await world.product(stock_quantity=3)
    kept = await world.product("Mug", stock_quantity=1)
    await world.shop.catalog.delete_product(created.id, Actor.operator())
    assert list(world.db.products) == [kept.id]
    assert {m.product_id for m in world.db.movements.values()} == {kept.id}
    with pytest.raises(NotFound):
        await world.shop.catalog.delete_product(created.id, Actor.operator())
    with pytest.raises(NotFound):
        await world.shop.catalog.get_product(created.id, staff=True)


# --- categories ----------------------------------------------------------------------------


async def test_create_categories_in_a_tree(world: World) -> None:
    home = await world.category("Home & Garden", description=" Things ")
    lamps = await world.category("Lamps", parent=home.id, slug="lights")
    assert (home.slug, home.parent, home.description) == ("home-garden", None, "Things")
    assert (lamps.slug, lamps.parent) == ("lights", home.id)
    assert sorted(world.db.categories) == [home.id, lamps.id]


async def test_a_duplicate_category_slug_is_a_conflict(world: World) -> None:
    await world.category("Home")
    with pytest.raises(Conflict, match="slug 'home'"):
        await world.category("Other", slug="home")
    assert len(world.db.categories) == 1


async def test_generated_category_slugs_never_clash(world: World) -> None:
    """Names that slugify alike get distinct slugs, even when the first candidate is taken too."""
    await world.category("Home")
    await world.category("Home 4")
    await world.category("Garden")
    again = await world.category("Home")
    and_again = await world.category("Home")
    slugs = [c.slug for c in world.db.categories.values()]
    assert len(set(slugs)) == len(slugs) == 5
    assert again.slug.startswith("home-")
    assert and_again.slug.startswith("home-")


async def test_an_unknown_parent_is_invalid(world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        await world.category("Lamps", parent=7)
    assert field_of(caught) == ["parent"]


async def test_a_category_cannot_move_under_itself_or_a_descendant(world: World) -> None:
    a = await world.category("A")
    b = await world.category("B", parent=a.id)
    c = await world.category("C", parent=b.id)
    for parent in (a.id, b.id, c.id):
        with pytest.raises(InvalidInput) as caught:
            await world.patch_category(a.id, parent=parent)
        assert field_of(caught) == ["parent"]
    assert world.db.categories[a.id].parent_id is None
    moved = await world.patch_category(c.id, parent=None)
    assert moved.parent is None
    under = await world.patch_category(a.id, parent=c.id)  # c is no longer below a
    assert under.parent == c.id


async def test_patch_a_category(world: World) -> None:
    home = await world.category("Home")
    await world.category("Garden")
    renamed = await world.patch_category(home.id, name="House", description="Rooms")
    assert (renamed.name, renamed.slug, renamed.description) == ("House", "home", "Rooms")
    reslugged = await world.patch_category(home.id, slug="house")
    assert reslugged.slug == "house"
    with pytest.raises(Conflict):
        await world.patch_category(home.id, slug="garden")
    assert world.db.categories[home.id].slug == "house"
    with pytest.raises(NotFound):
        await world.patch_category(99, name="x")


async def test_put_a_category(world: World) -> None:
    home = await world.category("Home", description="Rooms")
    parent = await world.category("Everything")
    replaced = await world.shop.catalog.update_category(
        home.id, CreateCategory(name="House", parent=parent.id), Actor.operator()
    )
    assert (replaced.name, replaced.slug, replaced.parent, replaced.description) == (
        "House",
        "home",
        parent.id,
        "",
    )


async def test_a_category_with_children_or_products_cannot_be_deleted(world: World) -> None:
    home = await world.category("Home")
    lamps = await world.category("Lamps", parent=home.id)
    product = await world.product(category=lamps.id)
    with pytest.raises(Conflict, match="subcategories"):
        await world.shop.catalog.delete_category(home.id, Actor.operator())
    with pytest.raises(Conflict, match="products"):
        await world.shop.catalog.delete_category(lamps.id, Actor.operator())
    await world.shop.catalog.delete_product(product.id, Actor.operator())
    await world.shop.catalog.delete_category(lamps.id, Actor.operator())
    await world.shop.catalog.delete_category(home.id, Actor.operator())
    assert world.db.categories == {}
    with pytest.raises(NotFound):
        await world.shop.catalog.delete_category(home.id, Actor.operator())


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        (CreateProduct, {"name": "Lamp\x00", "sku": "L", "price": "1"}),
        (CreateProduct, {"name": "Lamp", "sku": "L", "price": "1", "description": "\x00"}),
        (CreateProduct, {"name": "Lamp", "sku": "L", "price": "1", "image_url": "https://img.example/\x00"}),
        (UpdateProduct, {"name": "\x00"}),
        (CreateCategory, {"name": "Home\x00"}),
        (ChangeStock, {"sku": "L", "reason": "sale\x00", "delta": 1}),
        (ChangeStock, {"sku": "L", "reason": "sale", "delta": 1, "note": "a\x00b"}),
    ],
)
def test_text_holding_a_nul_character_is_refused(command: type[Any], fields: dict[str, Any]) -> None:
    """PostgreSQL cannot store NUL in text: it is refused as invalid input, not left to fail there."""
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(fields, command, strict=False)
