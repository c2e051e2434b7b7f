"""The product list's filters and ordering, its refusals of bad query input, and the N+1 guard.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.http.conftest import (
    INT4_OVERFLOW,
    Catalog,
    assert_error,
    open_catalog,
    sql_statements,
)


async def listed(catalog: Catalog, headers: dict[str, str] | None = None, **query: Any) -> list[str]:
    """The names on the first page (of up to 100) for `query`."""
    response = await catalog.client.get("/api/products/", params={"page_size": 100, **query}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["results"])
    return [p["name"] for p in body["results"]]


# --- category, with its descendants ----------------------------------------------------------------


async def test_the_category_filter_includes_every_descendant(catalog: Catalog) -> None:
    clothing = await catalog.category("Clothing")
    shoes = await catalog.category("Shoes", clothing["id"])
    boots = await catalog.category("Boots", shoes["id"])
    hats = await catalog.category("Hats", clothing["id"])
    garden = await catalog.category("Garden")
    empty = await catalog.category("Empty", boots["id"])
    for name, category in [
        ("scarf", clothing),
        ("sneaker", shoes),
        ("wellington", boots),
        ("cap", hats),
        ("spade", garden),
        ("loose", None),
    ]:
        await catalog.product(name, category=category and category["id"])
    await catalog.product("hidden boot", category=boots["id"], is_active=False)

    assert await listed(catalog, category=clothing["id"]) == ["scarf", "sneaker", "wellington", "cap"]
    assert await listed(catalog, category=shoes["id"]) == ["sneaker", "wellington"]
    assert await listed(catalog, category=boots["id"]) == ["wellington"]
    assert await listed(catalog, category=hats["id"]) == ["cap"]
    assert await listed(catalog, category=garden["id"]) == ["spade"]
    assert await listed(catalog, category=empty["id"]) == []
    staff = catalog.staff.headers
    assert await listed(catalog, staff, category=boots["id"]) == ["wellington", "hidden boot"]


async def test_the_category_filter_follows_a_move(catalog: Catalog) -> None:
    clothing = await catalog.category("Clothing")
    garden = await catalog.category("Garden")
    boots = await catalog.category("Boots", clothing["id"])
    await catalog.product("wellington", category=boots["id"])
    assert await listed(catalog, category=clothing["id"]) == ["wellington"]

    moved = await catalog.client.patch(
        f"/api/categories/{boots['id']}/", json={"parent": garden["id"]}, headers=catalog.staff.headers
    )

    assert moved.status_code == 200
    assert await listed(catalog, category=clothing["id"]) == []
    assert await listed(catalog, category=garden["id"]) == ["wellington"]


# --- search ------------------------------------------------------------------------------------------


async def test_search_looks_in_name_description_and_sku_ignoring_case(catalog: Catalog) -> None:
    await catalog.product("Red Kettle", description="Boils water.", sku="KET-001")
    await catalog.product("Blue Mug", description="Holds a RED-hot drink.", sku="MUG-002")
    await catalog.product("Teapot", description="Porcelain.", sku="TEA-RED-3")
    await catalog.product("Spoon", description="Steel.", sku="SPN-004")
    await catalog.product("Hidden red", is_active=False)

    assert await listed(catalog, search="red") == ["Red Kettle", "Blue Mug", "Teapot"]
    assert await listed(catalog, search="RED") == ["Red Kettle", "Blue Mug", "Teapot"]
    assert await listed(catalog, search="  kettle ") == ["Red Kettle"]
    assert await listed(catalog, search="ket-0") == ["Red Kettle"]
    assert await listed(catalog, search="porcelain") == ["Teapot"]
    assert await listed(catalog, search="d k") == ["Red Kettle"]
    assert await listed(catalog, search="nothing like it") == []
    assert await listed(catalog, search="") == ["Red Kettle", "Blue Mug", "Teapot", "Spoon"]
    assert await listed(catalog, search="   ") == ["Red Kettle", "Blue Mug", "Teapot", "Spoon"]
    assert await listed(catalog, catalog.staff.headers, search="red") == [
        "Red Kettle",
        "Blue Mug",
        "Teapot",
        "Hidden red",
    ]


async def test_search_takes_wildcards_and_quotes_literally(catalog: Catalog) -> None:
    await catalog.product("100% cotton")
    await catalog.product("1000 cotton buds")
    await catalog.product("snake_case")
    await catalog.product("snakeXcase")
    await catalog.product("back\\slash")
    await catalog.product("O'Brien's")

    assert await listed(catalog, search="%") == ["100% cotton"]
    assert await listed(catalog, search="0%") == ["100% cotton"]
    assert await listed(catalog, search="_") == ["snake_case"]
    assert await listed(catalog, search="e_c") == ["snake_case"]
    assert await listed(catalog, search="\\") == ["back\\slash"]
    assert await listed(catalog, search="'") == ["O'Brien's"]
    assert await listed(catalog, search="%%") == []
    assert await listed(catalog, search="' OR 1=1 --") == []


async def test_search_ignores_the_case_of_letters_beyond_ascii(catalog: Catalog) -> None:
    await catalog.product("CRÈME BRÛLÉE")
    await catalog.product("Ärger")

    assert await listed(catalog, search="brûlée") == ["CRÈME BRÛLÉE"]
    assert await listed(catalog, search="CRÈME BRÛLÉE") == ["CRÈME BRÛLÉE"]
    assert await listed(catalog, search="ärger") == ["Ärger"]


# --- price and stock ---------------------------------------------------------------------------------


async def test_min_and_max_price_are_inclusive_bounds(catalog: Catalog) -> None:
    for name, price in [
        ("free", "0.00"),
        ("cheap", "9.99"),
        ("ten", "10.00"),
        ("mid", "10.01"),
        ("dear", "250.00"),
    ]:
        await catalog.product(name, price)
    await catalog.product("hidden", "10.00", is_active=False)

    assert await listed(catalog, min_price="10") == ["ten", "mid", "dear"]
    assert await listed(catalog, min_price="10.00") == ["ten", "mid", "dear"]
    assert await listed(catalog, max_price="10.00") == ["free", "cheap", "ten"]
    assert await listed(catalog, min_price="10", max_price="10") == ["ten"]
    assert await listed(catalog, min_price="9.99", max_price="10.01") == ["cheap", "ten", "mid"]
    assert await listed(catalog, min_price="0", max_price="0") == ["free"]
    assert await listed(catalog, min_price="1000") == []
    assert await listed(catalog, min_price="0.1") == ["cheap", "ten", "mid", "dear"]


async def test_the_price_filters_use_the_price_before_discount(catalog: Catalog) -> None:
    await catalog.product("discounted", "20.00", discount_percentage="75")

    assert await listed(catalog, min_price="15") == ["discounted"]
    assert await listed(catalog, max_price="15") == []


async def test_in_stock_keeps_products_with_stock(catalog: Catalog) -> None:
    await catalog.product("none", stock_quantity=0)
    await catalog.product("one", stock_quantity=1)
    await catalog.product("many", stock_quantity=500)
    await catalog.product("hidden", stock_quantity=5, is_active=False)

    assert await listed(catalog, in_stock="true") == ["one", "many"]
    assert await listed(catalog, in_stock="false") == ["none", "one", "many"]
    assert await listed(catalog) == ["none", "one", "many"]


# --- ordering -------------------------------------------------------------------------------------------


async def test_every_ordering(catalog: Catalog) -> None:
    # created in this order, so by id and by created_at: banana, cherry, apple, date, elder
    for name, price in [
        ("Banana", "3.00"),
        ("Cherry", "1.00"),
        ("Apple", "5.00"),
        ("Date", "2.00"),
        ("Elder", "4.00"),
    ]:
        await catalog.product(name, price)

    assert await listed(catalog) == ["Banana", "Cherry", "Apple", "Date", "Elder"]
    assert await listed(catalog, ordering="price") == ["Cherry", "Date", "Banana", "Elder", "Apple"]
    assert await listed(catalog, ordering="-price") == ["Apple", "Elder", "Banana", "Date", "Cherry"]
    assert await listed(catalog, ordering="name") == ["Apple", "Banana", "Cherry", "Date", "Elder"]
    assert await listed(catalog, ordering="-name") == ["Elder", "Date", "Cherry", "Banana", "Apple"]
    assert await listed(catalog, ordering="created_at") == ["Banana", "Cherry", "Apple", "Date", "Elder"]
    assert await listed(catalog, ordering="-created_at") == ["Elder", "Date", "Apple", "Cherry", "Banana"]


async def test_equal_prices_keep_a_stable_order_across_pages(catalog: Catalog) -> None:
    made = [await catalog.product(f"Same {i}", "5.00") for i in range(6)]

    seen: list[int] = []
    for page in (1, 2, 3):
        body = (
            await catalog.client.get(
                "/api/products/", params={"ordering": "price", "page_size": 2, "page": page}
            )
        ).json()
        seen += [p["id"] for p in body["results"]]

    assert sorted(seen) == [p["id"] for p in made]
    assert len(set(seen)) == 6


async def test_filters_and_ordering_combine(catalog: Catalog) -> None:
    kitchen = await catalog.category("Kitchen")
    pots = await catalog.category("Pots", kitchen["id"])
    garden = await catalog.category("Garden")
    await catalog.product("Steel pot", "30.00", category=pots["id"], stock_quantity=2)
    await catalog.product("Clay pot", "12.00", category=pots["id"], stock_quantity=0)
    await catalog.product("Pot holder", "4.00", category=kitchen["id"], stock_quantity=9)
    await catalog.product("Big pot", "99.00", category=pots["id"], stock_quantity=1)
    await catalog.product("Plant pot", "6.00", category=garden["id"], stock_quantity=3)

    names = await listed(
        catalog,
        category=kitchen["id"],
        search="POT",
        min_price="4",
        max_price="50",
        in_stock="true",
        ordering="-price",
    )

    assert names == ["Steel pot", "Pot holder"]


# --- bad query input ----------------------------------------------------------------------------------

BAD_QUERIES = [
    ("ordering=popularity", "ordering"),
    ("ordering=price,name", "ordering"),
    ("ordering=id; DROP TABLE products", "ordering"),
    ("min_price=-1", "min_price"),
    ("max_price=-0.01", "max_price"),
    ("min_price=1.005", "min_price"),
    ("max_price=9.999", "max_price"),
    ("min_price=abc", "min_price"),
    ("min_price=NaN", "min_price"),
    ("max_price=Infinity", "max_price"),
    ("min_price=1e400", "min_price"),
    ("min_price=10&max_price=9.99", "min_price"),
    ("page=0", "page"),
    ("page=-1", "page"),
    ("page=abc", "page"),
    ("page=1.5", "page"),
    ("page=99999999999999999999", "page"),
    ("page_size=0", "page_size"),
    ("page_size=101", "page_size"),
    ("page_size=10000", "page_size"),
    ("page_size=abc", "page_size"),
    ("category=abc", "category"),
    ("category=0", "category"),
    ("category=-3", "category"),
    ("category=1.5", "category"),
    ("in_stock=maybe", "in_stock"),
    ("search=" + "x" * 1000, "search"),
]


async def test_bad_query_input_is_400_naming_the_parameter(catalog: Catalog) -> None:
    await catalog.product("Something", "5.00")

    for query, field in BAD_QUERIES:
        for headers in ({}, catalog.staff.headers):
            response = await catalog.client.get(f"/api/products/?{query}", headers=headers)
            assert response.status_code == 400, (query, response.text)
            body = assert_error(response, 400, "invalid")
            assert field in body["errors"], (query, body)
            assert not body["detail"].startswith("Something went wrong"), (query, body)


async def test_the_edges_of_the_accepted_query_input(catalog: Catalog) -> None:
    await catalog.product("Something", "5.00")

    for query in (
        "page_size=100",
        "ordering=",  # as in DRF: no ordering asked for, the default one
        "page_size=1",
        "min_price=0",
        "max_price=1000000000000",
        "min_price=5&max_price=5",
        "search=" + "x" * 200,
        "in_stock=true&in_stock=true",
        "unknown_parameter=ignored",
    ):
        response = await catalog.client.get(f"/api/products/?{query}")
        assert response.status_code == 200, (query, response.text)


async def test_a_category_filter_beyond_a_32_bit_column_is_an_empty_page_or_a_400(catalog: Catalog) -> None:

    response = await catalog.client.get("/api/products/", params={"category": INT4_OVERFLOW})

    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["count"] == 0


# --- the N+1 guard ---------------------------------------------------------------------------------------


@pytest.fixture
async def uncached(database_url: str) -> AsyncIterator[Catalog]:
    """The catalog with its cache switched off: every read goes to the database."""
    async with open_catalog(make_settings(database_url, cache_enabled=False)) as opened:
        yield opened


async def statements_for(catalog: Catalog, path: str, headers: dict[str, str] | None = None) -> int:
    await catalog.client.get(path, headers=headers)  # warm up: pool connections, dialect start-up
    with sql_statements(catalog.client) as seen:
        response = await catalog.client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return len(seen)


async def test_a_product_page_takes_the_same_few_statements_whatever_its_size(uncached: Catalog) -> None:
    catalog = uncached
    categories = [await catalog.category(f"Category {i}") for i in range(5)]
    leaves = [await catalog.category(f"Leaf {i}", c["id"]) for i, c in enumerate(categories)]
    for i in range(45):
        await catalog.product(
            f"Product {i:02d}", f"{i + 1}.00", category=leaves[i % 5]["id"], stock_quantity=i
        )

    counts: dict[str, int] = {}
    for size in (5, 20, 40):
        base = f"/api/products/?page_size={size}"
        counts[f"plain-{size}"] = await statements_for(catalog, base)
        counts[f"filtered-{size}"] = await statements_for(
            catalog, f"{base}&category={categories[0]['id']}&in_stock=true&ordering=-price"
        )
        counts[f"all-filters-{size}"] = await statements_for(
            catalog, f"{base}&search=product&min_price=1&max_price=100&ordering=name"
        )
        counts[f"staff-{size}"] = await statements_for(catalog, base, catalog.staff.headers)
        counts[f"category-detail-{size}"] = await statements_for(
            catalog, f"/api/categories/{categories[1]['id']}/?page_size={size}"
        )
        counts[f"categories-{size}"] = await statements_for(catalog, f"/api/categories/?page_size={size}")

    # the category filters give at most 9 rows: pages of 5 need the count, pages of 20 and 40 do not
    for kind in ("plain", "filtered", "all-filters", "staff", "category-detail", "categories"):
        sizes = [counts[f"{kind}-{size}"] for size in (5, 20, 40)]
        assert max(sizes) - min(sizes) <= 1, (kind, counts)
        assert counts[f"{kind}-20"] <= counts[f"{kind}-5"], (kind, counts)
        assert counts[f"{kind}-40"] <= counts[f"{kind}-20"], (kind, counts)
    assert counts["plain-20"] <= 2, counts  # the page and its count
    assert counts["filtered-20"] <= 2, counts
    assert counts["category-detail-20"] <= 4, counts  # category, children, page (and count)
    assert counts["staff-20"] <= counts["plain-20"] + 4, counts  # plus the token's user


async def test_the_statement_counter_sees_the_statements(uncached: Catalog) -> None:
    """The guard's counter is live: a page read does reach it (so a count of zero is not a pass)."""
    await uncached.product("Something")

    assert await statements_for(uncached, "/api/products/") >= 1
    assert await statements_for(uncached, "/api/products/1/") >= 1
