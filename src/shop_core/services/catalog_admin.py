"""Staff use cases that change the catalog. Each commits, then invalidates the catalog cache."""

from __future__ import annotations

from typing import Any

import msgspec

from shop_core.domain import webhooks
from shop_core.domain.actors import Actor
from shop_core.domain.catalog import (
    Category,
    Product,
    ProductSlugTaken,
    check_parent,
    check_product,
    discount_percentage,
    numbered_slugs,
    product_slug_base,
    slugify,
)
from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.domain.money import minor_units
from shop_core.domain.stock import StockReason, movement_of
from shop_core.domain.variants import check_fit, check_options, options_stored
from shop_core.ports.catalog import CatalogReader
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_commands import (
    CreateCategory,
    CreateProduct,
    ReplaceCategory,
    ReplaceProduct,
    UpdateCategory,
    UpdateProduct,
)
from shop_core.services.catalog_reads import running_sales
from shop_core.services.catalog_views import CategoryView, StaffProductView, staff_product_view
from shop_core.services.stock_movements import record_movement
from shop_core.services.webhook_events import emit


async def create_product(
    cmd: CreateProduct,
    actor: Actor,
    *,
    uow: UnitOfWork,
    cache: CacheAside,
    clock: Clock,
    currency: str,
    reader: CatalogReader,
) -> StaffProductView:
    now = clock.now()
    async with uow:
        product = Product(
            name=cmd.name.strip(), slug="", sku=cmd.sku, price=0, created_at=now, updated_at=now
        )
        await _apply(product, msgspec.structs.asdict(cmd), uow, currency)
        if await uow.variants.sku_owner(product.sku) is not None:
            raise Conflict(f"A product with the sku {product.sku!r} already exists.")
        product = await uow.products.add(product)
        if product.stock_quantity:
            await record_movement(
                uow, movement_of(product, product.stock_quantity, StockReason.INITIAL, actor.label, now)
            )
        await uow.commit()
    await cache.invalidate()
    return await _read_back(product, reader, currency, clock)


async def update_product(
    product_id: int,
    cmd: UpdateProduct | ReplaceProduct,
    actor: Actor,
    *,
    uow: UnitOfWork,
    cache: CacheAside,
    clock: Clock,
    currency: str,
    reader: CatalogReader,
) -> StaffProductView:
    """PATCH with an UpdateProduct (fields sent change), PUT with a CreateProduct (all of them)."""
    now = clock.now()
    changes = {k: v for k, v in msgspec.structs.asdict(cmd).items() if v is not msgspec.UNSET}
    async with uow:
        product = await uow.products.get(product_id, for_update=True)
        if product is None:
            raise NotFound("No such product.")
        before = product.stock_quantity
        await _apply(product, changes, uow, currency)
        if "sku" in changes and (await uow.variants.sku_owner(product.sku)) not in {None, product_id}:
            raise Conflict(f"A product with the sku {product.sku!r} already exists.")
        product.updated_at = now
        await uow.products.save(product)
        if product.stock_quantity != before:
            delta = product.stock_quantity - before
            await record_movement(uow, movement_of(product, delta, StockReason.ADJUSTMENT, actor.label, now))
        await emit(uow, webhooks.PRODUCT_UPDATED, lambda: staff_product_view(product, currency), now)
        await uow.commit()
    await cache.invalidate()
    return await _read_back(product, reader, currency, clock)


async def _read_back(
    product: Product, reader: CatalogReader, currency: str, clock: Clock
) -> StaffProductView:
    """The stored product as staff see it (with its category's name, priced as the catalog shows it)."""
    assert product.id is not None
    now = clock.now()
    row = await reader.product(product.id, include_inactive=True, now=now)
    if row is None:
        return staff_product_view(product, currency)
    return staff_product_view(row, currency, (await running_sales([row], now, reader)).get(product.id))


async def delete_product(product_id: int, *, uow: UnitOfWork, cache: CacheAside) -> None:
    async with uow:
        product = await uow.products.get(product_id)
        if product is None:
            raise NotFound("No such product.")
        if await uow.orders.product_is_ordered(product_id) or await uow.vouchers.naming_product(product_id):
            # Orders keep pointing at it, or a voucher is restricted to it: deactivated, never erased.
            product.is_active = False
            await uow.products.save(product)
        else:
            await uow.products.delete(product)
        await uow.commit()
    await cache.invalidate()


async def _apply(product: Product, fields: dict[str, Any], uow: UnitOfWork, currency: str) -> None:
    """Copy validated command fields onto the product, checking what needs the database."""
    await _apply_options(product, fields, uow)
    for name in ("name", "description", "image_url", "is_active", "stock_quantity"):
        if name in fields:
            setattr(product, name, fields[name].strip() if isinstance(fields[name], str) else fields[name])
    if "sku" in fields:
        product.sku = fields["sku"].strip()
    if "price" in fields:
        product.price = minor_units(fields["price"], currency, field="price")
    if "cost_price" in fields:
        cost = fields["cost_price"]
        product.cost_price = None if cost is None else minor_units(cost, currency, field="cost_price")
    if "discount_percentage" in fields:
        product.discount_percentage = discount_percentage(fields["discount_percentage"])
    if "category" in fields:
        if fields["category"] is not None and await uow.categories.get(fields["category"]) is None:
            raise InvalidInput.field("category", f"There is no category {fields['category']}.")
        product.category_id = fields["category"]
    if fields.get("slug"):
        if await uow.products.slug_taken(fields["slug"], other_than=product.id):
            raise ProductSlugTaken(fields["slug"])
        product.slug = fields["slug"]
    elif not product.slug:
        product.slug = await _free_slug(product_slug_base(product.name), uow)
    check_product(product)


async def _apply_options(product: Product, fields: dict[str, Any], uow: UnitOfWork) -> None:
    """A product's option variants must keep values among its options, and once it has them its
    stock lives on them alone: the legacy stock field cannot say which variant it means."""
    if product.id is not None and ("options" in fields or "stock_quantity" in fields):
        await _check_variants_allow(product, fields, uow)
    if "options" in fields:
        product.options = options_stored(check_options((o.name, o.values) for o in fields["options"]))


async def _check_variants_allow(product: Product, fields: dict[str, Any], uow: UnitOfWork) -> None:
    assert product.id is not None
    variants = [v for v in await uow.variants.for_product(product.id) if not v.is_default]
    if variants and "stock_quantity" in fields and fields["stock_quantity"] != product.stock_quantity:
        raise InvalidInput.field(
            "stock_quantity",
            "This product's stock lives on its variants: change theirs "
            f"(/api/products/{product.id}/variants/).",
        )
    if "options" in fields:
        options = check_options((o.name, o.values) for o in fields["options"])
        check_fit(options, ((v, v.options) for v in variants))


async def _free_slug(base: str, uow: UnitOfWork) -> str:
    candidates = numbered_slugs(base)
    slug = next(candidates)
    while await uow.products.slug_taken(slug):
        slug = next(candidates)
    return slug


async def create_category(cmd: CreateCategory, *, uow: UnitOfWork, cache: CacheAside) -> CategoryView:
    async with uow:
        category = Category(name=cmd.name.strip(), slug=cmd.slug or "", description=cmd.description.strip())
        await _apply_category(category, {"parent": cmd.parent, "slug": cmd.slug}, uow)
        category = await uow.categories.add(category)
        await uow.commit()
    await cache.invalidate()
    return CategoryView.of(category)


async def update_category(
    category_id: int, cmd: UpdateCategory | ReplaceCategory, *, uow: UnitOfWork, cache: CacheAside
) -> CategoryView:
    changes = {k: v for k, v in msgspec.structs.asdict(cmd).items() if v is not msgspec.UNSET}
    async with uow:
        category = await uow.categories.get(category_id)
        if category is None:
            raise NotFound("No such category.")
        if "name" in changes:
            category.name = changes["name"].strip()
        if "description" in changes:
            category.description = changes["description"].strip()
        await _apply_category(category, changes, uow)
        await uow.categories.save(category)
        await uow.commit()
    await cache.invalidate()
    return CategoryView.of(category)


async def _apply_category(category: Category, fields: dict[str, Any], uow: UnitOfWork) -> None:
    if "parent" in fields:
        check_parent(category.id, fields["parent"], await uow.categories.parents())
        category.parent_id = fields["parent"]
    slug = fields.get("slug") or category.slug or slugify(category.name) or "category"
    if await uow.categories.slug_taken(slug, other_than=category.id):
        if fields.get("slug"):
            raise Conflict(f"A category with the slug {slug!r} already exists.")
        base, n = slug[:180], len(await uow.categories.parents()) + 1
        slug = f"{base}-{n}"
        while await uow.categories.slug_taken(slug, other_than=category.id):
            n += 1
            slug = f"{base}-{n}"
    category.slug = slug


async def delete_category(category_id: int, *, uow: UnitOfWork, cache: CacheAside) -> None:
    async with uow:
        category = await uow.categories.get(category_id)
        if category is None:
            raise NotFound("No such category.")
        if await uow.categories.has_children(category_id):
            raise Conflict("The category has subcategories; move or delete them first.")
        if await uow.categories.has_products(category_id):
            raise Conflict("The category has products; move or delete them first.")
        if codes := await uow.vouchers.naming_category(category_id):
            raise Conflict(
                f"Vouchers are restricted to the category ({', '.join(codes)}); change them first."
            )
        await uow.categories.delete(category)
        await uow.commit()
    await cache.invalidate()
