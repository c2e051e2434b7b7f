"""API.md Part 2 "Reviews": customers who received a product review it once, the author or staff
change or delete the review, staff moderate, and products show `rating_average` and `rating_count`
of the published reviews. Everything runs on SQLite and PostgreSQL; the races are in
test_reviews_concurrency.py, the catalog cache with Redis in test_reviews_cache.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import bootstrap
from shop_http import create_app
from tests.conftest import fast_hasher, make_settings
from tests.http.conftest import INT4_OVERFLOW, assert_error, assert_utc, in_app, new_staff, shop_of
from tests.http.reviews_support import REVIEW_FIELDS, ReviewWorld
from tests.variants_support import add_variants


async def open_world(url: str, **settings: Any) -> AsyncIterator[ReviewWorld]:
    app = create_app(make_settings(url, **settings), shop_factory=partial(bootstrap, hasher=fast_hasher()))
    async with AsyncTestClient(app) as client:
        yield ReviewWorld(client, await new_staff(client))


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[ReviewWorld]:
    async for opened in open_world(database_url):
        yield opened


@pytest.fixture
async def moderated(database_url: str) -> AsyncIterator[ReviewWorld]:
    """The same shop with SHOP_REVIEWS_REQUIRE_APPROVAL on."""
    async for opened in open_world(database_url, reviews_require_approval=True):
        yield opened


# --- writing -----------------------------------------------------------------------------------------


async def test_a_customer_who_received_a_product_reviews_it_and_the_product_shows_it(
    world: ReviewWorld,
) -> None:
    lamp = await world.product("Desk Lamp")
    ada = await world.customer("Ada", "Lovelace")
    await world.delivered(ada, lamp)
    fresh = await world.shown(lamp)
    assert (fresh["rating_average"], fresh["rating_count"]) == (None, 0)

    text = "  <script>alert('x')</script>\nSecond line & more  "
    made = await world.review(ada, lamp, rating=4, title="<b>Bright</b>", body=text)
    assert set(made) == REVIEW_FIELDS
    assert made["product_id"] == lamp["id"]
    assert (made["rating"], made["title"], made["body"]) == (4, "<b>Bright</b>", text)  # exactly as sent
    assert (made["author_name"], made["verified_purchase"], made["is_published"]) == ("Ada L.", True, True)
    assert_utc(made["created_at"])
    assert made["created_at"] == made["updated_at"]
    assert ada.email not in str(made)

    shown = await world.shown(lamp)
    assert (shown["rating_average"], shown["rating_count"]) == ("4.0", 1)
    listed = await world.client.get("/api/products/")
    [row] = [p for p in listed.json()["results"] if p["id"] == lamp["id"]]
    assert (row["rating_average"], row["rating_count"]) == ("4.0", 1)
    page = (await world.public(lamp)).json()
    assert (page["count"], page["results"]) == (1, [made])
    assert await world.totals(lamp) == (1, 4)


async def test_the_author_name_is_never_the_email(world: ReviewWorld) -> None:
    lamp = await world.product()
    nameless, first_only = await world.customer(), await world.customer("Grace")
    for who in (nameless, first_only):
        await world.delivered(who, lamp)
    assert (await world.review(nameless, lamp))["author_name"] == "A customer"
    assert (await world.review(first_only, lamp))["author_name"] == "Grace"


async def test_any_variant_of_the_product_received_counts(world: ReviewWorld) -> None:
    shirt = await world.product("Shirt")
    sizes = await in_app(
        world.client, add_variants, shop_of(world.client), shirt["id"], "Size", {"S": 5, "M": 5}
    )
    ada = await world.customer("Ada")
    body = {
        "items": [{"product_id": shirt["id"], "variant_id": sizes["M"], "quantity": 1}],
        "shipping_address": {
            "full_name": "Ada",
            "line1": "1 Road",
            "city": "London",
            "postal_code": "N1",
            "country": "GB",
        },
        "payment_method": "cod",
    }
    placed = await world.client.post("/api/orders/", json=body, headers=ada.headers)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (
        await world.client.post(f"/api/orders/{order['id']}/confirm-cash/", headers=world.staff.headers)
    ).status_code == 200
    await world.move(order, "processing", "shipped", "delivered")
    assert (await world.review(ada, shirt, rating=3))["verified_purchase"] is True


async def test_only_a_customer_who_received_it_may_review(world: ReviewWorld) -> None:
    lamp, mug = await world.product("Lamp"), await world.product("Mug")
    never = await world.customer("Never")
    shipped = await world.customer("Shipped")
    other = await world.customer("Other")
    order = await world.order(shipped, lamp)
    await world.move(order, "processing", "shipped")  # on its way, not received
    await world.delivered(other, mug)  # received something else
    unpaid = await world.customer("Unpaid")
    await world.order(unpaid, lamp, paid=False)

    for who in (never, shipped, other, unpaid):
        refused = await world.post_review(who, lamp["id"], {"rating": 5})
        assert_error(refused, 403, "review_not_allowed")
    staff_refused = await world.post_review(world.staff, lamp["id"], {"rating": 5})
    assert_error(staff_refused, 403, "review_not_allowed")  # staff review what they received too
    assert_error(await world.post_review(None, lamp["id"], {"rating": 5}), 401)
    assert await world.stored_reviews() == []
    assert await world.totals(lamp) == (0, 0)

    await world.move(order, "delivered")
    assert (await world.post_review(shipped, lamp["id"], {"rating": 5})).status_code == 201


async def test_a_second_review_of_the_same_product_is_409_and_changes_nothing(world: ReviewWorld) -> None:
    lamp = await world.product()
    ada = await world.customer("Ada")
    await world.delivered(ada, lamp)
    await world.delivered(ada, lamp)  # bought twice: still one review
    await world.review(ada, lamp, rating=5, title="First")
    before = await world.stored_reviews()
    again = await world.post_review(ada, lamp["id"], {"rating": 1, "title": "Second"})
    assert_error(again, 409, "review_exists")
    assert await world.stored_reviews() == before
    assert await world.totals(lamp) == (1, 5)


async def test_reviews_of_an_unknown_or_inactive_product_are_404(world: ReviewWorld) -> None:
    lamp = await world.product()
    ada = await world.customer("Ada")
    await world.delivered(ada, lamp)
    await world.review(ada, lamp, rating=5)
    hidden = await world.client.patch(
        f"/api/products/{lamp['id']}/", json={"is_active": False}, headers=world.staff.headers
    )
    assert hidden.status_code == 200, hidden.text
    assert_error(await world.public(lamp), 404, "not_found")
    before = await world.stored_reviews()
    for product_id in (lamp["id"], 999_999):
        assert_error(await world.client.get(f"/api/products/{product_id}/reviews/"), 404, "not_found")
        assert_error(await world.post_review(ada, product_id, {"rating": 4}), 404, "not_found")
    for product_id in (0, INT4_OVERFLOW):
        assert_error(await world.client.get(f"/api/products/{product_id}/reviews/"), 400)
        assert_error(await world.post_review(ada, product_id, {"rating": 4}), 400)
    assert await world.stored_reviews() == before


BAD_BODIES = [
    {"rating": 0},
    {"rating": 6},
    {"rating": -1},
    {"rating": "x"},
    {"rating": 4.5},
    {"rating": True},
    {"rating": None},
    {"rating": 2**70},
    {},
    {"title": "No rating"},
    {"rating": 5, "title": "x" * 121},
    {"rating": 5, "body": "x" * 5001},
    {"rating": 5, "title": 5},
    {"rating": 5, "body": ["a"]},
    {"rating": 5, "title": None},
    {"rating": 5, "title": "two\nlines"},
    {"rating": 5, "title": "nul\x00"},
    {"rating": 5, "body": "nul\x00here"},
    {"rating": 5, "body": "bell\x07"},
    {"rating": 5, "is_published": True},
    {"rating": 5, "verified_purchase": False},
    {"rating": 5, "author_name": "Someone Else"},
    [5],
    "five",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: repr(b)[:40])
async def test_malformed_reviews_are_400_and_store_nothing(world: ReviewWorld, body: Any) -> None:
    lamp = await world.product()
    ada = await world.customer("Ada")
    await world.delivered(ada, lamp)
    assert_error(await world.post_review(ada, lamp["id"], body), 400)
    assert await world.stored_reviews() == []
    assert await world.totals(lamp) == (0, 0)


async def test_text_at_the_limits_is_kept_exactly(world: ReviewWorld) -> None:
    lamp = await world.product()
    ada = await world.customer("Ada")
    await world.delivered(ada, lamp)
    title, body = "é" * 120, ("line\r\n\tindented " * 400)[:5000]
    made = await world.review(ada, lamp, rating=1, title=title, body=body)
    assert (made["title"], made["body"]) == (title, body)
    [(stored_title, stored_body)] = await world.sql("SELECT title, body FROM reviews")
    assert (stored_title, stored_body) == (title, body)


# --- changing, deleting, moderating -----------------------------------------------------------------


async def test_the_author_edits_and_the_rating_follows(world: ReviewWorld) -> None:
    lamp = await world.product()
    ada, bob = await world.customer("Ada"), await world.customer("Bob")
    for who in (ada, bob):
        await world.delivered(who, lamp)
    mine = await world.review(ada, lamp, rating=5)
    await world.review(bob, lamp, rating=4)
    assert (await world.shown(lamp))["rating_average"] == "4.5"

    edited = await world.edit(ada, mine, rating=2, title="Changed my mind", body="It flickers.")
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["rating"], body["title"], body["body"], body["is_published"]) == (
        2,
        "Changed my mind",
        "It flickers.",
        True,
    )
    assert body["updated_at"] >= body["created_at"]
    assert (await world.shown(lamp))["rating_average"] == "3.0"  # (2 + 4) / 2
    assert await world.totals(lamp) == await world.recount(lamp) == (2, 6)


async def test_nobody_else_changes_a_review_and_customers_never_publish(world: ReviewWorld) -> None:
    lamp = await world.product()
    ada, eve = await world.customer("Ada"), await world.customer("Eve")
    await world.delivered(ada, lamp)
    mine = await world.review(ada, lamp, rating=5)
    before = await world.stored_reviews()

    assert_error(await world.edit(eve, mine, rating=1), 403, "permission_denied")
    assert_error(await world.client.delete(f"/api/reviews/{mine['id']}/", headers=eve.headers), 403)
    assert_error(await world.edit(ada, mine, is_published=False), 403, "permission_denied")
    assert_error(await world.client.patch(f"/api/reviews/{mine['id']}/", json={"rating": 1}), 401)
    for bad in (
        {"rating": 0},
        {"rating": "x"},
        {"title": "x" * 121},
        {"body": "x" * 5001},
        {"author_name": "X"},
        {"product_id": 2},
    ):
        assert_error(await world.edit(ada, mine, **bad), 400)
    assert_error(await world.edit(ada, {"id": 999_999}, rating=1), 404, "not_found")
    assert_error(await world.edit(ada, {"id": INT4_OVERFLOW}, rating=1), 400)
    assert await world.stored_reviews() == before
    assert await world.totals(lamp) == (1, 5)

    nothing = await world.edit(ada, mine)  # an empty PATCH changes nothing
    assert nothing.status_code == 200, nothing.text
    assert nothing.json() == mine
    assert await world.stored_reviews() == before

    hidden = await world.edit(world.staff, mine, is_published=False)
    assert hidden.status_code == 200, hidden.text
    assert_error(await world.edit(eve, mine, rating=1), 404, "not_found")  # unpublished: not hers to see
    assert_error(await world.client.get(f"/api/reviews/{mine['id']}/", headers=eve.headers), 404)
    assert (await world.client.get(f"/api/reviews/{mine['id']}/", headers=ada.headers)).status_code == 200


async def test_staff_unpublish_publish_edit_and_delete_and_the_rating_follows(world: ReviewWorld) -> None:
    lamp = await world.product()
    ada, bob = await world.customer("Ada"), await world.customer("Bob")
    for who in (ada, bob):
        await world.delivered(who, lamp)
    first = await world.review(ada, lamp, rating=5)
    second = await world.review(bob, lamp, rating=2)

    assert (await world.edit(world.staff, first, is_published=False)).json()["is_published"] is False
    assert ((await world.shown(lamp))["rating_average"], (await world.shown(lamp))["rating_count"]) == (
        "2.0",
        1,
    )
    assert [r["id"] for r in (await world.public(lamp)).json()["results"]] == [second["id"]]
    again = await world.edit(world.staff, first, is_published=False)  # unpublishing twice counts once
    assert again.status_code == 200
    assert await world.totals(lamp) == (1, 2)

    assert (await world.edit(world.staff, first, is_published=True, rating=4)).status_code == 200
    assert await world.totals(lamp) == await world.recount(lamp) == (2, 6)

    gone = await world.client.delete(f"/api/reviews/{second['id']}/", headers=world.staff.headers)
    assert gone.status_code == 204
    own = await world.client.delete(f"/api/reviews/{first['id']}/", headers=ada.headers)
    assert own.status_code == 204
    assert_error(await world.client.delete(f"/api/reviews/{first['id']}/", headers=ada.headers), 404)
    shown = await world.shown(lamp)
    assert (shown["rating_average"], shown["rating_count"]) == (None, 0)
    assert await world.totals(lamp) == (0, 0)
    assert (await world.review(ada, lamp, rating=3))["rating"] == 3  # a deleted review may be written again


async def test_with_approval_required_reviews_wait_for_staff(moderated: ReviewWorld) -> None:
    world = moderated
    lamp = await world.product()
    ada, eve = await world.customer("Ada"), await world.customer("Eve")
    await world.delivered(ada, lamp)
    made = await world.review(ada, lamp, rating=4, title="Nice")
    assert made["is_published"] is False
    assert (await world.public(lamp)).json()["count"] == 0
    assert (await world.shown(lamp))["rating_count"] == 0

    assert (await world.client.get(f"/api/reviews/{made['id']}/", headers=ada.headers)).json() == made
    assert_error(await world.client.get(f"/api/reviews/{made['id']}/"), 401)
    assert_error(await world.client.get(f"/api/reviews/{made['id']}/", headers=eve.headers), 404)
    assert [
        r["id"] for r in (await world.client.get("/api/reviews/", headers=ada.headers)).json()["results"]
    ] == [made["id"]]
    assert (await world.client.get("/api/reviews/", headers=eve.headers)).json()["count"] == 0
    queue = await world.client.get("/api/reviews/?is_published=false", headers=world.staff.headers)
    assert [r["id"] for r in queue.json()["results"]] == [made["id"]]

    assert (await world.edit(world.staff, made, is_published=True)).json()["is_published"] is True
    assert (await world.client.get(f"/api/reviews/{made['id']}/", headers=eve.headers)).status_code == 200
    assert ((await world.shown(lamp))["rating_average"], (await world.shown(lamp))["rating_count"]) == (
        "4.0",
        1,
    )

    unchanged = await world.edit(ada, made, rating=4, title="Nice")  # the same words: still approved
    assert unchanged.json()["is_published"] is True
    changed = await world.edit(ada, made, body="Now with a body")
    assert changed.json()["is_published"] is False  # new words wait for staff again
    assert (await world.shown(lamp))["rating_count"] == 0
    staff_edit = await world.edit(world.staff, made, is_published=True)
    assert staff_edit.json()["is_published"] is True
    fixed = await world.edit(world.staff, made, title="Nice lamp")  # staff's edits stay published
    assert fixed.json()["is_published"] is True
    assert await world.totals(lamp) == await world.recount(lamp) == (1, 4)
    empty = await world.client.get("/api/reviews/?is_published=false", headers=world.staff.headers)
    assert empty.json()["count"] == 0


# --- lists ---------------------------------------------------------------------------------------------


async def test_ordering_and_paging(world: ReviewWorld) -> None:
    lamp = await world.product()
    made = []
    for n, rating in enumerate((3, 5, 1, 4)):
        who = await world.customer(f"C{n}")
        await world.delivered(who, lamp)
        made.append(await world.review(who, lamp, rating=rating))
    ids = [r["id"] for r in made]

    async def order(query: str) -> list[int]:
        answer = await world.public(lamp, query)
        assert answer.status_code == 200, answer.text
        return [r["id"] for r in answer.json()["results"]]

    assert await order("") == await order("?ordering=-created_at") == ids[::-1]
    assert await order("?ordering=-rating") == [ids[1], ids[3], ids[0], ids[2]]
    assert await order("?ordering=rating") == [ids[2], ids[0], ids[3], ids[1]]
    for bad in (
        "?ordering=stars",
        "?ordering=created_at",
        "?page=0",
        "?page_size=101",
        "?page=x",
    ):
        assert_error(await world.public(lamp, bad), 400)

    first = (await world.public(lamp, "?page_size=3&ordering=rating")).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (4, 3, None)
    assert "page=2" in first["next"]
    assert "ordering=rating" in first["next"]
    second = (await world.public(lamp, "?page=2&page_size=3&ordering=rating")).json()
    assert ([r["id"] for r in second["results"]], second["next"]) == ([ids[1]], None)
    assert_error(await world.public(lamp, "?page=3&page_size=3"), 404)

    staff_view = await world.client.get(
        f"/api/reviews/?product_id={lamp['id']}&ordering=-rating", headers=world.staff.headers
    )
    assert [r["id"] for r in staff_view.json()["results"]] == [ids[1], ids[3], ids[0], ids[2]]
    other = await world.client.get("/api/reviews/?product_id=999999", headers=world.staff.headers)
    assert other.json()["count"] == 0
    for bad in ("?product_id=0", "?is_published=maybe", "?ordering=best"):
        assert_error(await world.client.get(f"/api/reviews/{bad}", headers=world.staff.headers), 400)
    assert_error(await world.client.get("/api/reviews/"), 401)
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert_error(await world.client.get(f"/api/products/{lamp['id']}/reviews/", headers=bad_token), 401)
    assert (
        await world.client.get(f"/api/products/{lamp['id']}/reviews/", headers=world.staff.headers)
    ).json()["count"] == 4
