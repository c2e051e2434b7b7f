"""One contract for every CartStore: SQL on SQLite and PostgreSQL, Redis, and the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis

from shop_core.adapters.redis_cart_store import RedisCartStore
from shop_core.adapters.sql.cart_store import SqlCartStore
from shop_core.adapters.sql.database import open_database
from shop_core.adapters.sql.orm import carts
from shop_core.domain.cart import CartLimits, LineKey
from shop_core.domain.errors import ServiceUnavailable
from shop_core.ports.cart import CartLimitReached, CartStore
from tests.fakes import FakeCartStore
from tests.integration.conftest import FAKE, POSTGRES, REDIS, SQLITE, Backend, resolve_backend

LIMITS = CartLimits(max_quantity=10, max_lines=3)
TTL_SECONDS = int(LIMITS.ttl.total_seconds())
OWNER = "user:1"
PARALLEL_ADDS = 50


@dataclass
class Harness:
    store: CartStore
    backend: Backend
    redis: Redis | None = None

    def key(self, owner: str) -> str:
        return f"{self.backend.redis_prefix}cart:{owner}"


async def open_harness(backend: Backend) -> AsyncIterator[Harness]:
    if backend.is_sql:
        db = open_database(backend.url, pool_size=PARALLEL_ADDS)
        yield Harness(SqlCartStore(db.engine), backend)
        await db.close()
    elif backend.name == "redis":
        client = Redis.from_url(backend.url, client_name=backend.client_name, max_connections=PARALLEL_ADDS)
        yield Harness(RedisCartStore(client, backend.redis_prefix), backend, client)
        await client.aclose()
    else:
        yield Harness(FakeCartStore(), backend)


@pytest.fixture(params=[SQLITE, POSTGRES, REDIS, FAKE])
def backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


@pytest.fixture
async def harness(backend: Backend) -> AsyncIterator[Harness]:
    async for built in open_harness(backend):
        yield built


@pytest.fixture
def store(harness: Harness) -> CartStore:
    return harness.store


@pytest.fixture
def t0() -> datetime:
    """A whole second (so every store keeps it exactly), now-ish so Redis keys live."""
    return datetime.now(UTC).replace(microsecond=0)


async def lines(store: CartStore, now: datetime, owner: str = OWNER) -> dict[LineKey, int] | None:
    cart = await store.get(owner, now, LIMITS)
    return None if cart is None else cart.lines


# --- reads and adds --------------------------------------------------------------------------


async def test_a_missing_cart_is_none(store: CartStore, t0: datetime) -> None:
    assert await store.get(OWNER, t0, LIMITS) is None


async def test_add_creates_the_cart_and_adds_up(store: CartStore, t0: datetime) -> None:
    assert await store.add(OWNER, (7, 0), 2, t0, LIMITS) == 2
    assert await store.add(OWNER, (7, 0), 3, t0, LIMITS) == 5
    assert await store.add(OWNER, (8, 0), 1, t0, LIMITS) == 1
    cart = await store.get(OWNER, t0, LIMITS)
    assert cart is not None
    assert (cart.lines, cart.updated_at) == ({(7, 0): 5, (8, 0): 1}, t0)
    assert await store.get("user:2", t0, LIMITS) is None


async def test_add_up_to_the_maximum_is_allowed(store: CartStore, t0: datetime) -> None:
    assert await store.add(OWNER, (7, 0), LIMITS.max_quantity, t0, LIMITS) == LIMITS.max_quantity


async def test_add_past_the_maximum_changes_nothing(store: CartStore, t0: datetime) -> None:
    await store.add(OWNER, (7, 0), 6, t0, LIMITS)
    later = t0 + timedelta(minutes=5)
    with pytest.raises(CartLimitReached) as refused:
        await store.add(OWNER, (7, 0), 5, later, LIMITS)
    assert refused.value.lines is False
    cart = await store.get(OWNER, later, LIMITS)
    assert cart is not None
    assert (cart.lines, cart.updated_at) == ({(7, 0): 6}, t0)


async def test_a_first_add_past_the_maximum_creates_no_cart(store: CartStore, t0: datetime) -> None:
    with pytest.raises(CartLimitReached) as refused:
        await store.add(OWNER, (7, 0), LIMITS.max_quantity + 1, t0, LIMITS)
    assert refused.value.lines is False
    assert await store.get(OWNER, t0, LIMITS) is None


async def test_add_of_a_new_line_past_the_line_count_changes_nothing(store: CartStore, t0: datetime) -> None:
    for product in (1, 2, 3):
        await store.add(OWNER, (product, 0), 1, t0, LIMITS)
    later = t0 + timedelta(minutes=5)
    with pytest.raises(CartLimitReached) as refused:
        await store.add(OWNER, (4, 0), 1, later, LIMITS)
    assert refused.value.lines is True
    cart = await store.get(OWNER, later, LIMITS)
    assert cart is not None
    assert (cart.lines, cart.updated_at) == ({(1, 0): 1, (2, 0): 1, (3, 0): 1}, t0)
    assert await store.add(OWNER, (2, 0), 1, later, LIMITS) == 2  # an existing line still grows


# --- set, remove, clear ----------------------------------------------------------------------


async def test_set_creates_and_overwrites_a_line(store: CartStore, t0: datetime) -> None:
    await store.set(OWNER, (7, 0), 4, t0, LIMITS)
    assert await lines(store, t0) == {(7, 0): 4}
    await store.set(OWNER, (7, 0), 2, t0, LIMITS)
    await store.set(OWNER, (8, 0), LIMITS.max_quantity, t0, LIMITS)
    assert await lines(store, t0) == {(7, 0): 2, (8, 0): LIMITS.max_quantity}


async def test_set_to_zero_removes_the_line(store: CartStore, t0: datetime) -> None:
    await store.add(OWNER, (7, 0), 4, t0, LIMITS)
    await store.add(OWNER, (8, 0), 1, t0, LIMITS)
    await store.set(OWNER, (7, 0), 0, t0, LIMITS)
    assert await lines(store, t0) == {(8, 0): 1}


async def test_set_past_the_maximum_changes_nothing(store: CartStore, t0: datetime) -> None:
    await store.add(OWNER, (7, 0), 4, t0, LIMITS)
    with pytest.raises(CartLimitReached) as refused:
        await store.set(OWNER, (7, 0), LIMITS.max_quantity + 1, t0, LIMITS)
    assert refused.value.lines is False
    assert await lines(store, t0) == {(7, 0): 4}


async def test_set_of_a_new_line_past_the_line_count_changes_nothing(store: CartStore, t0: datetime) -> None:
    for product in (1, 2, 3):
        await store.add(OWNER, (product, 0), 1, t0, LIMITS)
    later = t0 + timedelta(minutes=5)
    with pytest.raises(CartLimitReached) as refused:
        await store.set(OWNER, (4, 0), 2, later, LIMITS)
    assert refused.value.lines is True
    cart = await store.get(OWNER, later, LIMITS)
    assert cart is not None
    assert (cart.lines, cart.updated_at) == ({(1, 0): 1, (2, 0): 1, (3, 0): 1}, t0)
    await store.set(OWNER, (3, 0), 5, later, LIMITS)  # an existing line may still change
    assert await lines(store, later) == {(1, 0): 1, (2, 0): 1, (3, 0): 5}


async def test_remove_says_whether_the_line_was_there(store: CartStore, t0: datetime) -> None:
    assert await store.remove(OWNER, (7, 0), t0, LIMITS) is False
    await store.add(OWNER, (7, 0), 2, t0, LIMITS)
    await store.add(OWNER, (8, 0), 1, t0, LIMITS)
    assert await store.remove(OWNER, (9, 0), t0, LIMITS) is False
    assert await store.remove(OWNER, (7, 0), t0, LIMITS) is True
    assert await store.remove(OWNER, (7, 0), t0, LIMITS) is False
    assert await lines(store, t0) == {(8, 0): 1}


async def test_clear_empties_only_that_cart(store: CartStore, t0: datetime) -> None:
    await store.clear(OWNER)  # nothing there: no error
    await store.add(OWNER, (7, 0), 2, t0, LIMITS)
    await store.add("guest:abc", (7, 0), 1, t0, LIMITS)
    await store.clear(OWNER)
    assert await store.get(OWNER, t0, LIMITS) is None
    assert await lines(store, t0, "guest:abc") == {(7, 0): 1}
    assert await store.add(OWNER, (7, 0), 1, t0, LIMITS) == 1


async def test_take_returns_the_lines_and_empties_only_that_cart(store: CartStore, t0: datetime) -> None:
    assert await store.take(OWNER, t0, LIMITS) is None
    await store.add(OWNER, (7, 0), 2, t0, LIMITS)
    await store.add(OWNER, (8, 0), 1, t0, LIMITS)
    await store.add("guest:abc", (7, 0), 1, t0, LIMITS)
    taken = await store.take(OWNER, t0 + timedelta(seconds=1), LIMITS)
    assert taken is not None
    assert taken.lines == {(7, 0): 2, (8, 0): 1}
    assert await store.get(OWNER, t0, LIMITS) is None
    assert await store.take(OWNER, t0, LIMITS) is None
    assert await lines(store, t0, "guest:abc") == {(7, 0): 1}


async def test_take_of_an_expired_cart_is_none(store: CartStore, t0: datetime) -> None:
    await store.add(OWNER, (7, 0), 2, t0, LIMITS)
    assert await store.take(OWNER, t0 + LIMITS.ttl, LIMITS) is None
    assert await store.get(OWNER, t0 + LIMITS.ttl, LIMITS) is None


# --- lines per variant -------------------------------------------------------------------------
# A line is (product id, variant key): 0 for the product's default variant, the variant's id else.

SHIRT_M, SHIRT_L, SHIRT_DEFAULT = (7, 12), (7, 13), (7, 0)


async def test_each_variant_of_a_product_is_a_line_of_its_own(store: CartStore, t0: datetime) -> None:
    assert await store.add(OWNER, SHIRT_M, 2, t0, LIMITS) == 2
    assert await store.add(OWNER, SHIRT_L, 1, t0, LIMITS) == 1
    assert await store.add(OWNER, SHIRT_M, 3, t0, LIMITS) == 5
    assert await store.add(OWNER, SHIRT_DEFAULT, 4, t0, LIMITS) == 4
    assert await lines(store, t0) == {SHIRT_M: 5, SHIRT_L: 1, SHIRT_DEFAULT: 4}

    await store.set(OWNER, SHIRT_L, 6, t0, LIMITS)
    assert await store.remove(OWNER, SHIRT_M, t0, LIMITS) is True
    assert await store.remove(OWNER, SHIRT_M, t0, LIMITS) is False
    assert await lines(store, t0) == {SHIRT_L: 6, SHIRT_DEFAULT: 4}
    await store.set(OWNER, SHIRT_DEFAULT, 0, t0, LIMITS)
    taken = await store.take(OWNER, t0, LIMITS)
    assert taken is not None
    assert taken.lines == {SHIRT_L: 6}


async def test_the_limits_count_variant_lines(store: CartStore, t0: datetime) -> None:
    for line in (SHIRT_M, SHIRT_L, SHIRT_DEFAULT):
        await store.add(OWNER, line, 1, t0, LIMITS)
    with pytest.raises(CartLimitReached) as refused:
        await store.add(OWNER, (7, 14), 1, t0, LIMITS)
    assert refused.value.lines is True
    with pytest.raises(CartLimitReached) as too_many:
        await store.add(OWNER, SHIRT_M, LIMITS.max_quantity, t0, LIMITS)
    assert too_many.value.lines is False  # the maximum is per line, not per product
    assert await store.add(OWNER, SHIRT_L, LIMITS.max_quantity - 1, t0, LIMITS) == LIMITS.max_quantity
    assert await lines(store, t0) == {SHIRT_M: 1, SHIRT_L: LIMITS.max_quantity, SHIRT_DEFAULT: 1}


# --- the cart's voucher ------------------------------------------------------------------------


async def test_a_voucher_is_kept_with_the_cart_and_replaced_or_taken_off(
    store: CartStore, t0: datetime
) -> None:
    await store.add(OWNER, (7, 0), 2, t0, LIMITS)
    later = t0 + timedelta(minutes=1)
    await store.set_voucher(OWNER, "SAVE10", later, LIMITS)
    cart = await store.get(OWNER, later, LIMITS)
    assert cart is not None
    assert (cart.lines, cart.voucher_code, cart.updated_at) == ({(7, 0): 2}, "SAVE10", later)
    await store.add(OWNER, (8, 0), 1, later, LIMITS)  # line writes keep the voucher
    await store.set(OWNER, (7, 0), 3, later, LIMITS)
    await store.remove(OWNER, (8, 0), later, LIMITS)
    await store.set_voucher(OWNER, "XMAS-2026", later, LIMITS)
    cart = await store.get(OWNER, later, LIMITS)
    assert cart is not None
    assert (cart.lines, cart.voucher_code) == ({(7, 0): 3}, "XMAS-2026")
    assert (await store.get("user:2", later, LIMITS)) is None
    await store.set_voucher(OWNER, None, later, LIMITS)
    cart = await store.get(OWNER, later, LIMITS)
    assert cart is not None
    assert (cart.lines, cart.voucher_code) == ({(7, 0): 3}, None)


async def test_the_voucher_is_not_a_line(store: CartStore, t0: datetime) -> None:
    await store.set_voucher(OWNER, "SAVE10", t0, LIMITS)
    for product in (1, 2, 3):
        await store.add(OWNER, (product, 0), 1, t0, LIMITS)
    with pytest.raises(CartLimitReached):
        await store.add(OWNER, (4, 0), 1, t0, LIMITS)
    assert await lines(store, t0) == {(1, 0): 1, (2, 0): 1, (3, 0): 1}


async def test_take_hands_over_the_voucher_and_clear_drops_it(store: CartStore, t0: datetime) -> None:
    await store.add(OWNER, (7, 0), 2, t0, LIMITS)
    await store.set_voucher(OWNER, "SAVE10", t0, LIMITS)
    taken = await store.take(OWNER, t0, LIMITS)
    assert taken is not None
    assert (taken.lines, taken.voucher_code) == ({(7, 0): 2}, "SAVE10")
    assert await store.get(OWNER, t0, LIMITS) is None
    await store.add(OWNER, (7, 0), 1, t0, LIMITS)
    cart = await store.get(OWNER, t0, LIMITS)
    assert cart is not None
    assert cart.voucher_code is None
    await store.set_voucher(OWNER, "SAVE10", t0, LIMITS)
    await store.clear(OWNER)
    await store.add(OWNER, (7, 0), 1, t0, LIMITS)
    cart = await store.get(OWNER, t0, LIMITS)
    assert cart is not None
    assert cart.voucher_code is None


async def test_an_expired_cart_loses_its_voucher(store: CartStore, t0: datetime) -> None:
    await store.add(OWNER, (7, 0), 2, t0, LIMITS)
    await store.set_voucher(OWNER, "SAVE10", t0, LIMITS)
    expired = t0 + LIMITS.ttl
    assert await store.get(OWNER, expired, LIMITS) is None
    await store.add(OWNER, (8, 0), 1, expired, LIMITS)
    cart = await store.get(OWNER, expired, LIMITS)
    assert cart is not None
    assert (cart.lines, cart.voucher_code) == ({(8, 0): 1}, None)


# --- sliding expiry --------------------------------------------------------------------------


async def test_every_write_slides_updated_at(store: CartStore, t0: datetime) -> None:
    steps = [t0 + timedelta(days=d) for d in (1, 2, 3)]
    await store.add(OWNER, (7, 0), 1, t0, LIMITS)
    await store.add(OWNER, (8, 0), 1, t0, LIMITS)
    await store.add(OWNER, (7, 0), 1, steps[0], LIMITS)
    cart = await store.get(OWNER, steps[0], LIMITS)
    assert cart is not None
    assert cart.updated_at == steps[0]
    await store.set(OWNER, (7, 0), 5, steps[1], LIMITS)
    cart = await store.get(OWNER, steps[1], LIMITS)
    assert cart is not None
    assert cart.updated_at == steps[1]
    await store.remove(OWNER, (8, 0), steps[2], LIMITS)
    cart = await store.get(OWNER, steps[2], LIMITS)
    assert cart is not None
    assert (cart.lines, cart.updated_at) == ({(7, 0): 5}, steps[2])


async def test_a_cart_expires_ttl_after_its_last_write(store: CartStore, t0: datetime) -> None:
    await store.add(OWNER, (7, 0), 2, t0, LIMITS)
    later = t0 + timedelta(days=20)
    await store.add(OWNER, (8, 0), 1, later, LIMITS)
    assert await lines(store, t0 + LIMITS.ttl + timedelta(days=1)) == {
        (7, 0): 2,
        (8, 0): 1,
    }  # slid by the write
    assert await lines(store, later + LIMITS.ttl - timedelta(seconds=1)) == {(7, 0): 2, (8, 0): 1}
    assert await store.get(OWNER, later + LIMITS.ttl, LIMITS) is None


async def test_an_add_after_expiry_starts_an_empty_cart(store: CartStore, t0: datetime) -> None:
    await store.add(OWNER, (7, 0), 9, t0, LIMITS)
    await store.add(OWNER, (8, 0), 1, t0, LIMITS)
    expired = t0 + LIMITS.ttl
    assert await store.add(OWNER, (7, 0), 3, expired, LIMITS) == 3
    cart = await store.get(OWNER, expired, LIMITS)
    assert cart is not None
    assert (cart.lines, cart.updated_at) == ({(7, 0): 3}, expired)


async def test_a_set_after_expiry_starts_an_empty_cart(store: CartStore, t0: datetime) -> None:
    for product in (1, 2, 3):
        await store.add(OWNER, (product, 0), 1, t0, LIMITS)
    expired = t0 + LIMITS.ttl
    await store.set(OWNER, (4, 0), 2, expired, LIMITS)  # the old lines no longer count towards the limit
    assert await lines(store, expired) == {(4, 0): 2}


async def test_remove_after_expiry_finds_nothing(store: CartStore, t0: datetime) -> None:
    await store.add(OWNER, (7, 0), 2, t0, LIMITS)
    assert await store.remove(OWNER, (7, 0), t0 + LIMITS.ttl, LIMITS) is False


async def test_purge_expired_removes_exactly_the_stale_carts(
    store: CartStore, backend: Backend, t0: datetime
) -> None:
    await store.add("user:old", (7, 0), 1, t0, LIMITS)
    await store.add("guest:old", (7, 0), 1, t0 + timedelta(seconds=1), LIMITS)
    await store.add("user:new", (7, 0), 1, t0 + timedelta(days=10), LIMITS)
    now = t0 + LIMITS.ttl + timedelta(seconds=1)
    # Redis expires keys by itself (the TTL test below shows it), so its sweep has nothing to do.
    expected = 0 if backend.name == "redis" else 2
    assert await store.purge_expired(now, LIMITS) == expected
    assert await store.purge_expired(now, LIMITS) == 0
    assert await lines(store, now, "user:new") == {(7, 0): 1}
    assert await store.get("user:old", now, LIMITS) is None
    assert await store.get("user:old", t0, LIMITS) is None or backend.name == "redis"


# --- Redis: the key's own TTL ------------------------------------------------------------------


@pytest.fixture(params=[REDIS])
def redis_backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


@pytest.fixture
async def redis_harness(redis_backend: Backend) -> AsyncIterator[Harness]:
    async for built in open_harness(redis_backend):
        yield built


def about_the_ttl(seconds: int) -> bool:
    return TTL_SECONDS - 10 <= seconds <= TTL_SECONDS


async def test_redis_every_write_sets_a_ttl_of_about_30_days(redis_harness: Harness, t0: datetime) -> None:
    store, client, key = redis_harness.store, redis_harness.redis, redis_harness.key(OWNER)
    assert client is not None
    writes: list[Callable[[], Awaitable[object]]] = [
        lambda: store.add(OWNER, (7, 0), 1, t0, LIMITS),
        lambda: store.add(OWNER, (7, 0), 1, t0, LIMITS),
        lambda: store.set(OWNER, (8, 0), 3, t0, LIMITS),
        lambda: store.remove(OWNER, (8, 0), t0, LIMITS),
    ]
    for write in writes:
        await client.expire(key, 60)  # shorten it, so the write must refresh it
        await write()
        assert about_the_ttl(await client.ttl(key))
    assert TTL_SECONDS == 30 * 24 * 3600


async def test_redis_a_refused_write_leaves_the_ttl_alone(redis_harness: Harness, t0: datetime) -> None:
    store, client, key = redis_harness.store, redis_harness.redis, redis_harness.key(OWNER)
    assert client is not None
    await store.add(OWNER, (7, 0), LIMITS.max_quantity, t0, LIMITS)
    await client.expire(key, 60)
    with pytest.raises(CartLimitReached):
        await store.add(OWNER, (7, 0), 1, t0, LIMITS)
    assert 0 < await client.ttl(key) <= 60


async def test_redis_keys_use_the_prefix(redis_harness: Harness, t0: datetime) -> None:
    client = redis_harness.redis
    assert client is not None
    await redis_harness.store.add(OWNER, (7, 0), 1, t0, LIMITS)
    assert await client.hget(redis_harness.key(OWNER), "7") == b"1"


async def test_redis_a_default_variant_line_is_the_product_id_and_another_names_the_variant(
    redis_harness: Harness, t0: datetime
) -> None:
    client = redis_harness.redis
    assert client is not None
    await redis_harness.store.add(OWNER, SHIRT_DEFAULT, 2, t0, LIMITS)
    await redis_harness.store.add(OWNER, SHIRT_M, 3, t0, LIMITS)
    stored = await client.hgetall(redis_harness.key(OWNER))
    assert {k: v for k, v in stored.items() if k != b"updated_at"} == {b"7": b"2", b"7:12": b"3"}


async def test_redis_a_cart_from_before_variants_reads_as_default_variant_lines(
    redis_harness: Harness, t0: datetime
) -> None:
    """What carts held before variants: a field per product id. They stay default-variant lines,
    which every change adds to, sets and removes as such."""
    store, client, key = redis_harness.store, redis_harness.redis, redis_harness.key(OWNER)
    assert client is not None
    await client.hset(
        key,
        mapping={
            "7": 2,
            "8": 1,
            "updated_at": (t0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1),
        },
    )
    assert await lines(store, t0) == {(7, 0): 2, (8, 0): 1}
    assert await store.add(OWNER, (7, 0), 1, t0, LIMITS) == 3
    await store.add(OWNER, SHIRT_M, 1, t0, LIMITS)
    assert await store.remove(OWNER, (8, 0), t0, LIMITS) is True
    assert await lines(store, t0) == {(7, 0): 3, SHIRT_M: 1}
    taken = await store.take(OWNER, t0, LIMITS)
    assert taken is not None
    assert taken.lines == {(7, 0): 3, SHIRT_M: 1}


# --- SQL: lines from before variants ----------------------------------------------------------------


@pytest.fixture(params=[SQLITE, POSTGRES])
def sql_backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


async def test_sql_a_line_from_before_variants_reads_as_the_default_variant(
    sql_backend: Backend, t0: datetime
) -> None:
    """Lines written before variants have no variant_id: migration 0011 gave them 0 (its default)."""
    db = open_database(sql_backend.url)
    try:
        store = SqlCartStore(db.engine)
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(carts).values(owner=OWNER, updated_at=t0))
            await conn.execute(
                sa.text("INSERT INTO cart_lines (owner, product_id, quantity) VALUES (:o, 7, 2)"),
                {"o": OWNER},
            )
        assert await lines(store, t0) == {(7, 0): 2}
        assert await store.add(OWNER, (7, 0), 1, t0, LIMITS) == 3
        assert await store.add(OWNER, SHIRT_M, 1, t0, LIMITS) == 1
        assert await lines(store, t0) == {(7, 0): 3, SHIRT_M: 1}
    finally:
        await db.close()


# --- concurrency: separate connections to a real server ----------------------------------------


@pytest.fixture(params=[POSTGRES, REDIS])
def parallel_backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


@pytest.fixture
async def parallel(parallel_backend: Backend) -> AsyncIterator[Harness]:
    async for built in open_harness(parallel_backend):
        yield built


async def test_concurrent_adds_all_count(parallel: Harness, t0: datetime) -> None:
    limits = CartLimits(max_quantity=99)
    store = parallel.store
    results = await asyncio.gather(*(store.add(OWNER, (7, 0), 1, t0, limits) for _ in range(PARALLEL_ADDS)))
    assert sorted(results) == list(range(1, PARALLEL_ADDS + 1))
    cart = await store.get(OWNER, t0, limits)
    assert cart is not None
    assert cart.lines == {(7, 0): PARALLEL_ADDS}


async def test_concurrent_adds_never_pass_the_maximum(parallel: Harness, t0: datetime) -> None:
    store = parallel.store
    outcomes = await asyncio.gather(
        *(store.add(OWNER, (7, 0), 1, t0, LIMITS) for _ in range(2 * LIMITS.max_quantity)),
        return_exceptions=True,
    )
    succeeded = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, CartLimitReached)]
    assert sorted(succeeded) == list(range(1, LIMITS.max_quantity + 1))
    assert len(refused) == LIMITS.max_quantity
    assert await lines(store, t0) == {(7, 0): LIMITS.max_quantity}


async def test_concurrent_new_lines_never_pass_the_line_count(parallel: Harness, t0: datetime) -> None:
    store = parallel.store
    outcomes = await asyncio.gather(
        *(store.add(OWNER, (product, 0), 1, t0, LIMITS) for product in range(1, 11)), return_exceptions=True
    )
    assert sum(1 for o in outcomes if o == 1) == LIMITS.max_lines
    assert all(o == 1 or (isinstance(o, CartLimitReached) and o.lines) for o in outcomes)
    cart = await store.get(OWNER, t0, LIMITS)
    assert cart is not None
    assert len(cart.lines) == LIMITS.max_lines


async def test_of_concurrent_takes_exactly_one_gets_the_lines(parallel: Harness, t0: datetime) -> None:
    store = parallel.store
    await store.add(OWNER, (7, 0), 3, t0, LIMITS)
    await store.add(OWNER, (8, 0), 1, t0, LIMITS)
    taken = await asyncio.gather(*(store.take(OWNER, t0, LIMITS) for _ in range(10)))
    got = [t for t in taken if t is not None]
    assert len(got) == 1
    assert got[0].lines == {(7, 0): 3, (8, 0): 1}


# --- Redis down ----------------------------------------------------------------------------------


async def test_an_unreachable_redis_is_service_unavailable_from_every_call(t0: datetime) -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    store = RedisCartStore(client, "test:down:")
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.get(OWNER, t0, LIMITS),
        lambda: store.add(OWNER, (7, 0), 1, t0, LIMITS),
        lambda: store.set(OWNER, (7, 0), 1, t0, LIMITS),
        lambda: store.set(OWNER, (7, 0), 0, t0, LIMITS),
        lambda: store.remove(OWNER, (7, 0), t0, LIMITS),
        lambda: store.clear(OWNER),
        lambda: store.take(OWNER, t0, LIMITS),
        lambda: store.set_voucher(OWNER, "SAVE10", t0, LIMITS),
    ]
    try:
        for call in calls:
            with pytest.raises(ServiceUnavailable) as down:
                await call()
            assert down.value.retry_after > 0
    finally:
        await client.aclose()
