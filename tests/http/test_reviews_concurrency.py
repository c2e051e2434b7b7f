"""Reviews under contention, on PostgreSQL with real parallel transactions: requests started
together (asyncio.gather on the app's own event loop, each request its own unit of work on its own
pooled connection). The products' rating totals always equal a recount from the reviews table.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shop_core.domain.reviews import rating_average
from tests.http.conftest import Account, in_app
from tests.http.reviews_support import ReviewWorld
from tests.http.test_reviews import open_world

Request = tuple[str, str, dict[str, Any] | None, Account]


@pytest.fixture
async def world(pg_url: str) -> AsyncIterator[ReviewWorld]:
    async for opened in open_world(pg_url):
        yield opened


async def all_at_once(world: ReviewWorld, requests: list[Request]) -> list[httpx.Response]:
    """Send every request at the same time to the app, and wait for every answer."""

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=world.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            return list(
                await asyncio.gather(
                    *(
                        client.request(method, path, json=body, headers=who.headers)
                        for method, path, body, who in requests
                    )
                )
            )

    answers: list[httpx.Response] = await in_app(world.client, burst)
    return answers


async def reviewers(world: ReviewWorld, product: dict[str, Any], n: int) -> list[Account]:
    found = []
    for i in range(n):
        who = await world.customer(f"Reviewer{i}", "Parallel")
        await world.delivered(who, product)
        found.append(who)
    return found


async def test_twelve_customers_reviewing_at_once_all_count(world: ReviewWorld) -> None:
    lamp = await world.product()
    customers = await reviewers(world, lamp, 12)
    ratings = [1, 2, 3, 4, 5, 5, 4, 5, 2, 5, 3, 4]  # 43 in all
    path = f"/api/products/{lamp['id']}/reviews/"
    answers = await all_at_once(
        world, [("POST", path, {"rating": r}, who) for r, who in zip(ratings, customers, strict=True)]
    )
    assert [a.status_code for a in answers] == [201] * 12, [a.text for a in answers if a.status_code != 201]
    assert await world.totals(lamp) == await world.recount(lamp) == (12, 43)
    shown = await world.shown(lamp)
    assert (shown["rating_count"], shown["rating_average"]) == (12, "3.6")  # 3.583…, half-up
    assert rating_average(43, 12) == Decimal("3.6")


async def test_one_customer_posting_twice_at_once_stores_one_review(world: ReviewWorld) -> None:
    lamp = await world.product()
    [ada] = await reviewers(world, lamp, 1)
    path = f"/api/products/{lamp['id']}/reviews/"
    answers = await all_at_once(world, [("POST", path, {"rating": r}, ada) for r in (5, 4, 3, 2, 1)])
    assert Counter(a.status_code for a in answers) == {201: 1, 409: 4}
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"review_exists"}
    [stored] = await world.sql("SELECT rating FROM reviews WHERE product_id = :id", id=lamp["id"])
    [made] = [a.json() for a in answers if a.status_code == 201]
    assert stored[0] == made["rating"]
    assert await world.totals(lamp) == await world.recount(lamp) == (1, made["rating"])


async def test_moderation_edits_and_deletes_racing_new_reviews_keep_exact_totals(world: ReviewWorld) -> None:
    lamp = await world.product()
    early = await reviewers(world, lamp, 6)
    late = await reviewers(world, lamp, 6)
    reviews = [await world.review(who, lamp, rating=1 + i % 5) for i, who in enumerate(early)]
    staff = world.staff

    def path(review: dict[str, Any]) -> str:
        return f"/api/reviews/{review['id']}/"

    requests: list[Request] = [
        ("POST", f"/api/products/{lamp['id']}/reviews/", {"rating": 1 + i % 5}, who)
        for i, who in enumerate(late)
    ]
    for flips in range(4):  # each review toggled by staff, again and again, at the same time
        requests += [("PATCH", path(r), {"is_published": flips % 2 == 1}, staff) for r in reviews[:4]]
    requests += [("PATCH", path(reviews[4]), {"rating": n}, early[4]) for n in (2, 5, 3)]  # the author
    requests += [("PATCH", path(reviews[4]), {"is_published": False}, staff)]
    requests += [("DELETE", path(reviews[5]), None, early[5]), ("DELETE", path(reviews[5]), None, staff)]
    answers = await all_at_once(world, requests)

    codes = Counter(a.status_code for a in answers)
    assert codes[500] == 0, [a.text for a in answers if a.status_code >= 500]
    assert codes[201] == 6
    assert codes[204] == 1  # one of the two deletes; the other found nothing (404)
    assert codes[404] == 1
    assert codes[200] == len(requests) - 8
    assert await world.totals(lamp) == await world.recount(lamp)
    count, total = await world.recount(lamp)
    shown = await world.shown(lamp)
    assert (shown["rating_count"], shown["rating_average"]) == (
        count,
        None if count == 0 else str(rating_average(total, count)),
    )
