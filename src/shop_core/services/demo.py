"""The demo data set `shop demo` loads: idempotent, so it can run on every start."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict
from shop_core.ports.clock import Clock
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.ports.security import PasswordHasher
from shop_core.services import accounts
from shop_core.services.catalog_commands import CreateProduct, OptionInput
from shop_core.services.catalog_variants import AddVariant
from shop_core.services.commands import CreateAdmin, RegisterUser

if TYPE_CHECKING:
    from shop_core.services.catalog import Catalog

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


DEMO_SHIRT_SKU = "DEMO-TEE"
_SIZES, _COLORS = ("S", "M", "L"), ("Red", "Black")


async def seed_demo_shirt(catalog: Catalog, actor: Actor) -> bool:
    """A product in variants for the demo: a T-shirt in 3 sizes and 2 colours, L a little dearer.
    False, changing nothing, when it is there already."""
    shirt = CreateProduct(
        name="Organic T-shirt",
        sku=DEMO_SHIRT_SKU,
        price=Decimal("18.00"),
        description="Heavy organic cotton, boxy fit. Comes in sizes and colours: a product in variants.",
        options=[
            OptionInput(name="Size", values=list(_SIZES)),
            OptionInput(name="Color", values=list(_COLORS)),
        ],
    )
    try:
        product = await catalog.create_product(shirt, actor)
    except Conflict:
        return False
    for n, (size, color) in enumerate((s, c) for s in _SIZES for c in _COLORS):
        variant = AddVariant(
            sku=f"{DEMO_SHIRT_SKU}-{size}-{color[:3].upper()}",
            options={"Size": size, "Color": color},
            price=Decimal("20.00") if size == "L" else None,
            stock_quantity=5 + 3 * n,
            weight_grams=160 + 20 * _SIZES.index(size),
        )
        await catalog.add_variant(product.id, variant, actor)
    return True


__all__ = ["DEMO_PASSWORD", "DEMO_SHIRT_SKU", "DemoReport", "UnitOfWork", "seed_demo", "seed_demo_shirt"]
