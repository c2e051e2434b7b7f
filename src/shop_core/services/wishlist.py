"""The customer's wishlist (`/api/wishlist/`): products, or one variant of a product, kept for later
and shown with their live price and stock; optionally an email when one comes back in stock
(`services.back_in_stock`).

Each customer works on their own list only. Adding is idempotent: one entry per (customer,
product, variant or none); adding again returns the entry there (and changes `notify` when sent).
Every add locks the customer's row first, so concurrent adds of one list happen one after the
other: no duplicate, no error from the unique index, and the cap holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import AuthenticationFailed, InvalidInput, NotFound
from shop_core.domain.ids import MAX_ID
from shop_core.domain.variants import Variant
from shop_core.domain.wishlist import MAX_WISHLIST_ITEMS, WishlistFull, WishlistItem
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services.commands import Command
from shop_core.services.wishlist_views import WishlistItemView, item_views

NO_SUCH_PRODUCT = "No such product."
NO_SUCH_VARIANT = "No such variant of this product."
NOT_ON_WISHLIST = "That product is not on your wishlist."
MAX_POPULAR = 100
Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


class AddToWishlist(Command):
    """A product, or one of its variants; `notify` asks for an email when it comes back in stock
    (default false; sent again on an entry already there, it changes the entry's)."""

    product_id: Annotated[Id, msgspec.Meta(examples=[1])]
    variant_id: Annotated[Id | None, msgspec.Meta(description="A variant of the product; null: any.")] = None
    notify: bool | msgspec.UnsetType = msgspec.UNSET


class PopularProduct(msgspec.Struct, kw_only=True):
    product_id: int
    name: str
    entries: Annotated[int, msgspec.Meta(description="How many wishlist entries name it.")]


@dataclass(frozen=True)
class WishlistContext:
    uow: UnitOfWorkFactory
    clock: Clock
    currency: str


def _owner(actor: Actor) -> int:
    if actor.user_id is None:
        raise AuthenticationFailed("Log in to use a wishlist.")
    return actor.user_id


async def _chosen(uow: UnitOfWork, product_id: int, variant_id: int | None) -> int | None:
    """The variant an entry is for: None for the product itself (and for a product's only, default
    variant, so a product without options has one entry). NotFound for an unknown or inactive
    product, or a variant that is not the product's or is inactive."""
    product = (await uow.products.by_ids([product_id])).get(product_id)
    if product is None or not product.is_active:
        raise NotFound(NO_SUCH_PRODUCT)
    if variant_id is None:
        return None
    variants: list[Variant] = await uow.variants.for_product(product_id)
    variant = next((v for v in variants if v.id == variant_id), None)
    if variant is None or not variant.is_active:
        raise NotFound(NO_SUCH_VARIANT)
    return None if variant.is_default else variant.id


async def list_items(actor: Actor, ctx: WishlistContext) -> list[WishlistItemView]:
    user_id = _owner(actor)
    async with ctx.uow() as uow:
        return await item_views(uow, await uow.wishlist.of_user(user_id), ctx.currency, ctx.clock.now())


async def add_item(actor: Actor, cmd: AddToWishlist, ctx: WishlistContext) -> tuple[WishlistItemView, bool]:
    """The entry, and whether it is new; 404 for what cannot be wishlisted, 409 `wishlist_full`
    past MAX_WISHLIST_ITEMS."""
    user_id = _owner(actor)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        variant_id = await _chosen(uow, cmd.product_id, cmd.variant_id)
        await uow.users.lock(user_id)
        item = await uow.wishlist.find(user_id, cmd.product_id, variant_id)
        created = item is None
        if item is None:
            if await uow.wishlist.count(user_id) >= MAX_WISHLIST_ITEMS:
                raise WishlistFull()
            notify = False if isinstance(cmd.notify, msgspec.UnsetType) else cmd.notify
            item = await uow.wishlist.add(WishlistItem(user_id, cmd.product_id, variant_id, now, notify))
        elif not isinstance(cmd.notify, msgspec.UnsetType) and cmd.notify != item.notify:
            item.notify = cmd.notify
            await uow.wishlist.save(item)
        view = (await item_views(uow, [item], ctx.currency, now))[0]
        await uow.commit()
    return view, created


async def remove_item(actor: Actor, product_id: int, variant_id: int | None, ctx: WishlistContext) -> None:
    """Remove the product's entries (only the variant's, with `variant_id`); NotFound when there
    was none."""
    user_id = _owner(actor)
    async with ctx.uow() as uow:
        if not await uow.wishlist.remove(user_id, product_id, variant_id):
            raise NotFound(NOT_ON_WISHLIST)
        await uow.commit()


async def wishlist_of(user_id: int, actor: Actor, ctx: WishlistContext) -> list[WishlistItemView]:
    """Staff: a customer's wishlist (the CLI's `shop wishlist list --user EMAIL`)."""
    require_staff(actor)
    async with ctx.uow() as uow:
        return await item_views(uow, await uow.wishlist.of_user(user_id), ctx.currency, ctx.clock.now())


async def popular(limit: int, actor: Actor, ctx: WishlistContext) -> list[PopularProduct]:
    """Staff: the most wishlisted products, most first (ties by id); at most MAX_POPULAR."""
    require_staff(actor)
    if not 1 <= limit <= MAX_POPULAR:
        raise InvalidInput.field("limit", f"Ask for 1 to {MAX_POPULAR} products.")
    async with ctx.uow() as uow:
        found = await uow.wishlist.popular(limit)
    return [PopularProduct(product_id=p, name=name, entries=n) for p, name, n in found]


class Wishlist:
    """Customers' wishlists; each customer works on their own (`actor`)."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, currency: str) -> None:
        self.context = WishlistContext(uow, clock, currency)

    async def list_items(self, actor: Actor) -> list[WishlistItemView]:
        return await list_items(actor, self.context)

    async def add_item(self, actor: Actor, cmd: AddToWishlist) -> tuple[WishlistItemView, bool]:
        return await add_item(actor, cmd, self.context)

    async def remove_item(self, actor: Actor, product_id: int, variant_id: int | None = None) -> None:
        await remove_item(actor, product_id, variant_id, self.context)

    async def wishlist_of(self, user_id: int, actor: Actor) -> list[WishlistItemView]:
        return await wishlist_of(user_id, actor, self.context)

    async def popular(self, limit: int, actor: Actor) -> list[PopularProduct]:
        return await popular(limit, actor, self.context)
