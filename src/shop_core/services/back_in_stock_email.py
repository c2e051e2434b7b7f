"""The back-in-stock email job (`services.back_in_stock` records it): what it checks and sends."""

from __future__ import annotations

import logging

from shop_core.domain.variants import line_title, stored_options, variant_name
from shop_core.services import emails
from shop_core.services.notifications import NotificationContext

log = logging.getLogger("shop.wishlist")


async def send_back_in_stock(item_id: int, *, ctx: NotificationContext) -> None:
    """Email the customer, unless meanwhile the entry is gone or no longer asks, the customer is
    inactive, or the product (or variant) is inactive or sold out again."""
    async with ctx.uow() as uow:
        item = await uow.wishlist.get(item_id)
        user = None if item is None else await uow.users.get(item.user_id)
        product = None if item is None else await uow.products.get(item.product_id)
        variants = [] if item is None else await uow.variants.for_product(item.product_id)
    if item is None or user is None or product is None or not item.notify or not user.is_active:
        return
    variant = next((v for v in variants if v.id == item.variant_id), None)
    if item.variant_id is not None and variant is None:
        return
    active = product.is_active and (variant is None or variant.is_active)
    stock = product.stock_quantity if variant is None else variant.stock_quantity
    if not active or stock <= 0:
        log.info("wishlist entry %s: no longer available or in stock, no email", item_id)
        return
    chosen = "" if variant is None else variant_name(stored_options(product.options), variant.options)
    title = line_title(product.name, chosen)
    await ctx.mailer.send(
        emails.back_in_stock(ctx.store, user.email, title, stock=stock, templates=ctx.templates)
    )
