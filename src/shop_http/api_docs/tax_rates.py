"""The documentation of `controllers.tax_rates`: staff's tax rates by country and region (what each
operation does is in its handler's docstring)."""

from __future__ import annotations

from decimal import Decimal

from shop_core.domain.errors import InvalidInput, NotFound
from shop_core.domain.tax import TaxRate, TaxRateTaken, check_tax_rate
from shop_core.services.tax_rates import NO_SUCH_RATE, CreateTaxRate, TaxRateView, UpdateTaxRate
from shop_http.openapi import body, error, example, ok, refusal, request_example, sample
from shop_http.pagination import PageOf

BD_VAT = TaxRateView(id=1, country="BD", region=None, rate=Decimal("0.1500"), name="VAT")
US_SALES_TAX = TaxRateView(id=2, country="US", region=None, rate=Decimal("0.0500"), name="Sales tax")
CALIFORNIA = TaxRateView(id=3, country="US", region="CA", rate=Decimal("0.0725"), name="Sales tax")

# --- answers ---------------------------------------------------------------------------------------

PAGE = ok(
    PageOf[TaxRateView],
    "A page of tax rates by country: a country's own rate (`region: null`) before its regions'.",
    example(PageOf(count=3, next=None, previous=None, results=[BD_VAT, US_SALES_TAX, CALIFORNIA]), "Rates"),
)
CREATED = ok(TaxRateView, "The new tax rate.", example(CALIFORNIA), status=201)
THE_RATE = ok(TaxRateView, "The tax rate.", example(BD_VAT))

# --- errors ----------------------------------------------------------------------------------------

BAD_RATE = error(
    InvalidInput,
    "A field is missing or invalid (every one at fault is named): a country not in ISO 3166-1 "
    "alpha-2 capitals (`bd` is refused, with a hint), a rate not from 0 up to 1 or with more than "
    "four decimals, a name not 1 to 50 characters, a region not 1 to 64 characters, an unknown field.",
    sample(refusal(check_tax_rate, TaxRate("bd", Decimal("15"), "VAT"), kind=InvalidInput)),
    sample(refusal(check_tax_rate, TaxRate("US", Decimal("0.07255"), "", "CA"), kind=InvalidInput)),
)
TAKEN = error(
    TaxRateTaken,
    "The country (or that region of it, in any case) has a rate already: change that one.",
    sample(TaxRateTaken("US", "CA")),
)
NO_RATE = error(NotFound, "No tax rate has that id.", sample(NotFound(NO_SUCH_RATE)))

# --- request bodies --------------------------------------------------------------------------------

CREATE_BODY = body(
    request_example(CreateTaxRate, "A country's VAT", country="BD", rate="0.15", name="VAT"),
    request_example(
        CreateTaxRate, "A state's own rate", country="US", region="CA", rate="0.0725", name="Sales tax"
    ),
)
UPDATE_BODY = body(
    request_example(UpdateTaxRate, "A new rate", rate="0.16"),
    request_example(UpdateTaxRate, "Rename it", name="GST"),
    request_example(UpdateTaxRate, "Make it the whole country's rate", region=None),
)
LIST = (
    "By country; a country's own rate (`region: null`) first, then its regions'. At checkout the most "
    "specific applies: the address's region's rate, else its country's, else `SHOP_TAX_RATE`."
)
DELETE = "Erases the rate; orders placed with it keep the rate they were charged (copied, not referenced)."
