"""Tax rates' use cases (`shop.tax`) and the rate checkout finds on both databases (the fakes have no tax
rates store): the most specific rate applies, a country and region has one rate (409 from the
database's unique constraint, also under concurrent creates), and nothing is stored on any error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.errors import InvalidInput, NotFound, PermissionDenied
from shop_core.domain.tax import TaxRate, TaxRateTaken, rate_for
from shop_core.ports.persistence import UnitOfWork
from shop_core.services.tax_rates import (
    UNPRINTABLE,
    CreateTaxRate,
    TaxRateView,
    UpdateTaxRate,
)
from tests.conftest import make_settings, shop_factory

STAFF = Actor.operator()
CUSTOMER = Actor.user(7, "eve@example.com", is_staff=False)


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Shop]:
    async with shop_factory(make_settings(database_url)) as built:
        yield built


async def add(shop: Shop, country: str, rate: str, name: str = "Tax", **fields: Any) -> TaxRateView:
    cmd = msgspec.convert({"country": country, "rate": rate, "name": name, **fields}, CreateTaxRate)
    return await shop.tax.create_rate(cmd, STAFF)


async def stored(shop: Shop) -> list[TaxRateView]:
    return (await shop.tax.list_rates(STAFF, limit=100)).items


async def applies(shop: Shop, country: str, region: str | None) -> str | None:
    """The name of the rate checkout finds for the address, if any."""
    async with shop.ports.uow() as uow:
        found = await rate_for_address(uow, country, region)
    return None if found is None else found.name


async def rate_for_address(uow: UnitOfWork, country: str, region: str | None) -> TaxRate | None:
    """What checkout reads (its one statement of shipping and tax terms) and picks from it."""
    return rate_for((await uow.shipping.destination(country)).tax_rates, country, region)


# --- the rate checkout finds: the most specific match ------------------------------------------------------


async def test_the_most_specific_rate_applies(shop: Shop) -> None:
    await add(shop, "US", "0.05", "US")
    await add(shop, "US", "0.0725", "California", region="CA")
    await add(shop, "US", "0.04", "New York", region="New York")
    await add(shop, "DE", "0.19", "Germany")
    await add(shop, "IN", "0.12", "Goa", region="Goa")  # a region's rate, and none for the country

    expected = {
        ("US", "CA"): "California",  # the region's rate
        ("US", "ca"): "California",  # regions compare without regard to case...
        ("US", "  new york "): "New York",  # ... or surrounding spaces
        ("US", "TX"): "US",  # else the country's
        ("US", None): "US",
        ("US", ""): "US",  # an address without a region
        ("DE", "Bayern"): "Germany",
        ("IN", "Goa"): "Goa",
        ("IN", "Kerala"): None,  # else none: SHOP_TAX_RATE applies
        ("IN", None): None,
        ("BD", None): None,
        ("GB", "CA"): None,  # another country's region never applies
    }
    found = {address: await applies(shop, *address) for address in expected}

    assert found == expected


async def test_the_rate_found_is_the_rate_stored(shop: Shop) -> None:
    made = await add(shop, "US", "0.0725", "Sales tax", region="CA")

    async with shop.ports.uow() as uow:
        found = await rate_for_address(uow, "US", "CA")

    assert found == TaxRate("US", Decimal("0.0725"), "Sales tax", "CA", made.id)


async def test_it_reads_in_the_callers_transaction(shop: Shop) -> None:
    """Checkout calls it inside its own transaction: what that transaction sees, it sees."""
    async with shop.ports.uow() as uow:
        await uow.tax_rates.add(TaxRate("BD", Decimal("0.15"), "VAT"))
        found = await rate_for_address(uow, "BD", "Dhaka")
        # left without commit: rolled back

    assert found is not None
    assert found.name == "VAT"
    assert await applies(shop, "BD", "Dhaka") is None


# --- the staff use cases ------------------------------------------------------------------------------


async def test_staff_create_list_show_change_and_delete(shop: Shop) -> None:
    made = await add(shop, "US", "0.07250", "  Sales tax ", region=" CA ")
    assert made == TaxRateView(
        id=made.id, country="US", region="CA", rate=Decimal("0.0725"), name="Sales tax"
    )
    assert str(made.rate) == "0.0725"
    whole = await add(shop, "US", "0", "Sales tax")
    assert str(whole.rate) == "0.0000"
    assert await shop.tax.get_rate(made.id, STAFF) == made

    changed = await shop.tax.update_rate(made.id, UpdateTaxRate(rate=Decimal("0.08"), name="CA tax"), STAFF)
    assert (changed.region, str(changed.rate), changed.name) == ("CA", "0.0800", "CA tax")
    moved = await shop.tax.update_rate(made.id, UpdateTaxRate(country="GB", region=None), STAFF)
    assert (moved.country, moved.region, moved.name) == ("GB", None, "CA tax")
    assert await shop.tax.update_rate(made.id, UpdateTaxRate(), STAFF) == moved
    assert await stored(shop) == [moved, whole]

    await shop.tax.delete_rate(made.id, STAFF)
    with pytest.raises(NotFound, match="No such tax rate"):
        await shop.tax.get_rate(made.id, STAFF)
    assert await stored(shop) == [whole]


async def test_rates_are_listed_by_country_whole_country_first_in_pages(shop: Shop) -> None:
    for country, region in [("US", "NY"), ("US", None), ("BD", None), ("US", "ca"), ("DE", None)]:
        await add(shop, country, "0.1", region=region)

    first = await shop.tax.list_rates(STAFF, offset=0, limit=3)
    rest = await shop.tax.list_rates(STAFF, offset=3, limit=3)

    assert (first.total, rest.total) == (5, 5)
    assert [(r.country, r.region) for r in first.items + rest.items] == [
        ("BD", None),
        ("DE", None),
        ("US", None),
        ("US", "ca"),
        ("US", "NY"),
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {}),
        ({"region": "CA"}, {"region": "CA"}),
        ({"region": "CA"}, {"region": "ca"}),
        ({"region": "Straße"}, {"region": "STRASSE"}),  # compared case-folded
        ({"region": "New York"}, {"region": "  new york  "}),
    ],
    ids=["country", "region", "region-case", "region-casefold", "region-spaces"],
)
async def test_a_second_rate_for_a_country_or_region_is_taken(
    shop: Shop, first: dict[str, str], second: dict[str, str]
) -> None:
    made = await add(shop, "US", "0.05", **first)

    with pytest.raises(TaxRateTaken, match="already has a tax rate") as refused:
        await add(shop, "US", "0.06", "Other", **second)

    assert refused.value.code == "tax_rate_taken"
    assert await stored(shop) == [made]


async def test_the_repository_raises_taken_from_the_unique_constraint(shop: Shop) -> None:
    await add(shop, "US", "0.05", region="CA")
    other = await add(shop, "US", "0.04", region="NY")

    async with shop.ports.uow() as uow:  # past the use case: the database itself refuses
        with pytest.raises(TaxRateTaken):
            await uow.tax_rates.add(TaxRate("US", Decimal("0.01"), "Again", "cA"))
    async with shop.ports.uow() as uow:
        with pytest.raises(TaxRateTaken):
            await uow.tax_rates.save(TaxRate("US", Decimal("0.04"), "Tax", "ca", other.id))

    assert [(r.region, str(r.rate)) for r in await stored(shop)] == [("CA", "0.0500"), ("NY", "0.0400")]


async def test_a_change_onto_a_taken_country_or_region_is_taken_and_changes_nothing(shop: Shop) -> None:
    await add(shop, "US", "0.05")
    await add(shop, "US", "0.0725", region="CA")
    texas = await add(shop, "US", "0.0625", region="TX")
    before = await stored(shop)

    for change in (UpdateTaxRate(region="ca", rate=Decimal("0.01")), UpdateTaxRate(region=None)):
        with pytest.raises(TaxRateTaken):
            await shop.tax.update_rate(texas.id, change, STAFF)

    assert await stored(shop) == before


async def test_concurrent_creates_of_one_country_store_one_on_postgres(pg_url: str) -> None:
    async with shop_factory(make_settings(pg_url)) as shop:
        cmd = CreateTaxRate(country="BD", rate=Decimal("0.15"), name="VAT")
        results = await asyncio.gather(
            *(shop.tax.create_rate(cmd, STAFF) for _ in range(8)), return_exceptions=True
        )

        made = [r for r in results if isinstance(r, TaxRateView)]
        refused = [r for r in results if not isinstance(r, TaxRateView)]
        assert len(made) == 1, results
        assert all(isinstance(r, TaxRateTaken) for r in refused), refused
        assert await stored(shop) == made


BAD: list[tuple[str, dict[str, Any], set[str]]] = [
    ("lowercase country", {"country": "bd"}, {"country"}),
    ("unassigned country", {"country": "XX"}, {"country"}),
    ("rate of 1", {"rate": "1"}, {"rate"}),
    ("negative rate", {"rate": "-0.01"}, {"rate"}),
    ("five decimals", {"rate": "0.00001"}, {"rate"}),
    ("NaN", {"rate": "NaN"}, {"rate"}),
    ("signalling NaN", {"rate": "sNaN"}, {"rate"}),
    ("minus infinity", {"rate": "-Infinity"}, {"rate"}),
    ("huge rate", {"rate": "1e999999999"}, {"rate"}),
    ("blank name", {"name": " "}, {"name"}),
    ("long name", {"name": "x" * 51}, {"name"}),
    ("NUL in the name", {"name": "V\x00T"}, {"name"}),
    ("line break in the name", {"name": "VAT\n"}, {"name"}),
    ("empty region", {"region": ""}, {"region"}),
    ("long region", {"region": "x" * 65}, {"region"}),
    ("long region once case-folded", {"region": "ß" * 33}, {"region"}),  # "ss" each as compared
    ("NUL in the region", {"region": "C\x00A"}, {"region"}),
    ("every field", {"country": "bd", "rate": "2", "name": ""}, {"country", "rate", "name"}),
]


@pytest.mark.parametrize(("fields", "at_fault"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
async def test_a_bad_rate_names_the_fields_at_fault_and_stores_nothing(
    shop: Shop, fields: dict[str, Any], at_fault: set[str]
) -> None:
    made = await add(shop, "DE", "0.19", "MwSt.")
    body = {"country": "US", "rate": "0.05", "name": "Sales tax"} | fields

    with pytest.raises(InvalidInput) as created:
        await shop.tax.create_rate(msgspec.convert(body, CreateTaxRate), STAFF)
    with pytest.raises(InvalidInput) as changed:
        await shop.tax.update_rate(made.id, msgspec.convert(fields, UpdateTaxRate), STAFF)

    assert set(created.value.errors) == set(changed.value.errors) == at_fault
    assert await stored(shop) == [made]


async def test_control_characters_are_named_as_such(shop: Shop) -> None:
    cmd = CreateTaxRate(country="US", rate=Decimal("0.05"), name="Sales\ttax", region="C\x00A")

    with pytest.raises(InvalidInput) as refused:
        await shop.tax.create_rate(cmd, STAFF)

    assert refused.value.errors == {"name": [UNPRINTABLE], "region": [UNPRINTABLE]}


async def test_the_longest_name_and_region_fit_once_trimmed(shop: Shop) -> None:
    made = await add(shop, "US", "0.05", f"  {'N' * 50}  ", region=f" {'ß' * 32} ")

    assert (made.name, made.region) == ("N" * 50, "ß" * 32)
    assert await stored(shop) == [made]


@pytest.mark.parametrize("rate_id", [0, -1, 999, 2**31, 10**20])
async def test_a_rate_no_row_has_is_not_found(shop: Shop, rate_id: int) -> None:
    await add(shop, "BD", "0.15")

    for call in (
        shop.tax.get_rate(rate_id, STAFF),
        shop.tax.update_rate(rate_id, UpdateTaxRate(name="x"), STAFF),
        shop.tax.delete_rate(rate_id, STAFF),
    ):
        with pytest.raises(NotFound):
            await call
    assert len(await stored(shop)) == 1


async def test_a_customer_is_refused_and_nothing_changes(shop: Shop) -> None:
    made = await add(shop, "BD", "0.15", "VAT")
    calls = [
        shop.tax.list_rates(CUSTOMER),
        shop.tax.get_rate(made.id, CUSTOMER),
        shop.tax.create_rate(CreateTaxRate(country="US", rate=Decimal("0.05")), CUSTOMER),
        shop.tax.update_rate(made.id, UpdateTaxRate(rate=Decimal("0.2")), CUSTOMER),
        shop.tax.delete_rate(made.id, CUSTOMER),
    ]

    for call in calls:
        with pytest.raises(PermissionDenied, match="staff"):
            await call

    assert await stored(shop) == [made]
