"""`GET /metrics` as Prometheus sees it: requests counted by route template and status, the latency
histogram, the database pool read at scrape time, catalog cache hits and misses, job attempts,
settled payments; the token that guards it, the switch that removes it. The real app throughout."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from shop_core.settings import Settings
from tests.conftest import build_app, make_settings
from tests.http.conftest import (
    Catalog,
    Client,
    assert_error,
    bearer,
    engine_of,
    in_app,
    open_catalog,
    reads_of,
    register,
    shop_of,
    unique_email,
)

REQUESTS = "shop_http_requests_total"
LATENCY = "shop_http_request_duration_seconds"
PRODUCT_ROUTE = "/api/products/{product_id}"
TOKEN = "metrics-token-" + uuid.uuid4().hex
ADDRESS = {
    "full_name": "Rahim Uddin",
    "line1": "House 12, Road 5",
    "city": "Dhaka",
    "postal_code": "1207",
    "country": "BD",
    "phone": "+8801700000000",
}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Scrape:
    """One scrape, parsed: the value of each sample by its name and labels."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == CONTENT_TYPE_LATEST
        self.text = response.text
        self.samples: Samples = {}
        for family in text_string_to_metric_families(self.text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, metric: str, /, **labels: str) -> float:
        """The sample's value; 0 when the series does not exist (yet)."""
        return self.samples.get((metric, frozenset(labels.items())), 0.0)

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for (found, labels) in self.samples if found == name]

    def has(self, name: str) -> bool:
        return any(found == name for found, _ in self.samples)


async def scrape(client: Client, headers: dict[str, str] | None = None) -> Scrape:
    return Scrape(await client.get("/metrics", headers=headers))


def requests(scraped: Scrape, method: str, route: str, status: int) -> float:
    return scraped.value(REQUESTS, method=method, route=route, status=str(status))


@asynccontextmanager
async def app_on(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(build_app(settings)) as client:
        yield client


@pytest.fixture
async def catalog(sqlite_url: str) -> AsyncIterator[Catalog]:
    """The app (metrics on, the default; the in-process catalog cache on) with staff and a customer."""
    async with open_catalog(make_settings(sqlite_url)) as opened:
        yield opened


# --- requests ----------------------------------------------------------------------------------------


async def test_requests_are_counted_by_route_template_method_and_status(catalog: Catalog) -> None:
    client = catalog.client
    product = await catalog.product("Lamp")
    before = await scrape(client)

    for _ in range(3):
        assert (await client.get(f"/api/products/{product['id']}/")).status_code == 200
    assert (await client.get("/api/products/987654321/")).status_code == 404  # a route, no product
    assert_error(await client.get("/api/products/?page=0"), 400)
    assert_error(await client.get(f"/no/such/path/{product['id']}"), 404)  # no route at all
    assert (await client.request("BREW", "/api/products/")).status_code == 405  # a made-up method

    after = await scrape(client)

    def moved(method: str, route: str, status: int) -> float:
        return requests(after, method, route, status) - requests(before, method, route, status)

    assert moved("GET", PRODUCT_ROUTE, 200) == 3
    assert moved("GET", PRODUCT_ROUTE, 404) == 1
    assert moved("GET", "/api/products", 400) == 1
    assert moved("GET", "unmatched", 404) == 1
    assert moved("other", "unmatched", 405) == 1
    # the writes that made the product were counted too, as staff made them
    assert requests(after, "POST", "/api/products", 201) >= 1
    # the previous scrape is itself a request, answered before this one was
    assert moved("GET", "/metrics", 200) == 1

    routes = {labels["route"] for labels in after.labels_of(REQUESTS)}
    methods = {labels["method"] for labels in after.labels_of(REQUESTS)}
    assert not any(str(product["id"]) in route or "987654321" in route for route in routes), routes
    assert not any("/no/such" in route for route in routes), routes
    assert "BREW" not in methods
    assert f"/api/products/{product['id']}" not in after.text


async def test_the_latency_histogram_has_buckets_a_count_and_a_sum(catalog: Catalog) -> None:
    client = catalog.client
    product = await catalog.product("Lamp")
    for _ in range(4):
        assert (await client.get(f"/api/products/{product['id']}/")).status_code == 200
    scraped = await scrape(client)
    labels = {"method": "GET", "route": PRODUCT_ROUTE, "status": "200"}

    count = scraped.value(f"{LATENCY}_count", **labels)
    assert count == scraped.value(REQUESTS, **labels) == 4
    assert scraped.value(f"{LATENCY}_sum", **labels) > 0
    buckets = sorted(
        (float(found["le"]), scraped.value(f"{LATENCY}_bucket", **found))
        for found in scraped.labels_of(f"{LATENCY}_bucket")
        if {k: v for k, v in found.items() if k != "le"} == labels
    )
    assert len(buckets) > 5
    assert buckets[-1] == (float("inf"), count)
    cumulative = [n for _, n in buckets]
    assert cumulative == sorted(cumulative)  # cumulative, as Prometheus buckets are


# --- the database pool ---------------------------------------------------------------------------------


async def test_the_database_pool_is_read_at_scrape_time(pg_url: str) -> None:
    async with app_on(make_settings(pg_url, database_pool_size=7)) as client:
        assert (await client.get("/api/products/")).status_code == 200  # opens a connection
        at_rest = await scrape(client)
        assert at_rest.value("shop_db_pool_size", pool="main") == 7
        assert at_rest.value("shop_db_pool_connections_in_use", pool="main") == 0
        assert at_rest.value("shop_db_pool_connections_idle", pool="main") >= 1
        assert at_rest.labels_of("shop_db_pool_overflow") == [{"pool": "main"}]

        held = engine_of(client).connect()  # a connection checked out until closed
        await in_app(client, held.start)
        try:
            busy = await scrape(client)
        finally:
            await in_app(client, held.close)
        assert busy.value("shop_db_pool_connections_in_use", pool="main") == 1

        assert (await scrape(client)).value("shop_db_pool_connections_in_use", pool="main") == 0


async def test_the_catalog_read_pool_is_read_at_scrape_time_beside_the_main_pool(pg_url: str) -> None:
    """On PostgreSQL the catalog's reads have connections of their own (`pg_reads`): the same
    gauges show them, as `pool="reads"`."""
    async with app_on(make_settings(pg_url, database_pool_size=7)) as client:
        reads = reads_of(client)
        assert reads is not None
        before = await scrape(client)  # no read yet: none open
        assert {"pool": "reads"} in before.labels_of("shop_db_pool_connections_idle")
        assert before.value("shop_db_pool_connections_idle", pool="reads") == 0
        assert (await client.get("/api/products/")).status_code == 200  # a read: opens a read connection
        at_rest = await scrape(client)
        assert at_rest.value("shop_db_pool_size", pool="reads") == 7
        assert at_rest.value("shop_db_pool_connections_in_use", pool="reads") == 0
        assert at_rest.value("shop_db_pool_connections_idle", pool="reads") == 1

        held = reads.connect()  # a read connection, held from its first statement to the end
        await in_app(client, held.execute, sa.select(sa.literal(1)))
        try:
            busy = await scrape(client)
        finally:
            await in_app(client, held.__aexit__, None, None, None)
        assert busy.value("shop_db_pool_connections_in_use", pool="reads") == 1
        assert busy.value("shop_db_pool_connections_idle", pool="reads") == 0
        assert busy.value("shop_db_pool_connections_in_use", pool="main") == 0  # not the engine's

        after = await scrape(client)
        assert after.value("shop_db_pool_connections_in_use", pool="reads") == 0
        assert after.value("shop_db_pool_connections_idle", pool="reads") == 1


# --- the catalog cache ---------------------------------------------------------------------------------


async def test_catalog_cache_hits_and_misses_are_counted(catalog: Catalog) -> None:
    client = catalog.client
    product = await catalog.product("Lamp")  # a write: nothing about the catalog is cached now
    before = await scrape(client)

    first = await client.get(f"/api/products/{product['id']}/")
    second = await client.get(f"/api/products/{product['id']}/")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content

    after = await scrape(client)
    name = "shop_catalog_cache_lookups_total"
    assert after.value(name, result="miss") - before.value(name, result="miss") == 1
    assert after.value(name, result="hit") - before.value(name, result="hit") == 1


# --- jobs ----------------------------------------------------------------------------------------------


async def test_a_job_attempt_is_counted_with_its_name_and_status(client: Client) -> None:
    before = await scrape(client)
    assert (await register(client, unique_email())).status_code == 201  # records the welcome email
    await in_app(client, shop_of(client).jobs.drain_jobs)  # the in-process queue runs it

    after = await scrape(client)
    done = {"name": "email.welcome", "status": "complete"}
    attempts = "shop_job_attempts_total"
    assert after.value(attempts, **done) - before.value(attempts, **done) == 1
    seconds = "shop_job_attempt_duration_seconds"
    assert after.value(f"{seconds}_count", **done) - before.value(f"{seconds}_count", **done) == 1
    assert after.value(f"{seconds}_sum", **done) > 0
    assert after.value(f"{seconds}_bucket", **done, le="+Inf") == after.value(f"{seconds}_count", **done)
    assert {labels["status"] for labels in after.labels_of(attempts)} == {"complete"}


# --- payments ------------------------------------------------------------------------------------------


async def test_a_cash_payment_confirmed_by_staff_is_counted(sqlite_url: str) -> None:
    async with open_catalog(make_settings(sqlite_url, currency="BDT")) as catalog:
        client = catalog.client
        lamp = await catalog.product("Lamp", "25.00", stock_quantity=5)
        placed = await client.post(
            "/api/orders/",
            json={
                "items": [{"product_id": lamp["id"], "quantity": 1}],
                "shipping_address": ADDRESS,
                "payment_method": "cod",
            },
            headers=catalog.customer.headers,
        )
        assert placed.status_code == 201, placed.text
        before = await scrape(client)

        confirmed = await client.post(
            f"/api/orders/{placed.json()['id']}/confirm-cash/", headers=catalog.staff.headers
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["status"] == "succeeded"
        again = await client.post(
            f"/api/orders/{placed.json()['id']}/confirm-cash/", headers=catalog.staff.headers
        )
        assert_error(again, 409, "order_not_payable")  # settled once, counted once

        after = await scrape(client)
        name = "shop_payments_settled_total"
        cod = {"gateway": "cod", "outcome": "succeeded"}
        assert after.value(name, **cod) - before.value(name, **cod) == 1
        assert after.labels_of(name) == [cod]


# --- protection, switching off, the schema ---------------------------------------------------------------


async def test_a_metrics_token_is_required_when_one_is_set(sqlite_url: str) -> None:
    async with app_on(make_settings(sqlite_url, metrics_token=TOKEN)) as client:
        refused = [
            await client.get("/metrics"),
            await client.get("/metrics", headers=bearer("wrong-" + TOKEN)),
            await client.get("/metrics", headers=bearer(TOKEN[:-1])),
            await client.get("/metrics", headers=bearer(TOKEN + "x")),
            await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}),
            await client.get("/metrics", headers={"Authorization": TOKEN}),
            # Only the Bearer scheme, whatever word comes first.
            await client.get("/metrics", headers={"Authorization": f"Token {TOKEN}"}),
            await client.get("/metrics", headers={"Authorization": f"Digest {TOKEN}"}),
            await client.get("/metrics", headers={"Authorization": f"Bearerx {TOKEN}"}),
            await client.get("/metrics", headers={"Authorization": f"Bearer{TOKEN}"}),
            await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN} {TOKEN}"}),
            await client.get("/metrics", headers={"Authorization": "Bearer"}),
            # The path's other spelling is the same endpoint, with the same lock.
            await client.get("/metrics/"),
            await client.get("/metrics/", headers={"Authorization": f"Basic {TOKEN}"}),
        ]
        for response in refused:
            assert_error(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in response.text

        # The scheme is case-insensitive (RFC 7235).
        for scheme in ("bearer", "BEARER", "bEaReR"):
            answer = await client.get("/metrics", headers={"Authorization": f"{scheme} {TOKEN}"})
            assert answer.status_code == 200, scheme
        scraped = await scrape(client, bearer(TOKEN))
        assert scraped.has(REQUESTS)
        assert scraped.has("shop_catalog_cache_lookups_total")
        assert TOKEN not in scraped.text
        assert requests(scraped, "GET", "/metrics", 401) == len(refused)
        # the app's own bearer tokens are not what this endpoint takes
        assert (await client.get("/api/products/")).status_code == 200


async def test_without_a_token_the_endpoint_is_open(client: Client) -> None:
    assert (await client.get("/metrics")).status_code == 200


async def test_metrics_switched_off_means_no_endpoint_and_nothing_recorded(sqlite_url: str) -> None:
    async with app_on(make_settings(sqlite_url, metrics_enabled=False)) as client:
        assert_error(await client.get("/metrics"), 404)
        assert shop_of(client).operations.metrics_registry is None
        assert (await client.get("/api/products/")).status_code == 200


async def test_metrics_are_not_in_the_openapi_schema(client: Client) -> None:
    schema: dict[str, Any] = (await client.get("/api/schema/openapi.json")).json()
    assert schema["paths"]
    assert not any(path.startswith("/metrics") for path in schema["paths"])


async def test_each_app_counts_its_own_requests(sqlite_url: str) -> None:
    """A registry per app and per bootstrap: two apps in one process neither clash nor share."""
    settings = make_settings(sqlite_url)
    async with app_on(settings) as one, app_on(settings) as other:
        for _ in range(2):
            assert (await one.get("/api/products/")).status_code == 200
        assert requests(await scrape(one), "GET", "/api/products", 200) == 2
        assert requests(await scrape(other), "GET", "/api/products", 200) == 0
        assert shop_of(one).operations.metrics_registry is not shop_of(other).operations.metrics_registry
