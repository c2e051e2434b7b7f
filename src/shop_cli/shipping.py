"""`shop shipping zones list|add|change|remove` and `shop shipping methods list|add|change|remove`:
where the shop ships and what it costs, with the same checks and messages as the staff API
(/api/shipping/zones/). Amounts are in the store currency (`SHOP_CURRENCY`).

`app` is the `shop shipping` group; other modules add commands of their own to it.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, YES, as_options, confirm, console, fail, load_settings, print_json, run
from shop_cli.shipping_quote import quote
from shop_core.bootstrap import Shop
from shop_core.services.shipping_commands import CreateZone, MethodInput, UpdateMethod, UpdateZone
from shop_core.services.shipping_views import MethodView, ZoneView

app = typer.Typer(
    help="Shipping: zones of countries, and the methods that ship to each.", no_args_is_help=True
)
zones = typer.Typer(help="Shipping zones: which countries each holds.", no_args_is_help=True)
methods = typer.Typer(help="Shipping methods: what each zone's methods cost.", no_args_is_help=True)
app.add_typer(zones, name="zones")
app.add_typer(methods, name="methods")
app.command("quote")(quote)

T = TypeVar("T")
ZONE = typer.Argument(..., metavar="ZONE", help="The zone's name (any case) or id (see `zones list`).")
METHOD = typer.Argument(..., metavar="METHOD_ID", min=1, help="The method's id (see `methods list`).")
NONE = "none"
OPTION_OF = {  # the API's field names, as these commands' options
    "name": "--name",
    "countries": "--country",
    "price": "--price",
    "free_over": "--free-over",
    "min_weight_grams": "--min-weight",
    "max_weight_grams": "--max-weight",
    "delivery_days": "--days",
}
COUNTRIES = typer.Option(
    ..., "--country", metavar="CODE", help="An ISO 3166-1 alpha-2 code in capitals (repeat it, or BD,IN)."
)
NEW_COUNTRIES = typer.Option(
    [],
    "--country",
    metavar="CODE",
    help="Its countries, all of them: they replace the set (repeat it, or BD,IN).",
)
_AT_FIELD = re.compile(r"^(?P<message>.*) - at `\$\.(?P<field>\w+)[^`]*`$")


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def _option(field: str) -> str:
    return OPTION_OF.get(field.split("[", maxsplit=1)[0], field)


def _command(fields: dict[str, Any], kind: type[T]) -> T:
    """The command the options make; a refusal names the option at fault."""
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as exc:
        found = _AT_FIELD.match(str(exc))
        fail(f"{_option(found['field'])}: {found['message']}." if found else str(exc))


def _countries(given: list[str]) -> list[str]:
    """Countries as given, each option one code or several separated by commas (`BD,IN`)."""
    return [code.strip() for text in given for code in text.split(",") if code.strip()]


def _amount(option: str, text: str, *, clearable: bool = True) -> Decimal | None:
    if clearable and text.strip().lower() == NONE:
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        fail(f"{option} {text!r}: write an amount, e.g. 4.99.")


def _whole(option: str, text: str) -> int | None:
    if text.strip().lower() == NONE:
        return None
    try:
        return int(text.strip())
    except ValueError:
        fail(f"{option} {text!r}: write a whole number, or {NONE}.")


def _method_fields(given: dict[str, str | None]) -> dict[str, Any]:
    """The method fields the options give (those given only); `none` clears an optional one."""
    fields: dict[str, Any] = {}
    for field, text in given.items():
        if text is None:
            continue
        option = OPTION_OF[field]
        if field == "name":
            fields[field] = text
        elif field in ("price", "free_over"):
            fields[field] = _amount(option, text, clearable=field == "free_over")
        else:
            fields[field] = _whole(option, text)
    return fields


# --- zones -----------------------------------------------------------------------------------------


@zones.command("list")
def list_zones(page: int = PAGE, page_size: int = PAGE_SIZE, as_json: bool = JSON) -> None:
    """Zones by name: their countries and methods (or JSON, as the API shows them)."""
    settings = load_settings()
    offset, limit = window(page, page_size)
    found = run(lambda shop: shop.shipping.list_zones(OPERATOR, offset=offset, limit=limit), settings)
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if not found.items:
        _say("No shipping zones: the flat shipping settings apply to every order.")
        return
    table = Table(title="Shipping zones")
    for column in ("id", "name", "countries", "methods"):
        table.add_column(column, justify="right" if column == "id" else "left", overflow="fold")
    for zone in found.items:
        shown = ", ".join(f"{escape(m.name)} {m.price}" for m in zone.methods) or "[red]none[/]"
        table.add_row(str(zone.id), escape(zone.name), " ".join(zone.countries), shown)
    console.print(table)
    footer("zone", page, page_size, found.total, len(found.items))
    _say(f"Amounts in {settings.currency}.")


@zones.command("add")
def add_zone(
    name: str = typer.Argument(..., help="What staff call it, e.g. Asia (unique in any case)."),
    country: list[str] = COUNTRIES,
) -> None:
    """Add a zone of countries (each in one zone at most); then add its methods (`methods add`)."""
    cmd = _command({"name": name, "countries": _countries(country)}, CreateZone)
    zone = run(as_options(lambda shop: shop.shipping.create_zone(cmd, OPERATOR), OPTION_OF))
    _say(f"[green]Created zone[/] {zone.id} ({escape(zone.name)}): {', '.join(zone.countries)}.")


@zones.command("change")
def change_zone(
    zone: str = ZONE,
    *,
    name: str | None = typer.Option(None, "--name", help="Its new name."),
    country: list[str] = NEW_COUNTRIES,
) -> None:
    """Rename a zone, or give it its countries anew."""
    fields: dict[str, Any] = {} if name is None else {"name": name}
    if country:
        fields["countries"] = _countries(country)
    if not fields:
        fail("Nothing to change: give --name or --country.")
    cmd = _command(fields, UpdateZone)

    async def change(shop: Shop) -> ZoneView:
        found = await shop.shipping.find_zone(zone, OPERATOR)
        return await shop.shipping.update_zone(found.id, cmd, OPERATOR)

    changed = run(as_options(change, OPTION_OF))
    _say(f"Changed zone {changed.id} ({escape(changed.name)}): {', '.join(changed.countries)}.")


@zones.command("remove")
def remove_zone(zone: str = ZONE, yes: bool = YES) -> None:
    """Remove a zone and its methods (orders that used one keep its name and price)."""
    found = run(lambda shop: shop.shipping.find_zone(zone, OPERATOR))
    with_methods = f" and its {_count(len(found.methods), 'method')}" if found.methods else ""
    confirm(f"Remove zone {found.id} ({found.name}){with_methods}?", yes=yes)
    run(lambda shop: shop.shipping.delete_zone(found.id, OPERATOR))
    _say(f"Removed zone {found.id} ({escape(found.name)}){with_methods}.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# --- methods ---------------------------------------------------------------------------------------


class ListedMethod(MethodView, kw_only=True):
    """A method as `methods list --json` shows it: the API's fields and its zone."""

    zone_id: int
    zone: str


NAME = typer.Option(None, "--name", help="What customers see, e.g. Standard.")
PRICE = typer.Option(None, "--price", metavar="AMOUNT", help="Its price, e.g. 4.99.")
FREE_OVER = typer.Option(
    None, "--free-over", metavar="AMOUNT", help=f"Free when the goods come to at least this ({NONE}: never)."
)
MIN_WEIGHT = typer.Option(
    None, "--min-weight", metavar="GRAMS", help=f"The lightest parcel it takes ({NONE}: any)."
)
MAX_WEIGHT = typer.Option(
    None, "--max-weight", metavar="GRAMS", help=f"The heaviest parcel it takes ({NONE}: any)."
)
DAYS = typer.Option(None, "--days", metavar="DAYS", help=f"The delivery estimate in days ({NONE}: none).")


@methods.command("list")
def list_methods(
    zone: str | None = typer.Option(None, "--zone", help="Only this zone's (its name or id)."),
    as_json: bool = JSON,
) -> None:
    """Every zone's methods (or one zone's), by zone and price."""
    settings = load_settings()

    async def listed(shop: Shop) -> list[ZoneView]:
        if zone is not None:
            return [await shop.shipping.find_zone(zone, OPERATOR)]
        return (await shop.shipping.list_zones(OPERATOR)).items

    found = [
        ListedMethod(**msgspec.structs.asdict(m), zone_id=z.id, zone=z.name)
        for z in run(listed, settings)
        for m in z.methods
    ]
    if as_json:
        print_json(found)
        return
    if not found:
        _say("No shipping methods.")
        return
    table = Table(title="Shipping methods")
    for column in ("zone", "id", "name", "price", "free over", "weight (g)", "days"):
        numeric = column in ("id", "price", "free over", "days")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for m in found:
        table.add_row(
            escape(m.zone),
            str(m.id),
            escape(m.name),
            m.price,
            m.free_over or "",
            _weights(m.min_weight_grams, m.max_weight_grams),
            "" if m.delivery_days is None else str(m.delivery_days),
        )
    console.print(table)
    _say(f"Amounts in {settings.currency}.")


def _weights(low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return "any"
    if high is None:
        return f"from {low}"
    return f"up to {high}" if low is None else f"{low}-{high}"


@methods.command("add")
def add_method(
    zone: str = ZONE,
    *,
    name: str = typer.Option(..., "--name", help="What customers see, e.g. Standard."),
    price: str = typer.Option(..., "--price", metavar="AMOUNT", help="Its price, e.g. 4.99."),
    free_over: str | None = FREE_OVER,
    min_weight: str | None = MIN_WEIGHT,
    max_weight: str | None = MAX_WEIGHT,
    days: str | None = DAYS,
) -> None:
    """Add a method to a zone."""
    given = {"name": name, "price": price, "free_over": free_over}
    given |= {"min_weight_grams": min_weight, "max_weight_grams": max_weight, "delivery_days": days}
    cmd = _command(_method_fields(given), MethodInput)

    async def add(shop: Shop) -> tuple[ZoneView, MethodView]:
        found = await shop.shipping.find_zone(zone, OPERATOR)
        return found, await shop.shipping.add_method(found.id, cmd, OPERATOR)

    to, method = run(as_options(add, OPTION_OF))
    _say(f"[green]Added method[/] {method.id} to zone {to.id} ({escape(to.name)}): {_summary(method)}.")


@methods.command("change")
def change_method(
    method_id: int = METHOD,
    *,
    name: str | None = NAME,
    price: str | None = PRICE,
    free_over: str | None = FREE_OVER,
    min_weight: str | None = MIN_WEIGHT,
    max_weight: str | None = MAX_WEIGHT,
    days: str | None = DAYS,
) -> None:
    """Change some of a method's fields (it stays in its zone); `none` clears an optional one."""
    given = {"name": name, "price": price, "free_over": free_over}
    given |= {"min_weight_grams": min_weight, "max_weight_grams": max_weight, "delivery_days": days}
    fields = _method_fields(given)
    if not fields:
        fail("Nothing to change: give --name, --price, --free-over, --min-weight, --max-weight or --days.")
    cmd = _command(fields, UpdateMethod)
    method = run(as_options(lambda shop: shop.shipping.update_method(method_id, cmd, OPERATOR), OPTION_OF))
    _say(f"Changed method {method.id}: {_summary(method)}.")


@methods.command("remove")
def remove_method(method_id: int = METHOD, yes: bool = YES) -> None:
    """Remove a method (orders that used it keep its name and price)."""
    confirm(f"Remove shipping method {method_id}?", yes=yes)
    run(lambda shop: shop.shipping.delete_method(method_id, OPERATOR))
    _say(f"Removed shipping method {method_id}.")


def _summary(method: MethodView) -> str:
    parts = [f"{escape(method.name)} at {method.price}"]
    if method.free_over is not None:
        parts.append(f"free from {method.free_over}")
    if method.min_weight_grams is not None or method.max_weight_grams is not None:
        parts.append(f"{_weights(method.min_weight_grams, method.max_weight_grams)} g")
    if method.delivery_days is not None:
        parts.append(f"{_count(method.delivery_days, 'day')}")
    return ", ".join(parts)
