"""Staff's tax rates (`/api/tax-rates/`, `shop tax rates ...`): list, show, create, change, delete;
and the rates checkout applies (the most specific for the shipping address: see
`services/order_terms.py`).

A rate is for a country (ISO 3166-1 alpha-2 in capitals) or one of its regions, which are compared
trimmed and without regard to case. A country and region has one rate: a second is 409
`tax_rate_taken`, raised by the repository from the database's unique constraint, so of two
concurrent creates one is stored and the other refused. Nothing is stored on any error.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

import msgspec

from shop_core.domain.actors import Actor, require_staff
from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.tax import RATE_PLACES, TaxRate, check_tax_rate
from shop_core.ports.persistence import UnitOfWork, UnitOfWorkFactory
from shop_core.services.catalog_commands import UNSET, Unset
from shop_core.services.commands import Command
from shop_core.services.views import Page

NO_SUCH_RATE = "No such tax rate."
UNPRINTABLE = "Use no control characters (a line break, a tab, NUL...)."
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # NUL among them: PostgreSQL cannot store it
MAX_SENT = 1000  # what a field may hold before the rules (1 to 50 or 64 characters) say more

Country = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_SENT,
        examples=["BD"],
        description="ISO 3166-1 alpha-2, in capitals (bd is refused, with a hint).",
    ),
]
Region = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_SENT,
        examples=["CA"],
        description="A state or division of the country, 1 to 64 characters, compared without regard "
        "to case (CA and ca are one region); null or left out: the whole country.",
    ),
]
Rate = Annotated[
    Decimal,
    msgspec.Meta(
        description='A fraction from 0 up to (not including) 1, at most four decimals: "0.2" or '
        '"0.2000" is 20%, "0.0725" is 7.25%. A JSON number is read exactly as written.'
    ),
]
Name = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_SENT,
        examples=["VAT"],
        description='What invoices call it, 1 to 50 characters: "VAT", "GST", "Sales tax".',
    ),
]


class CreateTaxRate(Command):
    country: Country
    rate: Rate
    name: Name = "Tax"
    region: Region | None = None


class UpdateTaxRate(Command):
    """PATCH: only the fields sent change; `region: null` makes it the whole country's rate."""

    country: Country | Unset = UNSET
    region: Region | Unset | None = UNSET
    rate: Rate | Unset = UNSET
    name: Name | Unset = UNSET


class TaxRateView(msgspec.Struct, kw_only=True):
    id: int
    country: Annotated[str, msgspec.Meta(description="ISO 3166-1 alpha-2.")]
    region: Annotated[str | None, msgspec.Meta(description="null: the whole country.")]
    rate: Annotated[Decimal, msgspec.Meta(description='A fraction, four decimals: "0.2000" is 20%.')]
    name: str

    @classmethod
    def of(cls, rate: TaxRate) -> TaxRateView:
        assert rate.id is not None
        return cls(id=rate.id, country=rate.country, region=rate.region, rate=rate.rate, name=rate.name)


def _checked(rate: TaxRate) -> TaxRate:
    """The rate as stored (name and region trimmed, four decimals), once its rules hold;
    InvalidInput naming every field at fault otherwise."""
    region = None if rate.region is None else rate.region.strip()
    trimmed = TaxRate(rate.country, rate.rate, rate.name.strip(), region, rate.id)
    errors = {
        field: [UNPRINTABLE]
        for field, text in (("name", rate.name), ("region", rate.region))
        if text is not None and _CONTROL.search(text)
    }
    try:
        check_tax_rate(trimmed)
    except InvalidInput as exc:
        errors = exc.errors | errors
    if errors:
        raise InvalidInput("The tax rate is not valid.", errors)
    return TaxRate(trimmed.country, trimmed.rate.quantize(RATE_PLACES), trimmed.name, region, rate.id)


async def _found(uow: UnitOfWork, rate_id: int) -> TaxRate:
    rate = await uow.tax_rates.get(rate_id)
    if rate is None:
        raise NotFound(NO_SUCH_RATE)
    return rate


class Tax:
    """Tax rates by country and region, staff only."""

    def __init__(self, *, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def list_rates(self, actor: Actor, *, offset: int = 0, limit: int = 100) -> Page[TaxRateView]:
        """By country; a country's own rate before its regions', which come by name."""
        require_staff(actor)
        async with self._uow() as uow:
            rates, total = await uow.tax_rates.page(offset=offset, limit=limit)
        return Page(items=[TaxRateView.of(rate) for rate in rates], total=total)

    async def get_rate(self, rate_id: int, actor: Actor) -> TaxRateView:
        require_staff(actor)
        async with self._uow() as uow:
            return TaxRateView.of(await _found(uow, rate_id))

    async def create_rate(self, cmd: CreateTaxRate, actor: Actor) -> TaxRateView:
        """400 naming every field at fault; 409 `tax_rate_taken` when the country (or its region)
        has a rate already."""
        require_staff(actor)
        rate = _checked(TaxRate(cmd.country, cmd.rate, cmd.name, cmd.region))
        async with self._uow() as uow:
            stored = await uow.tax_rates.add(rate)
            await uow.commit()
        return TaxRateView.of(stored)

    async def update_rate(self, rate_id: int, cmd: UpdateTaxRate, actor: Actor) -> TaxRateView:
        """Change the fields sent; the rate must still hold whole. 409 `tax_rate_taken` when it
        would move onto a country (or region) that has a rate."""
        require_staff(actor)
        changes = {k: v for k, v in msgspec.structs.asdict(cmd).items() if v is not UNSET}
        async with self._uow() as uow:
            found = await _found(uow, rate_id)
            rate = _checked(
                TaxRate(
                    changes.get("country", found.country),
                    changes.get("rate", found.rate),
                    changes.get("name", found.name),
                    changes.get("region", found.region),
                    found.id,
                )
            )
            if rate != found:
                await uow.tax_rates.save(rate)
                await uow.commit()
        return TaxRateView.of(rate)

    async def delete_rate(self, rate_id: int, actor: Actor) -> None:
        """Orders placed with it keep the rate they were charged (copied, not referenced)."""
        require_staff(actor)
        async with self._uow() as uow:
            await uow.tax_rates.delete(await _found(uow, rate_id))
            await uow.commit()
