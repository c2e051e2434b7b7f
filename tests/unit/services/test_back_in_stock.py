"""Back-in-stock jobs on the fakes: recorded with the stock change that brings a watched product
back, keyed by the entry and its restock count; nothing for a raise while in stock. (The emails
themselves, every stock path and both databases: tests/http/test_wishlist_restock.py.)"""

from __future__ import annotations

from decimal import Decimal

from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import ChangeStock, CreateProduct
from shop_core.services.wishlist import AddToWishlist
from tests.unit.services.conftest import World

STAFF = Actor("ada", is_staff=True)


async def test_a_restock_records_one_job_per_watching_entry(world: World) -> None:
    shop = world.shop
    product = await shop.catalog.create_product(
        CreateProduct(name="Lamp", sku="L-1", price=Decimal(5), stock_quantity=0), STAFF
    )
    ada = await world.register("ada@example.com")
    bob = await world.register("bob@example.com")
    watching, _ = await shop.wishlist.add_item(
        Actor.user(ada.id, ada.email, is_staff=False), AddToWishlist(product_id=product.id, notify=True)
    )
    await shop.wishlist.add_item(
        Actor.user(bob.id, bob.email, is_staff=False), AddToWishlist(product_id=product.id)
    )

    def back_in_stock() -> list[str]:
        return sorted(key for key in world.db.jobs if key.startswith("email.back_in_stock"))

    await shop.stock.change_stock(ChangeStock(sku="L-1", delta=3, reason="restock"), STAFF)
    assert back_in_stock() == [f"email.back_in_stock:{watching.id}:1"]
    await shop.stock.change_stock(ChangeStock(sku="L-1", delta=2, reason="restock"), STAFF)
    assert len(back_in_stock()) == 1
    await shop.stock.change_stock(ChangeStock(sku="L-1", quantity=0, reason="count"), STAFF)
    await shop.stock.change_stock(ChangeStock(sku="L-1", quantity=4, reason="restock"), STAFF)
    assert back_in_stock() == [f"email.back_in_stock:{watching.id}:1", f"email.back_in_stock:{watching.id}:2"]
