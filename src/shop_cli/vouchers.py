"""`shop vouchers create|list|show|deactivate|generate`: discount codes, with the same rules and
messages as the staff API (/api/vouchers/). Amounts are in the store currency (`SHOP_CURRENCY`)."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.files import open_temporary, publish
from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.progress import progress_bar
from shop_cli.runner import (
    OPERATOR,
    console,
    errors,
    fail,
    guarded,
    load_settings,
    print_json,
    run,
    stdout_closed,
    when,
)
from shop_core.domain.voucher_codes import MAX_GENERATED
from shop_core.domain.vouchers import VoucherKind
from shop_core.services.voucher_commands import CreateVoucher, GenerateVouchers
from shop_core.services.voucher_views import VoucherView

app = typer.Typer(help="Vouchers: discount codes, one at a time or in bulk.", no_args_is_help=True)

STDIO = "-"
CSV_COLUMNS = ("code", "kind", "value", "usage_limit", "per_customer_limit", "starts_at", "ends_at")
KEY = typer.Argument(..., metavar="CODE_OR_ID", help="The voucher's code (any case), or its id.")
KIND = typer.Option(..., "--kind", help="percentage, fixed (an amount off) or free_shipping.")
VALUE = typer.Option(
    None, "--value", help='The percent off ("15") or the amount off ("10.00"); none for free_shipping.'
)
MIN_SUBTOTAL = typer.Option(None, "--min-subtotal", help="The least the cart's goods must come to.")
WHEN = "ISO 8601, e.g. 2026-12-01 or 2026-12-01T09:00+06:00 (UTC without a timezone)"
STARTS_AT = typer.Option(None, "--starts-at", metavar="WHEN", help=f"Valid from then; {WHEN}.")
ENDS_AT = typer.Option(None, "--ends-at", metavar="WHEN", help=f"Valid until just before then; {WHEN}.")
USAGE_LIMIT = typer.Option(
    None, "--usage-limit", min=1, help="Uses by all customers together (default: no limit)."
)
PER_CUSTOMER = typer.Option(
    None, "--per-customer-limit", min=1, help="Uses per customer (default: no limit)."
)
PRODUCTS = typer.Option([], "--product", min=1, metavar="ID", help="Only this product (repeat for more).")
CATEGORIES = typer.Option(
    [],
    "--category",
    min=1,
    metavar="ID",
    help="Only products of this category and its subcategories (repeat).",
)
INACTIVE = typer.Option(False, "--inactive", help="Create it deactivated.")


def _moment(raw: str | None, option: str) -> datetime | None:
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        fail(f"{option} {raw!r}: use {WHEN}.")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _terms(
    *,
    kind: VoucherKind,
    value: str | None,
    min_subtotal: str | None,
    starts_at: str | None,
    ends_at: str | None,
    usage_limit: int | None,
    per_customer_limit: int | None,
    product: list[int],
    category: list[int],
) -> dict[str, Any]:
    """The terms the options give, as a voucher command takes them."""
    return {
        "kind": kind,
        "value": value,
        "min_subtotal": min_subtotal,
        "starts_at": _moment(starts_at, "--starts-at"),
        "ends_at": _moment(ends_at, "--ends-at"),
        "usage_limit": usage_limit,
        "per_customer_limit": per_customer_limit,
        "product_ids": product,
        "category_ids": category,
    }


def shown_value(voucher: VoucherView) -> str:
    if voucher.kind is VoucherKind.PERCENTAGE:
        return f"{voucher.value}%"
    return voucher.value if voucher.kind is VoucherKind.FIXED else "free shipping"


def _when(at: datetime | None) -> str:
    return "" if at is None else when(at)


def _limit(limit: int | None) -> str:
    return "unlimited" if limit is None else str(limit)


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


@app.command()
def create(
    code: str = typer.Argument(..., help="3 to 32 letters, digits, - or _ (stored upper-case)."),
    *,
    kind: VoucherKind = KIND,
    value: str | None = VALUE,
    min_subtotal: str | None = MIN_SUBTOTAL,
    starts_at: str | None = STARTS_AT,
    ends_at: str | None = ENDS_AT,
    usage_limit: int | None = USAGE_LIMIT,
    per_customer_limit: int | None = PER_CUSTOMER,
    product: list[int] = PRODUCTS,
    category: list[int] = CATEGORIES,
    inactive: bool = INACTIVE,
) -> None:
    """Create a voucher, e.g. `shop vouchers create XMAS-15 --kind percentage --value 15`."""
    settings = load_settings()
    fields = _terms(
        kind=kind,
        value=value,
        min_subtotal=min_subtotal,
        starts_at=starts_at,
        ends_at=ends_at,
        usage_limit=usage_limit,
        per_customer_limit=per_customer_limit,
        product=product,
        category=category,
    )
    cmd = guarded(lambda: msgspec.convert(fields | {"code": code, "is_active": not inactive}, CreateVoucher))
    voucher = run(lambda shop: shop.vouchers.create_voucher(cmd, OPERATOR), settings)
    _say(
        f"[green]Created voucher[/] {voucher.code} (id {voucher.id}): {_summary(voucher, settings.currency)}."
    )


@app.command("list")
def list_vouchers(
    *,
    search: str | None = typer.Option(None, "--search", help="Codes containing this (any case)."),
    active: bool | None = typer.Option(None, "--active/--inactive", help="Only active, or only deactivated."),
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List vouchers, newest first, with the uses each has left."""
    settings = load_settings()
    offset, limit = window(page, page_size)
    found = run(
        lambda shop: shop.vouchers.list_vouchers(
            OPERATOR, search=search, active=active, offset=offset, limit=limit
        ),
        settings,
    )
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if not found.items:
        console.print("No vouchers match." if search is not None or active is not None else "No vouchers.")
        return
    table = Table(title=f"Vouchers {offset + 1}-{offset + len(found.items)} of {found.total}")
    columns = (
        "id",
        "code",
        "value",
        "minimum",
        "starts",
        "ends",
        "used",
        "limit",
        "uses left",
        "per customer",
    )
    for column in (*columns, "restricted", "active"):
        numeric = column in ("id", "value", "minimum", "used", "limit", "uses left", "per customer")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=column == "code")
    for v in found.items:
        table.add_row(
            str(v.id),
            escape(v.code),
            shown_value(v),
            v.min_subtotal or "",
            _when(v.starts_at),
            _when(v.ends_at),
            str(v.used_count),
            _limit(v.usage_limit),
            "[red]0[/]" if v.uses_left == 0 else _limit(v.uses_left),
            _limit(v.per_customer_limit),
            "yes" if v.product_ids or v.category_ids else "",
            "yes" if v.is_active else "[red]no[/]",
        )
    console.print(table)
    footer("voucher", page, page_size, found.total, len(found.items))
    _say(f"Amounts in {settings.currency}; times in UTC.")


@app.command()
def show(key: str = KEY, as_json: bool = JSON) -> None:
    """One voucher: its terms, restrictions and uses."""
    settings = load_settings()
    voucher = run(lambda shop: shop.vouchers.find_voucher(key, OPERATOR), settings)
    if as_json:
        print_json(voucher)
        return
    currency = settings.currency
    state = "active" if voucher.is_active else "[red]inactive[/]"
    _say(f"[bold]Voucher {escape(voucher.code)}[/] (id {voucher.id}), {state}")
    _say(f"kind: {voucher.kind.value}")
    _say(f"value: {_summary(voucher, currency)}")
    _say(f"minimum: {f'{voucher.min_subtotal} {currency}' if voucher.min_subtotal else 'none'}")
    _say(f"valid: {_when(voucher.starts_at) or 'from now'} until {_when(voucher.ends_at) or 'no end'} (UTC)")
    _say(f"uses: {voucher.used_count} of {_limit(voucher.usage_limit)}, {_limit(voucher.uses_left)} left")
    _say(f"per customer: {_limit(voucher.per_customer_limit)}")
    products = ", ".join(map(str, voucher.product_ids)) or "any"
    categories = ", ".join(map(str, voucher.category_ids)) or "any"
    if voucher.product_ids or voucher.category_ids:
        _say(f"applies to: products {products}; categories {categories} (and their subcategories)")
    else:
        _say("applies to: every product")


@app.command()
def deactivate(
    code: str = typer.Argument(..., metavar="CODE", help="The voucher's code (or its id)."),
) -> None:
    """Stop a voucher from applying; carts holding it say so, orders keep it."""
    voucher = run(lambda shop: shop.vouchers.deactivate_voucher(code, OPERATOR))
    _say(f"[yellow]Deactivated[/] voucher {escape(voucher.code)} (id {voucher.id}).")


@app.command()
def generate(
    *,
    count: int = typer.Option(..., "--count", min=1, max=MAX_GENERATED, help="How many vouchers."),
    prefix: str = typer.Option(
        "", "--prefix", help="What every code starts with, e.g. XMAS-; 10 random characters follow."
    ),
    kind: VoucherKind = KIND,
    value: str | None = VALUE,
    min_subtotal: str | None = MIN_SUBTOTAL,
    starts_at: str | None = STARTS_AT,
    ends_at: str | None = ENDS_AT,
    usage_limit: int | None = USAGE_LIMIT,
    per_customer_limit: int | None = PER_CUSTOMER,
    product: list[int] = PRODUCTS,
    category: list[int] = CATEGORIES,
    csv_file: str | None = typer.Option(
        None,
        "--csv",
        metavar="FILE.csv",
        help="Write them as CSV (- for stdout) instead of one code per line.",
    ),
) -> None:
    """Create COUNT vouchers on the same terms, each with an unguessable code of its own, all at once
    (none if any fails); print the codes, one per line, or write them as CSV."""
    settings = load_settings()
    fields = _terms(
        kind=kind,
        value=value,
        min_subtotal=min_subtotal,
        starts_at=starts_at,
        ends_at=ends_at,
        usage_limit=usage_limit,
        per_customer_limit=per_customer_limit,
        product=product,
        category=category,
    )
    cmd = guarded(lambda: msgspec.convert(fields | {"count": count, "prefix": prefix}, GenerateVouchers))

    def make() -> list[VoucherView]:
        with progress_bar("Generating", count) as bar:
            return run(lambda shop: shop.vouchers.generate_vouchers(cmd, OPERATOR, bar), settings)

    if csv_file is None:
        made = make()
        _write(lambda out: out.writelines(f"{v.code}\n" for v in made))
        errors.print(f"Generated {len(made)} vouchers.", highlight=False)
        return
    if csv_file == STDIO:
        made = make()
        _write(lambda out: _write_csv(out, made))
        return
    target = Path(csv_file)
    if target.is_dir():
        fail(f"{csv_file} is a directory; give a file name.")
    handle = open_temporary(target)  # before any voucher is made: a file that cannot be written fails first
    try:
        with handle:
            made = make()
            _write_csv(handle, made)
        publish(Path(handle.name), target)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    _say(f"Generated {len(made)} vouchers into {escape(csv_file)}.")


def _write_csv(out: IO[str], made: list[VoucherView]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in made:
        writer.writerow(
            [
                v.code,
                v.kind.value,
                v.value,
                v.usage_limit or "",
                v.per_customer_limit or "",
                _iso(v.starts_at),
                _iso(v.ends_at),
            ]
        )
    out.flush()


def _iso(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _write(write: Any) -> None:
    """Write to standard output; a reader that went away (`| head`) ends the command quietly."""
    try:
        write(sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_closed()


def _summary(voucher: VoucherView, currency: str) -> str:
    if voucher.kind is VoucherKind.PERCENTAGE:
        return f"{voucher.value}% off"
    if voucher.kind is VoucherKind.FIXED:
        return f"{voucher.value} {currency} off"
    return "free shipping"
