"""The catalog's read use cases on the fakes: filters, ordering, paging, visibility and the cache."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.services.catalog_commands import (
    ChangeStock,
    CreateCategory,
    CreateProduct,
    ProductQuery,
    UpdateCategory,
    UpdateProduct,
)
from shop_core.settings import Environment, Settings
from tests.fakes import FakeCatalogReader, FakeClock, FakeDatabase, fake_shop


@dataclass
class Catalog:
    shop: Shop
    db: FakeDatabase
    clock: FakeClock
    ids: dict[str, int]

    @property
    def reader(self) -> FakeCatalogReader:
        reader = self.shop.ports.reader
        assert isinstance(reader, FakeCatalogReader)
        return reader

    async def products(
        self, *, staff: bool = False, page: int = 1, page_size: int = 50, **query: Any
    ) -> tuple[int, list[dict[str, Any]]]:
        result = await self.shop.catalog.list_products(
            msgspec.convert(query, ProductQuery, strict=False), page=page, page_size=page_size, staff=staff
        )
        return result.count, msgspec.json.decode(result.results)

    async def skus(self, **query: Any) -> list[str]:
        _, rows = await self.products(**query)
        return [row["sku"] for row in rows]

    async def detail(self, product_id: int, *, staff: bool = False) -> dict[str, Any]:
        found: dict[str, Any] = msgspec.json.decode(
            await self.shop.catalog.get_product(product_id, staff=staff)
        )
        return found

    async def category(self, category_id: int, **kwargs: Any) -> dict[str, Any]:
        staff = kwargs.pop("staff", False)
        detail = await self.shop.catalog.get_category(
            category_id, page=kwargs.pop("page", 1), page_size=kwargs.pop("page_size", 50), staff=staff
        )
        head: dict[str, Any] = msgspec.json.decode(detail.head + b"}")
        head["products"] = msgspec.json.decode(detail.products.results)
        head["count"] = detail.products.count
        return head


# name, sku, price, stock, category, active, description
PRODUCTS = [
    ("Desk Lamp", "L-1", "19.99", 5, "Lamps", True, "Warm light for late work"),
    ("Floor Lamp", "L-2", "89.00", 0, "Lamps", True, "Tall and bright"),
    ("Bulb", "B-1", "3.50", 100, "Lighting", True, "Fits every lamp"),
    ("Armchair", "H-1", "249.00", 2, "Home", True, "Deep and soft"),
    ("Rake", "G-1", "15.00", 7, "Garden", True, "Steel teeth"),
    ("Old Rake", "G-2", "9.00", 3, "Garden", False, "Discontinued"),
    ("Gift Card", "X-1", "25.00", 1000, None, True, "Any amount"),
]


@pytest.fixture
async def catalog() -> Catalog:
    shop, db, clock = fake_shop()
    home = await shop.catalog.create_category(CreateCategory(name="Home"), Actor.operator())
    lighting = await shop.catalog.create_category(
        CreateCategory(name="Lighting", parent=home.id), Actor.operator()
    )
    lamps = await shop.catalog.create_category(
        CreateCategory(name="Lamps", parent=lighting.id), Actor.operator()
    )
    garden = await shop.catalog.create_category(CreateCategory(name="Garden"), Actor.operator())
    ids = {"Home": home.id, "Lighting": lighting.id, "Lamps": lamps.id, "Garden": garden.id}
    for name, sku, price, stock, category, active, description in PRODUCTS:
        clock.advance(60)
        created = await shop.catalog.create_product(
            CreateProduct(
                name=name,
                sku=sku,
                price=Decimal(price),
                cost_price=Decimal(1),
                stock_quantity=stock,
                category=ids[category] if category else None,
                is_active=active,
                description=description,
            ),
            Actor("staff", is_staff=True),
        )
        ids[sku] = created.id
    return Catalog(shop, db, clock, ids)


ACTIVE = ["L-1", "L-2", "B-1", "H-1", "G-1", "X-1"]


# --- lists ---------------------------------------------------------------------------------


async def test_customers_see_active_products_by_id(catalog: Catalog) -> None:
    count, rows = await catalog.products()
    assert count == len(ACTIVE)
    assert [r["sku"] for r in rows] == ACTIVE
    lamp = rows[0]
    assert lamp["category_name"] == "Lamps"
    assert (lamp["price"], lamp["final_price"], lamp["discount_percentage"]) == ("19.99", "19.99", "0.00")
    assert "cost_price" not in lamp


async def test_staff_see_inactive_products_and_costs(catalog: Catalog) -> None:
    count, rows = await catalog.products(staff=True)
    assert count == len(PRODUCTS)
    assert "G-2" in [r["sku"] for r in rows]
    assert all(r["cost_price"] == "1.00" for r in rows)


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("Home", ["L-1", "L-2", "B-1", "H-1"]),
        ("Lighting", ["L-1", "L-2", "B-1"]),
        ("Lamps", ["L-1", "L-2"]),
        ("Garden", ["G-1"]),
    ],
)
async def test_a_category_includes_its_descendants(
    catalog: Catalog, category: str, expected: list[str]
) -> None:
    assert await catalog.skus(category=catalog.ids[category]) == expected


async def test_an_unknown_category_lists_nothing(catalog: Catalog) -> None:
    assert await catalog.products(category=999) == (0, [])


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("lamp", ["L-1", "L-2", "B-1"]),  # names, and "Fits every lamp" in a description
        ("LAMP", ["L-1", "L-2", "B-1"]),
        ("g-1", ["G-1"]),  # the sku
        ("  steel ", ["G-1"]),
        ("rake", ["G-1"]),  # the inactive one stays hidden
        ("nothing like it", []),
        ("   ", ACTIVE),  # blank is no filter
    ],
)
async def test_search_covers_name_description_and_sku(
    catalog: Catalog, search: str, expected: list[str]
) -> None:
    assert await catalog.skus(search=search) == expected


async def test_price_bounds_are_inclusive(catalog: Catalog) -> None:
    assert await catalog.skus(min_price="19.99", max_price="89") == ["L-1", "L-2", "X-1"]
    assert await catalog.skus(min_price="250") == []
    assert await catalog.skus(max_price="3.5") == ["B-1"]


async def test_in_stock(catalog: Catalog) -> None:
    assert await catalog.skus(in_stock=True) == ["L-1", "B-1", "H-1", "G-1", "X-1"]


async def test_filters_combine(catalog: Catalog) -> None:
    found = await catalog.skus(category=catalog.ids["Home"], search="lamp", in_stock=True, max_price="50")
    assert found == ["L-1", "B-1"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, ACTIVE),
        ("price", ["B-1", "G-1", "L-1", "X-1", "L-2", "H-1"]),
        ("-price", ["H-1", "L-2", "X-1", "L-1", "G-1", "B-1"]),
        ("name", ["H-1", "B-1", "L-1", "L-2", "X-1", "G-1"]),
        ("-name", ["G-1", "X-1", "L-2", "L-1", "B-1", "H-1"]),
        ("created_at", ACTIVE),
        ("-created_at", ACTIVE[::-1]),
    ],
)
async def test_ordering(catalog: Catalog, ordering: str | None, expected: list[str]) -> None:
    assert await catalog.skus(ordering=ordering) == expected


async def test_low_stock_is_for_staff_only(catalog: Catalog) -> None:
    assert await catalog.skus(staff=True, low_stock_below=4) == ["L-2", "H-1", "G-2"]
    assert await catalog.skus(low_stock_below=4) == ACTIVE


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"ordering": "cost_price"}, "ordering"),
        ({"ordering": "id; DROP TABLE products"}, "ordering"),
        ({"min_price": "-1"}, "min_price"),
        ({"max_price": "1.001"}, "max_price"),
        ({"min_price": "10", "max_price": "5"}, "min_price"),
        ({"max_price": "NaN"}, "max_price"),
    ],
)
async def test_bad_queries_are_invalid(catalog: Catalog, query: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await catalog.products(**query)
    assert list(caught.value.errors) == [field]


async def test_pages(catalog: Catalog) -> None:
    pages = [await catalog.products(page=n, page_size=4) for n in (1, 2)]
    assert [count for count, _ in pages] == [6, 6]
    assert [[r["sku"] for r in rows] for _, rows in pages] == [ACTIVE[:4], ACTIVE[4:]]
    with pytest.raises(NotFound):
        await catalog.products(page=3, page_size=4)
    assert await catalog.products(page=1, search="nothing like it") == (0, [])


# --- details -------------------------------------------------------------------------------


async def test_product_detail(catalog: Catalog) -> None:
    lamp = await catalog.detail(catalog.ids["L-1"])
    assert (lamp["sku"], lamp["category"], lamp["category_name"]) == ("L-1", catalog.ids["Lamps"], "Lamps")
    assert "cost_price" not in lamp
    assert (await catalog.detail(catalog.ids["L-1"], staff=True))["cost_price"] == "1.00"


async def test_an_inactive_product_is_hidden_from_customers_only(catalog: Catalog) -> None:
    with pytest.raises(NotFound):
        await catalog.detail(catalog.ids["G-2"])
    assert (await catalog.detail(catalog.ids["G-2"], staff=True))["is_active"] is False
    with pytest.raises(NotFound):
        await catalog.detail(999)


async def test_categories_page(catalog: Catalog) -> None:
    page = await catalog.shop.catalog.list_categories(page=1, page_size=3)
    rows = msgspec.json.decode(page.results)
    assert page.count == 4
    assert [(c["name"], c["slug"], c["parent"]) for c in rows] == [
        ("Home", "home", None),
        ("Lighting", "lighting", catalog.ids["Home"]),
        ("Lamps", "lamps", catalog.ids["Lighting"]),
    ]
    with pytest.raises(NotFound):
        await catalog.shop.catalog.list_categories(page=3, page_size=3)


async def test_category_detail_has_children_and_products_below_it(catalog: Catalog) -> None:
    home = await catalog.category(catalog.ids["Home"], page_size=3)
    assert (home["id"], home["name"], home["parent"]) == (catalog.ids["Home"], "Home", None)
    assert [c["name"] for c in home["children"]] == ["Lighting"]
    assert home["count"] == 4
    assert [p["sku"] for p in home["products"]] == ["L-1", "L-2", "B-1"]
    garden = await catalog.category(catalog.ids["Garden"])
    assert [p["sku"] for p in garden["products"]] == ["G-1"]
    staff_garden = await catalog.category(catalog.ids["Garden"], staff=True)
    assert [p["sku"] for p in staff_garden["products"]] == ["G-1", "G-2"]
    with pytest.raises(NotFound):
        await catalog.category(999)


# --- the cache -----------------------------------------------------------------------------


async def test_customer_reads_are_cached(catalog: Catalog) -> None:
    await catalog.products(search="lamp")
    await catalog.detail(catalog.ids["L-1"])
    await catalog.category(catalog.ids["Home"])
    await catalog.shop.catalog.list_categories(page=1, page_size=10)
    before = catalog.reader.queries
    assert await catalog.skus(search="lamp") == ["L-1", "L-2", "B-1"]
    assert (await catalog.detail(catalog.ids["L-1"]))["sku"] == "L-1"
    assert (await catalog.category(catalog.ids["Home"]))["count"] == 4
    await catalog.shop.catalog.list_categories(page=1, page_size=10)
    assert catalog.reader.queries == before


async def test_staff_reads_and_errors_are_never_cached(catalog: Catalog) -> None:
    before = catalog.reader.queries
    for _ in range(2):
        await catalog.products(staff=True)
        await catalog.detail(catalog.ids["L-1"], staff=True)
        with pytest.raises(NotFound):
            await catalog.detail(999)
    assert catalog.reader.queries == before + 6


async def test_a_disabled_cache_reads_every_time() -> None:
    shop, _, _ = fake_shop(Settings(env=Environment.TEST, cache_enabled=False))
    await shop.catalog.create_product(
        CreateProduct(name="Lamp", sku="L-1", price=Decimal(1)), Actor("staff", is_staff=True)
    )
    reader = shop.ports.reader
    assert isinstance(reader, FakeCatalogReader)
    before = reader.queries
    for _ in range(3):
        await shop.catalog.get_product(1, staff=False)
    assert reader.queries == before + 3


async def test_a_read_after_a_product_write_is_fresh(catalog: Catalog) -> None:
    lamp = catalog.ids["L-1"]
    assert (await catalog.detail(lamp))["price"] == "19.99"
    assert await catalog.skus(ordering="price") == ["B-1", "G-1", "L-1", "X-1", "L-2", "H-1"]

    await catalog.shop.catalog.update_product(
        lamp, UpdateProduct(price=Decimal("999")), Actor("staff", is_staff=True)
    )
    assert (await catalog.detail(lamp))["price"] == "999.00"
    assert (await catalog.skus(ordering="price"))[-1] == "L-1"

    await catalog.shop.catalog.update_product(
        lamp, UpdateProduct(is_active=False), Actor("staff", is_staff=True)
    )
    with pytest.raises(NotFound):
        await catalog.detail(lamp)
    assert "L-1" not in await catalog.skus()

    await catalog.shop.catalog.create_product(
        CreateProduct(name="New", sku="N-1", price=Decimal(1)), Actor("staff", is_staff=True)
    )
    assert (await catalog.skus())[-1] == "N-1"

    await catalog.shop.catalog.delete_product(catalog.ids["B-1"], Actor.operator())
    assert "B-1" not in await catalog.skus()
    assert (await catalog.category(catalog.ids["Lighting"]))["count"] == 1


async def test_a_read_after_a_category_write_is_fresh(catalog: Catalog) -> None:
    lamp = catalog.ids["L-1"]
    assert (await catalog.detail(lamp))["category_name"] == "Lamps"
    assert (await catalog.category(catalog.ids["Home"]))["children"][0]["name"] == "Lighting"
    await catalog.shop.catalog.update_category(
        catalog.ids["Lighting"], UpdateCategory(name="Lights"), Actor.operator()
    )
    await catalog.shop.catalog.update_category(
        catalog.ids["Lamps"], UpdateCategory(name="Desk Lamps"), Actor.operator()
    )
    assert (await catalog.detail(lamp))["category_name"] == "Desk Lamps"
    assert (await catalog.category(catalog.ids["Home"]))["children"][0]["name"] == "Lights"

    # Moving a branch changes what its old ancestors list.
    await catalog.shop.catalog.update_category(
        catalog.ids["Lighting"], UpdateCategory(parent=catalog.ids["Garden"]), Actor.operator()
    )
    assert await catalog.skus(category=catalog.ids["Home"]) == ["H-1"]
    assert await catalog.skus(category=catalog.ids["Garden"]) == ["L-1", "L-2", "B-1", "G-1"]

    await catalog.shop.catalog.create_category(CreateCategory(name="Toys"), Actor.operator())
    page = await catalog.shop.catalog.list_categories(page=1, page_size=10)
    assert page.count == 5


async def test_a_read_after_a_stock_change_is_fresh(catalog: Catalog) -> None:
    assert "L-2" not in await catalog.skus(in_stock=True)
    await catalog.shop.stock.change_stock(
        ChangeStock(sku="L-2", delta=3, reason="restock"), Actor("staff", is_staff=True)
    )
    assert "L-2" in await catalog.skus(in_stock=True)
