"""One contract for the unit of work and its UserRepository: SQL on SQLite and PostgreSQL, and the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import pytest

from shop_core.adapters.sql.database import open_database
from shop_core.adapters.sql.unit_of_work import SqlUnitOfWork
from shop_core.adapters.system_clock import SystemClock
from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict
from shop_core.domain.users import Role, User
from shop_core.ports.jobs import JobLedger
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory, UserRepository
from shop_core.services.commands import RegisterUser
from tests.conftest import make_settings, shop_factory
from tests.fakes import FakeDatabase, FakeUnitOfWork
from tests.integration.conftest import FAKE, POSTGRES, SQLITE, Backend, resolve_backend


@pytest.fixture(params=[SQLITE, POSTGRES, FAKE])
def backend(request: pytest.FixtureRequest) -> Backend:
    return resolve_backend(request)


@pytest.fixture
async def uow(backend: Backend) -> AsyncIterator[UnitOfWorkFactory]:
    """A factory of units of work over one database."""
    if backend.is_sql:
        db = open_database(backend.url)
        yield lambda: SqlUnitOfWork(db.sessions, clock=SystemClock())
        await db.close()
    else:
        fake = FakeDatabase()
        yield lambda: FakeUnitOfWork(fake)


def user(name: str = "ada", **fields: object) -> User:
    values: dict[str, object] = {
        "email": f"{name}@example.com",
        "username": name,
        "password_hash": "hash",
        "date_joined": datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC),
    }
    values.update(fields)
    return User(**values)  # type: ignore[arg-type]


async def add_committed(uow: UnitOfWorkFactory, *users: User) -> list[int]:
    async with uow() as tx:
        added = [await tx.users.add(u) for u in users]
        await tx.commit()
    ids = [u.id for u in added]
    assert all(i is not None for i in ids)
    return ids  # type: ignore[return-value]


async def all_emails(uow: UnitOfWorkFactory) -> list[str]:
    async with uow() as tx:
        users, _ = await tx.users.list()
    return [u.email for u in users]


# --- the repository ------------------------------------------------------------------------


async def test_an_added_user_can_be_found_every_way(uow: UnitOfWorkFactory) -> None:
    joined = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    [user_id] = await add_committed(
        uow, user("ada", first_name="Ada", last_name="Lovelace", phone="+44", role=Role.STAFF)
    )
    async with uow() as tx:
        by_id = await tx.users.get(user_id)
        by_email = await tx.users.get_by_email("ada@example.com")
        by_username = await tx.users.get_by_username("ada")
    assert by_id is not None
    assert by_email is not None
    assert by_username is not None
    assert by_id.id == by_email.id == by_username.id == user_id
    assert (by_id.email, by_id.username, by_id.password_hash) == ("ada@example.com", "ada", "hash")
    assert (by_id.first_name, by_id.last_name, by_id.phone) == ("Ada", "Lovelace", "+44")
    assert by_id.role is Role.STAFF
    assert by_id.is_active is True
    assert by_id.date_joined == joined
    assert by_id.date_joined.utcoffset() is not None


async def test_missing_users_are_none(uow: UnitOfWorkFactory) -> None:
    await add_committed(uow, user("ada"))
    async with uow() as tx:
        assert await tx.users.get(999) is None
        assert await tx.users.get_by_email("grace@example.com") is None
        assert await tx.users.get_by_username("grace") is None


async def test_username_taken_ignores_case(uow: UnitOfWorkFactory) -> None:
    await add_committed(uow, user("Ada_L", email="ada@example.com"))
    async with uow() as tx:
        assert await tx.users.username_taken("Ada_L") is True
        assert await tx.users.username_taken("ada_l") is True
        assert await tx.users.username_taken("grace") is False


async def test_list_pages_by_id_with_the_total(uow: UnitOfWorkFactory) -> None:
    ids = await add_committed(uow, *(user(f"user{n}") for n in range(5)))
    async with uow() as tx:
        page, total = await tx.users.list(offset=1, limit=2)
        everyone, _ = await tx.users.list()
        beyond, beyond_total = await tx.users.list(offset=5, limit=10)
    assert [u.id for u in page] == ids[1:3]
    assert total == 5
    assert [u.id for u in everyone] == ids
    assert (beyond, beyond_total) == ([], 5)


async def test_an_empty_list(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        assert await tx.users.list() == ([], 0)


async def test_save_persists_changes_on_commit(uow: UnitOfWorkFactory) -> None:
    [user_id] = await add_committed(uow, user("ada"))
    async with uow() as tx:
        found = await tx.users.get(user_id)
        assert found is not None
        found.first_name = "Ada"
        found.is_active = False
        found.role = Role.SUPERUSER
        await tx.users.save(found)
        await tx.commit()
    async with uow() as tx:
        again = await tx.users.get(user_id)
    assert again is not None
    assert (again.first_name, again.is_active, again.role) == ("Ada", False, Role.SUPERUSER)


async def test_loaded_users_stay_readable_after_the_block(uow: UnitOfWorkFactory) -> None:
    [user_id] = await add_committed(uow, user("ada"))
    async with uow() as tx:
        found = await tx.users.get(user_id)
    assert found is not None
    assert (found.id, found.email, found.is_staff) == (user_id, "ada@example.com", False)


# --- the transaction -----------------------------------------------------------------------


async def test_nothing_is_stored_without_commit(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        await tx.users.add(user("ada"))
    assert await all_emails(uow) == []


async def test_unsaved_and_uncommitted_changes_are_dropped(uow: UnitOfWorkFactory) -> None:
    [user_id] = await add_committed(uow, user("ada"))
    async with uow() as tx:
        found = await tx.users.get(user_id)
        assert found is not None
        found.first_name = "Changed"
        await tx.users.save(found)
    async with uow() as tx:
        again = await tx.users.get(user_id)
    assert again is not None
    assert again.first_name == ""


async def test_an_error_inside_the_block_rolls_back(uow: UnitOfWorkFactory) -> None:
    async def add_then_fail() -> None:
        async with uow() as tx:
            await tx.users.add(user("ada"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await add_then_fail()
    assert await all_emails(uow) == []


async def test_rollback_discards_what_came_before_it(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        await tx.users.add(user("ada"))
        await tx.rollback()
        await tx.commit()
    assert await all_emails(uow) == []


async def test_a_commit_is_seen_by_the_next_unit_of_work(uow: UnitOfWorkFactory) -> None:
    await add_committed(uow, user("ada"))
    await add_committed(uow, user("grace"))
    assert await all_emails(uow) == ["ada@example.com", "grace@example.com"]


async def test_a_duplicate_email_is_a_conflict(uow: UnitOfWorkFactory) -> None:
    await add_committed(uow, user("ada"))
    with pytest.raises(Conflict):
        await add_committed(uow, user("ada2", email="ada@example.com"))
    assert await all_emails(uow) == ["ada@example.com"]


async def test_a_duplicate_username_is_a_conflict(uow: UnitOfWorkFactory) -> None:
    await add_committed(uow, user("ada"))
    with pytest.raises(Conflict):
        await add_committed(uow, user("ada", email="other@example.com"))
    assert await all_emails(uow) == ["ada@example.com"]


async def test_a_duplicate_within_one_unit_of_work_is_a_conflict(uow: UnitOfWorkFactory) -> None:
    with pytest.raises(Conflict):
        await add_committed(uow, user("ada"), user("ada2", email="ada@example.com"))
    assert await all_emails(uow) == []


# --- concurrent registration, through the real composition root (PostgreSQL) -----------------


class _MeetAfterTheCheck:
    """A unit of work whose email check waits until every racer has made it.

    So the racers all see the email as free, and only the database can stop the duplicates.
    """

    def __init__(self, inner: UnitOfWork, barrier: asyncio.Barrier) -> None:
        self._inner = inner
        self._barrier = barrier

    @property
    def users(self) -> UserRepository:
        return self

    @property
    def jobs(self) -> JobLedger:
        return self._inner.jobs

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._inner.commit()

    async def rollback(self) -> None:
        await self._inner.rollback()

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner.users, name)

    async def get_by_email(self, email: str) -> User | None:
        found = await self._inner.users.get_by_email(email)
        await self._barrier.wait()
        return found


@pytest.mark.postgres
@pytest.mark.parametrize("racers", [2, 8])
async def test_concurrent_registrations_of_one_email_let_exactly_one_through(
    pg_url: str, racers: int
) -> None:
    async with shop_factory(make_settings(pg_url)) as shop:
        real_uow = shop.ports.uow
        barrier = asyncio.Barrier(racers)
        shop.ports.uow = lambda: _MeetAfterTheCheck(real_uow(), barrier)  # type: ignore[assignment, return-value]
        async with asyncio.timeout(30):  # a racer that never reaches the barrier must not hang the run
            results = await asyncio.gather(
                *(
                    shop.accounts.register(
                        RegisterUser(email="ada@example.com", password="correct horse", username=f"ada{n}")
                    )
                    for n in range(racers)
                ),
                return_exceptions=True,
            )
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, BaseException)]
        assert len(winners) == 1, results
        assert all(isinstance(r, Conflict) for r in losers), losers
        shop.ports.uow = real_uow
        page = await shop.accounts.list_users(Actor.operator())
    assert [u.email for u in page.items] == ["ada@example.com"]
