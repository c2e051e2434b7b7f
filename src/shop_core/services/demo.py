"""The demo data set `shop demo` loads: idempotent, so it can run on every start."""

from __future__ import annotations

import msgspec

from shop_core.domain.errors import Conflict
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.ports.security import PasswordHasher
from shop_core.services import accounts
from shop_core.services.commands import CreateAdmin, RegisterUser

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - published demo credentials, development only


class DemoReport(msgspec.Struct):
    created: list[str]
    existing: list[str]
    password: str = DEMO_PASSWORD


async def seed_demo(*, uow: UnitOfWorkFactory, hasher: PasswordHasher, clock: Clock) -> DemoReport:
    """Create the demo admin and customer unless they exist."""
    report = DemoReport(created=[], existing=[])
    people: list[CreateAdmin | RegisterUser] = [
        CreateAdmin(email="admin@example.com", password=DEMO_PASSWORD, username="admin"),
        RegisterUser(
            email="customer@example.com",
            password=DEMO_PASSWORD,
            username="customer",
            first_name="Ada",
            last_name="Lovelace",
        ),
    ]
    for person in people:
        try:
            if isinstance(person, CreateAdmin):
                await accounts.create_admin(person, uow=uow(), hasher=hasher, clock=clock)
            else:
                await accounts.register(person, uow=uow(), hasher=hasher, clock=clock)
            report.created.append(person.email)
        except Conflict:
            report.existing.append(person.email)
    return report


__all__ = ["DEMO_PASSWORD", "DemoReport", "UnitOfWork", "seed_demo"]
