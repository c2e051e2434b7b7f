"""The catalog cache as clients notice it: a write is read back at once, on the same instance and
through another one sharing Redis; the cache really spares the database; a stampede on a cold key
computes it once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.services.cache_aside import VERSION_KEY
from shop_core.services.catalog_commands import ChangeStock
from shop_core.settings import Settings
from tests.conftest import build_app, make_settings
from tests.http.conftest import (
    Account,
    Catalog,
    Client,
    assert_error,
    get_concurrently,
    in_app,
    new_staff,
    open_catalog,
    shop_of,
    sql_statements,
)


@contextmanager
def catalog_sql(client: Client) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs, but for the catalog version's check
    (once a second, so it may fall due in any block when the machine is slow)."""
    with sql_statements(client) as seen:
        yield seen
    seen[:] = [statement for statement in seen if "catalog_version" not in statement]


async def settled(*clients: Client) -> None:
    """Wait until each app's job relay is idle and the jobs it runs in-process are done (waited
    for on the app's own event loop, where the relay's task runs)."""
    for client in clients:
        await in_app(client, shop_of(client).jobs.drain_jobs)


# --- a write, then a read ---------------------------------------------------------------------------


async def public_reads(client: Client, ids: dict[str, int]) -> dict[str, httpx.Response]:
    """Everything an anonymous client may read about the product and its categories (all cached)."""
    return {
        "detail": await client.get(f"/api/products/{ids['pot']}/"),
        "list": await client.get("/api/products/"),
        "in_kitchen": await client.get(f"/api/products/?category={ids['kitchen']}"),
        "in_stock": await client.get("/api/products/?in_stock=true"),
        "kitchen": await client.get(f"/api/categories/{ids['kitchen']}/"),
        "pots": await client.get(f"/api/categories/{ids['pots']}/"),
        "categories": await client.get("/api/categories/"),
    }


def results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found


async def writes_are_read_back(writer: Client, staff: Account, reader: Client) -> None:
    """Each write through `writer` is seen by the very next read through `reader`, although every
    read before it was cached by `reader`."""
    headers = staff.headers

    async def write(method: str, path: str, json: Any = None, status: int = 200) -> None:
        response = await writer.request(method, path, json=json, headers=headers)
        assert response.status_code == status, response.text

    async def cached_reads() -> dict[str, httpx.Response]:
        found = await public_reads(reader, ids)
        await settled(writer, reader)  # a write's jobs (a low-stock alert) run here, not counted below
        with catalog_sql(reader) as seen:
            again = await public_reads(reader, ids)
        # what exists is cached (so the next read could be stale); a 404 may be looked up each time
        misses = [k for k, r in found.items() if r.status_code != 200]
        assert len(seen) <= len(misses), ("the reader does not cache: this would prove nothing", seen)
        assert {k: (r.status_code, r.content) for k, r in again.items()} == {
            k: (r.status_code, r.content) for k, r in found.items()
        }
        return found

    kitchen = (await writer.post("/api/categories/", json={"name": "Kitchen"}, headers=headers)).json()
    pots = (
        await writer.post("/api/categories/", json={"name": "Pots", "parent": kitchen["id"]}, headers=headers)
    ).json()
    pot = (
        await writer.post(
            "/api/products/",
            json={"name": "Pot", "sku": "POT-1", "price": "10.00", "category": pots["id"]},
            headers=headers,
        )
    ).json()
    ids = {"kitchen": kitchen["id"], "pots": pots["id"], "pot": pot["id"]}
    before = await cached_reads()
    assert before["detail"].json()["price"] == "10.00"
    assert results(before["in_stock"]) == []

    await write("PATCH", f"/api/products/{pot['id']}/", {"price": "12.50", "discount_percentage": "10"})
    seen = await cached_reads()
    assert (seen["detail"].json()["price"], seen["detail"].json()["final_price"]) == ("12.50", "11.25")
    assert [p["price"] for p in results(seen["list"])] == ["12.50"]
    assert [p["price"] for p in results(seen["in_kitchen"])] == ["12.50"]
    assert [p["final_price"] for p in seen["pots"].json()["products"]["results"]] == ["11.25"]

    await write("PATCH", f"/api/products/{pot['id']}/", {"stock_quantity": 7})
    seen = await cached_reads()
    assert seen["detail"].json()["stock_quantity"] == 7
    assert [p["stock_quantity"] for p in results(seen["in_stock"])] == [7]

    restock = ChangeStock(sku="POT-1", reason="restock", delta=5)
    await in_app(writer, shop_of(writer).stock.change_stock, restock, Actor("test", is_staff=True))
    seen = await cached_reads()
    assert seen["detail"].json()["stock_quantity"] == 12
    assert [p["stock_quantity"] for p in results(seen["list"])] == [12]

    await in_app(
        writer,
        shop_of(writer).stock.change_stock,
        ChangeStock(sku="POT-1", reason="damage", quantity=0),
        Actor("t", is_staff=True),
    )
    seen = await cached_reads()
    assert seen["detail"].json()["stock_quantity"] == 0
    assert results(seen["in_stock"]) == []

    await write("PATCH", f"/api/categories/{pots['id']}/", {"name": "Pans"})
    seen = await cached_reads()
    assert seen["detail"].json()["category_name"] == "Pans"
    assert [p["category_name"] for p in results(seen["list"])] == ["Pans"]
    assert seen["pots"].json()["name"] == "Pans"
    assert [c["name"] for c in seen["kitchen"].json()["children"]] == ["Pans"]
    assert [c["name"] for c in results(seen["categories"])] == ["Kitchen", "Pans"]

    lid = (
        await writer.post(
            "/api/products/",
            json={
                "name": "Lid",
                "sku": "LID-1",
                "price": "3.00",
                "category": pots["id"],
                "stock_quantity": 1,
            },
            headers=headers,
        )
    ).json()
    seen = await cached_reads()
    assert [p["name"] for p in results(seen["list"])] == ["Pot", "Lid"]
    assert [p["name"] for p in results(seen["in_stock"])] == ["Lid"]
    assert seen["kitchen"].json()["products"]["count"] == 2

    await write("PATCH", f"/api/products/{pot['id']}/", {"is_active": False})
    seen = await cached_reads()
    assert_error(seen["detail"], 404)
    assert [p["name"] for p in results(seen["list"])] == ["Lid"]
    assert seen["pots"].json()["products"]["count"] == 1

    await write("PATCH", f"/api/products/{pot['id']}/", {"is_active": True})
    seen = await cached_reads()
    assert seen["detail"].status_code == 200

    await write("DELETE", f"/api/products/{pot['id']}/", status=204)
    seen = await cached_reads()
    assert_error(seen["detail"], 404)
    assert [p["name"] for p in results(seen["in_kitchen"])] == ["Lid"]

    await write("PATCH", f"/api/products/{lid['id']}/", {"category": kitchen["id"]})
    seen = await cached_reads()
    assert seen["pots"].json()["products"]["count"] == 0
    assert [p["category_name"] for p in results(seen["list"])] == ["Kitchen"]

    await write("DELETE", f"/api/categories/{pots['id']}/", status=204)
    seen = await cached_reads()
    assert_error(seen["pots"], 404)
    assert seen["kitchen"].json()["children"] == []
    assert [c["name"] for c in results(seen["categories"])] == ["Kitchen"]

    await write("PUT", f"/api/categories/{kitchen['id']}/", {"name": "Cookware"})
    seen = await cached_reads()
    assert seen["kitchen"].json()["name"] == "Cookware"
    assert [p["category_name"] for p in results(seen["list"])] == ["Cookware"]


async def test_a_write_is_read_back_at_once_with_the_in_process_cache(catalog: Catalog) -> None:
    await writes_are_read_back(catalog.client, catalog.staff, catalog.client)


@pytest.fixture
def shared_settings(pg_url: str, redis_url: str, redis_prefix: str) -> Settings:
    """PostgreSQL and Redis, both shared by every instance built on these settings."""
    return make_settings(pg_url, redis_url=redis_url, redis_key_prefix=redis_prefix)


@asynccontextmanager
async def two_instances(settings: Settings) -> AsyncIterator[tuple[Client, Client]]:
    """Two apps sharing PostgreSQL and Redis. Their clocks for the database's catalog version
    stand still: it is read once, and never falls due again in the middle of a test (as it would
    on a slow machine, recomputing a page the test counts as cached), so Redis alone must carry
    every write from one instance to the other."""
    async with AsyncTestClient(build_app(settings)) as a, AsyncTestClient(build_app(settings)) as b:
        assert shop_of(a) is not shop_of(b)
        assert shop_of(a).catalog_cache is not shop_of(b).catalog_cache
        for client in (a, b):
            shop_of(client).catalog_cache.monotonic = lambda: 0.0
        yield a, b


async def test_a_write_is_read_back_at_once_with_redis(shared_settings: Settings) -> None:
    async with open_catalog(shared_settings) as catalog:
        assert type(shop_of(catalog.client).ports.cache).__name__ == "RedisCache"
        await writes_are_read_back(catalog.client, catalog.staff, catalog.client)


async def test_a_write_through_one_instance_is_read_back_through_another(shared_settings: Settings) -> None:
    async with two_instances(shared_settings) as (a, b):
        staff = await new_staff(a)

        await writes_are_read_back(a, staff, b)


async def test_each_instance_writes_and_the_other_reads(shared_settings: Settings) -> None:
    async with two_instances(shared_settings) as (a, b):
        staff = await new_staff(a)
        made = await a.post(
            "/api/products/", json={"name": "Pot", "sku": "POT-1", "price": "1.00"}, headers=staff.headers
        )
        path = f"/api/products/{made.json()['id']}/"

        for n, (writer, reader) in enumerate([(a, b), (b, a), (a, b), (b, b), (a, a)]):
            assert (await reader.get(path)).status_code == 200  # cached by the reader
            price = f"{n + 2}.00"
            patched = await writer.patch(path, json={"price": price}, headers=staff.headers)
            assert patched.status_code == 200
            assert (await reader.get(path)).json()["price"] == price
            assert (await reader.get("/api/products/")).json()["results"][0]["price"] == price


# --- the cache really spares the database -------------------------------------------------------------

READS = (
    "/api/products/",
    "/api/products/1/",
    "/api/categories/",
    "/api/categories/1/",
    "/api/products/?search=pot",
)


async def statements_of_a_repeat(client: Client, path: str, headers: dict[str, str] | None = None) -> int:
    first = await client.get(path, headers=headers)
    with catalog_sql(client) as seen:
        again = await client.get(path, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert first.content == again.content
    return len(seen)


async def test_with_the_cache_on_a_repeated_read_issues_no_sql(catalog: Catalog) -> None:
    kitchen = await catalog.category("Kitchen")
    await catalog.product("Pot", category=kitchen["id"])

    for path in READS:
        assert await statements_of_a_repeat(catalog.client, path) == 0, path
        # customers are served from the same cache; only their token is looked up
        customer = await statements_of_a_repeat(catalog.client, path, catalog.customer.headers)
        staff = await statements_of_a_repeat(catalog.client, path, catalog.staff.headers)
        if path != "/api/categories/":  # the one read that is cached for staff too
            assert customer < staff, (path, customer, staff)


@pytest.fixture
async def uncached(database_url: str) -> AsyncIterator[Catalog]:
    async with open_catalog(make_settings(database_url, cache_enabled=False)) as opened:
        yield opened


async def test_with_the_cache_off_every_read_issues_sql(uncached: Catalog) -> None:
    kitchen = await uncached.category("Kitchen")
    await uncached.product("Pot", category=kitchen["id"])
    computations = shop_of(uncached.client).catalog_cache.computations

    for path in READS:
        assert await statements_of_a_repeat(uncached.client, path) >= 1, path

    assert shop_of(uncached.client).catalog_cache.computations == computations + 2 * len(READS)


async def test_a_write_after_a_cached_read_reaches_the_database_only_once_more(catalog: Catalog) -> None:
    made = await catalog.product("Pot")
    path = f"/api/products/{made['id']}/"
    assert await statements_of_a_repeat(catalog.client, path) == 0

    await catalog.client.patch(path, json={"price": "2.00"}, headers=catalog.staff.headers)
    with catalog_sql(catalog.client) as seen:
        fresh = await catalog.client.get(path)

    assert fresh.json()["price"] == "2.00"
    assert len(seen) == 1
    assert await statements_of_a_repeat(catalog.client, path) == 0


# --- stampede ---------------------------------------------------------------------------------------------


class ColdStart:
    """Holds every computation of a cached page back until `expected` requests have missed the cache
    and `waiting` instances wait for another's computation, so the requests really overlap: without
    stampede protection each of them would compute, and nobody would wait."""

    def __init__(self, expected: int, waiting: int) -> None:
        self.expected = expected
        self.waiting = waiting
        self.misses = 0
        self.waits = 0
        self.ready = threading.Event()
        self._lock = threading.Lock()

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)
            if self.misses >= self.expected and self.waits >= self.waiting:
                self.ready.set()

    def watch(self, shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
        cache, reader = shop.ports.cache, shop.ports.reader
        real_get, real_wait, real_products = cache.get, cache.wait, reader.products

        async def get(key: str) -> bytes | None:
            value = await real_get(key)
            if value is None and key != VERSION_KEY and not key.endswith(":lock"):
                self._count("misses")
            return value

        async def wait(key: str, at_most: float) -> bool:
            self._count("waits")
            return await real_wait(key, at_most)

        async def products(*args: Any, **kwargs: Any) -> Any:
            await asyncio.to_thread(self.ready.wait, 30)
            return await real_products(*args, **kwargs)

        monkeypatch.setattr(cache, "get", get)
        monkeypatch.setattr(cache, "wait", wait)
        monkeypatch.setattr(reader, "products", products)


async def stampede(clients: list[Client], path: str, each: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """`each` concurrent GETs of `path` through every client; the computations each instance made.
    With several instances, the computation waits until another instance waits for it."""
    cold = ColdStart(each * len(clients), waiting=len(clients) - 1)
    before = [shop_of(c).catalog_cache.computations for c in clients]
    for client in clients:
        cold.watch(shop_of(client), monkeypatch)

    batches = await asyncio.gather(*(asyncio.to_thread(get_concurrently, c, path, each) for c in clients))

    responses = [r for batch in batches for r in batch]
    assert cold.ready.is_set(), f"only {cold.misses} requests overlapped, {cold.waits} instances waited"
    assert all(r.status_code == 200 for r in responses), {r.status_code for r in responses}
    assert len({r.content for r in responses}) == 1
    assert responses[0].json()["count"] == 7
    return [shop_of(c).catalog_cache.computations - b for c, b in zip(clients, before, strict=True)]


async def seven_products(client: Client, staff: Account) -> None:
    for i in range(7):
        sent = {"name": f"Product {i}", "sku": f"P-{i}", "price": f"{i + 1}.00"}
        assert (await client.post("/api/products/", json=sent, headers=staff.headers)).status_code == 201


async def test_a_stampede_computes_a_cold_page_once_with_the_in_process_cache(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seven_products(catalog.client, catalog.staff)

    computations = await stampede(
        [catalog.client], "/api/products/?page_size=5&ordering=name", 20, monkeypatch
    )

    assert computations == [1]


async def test_a_stampede_computes_a_cold_page_once_with_redis(
    shared_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_catalog(shared_settings) as catalog:
        await seven_products(catalog.client, catalog.staff)

        computations = await stampede(
            [catalog.client], "/api/products/?page_size=5&ordering=name", 20, monkeypatch
        )

        assert computations == [1]


async def test_a_stampede_across_two_instances_computes_a_cold_page_once(
    shared_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with two_instances(shared_settings) as (a, b):
        await seven_products(a, await new_staff(a))

        computations = await stampede([a, b], "/api/products/?page_size=5&ordering=-price", 10, monkeypatch)

        assert sorted(computations) == [0, 1]


async def test_after_a_stampede_the_page_is_served_from_the_cache(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seven_products(catalog.client, catalog.staff)
    path = "/api/products/?page_size=5"
    await stampede([catalog.client], path, 10, monkeypatch)

    with catalog_sql(catalog.client) as seen:
        again = await catalog.client.get(path)

    assert again.status_code == 200
    assert seen == []
