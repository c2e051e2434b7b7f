"""Shipping zones and methods, and tax rates, over SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import shipping_methods, shipping_zone_countries, shipping_zones, tax_rates
from shop_core.adapters.sql.pg_fast_path import pg_fast_path
from shop_core.domain.errors import Conflict
from shop_core.domain.ids import MAX_ID
from shop_core.domain.shipping import CountryInAnotherZone, Method, Zone, ZoneNameTaken
from shop_core.domain.tax import TaxRate, TaxRateTaken, rate_bp, rate_of_bp, region_key
from shop_core.ports.shipping import Destination

_Z = shipping_zones.c
_C = shipping_zone_countries.c
_M = shipping_methods.c
_T = tax_rates.c
_METHOD_FIELDS = ("name", "price", "free_over", "min_weight_grams", "max_weight_grams", "delivery_days")
_ZONES_LOCK = 0x5348_4950  # "SHIP": the advisory lock zone changes take on PostgreSQL


def _known(some_id: int) -> bool:
    return 0 < some_id <= MAX_ID


def _method_of(row: Any) -> Method:
    return Method(
        zone_id=int(row.zone_id), id=int(row.id), **{name: getattr(row, name) for name in _METHOD_FIELDS}
    )


def _refused(exc: IntegrityError, zone: Zone) -> Conflict:
    """What the database refused of a zone: its name, or a country a concurrent change put in
    another zone (checked under the lock first, so only a change made without it gets here)."""
    if "name" in str(exc.orig):
        return ZoneNameTaken(zone.name)
    return CountryInAnotherZone("A country of the zone", None)


class SqlShippingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self) -> None:
        if self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(sa.select(sa.func.pg_advisory_xact_lock(_ZONES_LOCK)))

    async def zones(self) -> list[Zone]:
        return await self._zones(sa.true())

    async def _zones(self, where: sa.ColumnElement[bool]) -> list[Zone]:
        rows = (await self._session.execute(sa.select(_Z.id, _Z.name).where(where).order_by(_Z.name))).all()
        if not rows:
            return []
        countries: dict[int, set[str]] = {int(row.id): set() for row in rows}
        found = await self._session.execute(
            sa.select(_C.zone_id, _C.country).where(_C.zone_id.in_(countries))
        )
        for zone_id, country in found:
            countries[int(zone_id)].add(country)
        return [Zone(row.name, frozenset(countries[int(row.id)]), int(row.id)) for row in rows]

    async def zone(self, zone_id: int) -> Zone | None:
        if not _known(zone_id):
            return None
        found = await self._zones(_Z.id == zone_id)
        return found[0] if found else None

    async def add_zone(self, zone: Zone) -> Zone:
        try:
            zone.id = await self._session.scalar(
                shipping_zones.insert().values(name=zone.name).returning(_Z.id)
            )
            await self._put_countries(zone)
        except IntegrityError as exc:
            raise _refused(exc, zone) from exc
        return zone

    async def save_zone(self, zone: Zone) -> None:
        try:
            await self._session.execute(
                shipping_zones.update().where(_Z.id == zone.id).values(name=zone.name)
            )
            await self._session.execute(shipping_zone_countries.delete().where(_C.zone_id == zone.id))
            await self._put_countries(zone)
        except IntegrityError as exc:
            raise _refused(exc, zone) from exc

    async def _put_countries(self, zone: Zone) -> None:
        if zone.countries:
            await self._session.execute(
                shipping_zone_countries.insert(),
                [{"zone_id": zone.id, "country": country} for country in sorted(zone.countries)],
            )

    async def delete_zone(self, zone: Zone) -> None:
        # The methods' rows go with the zone (CASCADE); orders that used them keep their copy.
        await self._session.execute(shipping_methods.delete().where(_M.zone_id == zone.id))
        await self._session.execute(shipping_zone_countries.delete().where(_C.zone_id == zone.id))
        await self._session.execute(shipping_zones.delete().where(_Z.id == zone.id))

    async def methods(self, zone_ids: Collection[int] | None = None) -> list[Method]:
        query = sa.select(shipping_methods).order_by(_M.zone_id, _M.price, _M.id)
        if zone_ids is not None:
            query = query.where(_M.zone_id.in_(list(zone_ids)))
        return [_method_of(row) for row in await self._session.execute(query)]

    async def method(self, method_id: int) -> Method | None:
        if not _known(method_id):
            return None
        row = (await self._session.execute(sa.select(shipping_methods).where(_M.id == method_id))).first()
        return None if row is None else _method_of(row)

    async def add_method(self, method: Method) -> Method:
        values = {name: getattr(method, name) for name in _METHOD_FIELDS}
        method.id = await self._session.scalar(
            shipping_methods.insert().values(zone_id=method.zone_id, **values).returning(_M.id)
        )
        return method

    async def save_method(self, method: Method) -> None:
        values = {name: getattr(method, name) for name in _METHOD_FIELDS}
        await self._session.execute(
            shipping_methods.update().where(_M.id == method.id).values(zone_id=method.zone_id, **values)
        )

    async def delete_method(self, method: Method) -> None:
        await self._session.execute(shipping_methods.delete().where(_M.id == method.id))

    async def destination(self, country: str) -> Destination:
        # One statement: a row per (method, rate) pair of the country's zone and rates (a handful),
        # outer-joined to one row, so that whether zones exist comes back even with neither. On
        # PostgreSQL it runs prepared on the driver (checkout's hot path).
        fast = await pg_fast_path(self._session)
        if fast is not None:
            return _destination_of(country, await fast.destination(country))
        rows = await self._session.execute(_DESTINATION, {"country": country})
        return _destination_of(country, [row._mapping for row in rows])


def _destination_of(country: str, rows: Sequence[Mapping[Any, Any]]) -> Destination:
    first = rows[0]
    methods: dict[int, Method] = {}
    rates: dict[int, TaxRate] = {}
    for row in rows:
        method_id, rate_id = row["method_id"], row["rate_id"]
        if method_id is not None and method_id not in methods:
            fields = {name: row[f"method_{name}"] for name in _METHOD_FIELDS}
            methods[method_id] = Method(zone_id=int(row["zone_id"]), id=int(method_id), **fields)
        if rate_id is not None and rate_id not in rates:
            rate = rate_of_bp(row["rate_bp"])
            rates[rate_id] = TaxRate(country, rate, row["rate_name"], row["rate_region"], int(rate_id))
    return Destination(
        bool(first["any_zone"]),
        None if first["zone_id"] is None else int(first["zone_id"]),
        first["zone_name"],
        sorted(methods.values(), key=lambda m: (m.price, m.id or 0)),
        sorted(rates.values(), key=lambda r: (r.region is not None, r.id or 0)),
    )


_ONE = sa.select(sa.literal(1).label("one")).subquery("one")
_COUNTRY: sa.BindParameter[str] = sa.bindparam("country")
_DESTINATION = (
    sa.select(
        sa.exists(sa.select(_Z.id)).label("any_zone"),
        _C.zone_id,
        _Z.name.label("zone_name"),
        _M.id.label("method_id"),
        *(_M[name].label(f"method_{name}") for name in _METHOD_FIELDS),
        _T.id.label("rate_id"),
        _T.rate_bp,
        _T.name.label("rate_name"),
        _T.region.label("rate_region"),
    )
    .select_from(_ONE)
    .outerjoin(shipping_zone_countries, _C.country == _COUNTRY)
    .outerjoin(shipping_zones, _Z.id == _C.zone_id)
    .outerjoin(shipping_methods, _M.zone_id == _C.zone_id)
    .outerjoin(tax_rates, _T.country == _COUNTRY)
)


def _rate_of(row: Any) -> TaxRate:
    return TaxRate(row.country, rate_of_bp(row.rate_bp), row.name, row.region, int(row.id))


def _rate_row(rate: TaxRate) -> dict[str, Any]:
    return {
        "country": rate.country,
        "region": rate.region,
        "region_key": region_key(rate.region),
        "rate_bp": rate_bp(rate.rate),
        "name": rate.name,
    }


_RATE_ORDER = (_T.country, _T.region_key, _T.id)


class SqlTaxRateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[TaxRate]:
        return [
            _rate_of(row) for row in await self._session.execute(sa.select(tax_rates).order_by(*_RATE_ORDER))
        ]

    async def page(self, *, offset: int, limit: int) -> tuple[list[TaxRate], int]:
        query = sa.select(tax_rates).order_by(*_RATE_ORDER).offset(offset).limit(limit)
        rates = [_rate_of(row) for row in await self._session.execute(query)]
        total = await self._session.scalar(sa.select(sa.func.count()).select_from(tax_rates))
        return rates, int(total or 0)

    async def get(self, rate_id: int) -> TaxRate | None:
        if not _known(rate_id):
            return None
        row = (await self._session.execute(sa.select(tax_rates).where(_T.id == rate_id))).first()
        return None if row is None else _rate_of(row)

    async def of_country(self, country: str) -> list[TaxRate]:
        query = sa.select(tax_rates).where(_T.country == country).order_by(*_RATE_ORDER)
        return [_rate_of(row) for row in await self._session.execute(query)]

    async def add(self, rate: TaxRate) -> TaxRate:
        try:
            found = await self._session.scalar(tax_rates.insert().values(**_rate_row(rate)).returning(_T.id))
        except IntegrityError as exc:
            raise TaxRateTaken(rate.country, rate.region) from exc
        return TaxRate(rate.country, rate.rate, rate.name, rate.region, int(found or 0))

    async def save(self, rate: TaxRate) -> None:
        try:
            await self._session.execute(tax_rates.update().where(_T.id == rate.id).values(**_rate_row(rate)))
        except IntegrityError as exc:
            raise TaxRateTaken(rate.country, rate.region) from exc

    async def delete(self, rate: TaxRate) -> None:
        await self._session.execute(tax_rates.delete().where(_T.id == rate.id))
