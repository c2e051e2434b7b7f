"""`shop orders list|show|set-status|cancel|expire-unpaid|invoice`."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from pypdf import PdfReader
from sqlalchemy import event
from sqlalchemy.engine import Engine

from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.vouchers import Voucher, VoucherKind
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import PlaceOrder
from tests.cli.conftest import Cli, error_line, ok, table_rows
from tests.conftest import fast_hasher, make_settings
from tests.fakes import FakeClock

PASSWORD = "s3cret-pass"
SHIPPING = {
    "full_name": "Ann Lee",
    "line1": "1 Main Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
    "phone": "+1 555 0100",
}
BILLING = {
    "full_name": "Ann Lee Ltd",
    "line1": "9 Office Park",
    "city": "Shelbyville",
    "postal_code": "999",
    "country": "GB",
}
# Placed with tax and a flat shipping fee, so every total differs: the order keeps them.
PRICING = {"tax_rate": Decimal("0.1"), "shipping_flat": Decimal("5")}


@pytest.fixture
def cli(cli: Cli, tmp_path: Path) -> Cli:
    """The CLI's shop with LAMP-1 (10.00, 10 in stock) and MUG-1 (2.50, 3 in stock)."""
    csv = "sku,name,price,stock_quantity\nLAMP-1,Lamp,10,10\nMUG-1,Mug,2.5,3\n"
    (tmp_path / "products.csv").write_text(csv)
    ok(cli("catalog", "import", "products.csv"))
    return cli


def product_ids(cli: Cli) -> dict[str, int]:
    return {row["sku"]: int(row["id"]) for row in table_rows(ok(cli("products", "list")))}


def stock_of(cli: Cli) -> dict[str, int]:
    return {row["sku"]: int(row["stock"]) for row in table_rows(ok(cli("products", "list")))}


def register(cli: Cli, email: str) -> int:
    async def create() -> int:
        async with bootstrap(make_settings(cli.database_url), hasher=fast_hasher()) as shop:
            return (await shop.accounts.register(RegisterUser(email=email, password=PASSWORD))).id

    return asyncio.run(create())


def place(
    cli: Cli,
    user_id: int,
    lines: dict[str, int],
    *,
    at: datetime | None = None,
    method: str = "cod",
    billing: dict[str, str] | None = None,
    voucher: str | None = None,
) -> str:
    """Place an order of `lines` (sku: quantity) for the customer, at `at` (now by default), with a
    10% voucher of that code if one is named; its number."""
    ids = product_ids(cli)
    body: dict[str, Any] = {
        "items": [{"product_id": ids[sku], "quantity": quantity} for sku, quantity in lines.items()],
        "shipping_address": SHIPPING,
        "payment_method": method,
    }
    if billing is not None:
        body["billing_address"] = billing
    if voucher is not None:
        body["voucher_code"] = voucher
    cmd = msgspec.convert(body, PlaceOrder)
    clock = FakeClock(at) if at is not None else FakeClock()

    async def go() -> str:
        settings = make_settings(cli.database_url, **PRICING)
        async with bootstrap(settings, hasher=fast_hasher(), clock=clock) as shop:
            if voucher is not None:
                async with shop.ports.uow() as uow:
                    if await uow.vouchers.by_code(voucher.upper()) is None:
                        code = voucher.upper()
                        await uow.vouchers.add(
                            Voucher(code, VoucherKind.PERCENTAGE, Decimal(10)), clock.now()
                        )
                        await uow.commit()
            actor = Actor(f"user:{user_id}", user_id, is_staff=False)
            return (await shop.orders.place_order(user_id, actor, cmd)).order.order_number

    return asyncio.run(go())


def stored_status(cli: Cli, number: str) -> tuple[str, str]:
    path = cli.database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT status, payment_status FROM orders WHERE number = ?", (number,)).fetchone()
    assert row is not None
    return row[0], row[1]


def numbers(output: str) -> list[str]:
    return [row["number"] for row in table_rows(output)]


def rows_with(output: str, column: str) -> list[dict[str, str]]:
    """The rows of the one table in `output` that has `column`."""
    return [row for row in table_rows(output) if column in row]


# --- list ------------------------------------------------------------------------------------------


def test_list_shows_orders_newest_first_with_the_count(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    now = datetime.now(UTC)
    older = place(cli, ann, {"LAMP-1": 1}, at=now - timedelta(days=2))
    newer = place(cli, ann, {"MUG-1": 2}, at=now - timedelta(hours=1), method="stripe")

    out = ok(cli("orders", "list"))

    rows = table_rows(out)
    assert [row["number"] for row in rows] == [newer, older]
    assert rows[0] == {
        "number": newer,
        "date": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        "customer": "ann@example.com",
        "status": "pending",
        "payment status": "unpaid",
        "method": "stripe",
        "total": "10.50 USD",  # 5.00 + 10% tax + 5.00 shipping
    }
    assert rows[1]["total"] == "16.00 USD"
    assert out.splitlines()[-1] == "page 1 of 1: 2 of 2 orders"


def test_list_filters_by_status_email_and_date(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    bob = register(cli, "bob@example.com")
    now = datetime.now(UTC)
    ann_old = place(cli, ann, {"LAMP-1": 1}, at=now - timedelta(days=10))
    ann_new = place(cli, ann, {"LAMP-1": 1}, at=now - timedelta(minutes=5))
    bob_new = place(cli, bob, {"MUG-1": 1}, at=now - timedelta(minutes=3))
    ok(cli("orders", "cancel", ann_new, "--yes"))

    assert numbers(ok(cli("orders", "list", "--status", "cancelled"))) == [ann_new]
    assert numbers(ok(cli("orders", "list", "--status", "pending"))) == [bob_new, ann_old]
    assert numbers(ok(cli("orders", "list", "--email", "Ann@Example.com"))) == [ann_new, ann_old]
    since = (now - timedelta(days=1)).strftime("%Y-%m-%d")
    assert numbers(ok(cli("orders", "list", "--since", since))) == [bob_new, ann_new]
    both = ok(cli("orders", "list", "--email", "ann@example.com", "--since", since, "--status", "pending"))
    assert numbers(both) == []
    assert both.strip() == "page 1 of 1: 0 of 0 orders"


def test_list_filters_by_voucher_and_show_names_it(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    plain = place(cli, ann, {"LAMP-1": 1})
    with_voucher = place(cli, ann, {"LAMP-1": 2}, voucher="xmas-10")

    assert numbers(ok(cli("orders", "list", "--voucher", "XMAS-10"))) == [with_voucher]
    assert numbers(ok(cli("orders", "list", "--voucher", "xmas-10"))) == [with_voucher]
    assert numbers(ok(cli("orders", "list", "--voucher", "OTHER"))) == []
    assert set(numbers(ok(cli("orders", "list")))) == {plain, with_voucher}
    shown = ok(cli("orders", "show", with_voucher))
    assert "voucher: XMAS-10 (2.00 USD of the discount)" in shown
    assert "voucher:" not in ok(cli("orders", "show", plain))


def test_list_pages_show_part_of_the_total(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    now = datetime.now(UTC)
    placed = [place(cli, ann, {"MUG-1": 1}, at=now - timedelta(minutes=m)) for m in (30, 20, 10)]

    out = ok(cli("orders", "list", "--page-size", "2"))
    assert numbers(out) == [placed[2], placed[1]]
    assert out.splitlines()[-1] == "page 1 of 2: 2 of 3 orders"

    second = ok(cli("orders", "list", "--page", "2", "--page-size", "2"))
    assert numbers(second) == [placed[0]]
    assert second.splitlines()[-1] == "page 2 of 2: 1 of 3 orders"
    past = error_line(cli("orders", "list", "--page", "3", "--page-size", "2"))
    assert past == "error: That page is past the end of the list."


def test_list_for_an_unknown_email_is_one_error(cli: Cli) -> None:
    result = cli("orders", "list", "--email", "nobody@example.com")

    assert error_line(result) == "error: No user with the email 'nobody@example.com'."
    assert result.stdout == ""


def test_list_for_an_unknown_status_is_one_error(cli: Cli) -> None:
    line = error_line(cli("orders", "list", "--status", "lost"))

    assert line.startswith("error: status: Unknown status 'lost'; one of pending, paid,")


def test_list_with_a_bad_date_is_refused_by_the_option(cli: Cli) -> None:
    result = cli("orders", "list", "--since", "31/12/2025")

    assert result.exit_code == 2  # a usage error, like every option typer checks
    assert "Traceback" not in result.output
    assert "--since" in result.stderr
    assert "'31/12/2025' does not match the formats '%Y-%m-%d'" in " ".join(
        line.strip("│ ") for line in result.stderr.splitlines()
    )
    assert result.stdout == ""


def test_list_names_each_customer_by_email_also_as_json(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    bob = register(cli, "bob@example.com")
    now = datetime.now(UTC)
    first = place(cli, ann, {"LAMP-1": 1}, at=now - timedelta(minutes=3))
    second = place(cli, bob, {"MUG-1": 1}, at=now - timedelta(minutes=2))
    third = place(cli, ann, {"MUG-1": 1}, at=now - timedelta(minutes=1))

    rows = table_rows(ok(cli("orders", "list")))
    assert [(r["number"], r["customer"]) for r in rows] == [
        (third, "ann@example.com"),
        (second, "bob@example.com"),
        (first, "ann@example.com"),
    ]
    listed = json.loads(ok(cli("orders", "list", "--json", "--page-size", "2")))
    assert {k: listed[k] for k in ("count", "page", "page_size", "pages")} == {
        "count": 3,
        "page": 1,
        "page_size": 2,
        "pages": 2,
    }
    assert [(o["order_number"], o["customer_email"], o["user_id"]) for o in listed["results"]] == [
        (third, "ann@example.com", ann),
        (second, "bob@example.com", bob),
    ]
    assert listed["results"][0]["total_price"] == "7.75"  # 2.50 + 10% tax + 5.00 shipping, a decimal string


def test_list_finds_the_emails_in_one_query_whatever_the_number_of_orders(cli: Cli) -> None:
    customers = [register(cli, f"c{n}@example.com") for n in range(5)]
    for n, customer in enumerate(customers * 2):
        place(cli, customer, {"LAMP-1": 1}, at=datetime.now(UTC) - timedelta(minutes=n))
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        out = ok(cli("orders", "list"))
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    assert {r["customer"] for r in table_rows(out)} == {f"c{n}@example.com" for n in range(5)}
    assert len(table_rows(out)) == 10
    on_users = [s for s in statements if "FROM users" in s]
    assert len(on_users) == 1, on_users


def test_show_as_json(cli: Cli) -> None:
    number = place(cli, register(cli, "ann@example.com"), {"LAMP-1": 2})

    order = json.loads(ok(cli("orders", "show", number, "--json")))

    assert (order["order_number"], order["status"], order["total_price"]) == (number, "pending", "27.00")
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in order["items"]] == [("LAMP-1", 2, "10.00")]
    assert [e["action"] for e in order["events"]][:1] == ["placed"]


# --- show ------------------------------------------------------------------------------------------


def test_show_has_the_fields_lines_totals_addresses_and_trail(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    number = place(cli, ann, {"LAMP-1": 2, "MUG-1": 1}, billing=BILLING)
    ok(cli("orders", "set-status", number, "paid"))

    out = ok(cli("orders", "show", number.lower()))

    assert out.splitlines()[0] == f"Order {number}"
    assert f"customer id: {ann}" in out
    assert "status: paid" in out.splitlines()
    assert "payment: paid (cod)" in out.splitlines()
    assert {row["sku"]: row for row in rows_with(out, "sku")} == {
        "LAMP-1": {"sku": "LAMP-1", "name": "Lamp", "qty": "2", "unit price": "10.00", "line total": "20.00"},
        "MUG-1": {"sku": "MUG-1", "name": "Mug", "qty": "1", "unit price": "2.50", "line total": "2.50"},
    }
    for line in (
        "subtotal: 22.50 USD",
        "discount: 0.00 USD",
        "tax: 2.25 USD (Tax at 10%)",
        "shipping: 5.00 USD",
        "total: 29.75 USD",
        "shipping address: Ann Lee, 1 Main Street, 12345 Springfield, US, phone +1 555 0100",
        "billing address: Ann Lee Ltd, 9 Office Park, 999 Shelbyville, GB",
    ):
        assert line in out.splitlines()
    assert [
        (row["actor"], row["action"], row["from → to"], row["note"]) for row in rows_with(out, "action")
    ] == [
        (f"user:{ann}", "placed", "— → pending", "3 item(s), 2 line(s), paid by cod"),
        ("cli", "status", "pending → paid", ""),
    ]


def test_show_of_an_unknown_order_is_one_error(cli: Cli) -> None:
    result = cli("orders", "show", "ORD-2026-NOPE2345")

    assert error_line(result) == "error: No order ORD-2026-NOPE2345."
    assert result.stdout == ""


# --- set-status ------------------------------------------------------------------------------------


def test_set_status_moves_the_order_along(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    number = place(cli, ann, {"LAMP-1": 1})

    assert (
        ok(cli("orders", "set-status", number, "paid")).strip() == f"{number}: pending → paid (payment paid)."
    )
    assert ok(cli("orders", "set-status", number, "processing")).strip() == (
        f"{number}: paid → processing (payment paid)."
    )
    assert stored_status(cli, number) == ("processing", "paid")


def test_an_illegal_move_is_one_error_and_changes_nothing(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    number = place(cli, ann, {"LAMP-1": 1})
    before = ok(cli("orders", "show", number))

    result = cli("orders", "set-status", number, "shipped")

    assert error_line(result) == (
        f"error: Order {number} is pending; it cannot become shipped (allowed from here: cancelled, paid)."
    )
    assert result.stdout == ""
    assert stored_status(cli, number) == ("pending", "unpaid")
    assert ok(cli("orders", "show", number)) == before  # no event either


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ORD-2026-NOPE2345", "paid"], "error: No order ORD-2026-NOPE2345."),
        (["{number}", "lost"], "error: status: Unknown status 'lost'; one of pending, paid,"),
    ],
    ids=["unknown order", "unknown status"],
)
def test_set_status_errors_are_one_line(cli: Cli, args: list[str], message: str) -> None:
    number = place(cli, register(cli, "ann@example.com"), {"LAMP-1": 1})

    line = error_line(cli("orders", "set-status", *(a.format(number=number) for a in args)))

    assert line.startswith(message)
    assert stored_status(cli, number) == ("pending", "unpaid")


# --- cancel ----------------------------------------------------------------------------------------


def test_cancel_returns_the_stock(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    number = place(cli, ann, {"LAMP-1": 3, "MUG-1": 2})
    assert stock_of(cli) == {"LAMP-1": 7, "MUG-1": 1}

    out = ok(cli("orders", "cancel", number, "--note", "customer called", "--yes"))

    assert out.strip() == f"{number}: pending → cancelled (payment unpaid); 2 line(s) back in stock."
    assert stock_of(cli) == {"LAMP-1": 10, "MUG-1": 3}
    assert stored_status(cli, number) == ("cancelled", "unpaid")
    trail = rows_with(ok(cli("orders", "show", number)), "action")
    assert [(row["actor"], row["action"], row["from → to"], row["note"]) for row in trail[1:]] == [
        ("cli", "status", "pending → cancelled", "customer called"),
        ("cli", "stock_returned", "", "2 line(s) back in stock"),
    ]


def test_cancel_a_paid_order_records_the_refund(cli: Cli) -> None:
    number = place(cli, register(cli, "ann@example.com"), {"MUG-1": 1})
    ok(cli("orders", "set-status", number, "paid"))

    out = ok(cli("orders", "cancel", number, "--yes"))

    assert out.strip() == (
        f"{number}: paid → cancelled (payment refunded); 1 line(s) back in stock; "
        "refund to be made by hand (cash or no gateway payment)."
    )
    assert stored_status(cli, number) == ("cancelled", "refunded")


def test_cancel_twice_is_one_error_and_returns_the_stock_once(cli: Cli) -> None:
    number = place(cli, register(cli, "ann@example.com"), {"LAMP-1": 4})
    ok(cli("orders", "cancel", number, "--yes"))

    line = error_line(cli("orders", "cancel", number, "--yes"))

    assert (
        line == f"error: Order {number} is cancelled; it cannot become cancelled (allowed from here: none)."
    )
    assert stock_of(cli)["LAMP-1"] == 10


def test_cancel_asks_first_and_no_changes_nothing(cli: Cli) -> None:
    number = place(cli, register(cli, "ann@example.com"), {"LAMP-1": 2})

    result = cli("orders", "cancel", number, input="n\n")

    assert result.exit_code == 1
    assert "Aborted" in result.stderr
    assert "Traceback" not in result.output
    assert stored_status(cli, number) == ("pending", "unpaid")
    assert stock_of(cli)["LAMP-1"] == 8
    assert "pending → cancelled" in ok(cli("orders", "cancel", number, input="y\n"))
    assert stock_of(cli)["LAMP-1"] == 10


def test_cancel_an_unknown_order_is_one_error(cli: Cli) -> None:
    assert (
        error_line(cli("orders", "cancel", "ORD-2026-NOPE2345", "--yes"))
        == "error: No order ORD-2026-NOPE2345."
    )


# --- expire-unpaid ---------------------------------------------------------------------------------


def test_expire_unpaid_cancels_the_orders_left_unpaid_too_long(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    now = datetime.now(UTC)
    stale = place(cli, ann, {"LAMP-1": 2}, at=now - timedelta(hours=2), method="stripe")
    stale_paid = place(cli, ann, {"LAMP-1": 1}, at=now - timedelta(hours=2), method="stripe")
    ok(cli("orders", "set-status", stale_paid, "paid"))
    fresh = place(cli, ann, {"MUG-1": 1}, at=now - timedelta(minutes=10), method="stripe")
    assert stock_of(cli) == {"LAMP-1": 7, "MUG-1": 2}

    out = ok(cli("orders", "expire-unpaid"))  # the default timeout: 30 minutes

    assert out.strip() == "Cancelled 1 unpaid order older than 30 minutes (SHOP_ORDER_PAYMENT_TIMEOUT)."
    assert stored_status(cli, stale) == ("cancelled", "unpaid")
    assert stored_status(cli, stale_paid) == ("paid", "paid")
    assert stored_status(cli, fresh) == ("pending", "unpaid")
    assert stock_of(cli) == {"LAMP-1": 9, "MUG-1": 2}
    trail = rows_with(ok(cli("orders", "show", stale)), "action")
    assert ("system", "payment timeout") in {(row["actor"], row["note"]) for row in trail}

    out = ok(cli("orders", "expire-unpaid", env={"SHOP_ORDER_PAYMENT_TIMEOUT": "300"}))

    assert out.strip() == "Cancelled 1 unpaid order older than 5 minutes (SHOP_ORDER_PAYMENT_TIMEOUT)."
    assert stored_status(cli, fresh) == ("cancelled", "unpaid")
    assert ok(cli("orders", "expire-unpaid")).strip() == (
        "Cancelled 0 unpaid orders older than 30 minutes (SHOP_ORDER_PAYMENT_TIMEOUT)."
    )


def test_expire_unpaid_with_a_bad_timeout_is_one_error(cli: Cli) -> None:
    line = error_line(cli("orders", "expire-unpaid", env={"SHOP_ORDER_PAYMENT_TIMEOUT": "soon"}))

    assert line.startswith("error: SHOP_ORDER_PAYMENT_TIMEOUT:")


# --- invoice ---------------------------------------------------------------------------------------


def test_invoice_writes_the_pdf(cli: Cli, tmp_path: Path) -> None:
    number = place(cli, register(cli, "ann@example.com"), {"LAMP-1": 2})
    ok(cli("orders", "set-status", number, "paid"))  # invoices are numbered once paid
    out = tmp_path / "invoice.pdf"

    said = ok(cli("orders", "invoice", number, "--out", str(out))).strip()

    assert said.startswith("Invoice INV-")
    assert said.endswith(f" for {number} written to {out}.")
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert number in text
    invoice_number = said.split()[1]
    assert invoice_number in text

    # Asked again (with --force), the same invoice: one number per order.
    again = ok(cli("orders", "invoice", number.lower(), "--out", str(out), "--force")).strip()
    assert again.split()[1] == invoice_number


def test_invoice_refuses_to_overwrite_without_force(cli: Cli, tmp_path: Path) -> None:
    number = place(cli, register(cli, "ann@example.com"), {"LAMP-1": 1})
    out = tmp_path / "taken.pdf"
    out.write_bytes(b"keep me")

    result = cli("orders", "invoice", number, "--out", str(out))

    assert error_line(result) == f"error: {out} already exists; add --force to overwrite it."
    assert out.read_bytes() == b"keep me"
    ok(cli("orders", "invoice", number, "--out", str(out), "--force"))
    assert out.read_bytes().startswith(b"%PDF")


def test_invoice_needs_an_existing_directory(cli: Cli, tmp_path: Path) -> None:
    number = place(cli, register(cli, "ann@example.com"), {"LAMP-1": 1})
    out = tmp_path / "missing" / "invoice.pdf"

    line = error_line(cli("orders", "invoice", number, "--out", str(out)))

    assert line == f"error: The directory {out.parent} does not exist."
    assert not out.parent.exists()
    line = error_line(cli("orders", "invoice", number, "--out", str(tmp_path)))
    assert line.startswith(f"error: {tmp_path} is a directory;")


def test_invoice_of_an_unknown_order_is_one_error_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "invoice.pdf"

    assert error_line(cli("orders", "invoice", "ORD-2026-NOPE2345", "--out", str(out))) == (
        "error: No order ORD-2026-NOPE2345."
    )
    assert not out.exists()


def test_show_names_each_lines_variant(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    lamp = product_ids(cli)["LAMP-1"]
    ok(cli("products", "variants", "options", str(lamp), "Color=Brass,Steel"))
    ok(cli("products", "variants", "add", str(lamp), "--sku", "LAMP-BRASS", "-o", "Color=Brass"))
    steel = ok(
        cli(
            "products",
            "variants",
            "add",
            str(lamp),
            "--sku",
            "LAMP-STEEL",
            "-o",
            "Color=Steel",
            "--stock",
            "4",
        )
    )
    steel_id = int(steel.split("Added variant ")[1].split(" ")[0])
    body = {
        "items": [
            {"product_id": lamp, "variant_id": steel_id, "quantity": 1},
            {"product_id": product_ids(cli)["MUG-1"], "quantity": 1},
        ],
        "shipping_address": SHIPPING,
        "payment_method": "cod",
    }

    async def go() -> str:
        async with bootstrap(make_settings(cli.database_url), hasher=fast_hasher()) as shop:
            actor = Actor(f"user:{ann}", ann, is_staff=False)
            return (
                await shop.orders.place_order(ann, actor, msgspec.convert(body, PlaceOrder))
            ).order.order_number

    out = ok(cli("orders", "show", asyncio.run(go())))

    assert {row["sku"]: row["name"] for row in rows_with(out, "sku")} == {
        "LAMP-STEEL": "Lamp (Steel)",
        "MUG-1": "Mug",
    }
