"""In-memory fakes of every port: the use cases run on these in milliseconds, with no I/O."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from shop_core.bootstrap import Ports, Shop
from shop_core.domain.errors import Conflict
from shop_core.domain.users import User
from shop_core.settings import Environment, Settings


@dataclass
class FakeClock:
    current: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class FakeUserRepository:
    def __init__(self, rows: dict[int, User], ids: itertools.count[int]) -> None:
        self._rows = rows
        self._ids = ids

    async def add(self, user: User) -> User:
        taken = any(u.email == user.email or u.username == user.username for u in self._rows.values())
        if taken:
            raise Conflict("A user with that email or username already exists.")
        user.id = next(self._ids)
        self._rows[user.id] = user
        return user

    async def get(self, user_id: int) -> User | None:
        return self._rows.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._rows.values() if u.email == email), None)

    async def get_by_username(self, username: str) -> User | None:
        return next((u for u in self._rows.values() if u.username.lower() == username.lower()), None)

    async def username_taken(self, username: str) -> bool:
        return any(u.username.lower() == username.lower() for u in self._rows.values())

    async def list(self, *, offset: int = 0, limit: int = 100) -> tuple[list[User], int]:
        rows = sorted(self._rows.values(), key=lambda u: u.id or 0)
        return rows[offset : offset + limit], len(rows)

    async def save(self, user: User) -> None:
        assert user.id is not None
        others = (u for u in self._rows.values() if u.id != user.id)
        if any(u.email == user.email or u.username == user.username for u in others):
            raise Conflict("That change clashes with another user.")
        self._rows[user.id] = user


class FakeDatabase:
    """The committed state that every FakeUnitOfWork works on a copy of."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.ids = itertools.count(1)
        self.commits = 0


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self._pending: dict[int, User] = {}

    async def __aenter__(self) -> Self:
        self._pending = copy.deepcopy(self._db.users)
        self.users = FakeUserRepository(self._pending, self._db.ids)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pending = {}

    async def commit(self) -> None:
        self._db.users = copy.deepcopy(self._pending)
        self._db.commits += 1

    async def rollback(self) -> None:
        self._pending = copy.deepcopy(self._db.users)
        self.users = FakeUserRepository(self._pending, self._db.ids)


class FakePasswordHasher:
    """Reversible on purpose: fast, and a test can see what was hashed."""

    def __init__(self) -> None:
        self.wasted = 0

    def hash(self, password: str) -> str:
        return f"fake${password[::-1]}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == self.hash(password)

    def verify_nothing(self, password: str) -> None:
        self.wasted += 1


@dataclass
class FakeTokenStore:
    clock: FakeClock
    revoked: dict[str, datetime] = field(default_factory=dict)
    families: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    async def revoke_token(self, jti: str, expires_at: datetime) -> None:
        self.revoked[jti] = expires_at

    async def is_token_revoked(self, jti: str) -> bool:
        return jti in self.revoked and self.revoked[jti] > self.clock.now()

    async def start_family(self, family: str, jti: str, expires_at: datetime) -> None:
        self.families[family] = (jti, expires_at)

    async def rotate_family(self, family: str, old_jti: str, new_jti: str, expires_at: datetime) -> bool:
        current = self.families.get(family)
        if current is None or current[0] != old_jti or current[1] <= self.clock.now():
            return False
        self.families[family] = (new_jti, expires_at)
        return True

    async def revoke_family(self, family: str) -> None:
        if family in self.families:
            self.families[family] = ("!revoked", self.families[family][1])

    async def ping(self) -> None:
        return None


@dataclass
class FakeLoginThrottle:
    clock: FakeClock
    counters: dict[str, tuple[int, datetime]] = field(default_factory=dict)

    async def failures(self, key: str) -> tuple[int, int]:
        count, ends = self.counters.get(key, (0, self.clock.now()))
        remaining = int((ends - self.clock.now()).total_seconds())
        return (count, remaining) if remaining > 0 else (0, 0)

    async def record_failure(self, key: str, window_seconds: int) -> None:
        count, remaining = await self.failures(key)
        ends = self.clock.now() + timedelta(seconds=remaining if count else window_seconds)
        self.counters[key] = (count + 1, ends)

    async def reset(self, key: str) -> None:
        self.counters.pop(key, None)


def fake_shop(settings: Settings | None = None) -> tuple[Shop, FakeDatabase, FakeClock]:
    """A Shop wired to fakes only (the real, pure JWT codec signs tokens)."""
    from shop_core.adapters.jwt_codec import JwtTokenCodec
    from shop_core.adapters.memory_cache import MemoryCache

    settings = settings or Settings(env=Environment.TEST)
    clock = FakeClock()
    db = FakeDatabase()
    ports = Ports(
        uow=lambda: FakeUnitOfWork(db),
        hasher=FakePasswordHasher(),
        codec=JwtTokenCodec(settings.secret_key),
        tokens=FakeTokenStore(clock),
        throttle=FakeLoginThrottle(clock),
        clock=clock,
        cache=MemoryCache(),
        reader=None,  # type: ignore[arg-type]  # the catalog's fakes come with its tests
    )
    return Shop(settings, ports), db, clock
