"""Sales in the catalog's prices, as clients see them: while a sale runs a product's `final_price`
(and its variants') is the better of its own discount and the sale, in lists, details and category
pages, for everyone. Sales start and stop by the shop's clock with the cache on, in memory and in
Redis, and across two instances sharing Redis: a cached page never shows a sale's price after it
ended, nor misses it after it started."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import bootstrap
from shop_core.settings import Settings
from shop_http import create_app
from tests.conftest import fast_hasher, make_settings
from tests.fakes import FakeClock
from tests.http.conftest import (
    Account,
    Catalog,
    Client,
    new_account,
    new_staff,
    shop_of,
    sql_statements,
)

HOUR = 3600


@asynccontextmanager
async def on_the_clock(settings: Settings, clock: FakeClock) -> AsyncIterator[Client]:
    """The app, its shop on `clock` (the catalog version's once-a-second check stands still, so
    only the writes, the cache and the clock decide what a read sees)."""
    factory = partial(bootstrap, hasher=fast_hasher(), clock=clock)
    async with AsyncTestClient(create_app(settings, shop_factory=factory)) as client:
        shop_of(client).catalog_cache.monotonic = lambda: 0.0
        yield client


@contextmanager
def catalog_sql(client: Client) -> Iterator[list[str]]:
    with sql_statements(client) as seen:
        yield seen
    seen[:] = [statement for statement in seen if "catalog_version" not in statement]


class Shop:
    """Kitchen > Pots, a pot (20.00) in Pots, a lid (5.00) in no category, written by `staff`."""

    def __init__(self, client: Client, staff: Account) -> None:
        self.client = client
        self.staff = staff
        self.ids: dict[str, int] = {}

    async def stock(self) -> Shop:
        async def post(path: str, body: dict[str, Any]) -> int:
            made = await self.client.post(path, json=body, headers=self.staff.headers)
            assert made.status_code == 201, made.text
            found: int = made.json()["id"]
            return found

        self.ids["kitchen"] = await post("/api/categories/", {"name": "Kitchen"})
        self.ids["pots"] = await post("/api/categories/", {"name": "Pots", "parent": self.ids["kitchen"]})
        self.ids["pot"] = await post(
            "/api/products/", {"name": "Pot", "sku": "POT", "price": "20.00", "category": self.ids["pots"]}
        )
        self.ids["lid"] = await post("/api/products/", {"name": "Lid", "sku": "LID", "price": "5.00"})
        return self

    async def sale(
        self, clock: FakeClock, percentage: str, starts: float, ends: float, **targets: Any
    ) -> int:
        """A sale from `starts` to `ends` hours from the shop's now."""
        body = {
            "name": "Kitchen days",
            "percentage": percentage,
            "starts_at": (clock.now() + timedelta(hours=starts)).isoformat(),
            "ends_at": (clock.now() + timedelta(hours=ends)).isoformat(),
            **targets,
        }
        made = await self.client.post("/api/sales/", json=body, headers=self.staff.headers)
        assert made.status_code == 201, made.text
        found: int = made.json()["id"]
        return found


async def seen_by(
    client: Client, ids: dict[str, int], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The pot's final price (and its sale's name) in its detail, the product list and its category's
    page; all of them cached for anyone but staff."""
    detail = (await client.get(f"/api/products/{ids['pot']}/", headers=headers)).json()
    listed = (await client.get("/api/products/", headers=headers)).json()["results"]
    kitchen = (await client.get(f"/api/categories/{ids['kitchen']}/", headers=headers)).json()
    in_list = next(p for p in listed if p["id"] == ids["pot"])
    in_kitchen = next(p for p in kitchen["products"]["results"] if p["id"] == ids["pot"])
    return {
        "prices": {detail["final_price"], in_list["final_price"], in_kitchen["final_price"]},
        "variants": {v["final_price"] for v in detail["variants"]},
        "sale": {(p["sale"] or {}).get("name") for p in (detail, in_list, in_kitchen)},
    }


async def cached(client: Client, ids: dict[str, int]) -> dict[str, Any]:
    """`seen_by` an anonymous client, read twice: the second time from the cache alone."""
    first = await seen_by(client, ids)
    with catalog_sql(client) as seen:
        again = await seen_by(client, ids)
    assert seen == [], "the pages are not cached: this would prove nothing"
    assert again == first
    return first


PLAIN = {"prices": {"20.00"}, "variants": {"20.00"}, "sale": {None}}
ON_SALE = {"prices": {"10.00"}, "variants": {"10.00"}, "sale": {"Kitchen days"}}


# --- prices, everywhere, for everyone ------------------------------------------------------------------


async def test_a_running_sale_sets_the_final_price_in_every_view_for_everyone(catalog: Catalog) -> None:
    clock = FakeClock()
    shop = await Shop(catalog.client, catalog.staff).stock()
    await shop.sale(clock, "50", starts=-1, ends=1, category_ids=[shop.ids["kitchen"]])

    assert await seen_by(catalog.client, shop.ids) == ON_SALE
    assert await seen_by(catalog.client, shop.ids, catalog.customer.headers) == ON_SALE
    assert await seen_by(catalog.client, shop.ids, catalog.staff.headers) == ON_SALE
    pot = (await catalog.client.get(f"/api/products/{shop.ids['pot']}/")).json()
    assert (pot["price"], pot["discount_percentage"]) == ("20.00", "0.00")  # its own discount is kept
    assert pot["sale"]["percentage"] == "50.00"
    lid = (await catalog.client.get(f"/api/products/{shop.ids['lid']}/")).json()
    assert (lid["final_price"], lid["sale"]) == ("5.00", None)


async def test_the_better_discount_wins_and_never_both(catalog: Catalog) -> None:
    clock = FakeClock()
    shop = await Shop(catalog.client, catalog.staff).stock()
    path = f"/api/products/{shop.ids['pot']}/"
    own = await catalog.client.patch(path, json={"discount_percentage": "30"}, headers=catalog.staff.headers)
    assert own.json()["final_price"] == "14.00"

    await shop.sale(clock, "25", starts=-1, ends=1, product_ids=[shop.ids["pot"]])
    assert (await catalog.client.get(path)).json()["final_price"] == "14.00"  # its own 30% beats 25%
    await shop.sale(clock, "40", starts=-1, ends=1, category_ids=[shop.ids["pots"]])
    pot = (await catalog.client.get(path)).json()
    assert (pot["final_price"], pot["sale"]["percentage"]) == ("12.00", "40.00")  # not 20 * 0.7 * 0.6


async def test_price_filters_and_ordering_use_the_list_price(catalog: Catalog) -> None:
    clock = FakeClock()
    shop = await Shop(catalog.client, catalog.staff).stock()
    await shop.sale(clock, "90", starts=-1, ends=1, product_ids=[shop.ids["pot"]])  # the pot at 2.00

    cheap = (await catalog.client.get("/api/products/?max_price=5.00")).json()["results"]
    ordered = (await catalog.client.get("/api/products/?ordering=price")).json()["results"]

    assert [p["name"] for p in cheap] == ["Lid"]
    assert [(p["name"], p["final_price"]) for p in ordered] == [("Lid", "5.00"), ("Pot", "2.00")]


# --- by the clock, through the cache ---------------------------------------------------------------------


async def starts_and_ends_by_the_clock(settings: Settings) -> None:
    clock = FakeClock()
    async with on_the_clock(settings, clock) as client:
        shop = await Shop(client, await new_staff(client)).stock()
        await shop.sale(clock, "50", starts=1, ends=2, category_ids=[shop.ids["kitchen"]])

        assert await cached(client, shop.ids) == PLAIN
        clock.advance(HOUR - 1)
        assert await cached(client, shop.ids) == PLAIN
        clock.advance(1)  # it starts
        assert await cached(client, shop.ids) == ON_SALE
        clock.advance(HOUR - 1)
        assert await cached(client, shop.ids) == ON_SALE
        clock.advance(1)  # it ends
        assert await cached(client, shop.ids) == PLAIN


async def test_a_sale_starts_and_ends_by_the_clock_with_the_in_process_cache(database_url: str) -> None:
    await starts_and_ends_by_the_clock(make_settings(database_url))


@pytest.fixture
def shared_settings(pg_url: str, redis_url: str, redis_prefix: str) -> Settings:
    return make_settings(pg_url, redis_url=redis_url, redis_key_prefix=redis_prefix)


async def test_a_sale_starts_and_ends_by_the_clock_with_redis(shared_settings: Settings) -> None:
    await starts_and_ends_by_the_clock(shared_settings)


async def test_two_instances_sharing_redis_start_and_end_a_sale_at_the_same_instant(
    shared_settings: Settings,
) -> None:
    clock = FakeClock()  # one shop, two processes: their clocks agree
    async with on_the_clock(shared_settings, clock) as a, on_the_clock(shared_settings, clock) as b:
        assert shop_of(a).catalog_cache is not shop_of(b).catalog_cache
        shop = await Shop(a, await new_staff(a)).stock()
        await shop.sale(clock, "50", starts=1, ends=2, category_ids=[shop.ids["kitchen"]])

        assert await cached(b, shop.ids) == PLAIN  # b computes, Redis keeps it
        with catalog_sql(a) as seen:
            assert await seen_by(a, shop.ids) == PLAIN
        assert seen == []  # a read b's pages from Redis
        clock.advance(HOUR)
        assert await cached(a, shop.ids) == ON_SALE  # its own copies and Redis's expired at once
        assert await cached(b, shop.ids) == ON_SALE
        clock.advance(HOUR)
        assert await cached(b, shop.ids) == PLAIN
        assert await cached(a, shop.ids) == PLAIN


async def test_a_sale_written_through_one_instance_is_priced_at_once_by_the_other(
    shared_settings: Settings,
) -> None:
    clock = FakeClock()
    async with on_the_clock(shared_settings, clock) as a, on_the_clock(shared_settings, clock) as b:
        shop = await Shop(a, await new_staff(a)).stock()
        assert await cached(b, shop.ids) == PLAIN

        sale = await shop.sale(clock, "50", starts=-1, ends=1, category_ids=[shop.ids["kitchen"]])
        assert await cached(b, shop.ids) == ON_SALE
        ended = await a.patch(
            f"/api/sales/{sale}/", json={"ends_at": clock.now().isoformat()}, headers=shop.staff.headers
        )
        assert ended.json()["status"] == "ended"
        assert await cached(b, shop.ids) == PLAIN
        customer = await new_account(b)
        assert await seen_by(b, shop.ids, customer.headers) == PLAIN


# --- what it costs ------------------------------------------------------------------------------------


async def test_a_page_asks_for_sales_once_and_only_while_one_runs(database_url: str) -> None:
    """With the cache off every read is computed: a page of 30 products costs the same statements
    with no sale, or one still to come, and exactly one more while one runs, whatever the page size."""
    clock = FakeClock()
    async with on_the_clock(make_settings(database_url, cache_enabled=False), clock) as client:
        shop = await Shop(client, await new_staff(client)).stock()
        for n in range(30):
            sent = {"name": f"Pan {n}", "sku": f"PAN-{n}", "price": "3.00", "category": shop.ids["pots"]}
            assert (
                await client.post("/api/products/", json=sent, headers=shop.staff.headers)
            ).status_code == 201

        async def statements(path: str) -> int:
            await client.get(path)  # warm up
            with sql_statements(client) as seen:
                assert (await client.get(path)).status_code == 200
            return len(seen)

        pages = (
            "/api/products/?page_size=5",
            "/api/products/?page_size=40",
            f"/api/products/{shop.ids['pot']}/",
        )
        plain = [await statements(path) for path in pages]
        await shop.sale(clock, "50", starts=1, ends=2, category_ids=[shop.ids["kitchen"]])
        assert [await statements(path) for path in pages] == plain
        clock.advance(HOUR)
        assert [await statements(path) for path in pages] == [n + 1 for n in plain]
        assert (await client.get("/api/products/?page_size=40")).json()["results"][0][
            "final_price"
        ] == "10.00"
