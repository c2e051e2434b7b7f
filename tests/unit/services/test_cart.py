"""The cart use cases on fakes: pricing from the catalog, quantity rules, merges, guest tokens."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import msgspec
import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.cart import StockShortage, customer_owner
from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.domain.variants import VariantRequired
from shop_core.services.cart import AddToCart, CartView, SetQuantity
from shop_core.services.catalog_commands import ChangeStock, CreateProduct, UpdateProduct
from shop_core.settings import Environment, Settings
from tests.fakes import FakeCartStore, FakeClock, FakeDatabase, fake_shop
from tests.variants_support import add_variants

SECRET = "cart-tests-secret-0123456789abcdef0123"
MAX_QUANTITY = 5
MAX_LINES = 3
ADA = customer_owner(1)
DAY = 24 * 3600


@dataclass
class World:
    shop: Shop
    db: FakeDatabase
    clock: FakeClock

    @property
    def store(self) -> FakeCartStore:
        store = self.shop.ports.carts
        assert isinstance(store, FakeCartStore)
        return store

    async def product(
        self, sku: str, price: str = "10.00", *, stock: int = 50, discount: str = "0", active: bool = True
    ) -> int:
        view = await self.shop.catalog.create_product(
            CreateProduct(
                name=f"Product {sku}",
                sku=sku,
                price=Decimal(price),
                stock_quantity=stock,
                discount_percentage=Decimal(discount),
                is_active=active,
            ),
            Actor("staff", is_staff=True),
        )
        return view.id

    async def add(self, product_id: int, quantity: int = 1, owner: str = ADA) -> CartView:
        return await self.shop.cart.add_to_cart(owner, AddToCart(product_id=product_id, quantity=quantity))

    async def lines(self, owner: str = ADA) -> dict[int, int]:
        view = await self.shop.cart.view_cart(owner)
        return {line.product_id: line.quantity for line in view.items}


def make_world(secret: str = SECRET) -> World:
    settings = Settings(
        env=Environment.TEST,
        secret_key=secret,
        cart_max_quantity=MAX_QUANTITY,
        cart_max_lines=MAX_LINES,
        cart_ttl_days=30,
    ).check()
    return World(*fake_shop(settings))


@pytest.fixture
def world() -> World:
    return make_world()


# --- viewing and pricing -----------------------------------------------------------------------


async def test_an_empty_cart(world: World) -> None:
    view = await world.shop.cart.view_cart(ADA)
    assert (view.items, view.item_count, view.subtotal, view.updated_at) == ([], 0, "0.00", None)


async def test_lines_are_priced_from_the_catalogs_final_price(world: World) -> None:
    lamp = await world.product("L-1", "10.00", discount="20")
    chair = await world.product("C-1", "3.25")
    await world.add(lamp, 2)
    view = await world.add(chair, 3)
    assert [
        (i.product_id, i.sku, i.unit_price, i.quantity, i.line_total, i.in_stock) for i in view.items
    ] == [
        (lamp, "L-1", "8.00", 2, "16.00", True),
        (chair, "C-1", "3.25", 3, "9.75", True),
    ]
    assert (view.item_count, view.subtotal, view.updated_at) == (5, "25.75", world.clock.now())


async def test_a_price_change_shows_on_the_next_read(world: World) -> None:
    lamp = await world.product("L-1", "10.00")
    await world.add(lamp, 2)
    await world.shop.catalog.update_product(
        lamp,
        UpdateProduct(price=Decimal("12.00"), discount_percentage=Decimal(50)),
        Actor("x", is_staff=True),
    )
    view = await world.shop.cart.view_cart(ADA)
    assert (view.items[0].unit_price, view.items[0].line_total, view.subtotal) == ("6.00", "12.00", "12.00")
    assert world.store.carts[ADA].lines == {(lamp, 0): 2}  # the store holds quantities only


async def test_a_deactivated_product_stays_but_does_not_count(world: World) -> None:
    lamp = await world.product("L-1", "10.00")
    chair = await world.product("C-1", "4.00")
    await world.add(lamp, 2)
    await world.add(chair, 1)
    await world.shop.catalog.update_product(lamp, UpdateProduct(is_active=False), Actor("x", is_staff=True))
    view = await world.shop.cart.view_cart(ADA)
    by_id = {i.product_id: i for i in view.items}
    assert (by_id[lamp].in_stock, by_id[lamp].quantity, by_id[chair].in_stock) == (False, 2, True)
    assert (view.item_count, view.subtotal) == (1, "4.00")


async def test_a_deleted_product_stays_but_does_not_count(world: World) -> None:
    lamp = await world.product("L-1", "10.00")
    chair = await world.product("C-1", "4.00")
    await world.add(lamp, 2)
    await world.add(chair, 1)
    await world.shop.catalog.delete_product(lamp, Actor.operator())
    view = await world.shop.cart.view_cart(ADA)
    gone = next(i for i in view.items if i.product_id == lamp)
    assert (gone.in_stock, gone.name, gone.unit_price, gone.quantity) == (
        False,
        "(no longer sold)",
        "0.00",
        2,
    )
    assert (view.item_count, view.subtotal) == (1, "4.00")


async def test_a_line_above_the_current_stock_is_out_of_stock(world: World) -> None:
    lamp = await world.product("L-1", "10.00", stock=5)
    await world.add(lamp, 4)
    await world.shop.stock.change_stock(
        ChangeStock(sku="L-1", quantity=3, reason="count"), Actor("x", is_staff=True)
    )
    view = await world.shop.cart.view_cart(ADA)
    assert (view.items[0].in_stock, view.item_count, view.subtotal) == (False, 0, "0.00")


# --- quantity rules ------------------------------------------------------------------------------


async def test_add_adds_to_the_quantity_already_there(world: World) -> None:
    lamp = await world.product("L-1")
    await world.add(lamp, 2)
    view = await world.add(lamp, 3)
    assert (view.items[0].quantity, view.item_count) == (5, 5)


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, 10**9])
async def test_add_refuses_a_quantity_out_of_range(world: World, quantity: int) -> None:
    lamp = await world.product("L-1", stock=10**9)
    await world.add(lamp, 1)
    with pytest.raises(InvalidInput) as bad:
        await world.add(lamp, quantity)
    assert "quantity" in bad.value.errors
    assert await world.lines() == {lamp: 1}


@pytest.mark.parametrize("raw", [1.5, "two", 0, -1, None])
def test_the_add_command_refuses_bad_quantities(raw: object) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"product_id": 1, "quantity": raw}, AddToCart)


async def test_adding_up_past_the_line_maximum_is_invalid(world: World) -> None:
    lamp = await world.product("L-1")
    await world.add(lamp, 3)
    with pytest.raises(InvalidInput) as bad:
        await world.add(lamp, 3)
    assert "quantity" in bad.value.errors
    assert await world.lines() == {lamp: 3}


async def test_more_lines_than_allowed_is_a_conflict(world: World) -> None:
    products = [await world.product(f"P-{n}") for n in range(MAX_LINES + 1)]
    for product in products[:MAX_LINES]:
        await world.add(product)
    with pytest.raises(Conflict) as full:
        await world.add(products[-1])
    assert not isinstance(full.value, StockShortage)
    assert str(MAX_LINES) in str(full.value)
    assert set(await world.lines()) == set(products[:MAX_LINES])


async def test_more_than_the_stock_says_what_is_available(world: World) -> None:
    lamp = await world.product("L-1", stock=4)
    await world.add(lamp, 3)
    with pytest.raises(StockShortage) as short:
        await world.add(lamp, 2)
    assert short.value.available == 4
    with pytest.raises(StockShortage) as short:
        await world.shop.cart.set_cart_quantity(ADA, lamp, SetQuantity(quantity=5))
    assert short.value.available == 4
    assert await world.lines() == {lamp: 3}


async def test_out_of_stock_products_cannot_be_added(world: World) -> None:
    lamp = await world.product("L-1", stock=0)
    with pytest.raises(StockShortage) as short:
        await world.add(lamp, 1)
    assert short.value.available == 0
    assert world.store.carts == {}


async def test_unknown_and_inactive_products_are_not_found(world: World) -> None:
    hidden = await world.product("H-1", active=False)
    for product_id in (hidden, 999):
        with pytest.raises(NotFound):
            await world.add(product_id)
        with pytest.raises(NotFound):
            await world.shop.cart.set_cart_quantity(ADA, product_id, SetQuantity(quantity=1))
    assert world.store.carts == {}


async def test_set_quantity_sets_and_zero_removes(world: World) -> None:
    lamp = await world.product("L-1")
    chair = await world.product("C-1")
    await world.add(lamp, 1)
    await world.add(chair, 1)
    view = await world.shop.cart.set_cart_quantity(ADA, lamp, SetQuantity(quantity=4))
    assert {i.product_id: i.quantity for i in view.items} == {lamp: 4, chair: 1}
    view = await world.shop.cart.set_cart_quantity(ADA, lamp, SetQuantity(quantity=0))
    assert {i.product_id: i.quantity for i in view.items} == {chair: 1}


@pytest.mark.parametrize("quantity", [-1, MAX_QUANTITY + 1])
async def test_set_quantity_refuses_out_of_range(world: World, quantity: int) -> None:
    lamp = await world.product("L-1")
    await world.add(lamp, 2)
    with pytest.raises(InvalidInput):
        await world.shop.cart.set_cart_quantity(ADA, lamp, SetQuantity(quantity=quantity))
    assert await world.lines() == {lamp: 2}


async def test_remove_a_line_and_a_missing_line(world: World) -> None:
    lamp = await world.product("L-1")
    chair = await world.product("C-1")
    await world.add(lamp, 2)
    await world.add(chair, 1)
    view = await world.shop.cart.remove_from_cart(ADA, lamp)
    assert [i.product_id for i in view.items] == [chair]
    with pytest.raises(NotFound):
        await world.shop.cart.remove_from_cart(ADA, lamp)
    with pytest.raises(NotFound):
        await world.shop.cart.remove_from_cart(customer_owner(2), chair)


async def test_clear_empties_only_this_cart(world: World) -> None:
    lamp = await world.product("L-1")
    await world.add(lamp, 2)
    await world.add(lamp, 1, owner=customer_owner(2))
    view = await world.shop.cart.clear_cart(ADA)
    assert (view.items, view.updated_at) == ([], None)
    assert await world.lines(customer_owner(2)) == {lamp: 1}


# --- guest carts -----------------------------------------------------------------------------


async def test_merge_adds_up_capped_by_stock_and_the_line_maximum(world: World) -> None:
    scarce = await world.product("S-1", stock=4)
    plenty = await world.product("P-1", stock=100)
    retired = await world.product("R-1")
    guest = world.shop.cart.guest_owner(world.shop.cart.new_guest_token())
    for product_id, quantity in ((scarce, 3), (plenty, 4), (retired, 1)):
        await world.add(product_id, quantity, owner=guest)
    for product_id, quantity in ((scarce, 2), (plenty, 3)):
        await world.add(product_id, quantity)
    await world.shop.catalog.update_product(
        retired, UpdateProduct(is_active=False), Actor("x", is_staff=True)
    )
    world.clock.advance(60)
    view = await world.shop.cart.merge_carts(guest, ADA)
    assert {i.product_id: i.quantity for i in view.items} == {scarce: 4, plenty: MAX_QUANTITY}
    assert view.updated_at == world.clock.now()
    assert guest not in world.store.carts
    assert (await world.shop.cart.view_cart(guest)).items == []


async def test_merge_moves_guest_only_lines_until_the_cart_is_full(world: World) -> None:
    products = [await world.product(f"P-{n}") for n in range(MAX_LINES + 1)]
    guest = world.shop.cart.guest_owner(world.shop.cart.new_guest_token())
    await world.add(products[0], 2, owner=guest)
    await world.add(products[1], 1, owner=guest)
    for product in products[2:]:
        await world.add(product, 1)
    view = await world.shop.cart.merge_carts(guest, ADA)
    assert {i.product_id: i.quantity for i in view.items} == {products[0]: 2, products[2]: 1, products[3]: 1}
    assert guest not in world.store.carts


async def test_merging_an_empty_or_missing_guest_cart_changes_nothing(world: World) -> None:
    lamp = await world.product("L-1")
    await world.add(lamp, 2)
    guest = world.shop.cart.guest_owner(world.shop.cart.new_guest_token())
    view = await world.shop.cart.merge_carts(guest, ADA)
    assert {i.product_id: i.quantity for i in view.items} == {lamp: 2}


def test_guest_tokens_round_trip(world: World) -> None:
    token = world.shop.cart.new_guest_token()
    owner = world.shop.cart.guest_owner(token)
    assert owner.startswith("guest:")
    assert world.shop.cart.guest_owner(token) == owner
    assert world.shop.cart.guest_owner(world.shop.cart.new_guest_token()) != owner


@pytest.mark.parametrize("forged", ["", "not-a-token", "abc.def", "abc.é"])
def test_forged_guest_tokens_are_invalid_input(world: World, forged: str) -> None:
    with pytest.raises(InvalidInput):
        world.shop.cart.guest_owner(forged)


def test_a_guest_token_from_another_secret_is_refused(world: World) -> None:
    elsewhere = make_world("some-other-secret-0123456789abcdefghij")
    with pytest.raises(InvalidInput):
        world.shop.cart.guest_owner(elsewhere.shop.cart.new_guest_token())


# --- expiry ----------------------------------------------------------------------------------


async def test_a_cart_expires_30_days_after_its_last_change(world: World) -> None:
    lamp = await world.product("L-1")
    await world.add(lamp, 2)
    world.clock.advance(20 * DAY)
    await world.add(lamp, 1)
    world.clock.advance(29 * DAY)
    assert await world.lines() == {lamp: 3}
    world.clock.advance(1 * DAY)
    assert await world.lines() == {}
    assert (await world.add(lamp, 1)).items[0].quantity == 1


async def test_purge_expired_removes_the_stale_carts(world: World) -> None:
    lamp = await world.product("L-1")
    await world.add(lamp, 1, owner=customer_owner(2))
    await world.add(lamp, 1, owner=customer_owner(3))
    world.clock.advance(10 * DAY)
    await world.add(lamp, 1)
    world.clock.advance(20 * DAY)
    assert await world.shop.cart.purge_expired_carts() == 2
    assert set(world.store.carts) == {ADA}
    assert await world.shop.cart.purge_expired_carts() == 0


# --- variants: a line holds one variant of a product --------------------------------------------------


async def sized(
    world: World, sku: str, stock: dict[str, int], prices: dict[str, int] | None = None
) -> tuple[int, dict[str, int]]:
    """A product with a variant per size (and no default variant any more)."""
    product = await world.product(sku, "10.00")
    return product, await add_variants(world.shop, product, "Size", stock, prices=prices)


async def test_each_variant_is_a_line_priced_and_stocked_as_itself(world: World) -> None:
    shirt, size = await sized(world, "T-1", {"S": 2, "M": 4}, {"M": 1250})
    await world.shop.cart.add_to_cart(ADA, AddToCart(product_id=shirt, variant_id=size["S"], quantity=2))
    view = await world.shop.cart.add_to_cart(
        ADA, AddToCart(product_id=shirt, variant_id=size["M"], quantity=3)
    )
    assert [(i.variant_id, i.variant_name, i.sku, i.unit_price, i.quantity) for i in view.items] == [
        (size["S"], "S", "T-1-S", "10.00", 2),
        (size["M"], "M", "T-1-M", "12.50", 3),
    ]
    assert world.store.carts[ADA].lines == {(shirt, size["S"]): 2, (shirt, size["M"]): 3}
    with pytest.raises(StockShortage) as short:
        await world.shop.cart.add_to_cart(ADA, AddToCart(product_id=shirt, variant_id=size["S"]))
    assert short.value.available == 2
    assert "(S)" in short.value.detail


async def test_a_default_variant_line_is_keyed_0_whether_named_or_not(world: World) -> None:
    lamp = await world.product("L-1", "10.00")
    [default] = [v.id for v in world.db.variants.values() if v.product_id == lamp]
    await world.add(lamp, 1)
    view = await world.shop.cart.add_to_cart(ADA, AddToCart(product_id=lamp, variant_id=default))
    assert [(i.variant_id, i.variant_name, i.quantity) for i in view.items] == [(default, "", 2)]
    assert world.store.carts[ADA].lines == {(lamp, 0): 2}


async def test_several_variants_and_none_named_is_variant_required(world: World) -> None:
    shirt, _ = await sized(world, "T-1", {"S": 2, "M": 4})
    with pytest.raises(VariantRequired):
        await world.add(shirt)
    with pytest.raises(VariantRequired):
        await world.shop.cart.set_cart_quantity(ADA, shirt, SetQuantity(quantity=1))
    assert world.store.carts == {}


async def test_merging_works_line_by_line_capped_by_each_variants_stock(world: World) -> None:
    shirt, size = await sized(world, "T-1", {"S": 3, "M": 4})
    guest = world.shop.cart.guest_owner(world.shop.cart.new_guest_token())
    for owner, variant, quantity in ((guest, "S", 2), (guest, "M", 1), (ADA, "S", 2)):
        await world.shop.cart.add_to_cart(
            owner, AddToCart(product_id=shirt, variant_id=size[variant], quantity=quantity)
        )
    view = await world.shop.cart.merge_carts(guest, ADA)
    assert {i.variant_name: i.quantity for i in view.items} == {"S": 3, "M": 1}
    assert guest not in world.store.carts


async def test_a_line_without_its_variant_any_more_stays_out_of_stock(world: World) -> None:
    lamp = await world.product("L-1", "10.00")
    shirt, size = await sized(world, "T-1", {"S": 3, "M": 4})
    await world.add(lamp, 2)
    await world.shop.cart.add_to_cart(ADA, AddToCart(product_id=shirt, variant_id=size["M"]))
    await add_variants(world.shop, lamp, "Color", {"Red": 5})  # the lamp's default variant goes
    async with world.shop.ports.uow() as uow:
        gone = await uow.variants.get(size["M"])
        assert gone is not None
        await uow.variants.delete(gone)
        await uow.commit()
    view = await world.shop.cart.view_cart(ADA)
    assert [(i.product_id, i.variant_id, i.in_stock) for i in view.items] == [
        (lamp, 0, False),
        (shirt, size["M"], False),
    ]
    assert (view.item_count, view.subtotal) == (0, "0.00")
    await world.shop.cart.remove_from_cart(ADA, lamp)
    view = await world.shop.cart.remove_from_cart(ADA, shirt, variant_id=size["M"])
    assert view.items == []
