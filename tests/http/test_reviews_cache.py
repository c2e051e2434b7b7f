"""The catalog cache ON, shared through Redis by two app instances (as two server processes): a
product read and cached by one instance shows its new `rating_count` and `rating_average` at once
after a review is published, edited, unpublished or deleted through the other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import bootstrap
from shop_http import create_app
from tests.conftest import fast_hasher, make_settings
from tests.http.conftest import Client, new_staff, sql_statements
from tests.http.reviews_support import ReviewWorld

pytestmark = pytest.mark.redis


@pytest.fixture
async def two_instances(
    pg_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[tuple[ReviewWorld, Client]]:
    settings = make_settings(
        pg_url, redis_url=redis_url, redis_key_prefix=redis_prefix, reviews_require_approval=True
    )
    assert settings.cache_enabled
    factory = partial(bootstrap, hasher=fast_hasher())
    async with (
        AsyncTestClient(create_app(settings, shop_factory=factory)) as writer,
        AsyncTestClient(create_app(settings, shop_factory=factory)) as reader,
    ):
        yield ReviewWorld(writer, await new_staff(writer)), reader


async def cached_rating(reader: Client, product: dict[str, Any]) -> tuple[str | None, int]:
    """The product as a guest reads it from the other instance, read twice: the second read comes
    from the cache (no statement reads the products table)."""
    first = await reader.get(f"/api/products/{product['id']}/")
    with sql_statements(reader) as seen:
        again = await reader.get(f"/api/products/{product['id']}/")
    assert again.json() == first.json()
    assert not [s for s in seen if "FROM products" in s], seen
    body = first.json()
    return body["rating_average"], body["rating_count"]


async def test_the_cached_product_follows_every_review_change(
    two_instances: tuple[ReviewWorld, Client],
) -> None:
    world, reader = two_instances
    lamp = await world.product()
    ada, bob = await world.customer("Ada"), await world.customer("Bob")
    for who in (ada, bob):
        await world.delivered(who, lamp)
    assert await cached_rating(reader, lamp) == (None, 0)

    # The cache really serves: a change made behind the shop's back (no invalidation) is not seen.
    await world.execute("UPDATE products SET rating_count = 7, rating_sum = 35 WHERE id = :id", id=lamp["id"])
    assert await cached_rating(reader, lamp) == (None, 0)
    await world.execute("UPDATE products SET rating_count = 0, rating_sum = 0 WHERE id = :id", id=lamp["id"])

    first = await world.review(ada, lamp, rating=5)  # waits for approval: nothing shown changes
    second = await world.review(bob, lamp, rating=2)
    assert await cached_rating(reader, lamp) == (None, 0)

    steps: list[tuple[str, str, Any, tuple[str | None, int]]] = [
        ("PATCH", f"/api/reviews/{first['id']}/", ({"is_published": True}, world.staff), ("5.0", 1)),
        ("PATCH", f"/api/reviews/{second['id']}/", ({"is_published": True}, world.staff), ("3.5", 2)),
        ("PATCH", f"/api/reviews/{first['id']}/", ({"rating": 4}, world.staff), ("3.0", 2)),
        ("PATCH", f"/api/reviews/{second['id']}/", ({"body": "Edited"}, bob), ("4.0", 1)),  # waits again
        ("PATCH", f"/api/reviews/{first['id']}/", ({"is_published": False}, world.staff), (None, 0)),
        ("PATCH", f"/api/reviews/{second['id']}/", ({"is_published": True}, world.staff), ("2.0", 1)),
        ("DELETE", f"/api/reviews/{second['id']}/", (None, bob), (None, 0)),
    ]
    for method, path, (body, who), expected in steps:
        answer = await world.client.request(method, path, json=body, headers=who.headers)
        assert answer.status_code in (200, 204), answer.text
        assert await cached_rating(reader, lamp) == expected, (method, path, body)
    assert await world.totals(lamp) == await world.recount(lamp) == (0, 0)
