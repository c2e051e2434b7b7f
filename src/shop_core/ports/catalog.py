"""Repositories of the catalog (write side) and the catalog reader (the hot read path)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shop_core.domain.catalog import Category, Product, TakenProduct
from shop_core.domain.sales import RunningSale
from shop_core.domain.stock import StockMovement
from shop_core.domain.variants import Variant


class CategoryRepository(Protocol):
    async def add(self, category: Category) -> Category:
        """Store a new category; Conflict when the slug is taken."""
        ...

    async def get(self, category_id: int) -> Category | None: ...

    async def parents(self) -> dict[int, int | None]:
        """Every category id with its parent id: the whole tree, for cycle checks."""
        ...

    async def slug_taken(self, slug: str, *, other_than: int | None = None) -> bool: ...

    async def has_children(self, category_id: int) -> bool: ...

    async def has_products(self, category_id: int) -> bool: ...

    async def save(self, category: Category) -> None: ...

    async def delete(self, category: Category) -> None: ...

    async def all(self) -> list[Category]: ...


class ProductRepository(Protocol):
    async def add(self, product: Product) -> Product:
        """Store a new product; Conflict when the sku or slug is taken."""
        ...

    async def get(self, product_id: int, *, for_update: bool = False) -> Product | None: ...

    async def get_by_sku(self, sku: str, *, for_update: bool = False) -> Product | None: ...

    async def by_skus(self, skus: Sequence[str]) -> dict[str, Product]: ...

    async def by_slugs(self, slugs: Sequence[str]) -> dict[str, Product]:
        """The products among `slugs` that exist, by slug (the Shopify import matches on handles)."""
        ...

    async def by_ids(self, ids: Sequence[int]) -> dict[int, Product]:
        """The products among `ids` that exist (active or not)."""
        ...

    async def slugs_in_use(self) -> set[str]: ...

    async def slug_taken(self, slug: str, *, other_than: int | None = None) -> bool: ...

    async def save(self, product: Product) -> None: ...

    async def delete(self, product: Product) -> None: ...

    async def change_stock(self, product_id: int, delta: int, variant_id: int | None = None) -> int | None:
        """Add `delta` to a variant's stock (None: the product's default variant) in one conditional
        statement, and to the product's total with it; the variant's new stock, or None if it would
        go negative (or the variant is not the product's)."""
        ...

    async def take_stock(
        self, product_id: int, quantity: int, variant_id: int | None = None
    ) -> TakenProduct | None:
        """Take `quantity` from an active variant of an active product (None: its default variant)
        with one conditional statement, and from the product's total with it (the rows stay locked
        until the transaction ends); the product as it is now (priced and named as that variant,
        with what it has left, and the best sale running at the clock's now that covers it), or
        None, changing nothing, when either is unknown or inactive, the variant is another
        product's, or it has less in stock."""
        ...

    async def quote(self, lines: Sequence[tuple[int, int | None]]) -> list[TakenProduct] | None:
        """What each line (a product id and a variant id, None: its default variant) would take,
        in that order, as the products stand now, read without a lock (`stock_quantity` and
        `variant_stock`: what they have now; `sale_percentage` at the clock's now), for
        `OrderRepository.place_at_once`. None when a line's product or variant is unknown or
        inactive, or when this database cannot place orders at once (SQLite)."""
        ...

    async def add_many(self, products: Sequence[Product]) -> None: ...

    async def add_generated(self, products: Sequence[Product]) -> None:
        """Store many new products without options (none of whose skus or slugs is taken) as
        `add_many` would, with their default variants, in as few round trips as the database allows
        (COPY on PostgreSQL): generated catalogs of a million products. Sets each product's id."""
        ...

    async def page(self, *, offset: int, limit: int) -> list[Product]:
        """Products by id, for export."""
        ...

    async def recount(self) -> tuple[int, int]:
        """Count the products again and set the list's counters (per category, per block of ids)
        to what they are, with product writes held off meanwhile: (categories, id blocks) whose
        counter was wrong. The counters are kept by the database in every product write's
        transaction, so this finds nothing unless they were bypassed (triggers disabled for a
        restore, hand-made SQL)."""
        ...


class VariantRepository(Protocol):
    """A product's variants. Adding, changing or removing one also brings its product's derived
    `stock_quantity` (over active variants) and catalog price (the lowest active) up to date."""

    async def for_product(self, product_id: int, *, for_update: bool = False) -> list[Variant]:
        """By id; `for_update` locks them (before the product's row, as every stock change does)."""
        ...

    async def for_products(self, product_ids: Sequence[int]) -> dict[int, list[Variant]]:
        """Each product's variants by id, in one query (products without any are left out)."""
        ...

    async def get(self, variant_id: int) -> Variant | None: ...

    async def sku_owner(self, sku: str) -> int | None:
        """The product whose variant or own sku `sku` is, if any."""
        ...

    async def sku_owners(self, skus: Sequence[str]) -> dict[str, int]:
        """`sku_owner` for many skus in one query: those in use, with the product they name."""
        ...

    async def add(self, variant: Variant) -> Variant:
        """Store a new variant; Conflict when its sku is taken."""
        ...

    async def save(self, variant: Variant) -> None:
        """Store changes to a variant loaded here (Conflict when its new sku is taken); its stock
        changes go through `ProductRepository.change_stock`, not here."""
        ...

    async def delete(self, variant: Variant) -> None: ...

    async def is_ordered(self, variant_id: int) -> bool: ...


class StockMovementRepository(Protocol):
    async def add(self, movement: StockMovement) -> None: ...

    async def add_many(self, movements: Sequence[StockMovement]) -> None: ...

    async def for_product(
        self, product_id: int, *, limit: int = 100, variant_id: int | None = None
    ) -> list[StockMovement]:
        """Newest first; only the variant's when `variant_id` is given."""
        ...

    async def total(self, product_id: int) -> int:
        """The sum of every movement of the product: what its stock should be."""
        ...


@dataclass(frozen=True)
class ProductFilter:
    """What a product list asks for; prices in minor units."""

    category_id: int | None = None
    search: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    include_inactive: bool = False
    low_stock_below: int | None = None
    ordering: str = "id"


class CatalogReader(Protocol):
    """The read side: rows straight from the database, one query per page (plus the count).

    Each product row also says, as of `now` (the shop's clock), whether any sale is running
    (`sales_running`) and the next instant a sale starts or ends (`sales_change_at`, None: none
    will); without `now`, no sale runs and none will. Only when one runs does a page need
    `running_sales`, the one more query that finds which of its products a sale covers."""

    async def products(
        self, query: ProductFilter, *, offset: int, limit: int, now: datetime | None = None
    ) -> tuple[list[Any], int]:
        """Rows with the product's columns plus `category_name`, and the total count."""
        ...

    async def product(
        self, product_id: int, *, include_inactive: bool, now: datetime | None = None
    ) -> Any | None: ...

    async def running_sales(
        self, product_category: Mapping[int, int | None], now: datetime
    ) -> dict[int, RunningSale]:
        """`SaleRepository.running`, outside any unit of work: one query."""
        ...

    async def categories(self, *, offset: int, limit: int) -> tuple[list[Category], int]: ...

    async def category(self, category_id: int) -> Category | None: ...

    async def children(self, category_id: int) -> list[Category]: ...
