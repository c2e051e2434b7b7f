"""Postal addresses on orders: what is required, how long each part may be, which countries exist."""

from __future__ import annotations

from dataclasses import dataclass

from shop_core.domain.errors import InvalidInput

# ISO 3166-1 alpha-2, the officially assigned codes.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a table of codes reads better than 249 quoted strings
)

LIMITS = {
    "full_name": 200,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "postal_code": 20,
    "phone": 32,
    "region": 64,
}
REQUIRED = ("full_name", "line1", "city", "postal_code", "country")


@dataclass(frozen=True)
class Address:
    full_name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    phone: str = ""
    region: str = ""
    """A state, province or division (what tax rates by region match); "" for none."""

    def as_dict(self) -> dict[str, str]:
        """The address's parts; `region` only when it has one, so an address without one reads as
        it did before regions existed."""
        parts = {
            "full_name": self.full_name,
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "postal_code": self.postal_code,
            "country": self.country,
            "phone": self.phone,
        }
        if self.region:
            parts["region"] = self.region
        return parts

    def lines(self) -> list[str]:
        """The address as printed on an invoice or a label."""
        city = " ".join(p for p in (self.postal_code, self.city) if p)
        region = f"{city}, {self.region}" if self.region else city
        parts = [self.full_name, self.line1, self.line2, region, self.country]
        return [p for p in parts if p] + ([self.phone] if self.phone else [])


def address_of(raw: dict[str, str], field: str) -> Address:
    """A checked address (surrounding spaces trimmed, country upper-cased); every problem named
    under `field.part`."""
    values = {key: str(raw.get(key) or "").strip() for key in (*LIMITS, "country")}
    values["country"] = values["country"].upper()
    errors: dict[str, list[str]] = {}
    for key in REQUIRED:
        if not values[key]:
            errors[f"{field}.{key}"] = ["This field is required."]
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            errors[f"{field}.{key}"] = [f"At most {limit} characters."]
    if values["country"] and values["country"] not in COUNTRIES:
        errors[f"{field}.country"] = ["Use an ISO 3166-1 alpha-2 country code, such as US, GB or BD."]
    if errors:
        raise InvalidInput("The address is incomplete or invalid.", errors)
    return Address(**values)
