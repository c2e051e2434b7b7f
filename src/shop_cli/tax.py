"""`shop tax rates list|add|change|remove`: tax rates by country and region, with the same checks and
messages as the staff API (/api/tax-rates/). A rate is written as a fraction (0.2) or a
percentage (20%)."""

from __future__ import annotations

from decimal import Decimal, DecimalException
from typing import Any, TypeVar

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, YES, as_options, confirm, console, fail, guarded, run
from shop_core.bootstrap import Shop
from shop_core.domain.errors import InvalidInput
from shop_core.services.tax_rates import CreateTaxRate, TaxRateView, UpdateTaxRate
from shop_core.services.views import Page

app = typer.Typer(help="Tax: the rates charged by country and region.", no_args_is_help=True)
rates = typer.Typer(
    help="Tax rates by country and region: at checkout the address's region's rate applies, else "
    "its country's, else SHOP_TAX_RATE.",
    no_args_is_help=True,
)
app.add_typer(rates, name="rates")

T = TypeVar("T")
RATE_ID = typer.Argument(..., metavar="RATE_ID", min=1, help="The tax rate's id (see `list`).")
COUNTRY_HELP = "ISO 3166-1 alpha-2 country code in capitals, e.g. BD."
RATE_HELP = "A fraction (0.0725) or a percentage (7.25%), from 0 up to 1 (100%), to four decimals."
REGION_HELP = "A state or division of the country (any case); left out: the whole country."
OPTION_OF = {  # the API's field names, as this command's options
    "country": "--country",
    "region": "--region",
    "rate": "--rate",
    "name": "--name",
}


def _rate(text: str) -> Decimal:
    """ "0.2", "20%" or "7.25 %" as the fraction the API takes (0.2, 0.2, 0.0725)."""
    written = text.strip()
    try:
        if written.endswith("%"):
            return Decimal(written[:-1].strip()) / 100
        return Decimal(written)
    except DecimalException:  # not a number, or one too large to divide by 100
        fail(f"--rate {text!r}: write a fraction from 0 up to 1 (0.2) or a percentage (20%).")


def _converted(fields: dict[str, Any], command: type[T]) -> T:
    """The command, as the API would decode it; a refusal names the option."""

    def convert() -> T:
        try:
            return msgspec.convert(fields, command)
        except msgspec.ValidationError as exc:
            message = str(exc)
            for field, option in OPTION_OF.items():
                message = message.replace(f"`$.{field}`", option)
            raise InvalidInput(message) from None

    return guarded(convert)


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.01'))}%"


def _where(rate: TaxRateView) -> str:
    return rate.country if rate.region is None else f"{rate.country}, {rate.region}"


def _said(rate: TaxRateView) -> str:
    """`US, CA: Sales tax 7.25% (0.0725)`."""
    return f"{escape(_where(rate))}: {escape(rate.name)} {_percent(rate.rate)} ({rate.rate})"


@rates.command("list")
def list_rates(page: int = PAGE, page_size: int = PAGE_SIZE, as_json: bool = JSON) -> None:
    """Tax rates by country, a country's own rate before its regions', as a table (or JSON, as the
    API shows them)."""
    offset, limit = window(page, page_size)
    found: Page[TaxRateView] = run(lambda shop: shop.tax.list_rates(OPERATOR, offset=offset, limit=limit))
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if not found.items:
        console.print("No tax rates: SHOP_TAX_RATE applies to every order.", highlight=False)
        return
    table = Table(title="Tax rates (a region's applies before its country's)")
    for column in ("id", "country", "region", "rate", "fraction", "name"):
        numeric = column in ("id", "rate", "fraction")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for rate in found.items:
        table.add_row(
            str(rate.id),
            rate.country,
            "[dim]whole country[/]" if rate.region is None else escape(rate.region),
            _percent(rate.rate),
            str(rate.rate),
            escape(rate.name),
        )
    console.print(table)
    footer("tax rate", page, page_size, found.total, len(found.items))


@rates.command("add")
def add(
    *,
    country: str = typer.Option(..., "--country", metavar="CC", help=COUNTRY_HELP),
    rate: str = typer.Option(..., "--rate", metavar="RATE", help=RATE_HELP),
    name: str = typer.Option("Tax", "--name", metavar="NAME", help='What invoices call it, e.g. "VAT".'),
    region: str | None = typer.Option(None, "--region", metavar="REGION", help=REGION_HELP),
) -> None:
    """Add the rate of a country, or of one of its regions (one rate per country and region)."""
    fields = {"country": country, "rate": _rate(rate), "name": name, "region": region}
    cmd = _converted(fields, CreateTaxRate)
    made = run(as_options(lambda shop: shop.tax.create_rate(cmd, OPERATOR), OPTION_OF))
    console.print(f"Added tax rate {made.id}: {_said(made)}.", highlight=False, soft_wrap=True)


@rates.command("change")
def change(
    rate_id: int = RATE_ID,
    *,
    country: str | None = typer.Option(None, "--country", metavar="CC", help=COUNTRY_HELP),
    rate: str | None = typer.Option(None, "--rate", metavar="RATE", help=RATE_HELP),
    name: str | None = typer.Option(None, "--name", metavar="NAME", help="What invoices call it."),
    region: str | None = typer.Option(None, "--region", metavar="REGION", help="Move it to this region."),
    whole_country: bool = typer.Option(
        False, "--whole-country", help="Make it the country's own rate (no region)."
    ),
) -> None:
    """Change some of a rate's fields; the others stay as they are."""
    if region is not None and whole_country:
        fail("--region and --whole-country contradict each other: give one.")
    fields: dict[str, Any] = {"country": country, "name": name, "region": region}
    fields = {key: value for key, value in fields.items() if value is not None}
    if rate is not None:
        fields["rate"] = _rate(rate)
    if whole_country:
        fields["region"] = None
    if not fields:
        fail("Nothing to change: give --country, --region or --whole-country, --rate or --name.")
    cmd = _converted(fields, UpdateTaxRate)
    changed = run(as_options(lambda shop: shop.tax.update_rate(rate_id, cmd, OPERATOR), OPTION_OF))
    console.print(f"Tax rate {changed.id} is now {_said(changed)}.", highlight=False, soft_wrap=True)


@rates.command("remove")
def remove(rate_id: int = RATE_ID, yes: bool = YES) -> None:
    """Remove a rate (orders placed with it keep the rate they were charged)."""
    confirm(f"Remove tax rate {rate_id}?", yes=yes)

    async def remove_it(shop: Shop) -> TaxRateView:
        gone = await shop.tax.get_rate(rate_id, OPERATOR)
        await shop.tax.delete_rate(rate_id, OPERATOR)
        return gone

    gone = run(remove_it)
    console.print(f"Removed tax rate {gone.id} ({_said(gone)}).", highlight=False, soft_wrap=True)
