"""The catalog area: browsing products and categories (cached), staff's changes to them, and the
bulk work (CSV import and export, Shopify's CSV, generated catalogs). The use cases themselves live
in `catalog_reads`, `catalog_admin`, `catalog_import`, `shopify_import` and `catalog_seed`; this
class binds them to their ports and checks who may change the catalog."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable

from shop_core.domain.actors import Actor, require_staff
from shop_core.ports.catalog import CatalogReader
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.services import (
    catalog_admin,
    catalog_import,
    catalog_reads,
    catalog_seed,
    catalog_variants,
    shopify_import,
)
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_commands import (
    CreateCategory,
    CreateProduct,
    ProductQuery,
    ReplaceCategory,
    ReplaceProduct,
    UpdateCategory,
    UpdateProduct,
)
from shop_core.services.catalog_variants import AddVariant, UpdateVariant
from shop_core.services.catalog_views import CategoryView, EncodedPage, StaffProductView, VariantView
from shop_core.services.shopify_csv import ShopifyReport


class Catalog:
    """Products and categories: public reads through the cache, staff-only writes that invalidate it."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        reader: CatalogReader,
        cache: CacheAside,
        clock: Clock,
        currency: str,
    ) -> None:
        self._uow = uow
        self._reader = reader
        self._cache = cache
        self._clock = clock
        self._currency = currency
        self._reads = catalog_reads.CatalogContext(reader, cache, currency, clock)

    # reads: anyone; `staff` shows inactive products and staff-only fields
    async def list_products(
        self, query: ProductQuery, *, page: int, page_size: int, staff: bool
    ) -> EncodedPage:
        return await catalog_reads.list_products(
            query, page=page, page_size=page_size, staff=staff, ctx=self._reads
        )

    async def get_product(self, product_id: int, *, staff: bool) -> bytes:
        return await catalog_reads.get_product(product_id, staff=staff, ctx=self._reads)

    async def list_categories(self, *, page: int, page_size: int) -> EncodedPage:
        return await catalog_reads.list_categories(page=page, page_size=page_size, ctx=self._reads)

    async def get_category(
        self, category_id: int, *, page: int, page_size: int, staff: bool
    ) -> catalog_reads.CategoryDetail:
        return await catalog_reads.get_category(
            category_id, page=page, page_size=page_size, staff=staff, ctx=self._reads
        )

    # writes: staff only
    async def create_product(self, cmd: CreateProduct, actor: Actor) -> StaffProductView:
        require_staff(actor)
        return await catalog_admin.create_product(
            cmd,
            actor,
            uow=self._uow(),
            cache=self._cache,
            clock=self._clock,
            currency=self._currency,
            reader=self._reader,
        )

    async def update_product(
        self, product_id: int, cmd: UpdateProduct | ReplaceProduct, actor: Actor
    ) -> StaffProductView:
        require_staff(actor)
        return await catalog_admin.update_product(
            product_id,
            cmd,
            actor,
            uow=self._uow(),
            cache=self._cache,
            clock=self._clock,
            currency=self._currency,
            reader=self._reader,
        )

    async def delete_product(self, product_id: int, actor: Actor) -> None:
        require_staff(actor)
        await catalog_admin.delete_product(product_id, uow=self._uow(), cache=self._cache)

    async def list_variants(self, product_id: int, actor: Actor) -> list[VariantView]:
        require_staff(actor)
        return await catalog_variants.list_variants(
            product_id, uow=self._uow(), clock=self._clock, currency=self._currency
        )

    async def add_variant(self, product_id: int, cmd: AddVariant, actor: Actor) -> VariantView:
        require_staff(actor)
        return await catalog_variants.add_variant(
            product_id,
            cmd,
            actor,
            uow=self._uow(),
            cache=self._cache,
            clock=self._clock,
            currency=self._currency,
        )

    async def update_variant(
        self, product_id: int, variant_id: int, cmd: UpdateVariant, actor: Actor
    ) -> VariantView:
        require_staff(actor)
        return await catalog_variants.update_variant(
            product_id,
            variant_id,
            cmd,
            actor,
            uow=self._uow(),
            cache=self._cache,
            clock=self._clock,
            currency=self._currency,
        )

    async def delete_variant(self, product_id: int, variant_id: int, actor: Actor) -> None:
        require_staff(actor)
        await catalog_variants.delete_variant(product_id, variant_id, uow=self._uow(), cache=self._cache)

    async def create_category(self, cmd: CreateCategory, actor: Actor) -> CategoryView:
        require_staff(actor)
        return await catalog_admin.create_category(cmd, uow=self._uow(), cache=self._cache)

    async def update_category(
        self, category_id: int, cmd: UpdateCategory | ReplaceCategory, actor: Actor
    ) -> CategoryView:
        require_staff(actor)
        return await catalog_admin.update_category(category_id, cmd, uow=self._uow(), cache=self._cache)

    async def delete_category(self, category_id: int, actor: Actor) -> None:
        require_staff(actor)
        await catalog_admin.delete_category(category_id, uow=self._uow(), cache=self._cache)

    # bulk: staff only
    async def import_products(
        self,
        rows: Iterable[tuple[int, dict[str, str] | str]],
        actor: Actor,
        progress: Callable[[int], None] = lambda _: None,
    ) -> catalog_import.ImportReport:
        require_staff(actor)
        return await catalog_import.import_products(
            rows,
            actor,
            uow=self._uow,
            cache=self._cache,
            clock=self._clock,
            currency=self._currency,
            progress=progress,
        )

    async def import_shopify(
        self,
        drafts: ShopifyReport,
        actor: Actor,
        progress: Callable[[int], None] = lambda _: None,
    ) -> catalog_import.ImportReport:
        """Shopify's product CSV, as `shopify_import.read_shopify_file` read it: products by handle,
        variants by SKU; `progress` counts products."""
        require_staff(actor)
        return await shopify_import.import_shopify(
            drafts,
            actor,
            uow=self._uow,
            cache=self._cache,
            clock=self._clock,
            currency=self._currency,
            progress=progress,
        )

    async def recount(self, actor: Actor) -> tuple[int, int]:
        """Count the products again and mend the list's counters (`shop catalog recount`):
        (categories, id blocks) whose counter was wrong. Cached pages go when one was."""
        require_staff(actor)
        async with self._uow() as uow:
            wrong = await uow.products.recount()
            await uow.commit()
        if any(wrong):
            await self._cache.invalidate()
        return wrong

    def export_products(self, actor: Actor) -> AsyncIterator[list[list[str]]]:
        require_staff(actor)
        return catalog_import.export_rows(uow=self._uow, currency=self._currency)

    async def seed_catalog(
        self,
        products: int,
        categories: int,
        actor: Actor,
        progress: Callable[[int], None] = lambda _: None,
        *,
        sku_prefix: str = catalog_seed.SEED_PREFIX,
        update_existing: bool = False,
    ) -> catalog_import.ImportReport:
        """A generated catalog (`shop catalog seed`, `shop demo`, the benchmarks)."""
        require_staff(actor)
        return await catalog_seed.seed_catalog(
            products,
            categories,
            uow=self._uow,
            cache=self._cache,
            clock=self._clock,
            currency=self._currency,
            sku_prefix=sku_prefix,
            update_existing=update_existing,
            progress=progress,
        )
