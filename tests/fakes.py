"""In-memory fakes of every port: the use cases run on these in milliseconds, with no I/O."""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace, TracebackType
from typing import Any, Self, TypeVar

from shop_core.bootstrap import Ports, Shop
from shop_core.domain.cart import (
    CartLimits,
    CartSnapshot,
    LineKey,
    has_room_for,
    is_expired,
    within_line_maximum,
)
from shop_core.domain.catalog import Category, Product, descendants
from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.jobs import Job
from shop_core.domain.sales import RunningSale, Sale, ancestry, best_of, next_boundary
from shop_core.domain.stock import StockMovement
from shop_core.domain.users import User
from shop_core.domain.variants import Variant, product_price, product_stock
from shop_core.domain.wishlist import WishlistItem
from shop_core.ports.cart import CartLimitReached
from shop_core.ports.catalog import ProductFilter
from shop_core.settings import Environment, Settings


@dataclass
class FakeClock:
    current: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class FakeUserRepository:
    def __init__(self, rows: dict[int, User], ids: itertools.count[int]) -> None:
        self._rows = rows
        self._ids = ids

    async def lock(self, user_id: int) -> None:
        """Nothing runs concurrently in the fake."""

    async def add(self, user: User) -> User:
        taken = any(u.email == user.email or u.username == user.username for u in self._rows.values())
        if taken:
            raise Conflict("A user with that email or username already exists.")
        user.id = next(self._ids)
        self._rows[user.id] = user
        return user

    async def get(self, user_id: int) -> User | None:
        return self._rows.get(user_id)

    async def get_read_only(self, user_id: int) -> User | None:
        return copy.deepcopy(self._rows.get(user_id))

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._rows.values() if u.email == email), None)

    async def get_by_username(self, username: str) -> User | None:
        return next((u for u in self._rows.values() if u.username.lower() == username.lower()), None)

    async def username_taken(self, username: str) -> bool:
        return any(u.username.lower() == username.lower() for u in self._rows.values())

    async def list(self, *, offset: int = 0, limit: int = 100) -> tuple[list[User], int]:
        rows = sorted(self._rows.values(), key=lambda u: u.id or 0)
        return rows[offset : offset + limit], len(rows)

    async def emails_of(self, user_ids: set[int]) -> dict[int, str]:
        return {i: self._rows[i].email for i in user_ids if i in self._rows}

    async def save(self, user: User) -> None:
        assert user.id is not None
        others = (u for u in self._rows.values() if u.id != user.id)
        if any(u.email == user.email or u.username == user.username for u in others):
            raise Conflict("That change clashes with another user.")
        self._rows[user.id] = user


# --- the catalog ---------------------------------------------------------------------------

Row = TypeVar("Row", Category, Product, StockMovement)


def _copied(rows: dict[int, Row]) -> dict[int, Row]:
    """Fresh copies of catalog rows (rebuilt through `__init__`, so they are independent objects
    even when SQLAlchemy has mapped the class)."""
    return {key: dataclasses.replace(row) for key, row in rows.items()}


def _check_constraints(product: Product) -> None:
    """The CHECK constraints of the products table."""
    if product.stock_quantity < 0 or product.price < 0 or (product.cost_price or 0) < 0:
        raise Conflict("The product breaks a constraint of the products table.")
    if not 0 <= product.discount_percentage <= 100:
        raise Conflict("The product breaks a constraint of the products table.")


class FakeCategoryRepository:
    def __init__(
        self, rows: dict[int, Category], products: dict[int, Product], ids: itertools.count[int]
    ) -> None:
        self._rows = rows
        self._products = products
        self._ids = ids

    async def add(self, category: Category) -> Category:
        if await self.slug_taken(category.slug):
            raise Conflict(f"A category with the slug {category.slug!r} already exists.")
        category.id = next(self._ids)
        self._rows[category.id] = category
        return category

    async def get(self, category_id: int) -> Category | None:
        return self._rows.get(category_id)

    async def parents(self) -> dict[int, int | None]:
        return {key: c.parent_id for key, c in self._rows.items()}

    async def slug_taken(self, slug: str, *, other_than: int | None = None) -> bool:
        return any(c.slug == slug and key != other_than for key, c in self._rows.items())

    async def has_children(self, category_id: int) -> bool:
        return any(c.parent_id == category_id for c in self._rows.values())

    async def has_products(self, category_id: int) -> bool:
        return any(p.category_id == category_id for p in self._products.values())

    async def save(self, category: Category) -> None:
        assert category.id is not None
        if await self.slug_taken(category.slug, other_than=category.id):
            raise Conflict(f"A category with the slug {category.slug!r} already exists.")
        self._rows[category.id] = category

    async def delete(self, category: Category) -> None:
        assert category.id is not None
        self._rows.pop(category.id, None)

    async def all(self) -> list[Category]:
        return [self._rows[key] for key in sorted(self._rows)]


class FakeProductRepository:
    """Products with their variants, as the database keeps them: a new product gets its default
    variant, and the legacy fields (sku, stock) write through to it."""

    def __init__(
        self,
        rows: dict[int, Product],
        movements: dict[int, StockMovement],
        ids: itertools.count[int],
        variants: FakeVariantRepository,
    ) -> None:
        self._rows = rows
        self._movements = movements
        self._ids = ids
        self._variants = variants

    async def _check_unique(self, product: Product) -> None:
        if self._sku_taken(product.sku, other_than=product.id) or await self.slug_taken(
            product.slug, other_than=product.id
        ):
            raise Conflict("A product with that sku or slug already exists.")
        _check_constraints(product)

    async def add(self, product: Product) -> Product:
        await self._check_unique(product)
        product.id = next(self._ids)
        self._rows[product.id] = product
        self._variants.add_default(product)
        return product

    async def get(self, product_id: int, *, for_update: bool = False) -> Product | None:
        return self._rows.get(product_id)

    async def get_by_sku(self, sku: str, *, for_update: bool = False) -> Product | None:
        return next((p for p in self._rows.values() if p.sku == sku), None)

    async def by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        wanted = set(skus)
        return {p.sku: p for p in self._rows.values() if p.sku in wanted}

    async def by_slugs(self, slugs: Sequence[str]) -> dict[str, Product]:
        wanted = set(slugs)
        return {p.slug: p for p in self._rows.values() if p.slug in wanted}

    async def by_ids(self, ids: Sequence[int]) -> dict[int, Product]:
        return {i: self._rows[i] for i in ids if i in self._rows}

    async def slugs_in_use(self) -> set[str]:
        return {p.slug for p in self._rows.values()}

    def _sku_taken(self, sku: str, *, other_than: int | None) -> bool:
        return any(p.sku == sku and key != other_than for key, p in self._rows.items())

    async def slug_taken(self, slug: str, *, other_than: int | None = None) -> bool:
        return any(p.slug == slug and key != other_than for key, p in self._rows.items())

    async def save(self, product: Product) -> None:
        assert product.id is not None
        await self._check_unique(product)
        self._rows[product.id] = product
        self._variants.follow(product)

    async def delete(self, product: Product) -> None:
        assert product.id is not None
        self._rows.pop(product.id, None)
        self._variants.drop_product(product.id)
        for key in [k for k, m in self._movements.items() if m.product_id == product.id]:
            del self._movements[key]  # ON DELETE CASCADE

    async def change_stock(self, product_id: int, delta: int, variant_id: int | None = None) -> int | None:
        product = self._rows.get(product_id)
        variant = self._variants.which(product_id, variant_id)
        if product is None or variant is None or variant.stock_quantity + delta < 0:
            return None
        # The row changes, not a Variant loaded before (as an UPDATE leaves the ORM's objects be).
        variant = self._variants.store(
            dataclasses.replace(variant, stock_quantity=variant.stock_quantity + delta)
        )
        if variant.is_active:
            product.stock_quantity += delta
        product.updated_at = datetime.now(UTC)
        return variant.stock_quantity

    async def add_many(self, products: Sequence[Product]) -> None:
        skus = [p.sku for p in products]
        slugs = [p.slug for p in products]
        if len(set(skus)) != len(skus) or len(set(slugs)) != len(slugs):
            raise Conflict("A product with that sku or slug already exists.")
        for product in products:
            await self._check_unique(product)
        for product in products:
            product.id = next(self._ids)
            self._rows[product.id] = product
            self._variants.add_default(product)

    async def add_generated(self, products: Sequence[Product]) -> None:
        await self.add_many(products)

    async def recount(self) -> tuple[int, int]:
        return 0, 0  # counts what it holds each time: no counters to go wrong

    async def page(self, *, offset: int, limit: int) -> list[Product]:
        return [self._rows[key] for key in sorted(self._rows)[offset : offset + limit]]


class FakeVariantRepository:
    def __init__(
        self, rows: dict[int, Variant], products: dict[int, Product], ids: itertools.count[int]
    ) -> None:
        self._rows = rows
        self._products = products
        self._ids = ids

    def add_default(self, product: Product) -> None:
        assert product.id is not None
        variant = Variant(product.id, product.sku, stock_quantity=product.stock_quantity, is_default=True)
        variant.id = next(self._ids)
        self._rows[variant.id] = variant

    def store(self, variant: Variant) -> Variant:
        assert variant.id is not None
        self._rows[variant.id] = variant
        return variant

    def follow(self, product: Product) -> None:
        """The default variant takes the product's sku and stock (the legacy fields)."""
        for variant in self._rows.values():
            if variant.product_id == product.id and variant.is_default:
                variant.sku, variant.stock_quantity = product.sku, product.stock_quantity

    def drop_product(self, product_id: int) -> None:
        for key in [k for k, v in self._rows.items() if v.product_id == product_id]:
            del self._rows[key]

    def which(self, product_id: int, variant_id: int | None) -> Variant | None:
        return next(
            (
                v
                for v in self._rows.values()
                if v.product_id == product_id and (v.id == variant_id if variant_id else v.is_default)
            ),
            None,
        )

    def _refresh(self, product_id: int) -> None:
        product = self._products.get(product_id)
        if product is not None:
            mine = [v for v in self._rows.values() if v.product_id == product_id]
            product.stock_quantity = product_stock(mine)

    async def for_product(self, product_id: int, *, for_update: bool = False) -> list[Variant]:
        return [self._rows[k] for k in sorted(self._rows) if self._rows[k].product_id == product_id]

    async def for_products(self, product_ids: Sequence[int]) -> dict[int, list[Variant]]:
        found: dict[int, list[Variant]] = {}
        for key in sorted(self._rows):
            if self._rows[key].product_id in product_ids:
                found.setdefault(self._rows[key].product_id, []).append(self._rows[key])
        return found

    async def get(self, variant_id: int) -> Variant | None:
        return self._rows.get(variant_id)

    async def sku_owner(self, sku: str) -> int | None:
        for variant in self._rows.values():
            if variant.sku == sku:
                return variant.product_id
        return next((key for key, p in self._products.items() if p.sku == sku), None)

    async def sku_owners(self, skus: Sequence[str]) -> dict[str, int]:
        return {sku: owner for sku in set(skus) if (owner := await self.sku_owner(sku)) is not None}

    async def add(self, variant: Variant) -> Variant:
        if any(v.sku == variant.sku for v in self._rows.values()):
            raise Conflict(f"The sku {variant.sku!r} is already in use.")
        variant.id = next(self._ids)
        self._rows[variant.id] = variant
        self._refresh(variant.product_id)
        return variant

    async def save(self, variant: Variant) -> None:
        assert variant.id is not None
        if any(v.sku == variant.sku and key != variant.id for key, v in self._rows.items()):
            raise Conflict(f"The sku {variant.sku!r} is already in use.")
        self._rows[variant.id] = variant
        self._refresh(variant.product_id)

    async def delete(self, variant: Variant) -> None:
        assert variant.id is not None
        self._rows.pop(variant.id, None)
        self._refresh(variant.product_id)

    async def is_ordered(self, variant_id: int) -> bool:
        return False  # orders are exercised against the real databases


class FakeStockMovementRepository:
    def __init__(self, rows: dict[int, StockMovement], ids: itertools.count[int]) -> None:
        self._rows = rows
        self._ids = ids

    async def add(self, movement: StockMovement) -> None:
        movement.id = next(self._ids)
        self._rows[movement.id] = movement

    async def add_many(self, movements: Sequence[StockMovement]) -> None:
        for movement in movements:
            await self.add(movement)

    async def for_product(
        self, product_id: int, *, limit: int = 100, variant_id: int | None = None
    ) -> list[StockMovement]:
        found = [self._rows[key] for key in sorted(self._rows, reverse=True)]
        mine = [m for m in found if m.product_id == product_id]
        return [m for m in mine if variant_id is None or m.variant_id in {variant_id, None}][:limit]

    async def total(self, product_id: int) -> int:
        return sum(m.delta for m in self._rows.values() if m.product_id == product_id)


class FakeCatalogReader:
    """The read side over the committed state of a FakeDatabase, as the SQL reader answers it."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self.queries = 0

    async def products(
        self, query: ProductFilter, *, offset: int, limit: int, now: datetime | None = None
    ) -> tuple[list[Any], int]:
        self.queries += 1
        found = sorted((p for p in self._db.products.values() if self._matches(p, query)), key=_by_id)
        if query.ordering == "id":
            pass
        elif query.ordering == "-created_at":
            found.sort(key=lambda p: (p.created_at, p.id), reverse=True)
        else:
            field_name = query.ordering.lstrip("-")
            assert field_name in {"price", "name", "created_at"}, query.ordering
            found.sort(key=lambda p: getattr(p, field_name), reverse=query.ordering.startswith("-"))
        return [self._row(p, now) for p in found[offset : offset + limit]], len(found)

    async def product(
        self, product_id: int, *, include_inactive: bool, now: datetime | None = None
    ) -> Any | None:
        self.queries += 1
        found = self._db.products.get(product_id)
        if found is None or not (found.is_active or include_inactive):
            return None
        return self._row(found, now)

    async def running_sales(
        self, product_category: Mapping[int, int | None], now: datetime
    ) -> dict[int, RunningSale]:
        self.queries += 1
        return running_sales(self._db.sales, self._db.categories, product_category, now)

    async def categories(self, *, offset: int, limit: int) -> tuple[list[Category], int]:
        self.queries += 1
        rows = [self._db.categories[key] for key in sorted(self._db.categories)]
        return [dataclasses.replace(c) for c in rows[offset : offset + limit]], len(rows)

    async def category(self, category_id: int) -> Category | None:
        self.queries += 1
        found = self._db.categories.get(category_id)
        return None if found is None else dataclasses.replace(found)

    async def children(self, category_id: int) -> list[Category]:
        self.queries += 1
        rows = [self._db.categories[key] for key in sorted(self._db.categories)]
        return [dataclasses.replace(c) for c in rows if c.parent_id == category_id]

    def _matches(self, product: Product, query: ProductFilter) -> bool:
        checks = [query.include_inactive or product.is_active]
        if query.category_id is not None:
            tree = {key: c.parent_id for key, c in self._db.categories.items()}
            within = descendants(query.category_id, tree) if query.category_id in tree else set()
            checks.append(product.category_id in within)
        if query.search:
            needle = query.search.lower()
            skus = [v.sku for v in self._variants(product)]
            checks.append(
                any(
                    needle in text.lower() for text in (product.name, product.description, product.sku, *skus)
                )
            )
        price = product_price(product.price, self._variants(product))
        if query.min_price is not None:
            checks.append(price >= query.min_price)
        if query.max_price is not None:
            checks.append(price <= query.max_price)
        if query.in_stock:
            checks.append(product.stock_quantity > 0)
        if query.low_stock_below is not None:
            checks.append(product.stock_quantity < query.low_stock_below)
        return all(checks)

    def _row(self, product: Product, now: datetime | None) -> SimpleNamespace:
        category = self._db.categories.get(product.category_id) if product.category_id else None
        columns = {f.name: getattr(product, f.name) for f in dataclasses.fields(Product)}
        variants = self._variants(product)
        columns |= {"price": product_price(product.price, variants), "base_price": product.price}
        listed = [
            {name: getattr(v, name) for name in ("id", "sku", "options", "price", "stock_quantity")}
            | {"weight_grams": v.weight_grams, "is_active": v.is_active, "is_default": v.is_default}
            for v in variants
        ]
        unended = [s for s in self._db.sales.values() if now is not None and s.ends_at > now]
        return SimpleNamespace(
            **columns,
            variants=listed,
            category_name=category.name if category else None,
            sales_running=int(any(now is not None and s.is_running(now) for s in unended)),
            sales_change_at=None if now is None else next_boundary(unended, now),
        )

    def _variants(self, product: Product) -> list[Variant]:
        return [v for key, v in sorted(self._db.variants.items()) if v.product_id == product.id]


def _by_id(row: Product) -> int:
    assert row.id is not None
    return row.id


class FakeDatabase:
    """The committed state that every FakeUnitOfWork works on a copy of."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.ids = itertools.count(1)
        self.commits = 0
        self.categories: dict[int, Category] = {}
        self.products: dict[int, Product] = {}
        self.movements: dict[int, StockMovement] = {}
        self.category_ids = itertools.count(1)
        self.product_ids = itertools.count(1)
        self.movement_ids = itertools.count(1)
        self.variants: dict[int, Variant] = {}
        self.variant_ids = itertools.count(1)
        self.ordered_products: set[int] = set()
        self.jobs: dict[str, Job] = {}
        self.job_ids = itertools.count(1)
        self.sales: dict[int, Sale] = {}
        self.voucher_restrictions: dict[str, tuple[set[int], set[int]]] = {}
        """Each voucher's code: the products and the categories it is restricted to."""
        self.sale_ids = itertools.count(1)
        self.wishlist: dict[int, WishlistItem] = {}
        self.wishlist_ids = itertools.count(1)
        self.webhook_types: frozenset[str] = frozenset()
        """The event types some webhook subscription listens to."""


class FakeWishlistRepository:
    """Wishlist entries by id (the use cases under unit test only read who watches a restock; the
    list's own rules are tested over HTTP on both databases, tests/http/test_wishlist.py)."""

    def __init__(self, rows: dict[int, WishlistItem], ids: itertools.count[int]) -> None:
        self.rows = rows
        self._ids = ids

    def _of(self, user_id: int) -> list[WishlistItem]:
        return sorted((i for i in self.rows.values() if i.user_id == user_id), key=lambda i: i.id or 0)

    async def add(self, item: WishlistItem) -> WishlistItem:
        if await self.find(item.user_id, item.product_id, item.variant_id) is not None:
            raise Conflict("duplicate wishlist entry")  # as the unique indexes refuse it
        item.id = next(self._ids)
        self.rows[item.id] = item
        return item

    async def find(self, user_id: int, product_id: int, variant_id: int | None) -> WishlistItem | None:
        return next(
            (i for i in self._of(user_id) if (i.product_id, i.variant_id) == (product_id, variant_id)), None
        )

    async def get(self, item_id: int) -> WishlistItem | None:
        return self.rows.get(item_id)

    async def of_user(self, user_id: int) -> list[WishlistItem]:
        return self._of(user_id)

    async def count(self, user_id: int) -> int:
        return len(self._of(user_id))

    async def save(self, item: WishlistItem) -> None:
        assert item.id is not None
        self.rows[item.id] = item

    async def remove(self, user_id: int, product_id: int, variant_id: int | None = None) -> int:
        gone = [
            i.id
            for i in self._of(user_id)
            if i.product_id == product_id and (variant_id is None or i.variant_id == variant_id)
        ]
        for item_id in gone:
            del self.rows[item_id or 0]
        return len(gone)

    async def watching(self, product_ids: Sequence[int]) -> list[WishlistItem]:
        wanted = set(product_ids)
        return sorted(
            (i for i in self.rows.values() if i.notify and i.product_id in wanted), key=lambda i: i.id or 0
        )

    async def count_restock(self, item_id: int) -> int:
        self.rows[item_id].restocks += 1
        return self.rows[item_id].restocks

    async def popular(self, limit: int) -> list[tuple[int, str, int]]:
        raise NotImplementedError("read over SQL only (tests/http/test_wishlist.py)")


class FakeJobLedger:
    """Records jobs by key (what the use cases under unit test write); the ledger's other rules
    are tested on the real databases (tests/integration/test_job_ledger.py)."""

    def __init__(self, rows: dict[str, Job], ids: itertools.count[int]) -> None:
        self.rows = rows
        self._ids = ids

    async def add(self, job: Job) -> bool:
        if job.key in self.rows:
            return False
        job.id = next(self._ids)
        self.rows[job.key] = job
        return True


class FakeOrderRepository:
    """Orders are exercised against the real databases (tests/integration, tests/http); the fake
    unit of work only answers what catalog rules ask of them."""

    def __init__(self, ordered_products: set[int]) -> None:
        self._ordered = ordered_products

    async def product_is_ordered(self, product_id: int) -> bool:
        return product_id in self._ordered


def running_sales(
    sales: Mapping[int, Sale],
    categories: Mapping[int, Category],
    product_category: Mapping[int, int | None],
    now: datetime,
) -> dict[int, RunningSale]:
    """The best running sale of each product (as `SaleRepository.running` answers it)."""
    parents = {key: c.parent_id for key, c in categories.items()}
    found: dict[int, RunningSale] = {}
    for product_id, category_id in product_category.items():
        line = ancestry(category_id, parents)
        covering = [
            RunningSale(s.id, s.name, s.percentage, s.ends_at)
            for s in sales.values()
            if s.id is not None and s.is_running(now) and s.covers(product_id, line)
        ]
        if (best := best_of(covering)) is not None:
            found[product_id] = best
    return found


def _copied_sales(rows: dict[int, Sale]) -> dict[int, Sale]:
    return {key: dataclasses.replace(row) for key, row in rows.items()}


class FakeVoucherRestrictions:
    """What catalog rules ask of vouchers (their restrictions); vouchers themselves are exercised
    against the real databases."""

    def __init__(self, rows: dict[str, tuple[set[int], set[int]]]) -> None:
        self._rows = rows

    async def naming_product(self, product_id: int) -> list[str]:
        return sorted(code for code, (products, _) in self._rows.items() if product_id in products)

    async def naming_category(self, category_id: int) -> list[str]:
        return sorted(code for code, (_, categories) in self._rows.items() if category_id in categories)


class FakeSaleRepository:
    """Sales over the unit of work's copies of the catalog (products and categories, to check the
    ids a sale names and to follow categories up)."""

    def __init__(
        self,
        rows: dict[int, Sale],
        products: dict[int, Product],
        categories: dict[int, Category],
        ids: itertools.count[int],
    ) -> None:
        self._rows = rows
        self._products = products
        self._categories = categories
        self._ids = ids

    async def add(self, sale: Sale) -> Sale:
        await self._check_links(sale)
        sale.id = next(self._ids)
        self._rows[sale.id] = sale
        return sale

    async def _check_links(self, sale: Sale) -> None:
        """The foreign keys of the link tables."""
        if any(await self.unknown(sale.product_ids, sale.category_ids)):
            gone = "A product or category the sale names was deleted meanwhile; look again."
            raise InvalidInput(gone, {"product_ids": [gone], "category_ids": [gone]})

    async def get(self, sale_id: int) -> Sale | None:
        return self._rows.get(sale_id)

    async def page(self, *, offset: int, limit: int) -> tuple[list[Sale], int]:
        rows = sorted(self._rows.values(), key=lambda s: (s.created_at, s.id or 0), reverse=True)
        return rows[offset : offset + limit], len(rows)

    async def save(self, sale: Sale) -> None:
        assert sale.id is not None
        await self._check_links(sale)
        self._rows[sale.id] = sale

    async def delete(self, sale: Sale) -> None:
        assert sale.id is not None
        self._rows.pop(sale.id, None)

    async def unknown(
        self, product_ids: Collection[int], category_ids: Collection[int]
    ) -> tuple[list[int], list[int]]:
        return (
            sorted(set(product_ids) - self._products.keys()),
            sorted(set(category_ids) - self._categories.keys()),
        )

    async def running(
        self, product_category: Mapping[int, int | None], now: datetime
    ) -> dict[int, RunningSale]:
        return running_sales(self._rows, self._categories, product_category, now)

    async def running_percentages(
        self, product_category: Mapping[int, int | None], now: datetime
    ) -> dict[int, Decimal]:
        return {key: sale.percentage for key, sale in (await self.running(product_category, now)).items()}

    async def running_percentages_of(self, product_ids: Collection[int], now: datetime) -> dict[int, Decimal]:
        stored = {i: p.category_id for i in product_ids if (p := self._products.get(i)) is not None}
        return await self.running_percentages(stored, now)

    async def next_boundary(self, now: datetime) -> datetime | None:
        return next_boundary(self._rows.values(), now)


class FakeWebhookListeners:
    """The part of the webhook repository the use cases reach in a change: which event types some
    subscription listens to (none, unless a test says otherwise)."""

    def __init__(self, types: frozenset[str]) -> None:
        self._types = types

    async def listened_types(self) -> frozenset[str]:
        return self._types

    def listeners_changed(self) -> None:
        pass


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self._pending: dict[int, User] = {}
        self._categories: dict[int, Category] = {}
        self._products: dict[int, Product] = {}
        self._movements: dict[int, StockMovement] = {}
        self._variants: dict[int, Variant] = {}
        self._jobs: dict[str, Job] = {}

    async def __aenter__(self) -> Self:
        self._begin()
        return self

    def _begin(self) -> None:
        db = self._db
        self._pending = copy.deepcopy(db.users)
        self._categories = _copied(db.categories)
        self._products = _copied(db.products)
        self._movements = _copied(db.movements)
        self._variants = _copied(db.variants)
        self._jobs = dict(db.jobs)
        self.jobs = FakeJobLedger(self._jobs, db.job_ids)
        self.users = FakeUserRepository(self._pending, db.ids)
        self.categories = FakeCategoryRepository(self._categories, self._products, db.category_ids)
        self.variants = FakeVariantRepository(self._variants, self._products, db.variant_ids)
        self.products = FakeProductRepository(self._products, self._movements, db.product_ids, self.variants)
        self.stock = FakeStockMovementRepository(self._movements, db.movement_ids)
        self.orders = FakeOrderRepository(db.ordered_products)
        self._sales = _copied_sales(db.sales)
        self.sales = FakeSaleRepository(self._sales, self._products, self._categories, db.sale_ids)
        self.vouchers = FakeVoucherRestrictions(db.voucher_restrictions)
        self._wishlist = _copied(db.wishlist)
        self.wishlist = FakeWishlistRepository(self._wishlist, db.wishlist_ids)
        self.webhooks = FakeWebhookListeners(db.webhook_types)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pending = {}

    async def commit(self) -> None:
        for product in self._products.values():
            _check_constraints(product)  # as the database checks rows changed without `save`
        self._db.users = copy.deepcopy(self._pending)
        self._db.categories = _copied(self._categories)
        self._db.products = _copied(self._products)
        self._db.movements = _copied(self._movements)
        self._db.variants = _copied(self._variants)
        self._db.jobs = dict(self._jobs)
        self._db.sales = _copied_sales(self._sales)
        self._db.wishlist = _copied(self._wishlist)
        self._db.commits += 1

    async def rollback(self) -> None:
        self._begin()


class FakePasswordHasher:
    """Reversible on purpose: fast, and a test can see what was hashed."""

    def __init__(self) -> None:
        self.wasted = 0

    def hash(self, password: str) -> str:
        return f"fake${password[::-1]}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == self.hash(password)

    def verify_nothing(self, password: str) -> None:
        self.wasted += 1


@dataclass
class FakeTokenStore:
    clock: FakeClock
    revoked: dict[str, datetime] = field(default_factory=dict)
    families: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    family_users: dict[str, int] = field(default_factory=dict)
    user_changes: dict[int, int] = field(default_factory=dict)

    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        self.revoked[jti] = expires_at

    async def check_access(self, jti: str, user_id: int) -> tuple[bool, str | None]:
        return await self.is_token_revoked(jti), str(self.user_changes.get(user_id, 0))

    async def user_changed(self, user_id: int) -> None:
        self.user_changes[user_id] = self.user_changes.get(user_id, 0) + 1

    async def is_token_revoked(self, jti: str) -> bool:
        return jti in self.revoked and self.revoked[jti] > self.clock.now()

    async def start_family(self, family: str, jti: str, expires_at: datetime, *, user_id: int) -> None:
        self.families[family] = (jti, expires_at)
        self.family_users[family] = user_id

    async def rotate_family(self, family: str, old_jti: str, new_jti: str, expires_at: datetime) -> bool:
        current = self.families.get(family)
        if current is None or current[0] != old_jti or current[1] <= self.clock.now():
            return False
        self.families[family] = (new_jti, expires_at)
        return True

    async def revoke_family(self, family: str) -> None:
        if family in self.families:
            self.families[family] = ("!revoked", self.families[family][1])

    async def revoke_user_families(self, user_id: int) -> None:
        for family, owner in self.family_users.items():
            if owner == user_id:
                await self.revoke_family(family)

    async def ping(self) -> None:
        return None


@dataclass
class FakeLoginThrottle:
    clock: FakeClock
    counters: dict[str, tuple[int, datetime]] = field(default_factory=dict)

    async def attempts(self, key: str) -> tuple[int, int]:
        count, ends = self.counters.get(key, (0, self.clock.now()))
        remaining = int((ends - self.clock.now()).total_seconds())
        return (count, remaining) if remaining > 0 else (0, 0)

    async def count_attempt(self, key: str, window_seconds: int) -> tuple[int, int]:
        # No await between the read and the write: atomic on the event loop.
        count, ends = self.counters.get(key, (0, self.clock.now()))
        if ends <= self.clock.now():
            count, ends = 0, self.clock.now() + timedelta(seconds=window_seconds)
        self.counters[key] = (count + 1, ends)
        return count + 1, int((ends - self.clock.now()).total_seconds())

    async def reset(self, key: str) -> None:
        self.counters.pop(key, None)


@dataclass
class FakeCartStore:
    """Carts in memory, with the same limits and expiry rules as the real stores."""

    carts: dict[str, CartSnapshot] = field(default_factory=dict)

    async def get(self, owner: str, now: datetime, limits: CartLimits) -> CartSnapshot | None:
        cart = self.carts.get(owner)
        if cart is None or is_expired(cart.updated_at, now, limits):
            return None
        return CartSnapshot(
            lines=dict(cart.lines), updated_at=cart.updated_at, voucher_code=cart.voucher_code
        )

    async def add(self, owner: str, line: LineKey, quantity: int, now: datetime, limits: CartLimits) -> int:
        lines = await self._lines(owner, now, limits)
        if not has_room_for(len(lines), has_line=line in lines, limits=limits):
            raise CartLimitReached(lines=True)
        new = lines.get(line, 0) + quantity
        if not within_line_maximum(new, limits):
            raise CartLimitReached(lines=False)
        self.carts[owner] = CartSnapshot(
            lines={**lines, line: new}, updated_at=now, voucher_code=await self._voucher(owner, now, limits)
        )
        return new

    async def set(self, owner: str, line: LineKey, quantity: int, now: datetime, limits: CartLimits) -> None:
        lines = await self._lines(owner, now, limits)
        if not within_line_maximum(quantity, limits):
            raise CartLimitReached(lines=False)
        if quantity <= 0:
            await self.remove(owner, line, now, limits)
            return
        if not has_room_for(len(lines), has_line=line in lines, limits=limits):
            raise CartLimitReached(lines=True)
        self.carts[owner] = CartSnapshot(
            lines={**lines, line: quantity},
            updated_at=now,
            voucher_code=await self._voucher(owner, now, limits),
        )

    async def remove(self, owner: str, line: LineKey, now: datetime, limits: CartLimits) -> bool:
        lines = await self._lines(owner, now, limits)
        if line not in lines:
            return False
        del lines[line]
        self.carts[owner] = CartSnapshot(
            lines=lines, updated_at=now, voucher_code=await self._voucher(owner, now, limits)
        )
        return True

    async def set_voucher(self, owner: str, code: str | None, now: datetime, limits: CartLimits) -> None:
        lines = await self._lines(owner, now, limits)
        self.carts[owner] = CartSnapshot(lines=lines, updated_at=now, voucher_code=code)

    async def clear(self, owner: str) -> None:
        self.carts.pop(owner, None)

    async def take(self, owner: str, now: datetime, limits: CartLimits) -> CartSnapshot | None:
        cart = await self.get(owner, now, limits)
        self.carts.pop(owner, None)
        return cart if cart and cart.lines else None

    async def purge_expired(self, now: datetime, limits: CartLimits) -> int:
        stale = [o for o, c in self.carts.items() if is_expired(c.updated_at, now, limits)]
        for owner in stale:
            del self.carts[owner]
        return len(stale)

    async def _lines(self, owner: str, now: datetime, limits: CartLimits) -> dict[LineKey, int]:
        cart = await self.get(owner, now, limits)
        return dict(cart.lines) if cart else {}

    async def _voucher(self, owner: str, now: datetime, limits: CartLimits) -> str | None:
        cart = await self.get(owner, now, limits)
        return cart.voucher_code if cart else None


def fake_shop(settings: Settings | None = None) -> tuple[Shop, FakeDatabase, FakeClock]:
    """A Shop wired to fakes only (the real, pure JWT codec signs tokens)."""
    from shop_core.adapters.fpdf_invoice_renderer import FpdfInvoiceRenderer
    from shop_core.adapters.jwt_codec import JwtTokenCodec
    from shop_core.adapters.memory_cache import MemoryCache

    settings = settings or Settings(env=Environment.TEST)
    clock = FakeClock()
    db = FakeDatabase()
    ports = Ports(
        uow=lambda: FakeUnitOfWork(db),
        hasher=FakePasswordHasher(),
        codec=JwtTokenCodec(settings.secret_key),
        tokens=FakeTokenStore(clock),
        throttle=FakeLoginThrottle(clock),
        clock=clock,
        cache=MemoryCache(),
        carts=FakeCartStore(),
        reader=FakeCatalogReader(db),
        invoice_renderer=FpdfInvoiceRenderer(),
    )
    return Shop(settings, ports), db, clock
