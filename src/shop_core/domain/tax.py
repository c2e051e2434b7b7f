"""Tax by country (and region): which rate applies to an address, and the tax on an amount, added
to a net price or extracted from a gross one. Plain data and rules (issue 18's first step: the
stores, the use cases and pricing's two modes come with its wiring).

Money is integer minor units, rounded half-up once per amount. A gross amount `g` at rate `r`
holds `round_half_up(g * r / (1 + r))` of tax and the rest is its net, so net + tax is `g` exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shop_core.domain.addresses import COUNTRIES
from shop_core.domain.errors import Conflict, InvalidInput
from shop_core.domain.money import round_half_up

RATE_PLACES = Decimal("0.0001")  # 15.25% is 0.1525
MAX_NAME = 50
MAX_REGION = 64


@dataclass(frozen=True)
class TaxRate:
    country: str
    """ISO 3166-1 alpha-2, upper case."""
    rate: Decimal
    """A fraction: 0.15 is 15%; from 0 up to (not including) 1."""
    name: str = "Tax"
    """What the invoice calls it: "VAT", "GST"..."""
    region: str | None = None
    """A state or division within the country (compared without regard to case); None: the
    country's rate wherever no region's applies."""
    id: int | None = None


class TaxRateTaken(Conflict):
    """A country (or one of its regions) has one rate (409)."""

    code = "tax_rate_taken"

    def __init__(self, country: str, region: str | None) -> None:
        where = country if region is None else f"{country}, {region}"
        super().__init__(f"{where} already has a tax rate; change that one instead.")


def rate_bp(rate: Decimal) -> int:
    """A rate as stored: basis points (0.1525 is 1525)."""
    return int(rate * 10_000)


def rate_of_bp(bp: int) -> Decimal:
    return (Decimal(bp) / 10_000).quantize(RATE_PLACES)


def rate_text(rate: Decimal) -> str:
    """A rate as the API shows it: a fraction with four decimals, "0.2000" for 20%."""
    return str(rate.quantize(RATE_PLACES))


def region_key(region: str | None) -> str:
    """How regions are compared: trimmed and case-folded; '' for the whole country."""
    return "" if region is None else region.strip().casefold()


def check_country(raw: str, *, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code as sent: two upper-case letters of an assigned code (a lower-case
    one is refused, not guessed at)."""
    if raw not in COUNTRIES:
        hint = f" Did you mean {raw.upper()}?" if raw.upper() in COUNTRIES else ""
        raise InvalidInput.field(
            field, f"Use an ISO 3166-1 alpha-2 country code in capitals, such as BD.{hint}"
        )
    return raw


def check_tax_rate(rate: TaxRate) -> None:
    """The invariants a tax rate keeps; InvalidInput lists every broken one."""
    errors: dict[str, list[str]] = {}
    try:
        check_country(rate.country)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if not rate.rate.is_finite() or not Decimal(0) <= rate.rate < Decimal(1):  # NaN cannot be compared
        errors["rate"] = ["A rate is a fraction from 0 up to 1 (0.15 is 15%)."]
    elif rate.rate.quantize(RATE_PLACES) != rate.rate:
        errors["rate"] = ["Use at most four decimal places (0.1525 is 15.25%)."]
    if not 0 < len(rate.name.strip()) <= MAX_NAME:
        errors["name"] = [f"Name the tax in 1 to {MAX_NAME} characters."]
    if rate.region is not None and not 0 < len(rate.region.strip()) <= MAX_REGION:
        errors["region"] = [f"A region is 1 to {MAX_REGION} characters (leave it out for the whole country)."]
    elif rate.region is not None and len(region_key(rate.region)) > MAX_REGION:
        errors["region"] = [  # as compared: "ß" is "ss"
            f"A region is at most {MAX_REGION} characters when compared without regard to case."
        ]
    if errors:
        raise InvalidInput("The tax rate is not valid.", errors)


def rate_for(rates: Iterable[TaxRate], country: str, region: str | None = None) -> TaxRate | None:
    """The most specific rate for an address: its country's rate for its region, else its
    country's rate for the whole country, else None (the shop's default applies)."""
    wanted = region_key(region)
    whole: TaxRate | None = None
    for rate in rates:
        if rate.country != country:
            continue
        if rate.region is None:
            whole = rate
        elif wanted and region_key(rate.region) == wanted:
            return rate
    return whole


def tax_added(net: int, rate: Decimal) -> int:
    """The tax on a net amount (prices without tax): `net * rate`, rounded half-up."""
    return round_half_up(Decimal(net) * rate)


def tax_included(gross: int, rate: Decimal) -> int:
    """The tax a gross amount holds (prices with tax): `gross * rate / (1 + rate)`, rounded
    half-up; the net is what is left, so the two add up to `gross` exactly."""
    return round_half_up(Decimal(gross) * rate / (1 + rate))


def percent_text(rate: Decimal) -> str:
    """A rate as a percentage: "20%", "7.25%"."""
    return f"{format((rate * 100).normalize(), 'f')}%"


@dataclass(frozen=True)
class TaxGroup:
    """The tax of one rate on an order: what it was charged on (net) and how much it came to."""

    name: str
    rate: Decimal | None
    """None on orders from before rates were kept."""
    base: int
    tax: int

    @property
    def label(self) -> str:
        return self.name if self.rate is None else f"{self.name} {percent_text(self.rate)}"


def grouped(parts: Iterable[tuple[str | None, Decimal | None, int, int]]) -> list[TaxGroup]:
    """(name, rate, base, tax) parts (the lines, the shipping) summed per name and rate, in the
    order each first appears; parts without tax or base are left out. The groups' tax adds up to
    the parts' exactly."""
    groups: dict[tuple[str, Decimal | None], list[int]] = {}
    for name, rate, base, tax in parts:
        if base == 0 and tax == 0:
            continue
        summed = groups.setdefault((name or "Tax", rate), [0, 0])
        summed[0] += base
        summed[1] += tax
    return [TaxGroup(name, rate, base, tax) for (name, rate), (base, tax) in groups.items()]
