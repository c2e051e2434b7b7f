"""The failed-login lockout holds against guesses sent all at once.

Every attempt is counted before its password is checked, so however many arrive together, no more
than `max_failed_logins` passwords are checked in a window. The shop runs on real PostgreSQL (and
SQLite), with and without Redis; the hasher is real argon2, wrapped to count the passwords it checks
and to hold every check at a gate until all the attempts have been counted or refused: the widest
race there can be, made on purpose.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.errors import AuthenticationFailed, TooManyAttempts
from shop_core.services.commands import Login, RegisterUser
from shop_core.services.views import TokenPair
from tests.conftest import fast_hasher, make_settings

EMAIL = "ada@example.com"
PASSWORD = "correct-horse-battery"
LIMIT = 5
GUESSES = [f"wrong-guess-{i:02}" for i in range(30)]


class GatedHasher:
    """Real argon2, counting the passwords it checks; each check waits until the gate opens."""

    def __init__(self) -> None:
        self._real = fast_hasher()
        self._lock = threading.Lock()
        self.checked: list[str] = []
        self.gate = threading.Event()
        self.progress = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def hash(self, password: str) -> str:
        return self._real.hash(password)

    def _arrive(self, password: str) -> None:
        with self._lock:
            self.checked.append(password)
        self._loop.call_soon_threadsafe(self.progress.set)
        assert self.gate.wait(60), "the test never opened the gate"

    def verify(self, password_hash: str, password: str) -> bool:
        self._arrive(password)
        return self._real.verify(password_hash, password)

    def verify_nothing(self, password: str) -> None:
        self._arrive(password)
        self._real.verify_nothing(password)


@pytest.fixture(
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
        "sqlite",
    ]
)
def backend_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    name: str = request.param
    values: dict[str, Any] = {"max_failed_logins": LIMIT}
    if name == "sqlite":
        return {"database_url": request.getfixturevalue("sqlite_url"), **values}
    values["database_url"] = request.getfixturevalue("pg_url")
    if name.endswith("+redis"):
        values["redis_url"] = request.getfixturevalue("redis_url")
        values["redis_key_prefix"] = request.getfixturevalue("redis_prefix")
    return values


@pytest.fixture
async def shop_and_hasher(backend_settings: dict[str, Any]) -> AsyncIterator[tuple[Shop, GatedHasher]]:
    # Room for every attempt in the threads the checks run in (asyncio.to_thread), so that only
    # the shop decides how many get to the hasher, not the size of the default pool.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(len(GUESSES) + 2))
    hasher = GatedHasher()
    settings = make_settings(**backend_settings)
    async with bootstrap(settings, hasher=hasher) as shop:
        if settings.redis_url:
            assert type(shop.ports.throttle).__name__ == "FallbackLoginThrottle"
        await shop.accounts.register(RegisterUser(email=EMAIL, password=PASSWORD))
        yield shop, hasher
        hasher.gate.set()


def attempt(shop: Shop, password: str) -> asyncio.Task[TokenPair]:
    return asyncio.create_task(shop.sessions.login(Login(email=EMAIL, password=password)))


def refused(tasks: list[asyncio.Task[TokenPair]]) -> int:
    return sum(1 for t in tasks if t.done() and isinstance(t.exception(), TooManyAttempts))


async def until(hasher: GatedHasher, tasks: list[asyncio.Task[TokenPair]], done: Callable[[], bool]) -> None:
    """Wait (on events, not a timer) until `done()`: woken by each check reaching the gate and
    by each attempt that ends."""
    async with asyncio.timeout(60):
        while True:
            hasher.progress.clear()
            if done():
                return
            woken = asyncio.ensure_future(hasher.progress.wait())
            pending = [t for t in tasks if not t.done()]
            await asyncio.wait([woken, *pending], return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()


async def test_thirty_wrong_and_the_right_one_at_once_check_no_more_than_the_limit(
    shop_and_hasher: tuple[Shop, GatedHasher],
) -> None:
    shop, hasher = shop_and_hasher
    passwords = [*GUESSES[:15], PASSWORD, *GUESSES[15:]]
    tasks = [attempt(shop, p) for p in passwords]

    # Hold every check until each attempt is either being checked or was refused.
    await until(hasher, tasks, lambda: len(hasher.checked) + refused(tasks) == len(passwords))
    hasher.gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)

    assert len(hasher.checked) == LIMIT, f"{len(hasher.checked)} passwords checked: {hasher.checked}"
    locked = [o for o in outcomes if isinstance(o, TooManyAttempts)]
    assert len(locked) == len(passwords) - LIMIT
    assert all(o.retry_after > 0 for o in locked)
    signed_in = [o for o in outcomes if isinstance(o, TokenPair)]
    wrong = [o for o in outcomes if isinstance(o, AuthenticationFailed)]
    if PASSWORD in hasher.checked:  # the right one came among the first LIMIT: it may sign in
        assert (len(signed_in), len(wrong)) == (1, LIMIT - 1)
    else:  # it came too late: refused like the guesses after the limit, and the lock holds
        assert (len(signed_in), len(wrong)) == (0, LIMIT)
        with pytest.raises(TooManyAttempts):
            await shop.sessions.login(Login(email=EMAIL, password=PASSWORD))
        assert len(hasher.checked) == LIMIT


async def test_the_right_password_during_a_burst_of_guesses_is_refused_and_the_lock_holds(
    shop_and_hasher: tuple[Shop, GatedHasher],
) -> None:
    shop, hasher = shop_and_hasher
    guesses = [attempt(shop, p) for p in GUESSES]
    await until(hasher, guesses, lambda: len(hasher.checked) + refused(guesses) == len(GUESSES))

    right = attempt(shop, PASSWORD)  # the guesses are still being checked
    await until(hasher, [right], lambda: right.done() or PASSWORD in hasher.checked)
    assert PASSWORD not in hasher.checked, "the right password was checked past the limit"
    assert isinstance(right.exception(), TooManyAttempts)

    hasher.gate.set()
    outcomes = await asyncio.gather(*guesses, return_exceptions=True)
    assert sum(isinstance(o, TooManyAttempts) for o in outcomes) == len(GUESSES) - LIMIT
    assert not any(isinstance(o, TokenPair) for o in outcomes)
    with pytest.raises(TooManyAttempts):
        await shop.sessions.login(Login(email=EMAIL, password=PASSWORD))
    with pytest.raises(TooManyAttempts):
        await shop.sessions.login(Login(email=EMAIL.upper(), password=PASSWORD))
    assert len(hasher.checked) == LIMIT, "only the first LIMIT guesses were checked"
    assert PASSWORD not in hasher.checked


async def test_a_burst_against_an_unknown_account_checks_no_more_than_the_limit(
    shop_and_hasher: tuple[Shop, GatedHasher],
) -> None:
    shop, hasher = shop_and_hasher
    tasks = [
        asyncio.create_task(shop.sessions.login(Login(email="ghost@example.com", password=p)))
        for p in GUESSES
    ]

    await until(hasher, tasks, lambda: len(hasher.checked) + refused(tasks) == len(GUESSES))
    hasher.gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)

    assert len(hasher.checked) == LIMIT
    assert sum(isinstance(o, TooManyAttempts) for o in outcomes) == len(GUESSES) - LIMIT
