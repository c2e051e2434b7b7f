"""`shop payments list|show|confirm-cod|reconcile|refund|verify`: payments, for operators (staff)."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

import typer
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, YES, confirm, console, errors, fail, print_json, when
from shop_cli.runner import run as run_use_case
from shop_core.bootstrap import Shop
from shop_core.domain.errors import DomainError, NotFound
from shop_core.services.payment_views import PaymentView, RefundPayment
from shop_core.services.payments import RECONCILE_AFTER, ReconcileReport
from shop_core.services.views import Page

app = typer.Typer(
    help="Payments: list, inspect, verify, refund, confirm cash, reconcile.", no_args_is_help=True
)

T = TypeVar("T")
PAYMENT_ID = typer.Argument(..., metavar="ID", min=1, max=2**31 - 1, help="The payment id.")
DURATION = re.compile(r"(\d+)([smhd])")
UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
MAX_OLDER_THAN = timedelta(days=3_650)


@app.command("list")
def list_payments(
    status: str | None = typer.Option(
        None, "--status", help="Only payments in this status, e.g. pending, succeeded, refunded."
    ),
    held: bool | None = typer.Option(
        None, "--held/--not-held", help="Only payments held for review by staff (or only those not held)."
    ),
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """Payments, newest first, with how many match in all."""
    offset, limit = window(page, page_size)

    async def load(shop: Shop) -> Page[PaymentView]:
        return await shop.payments.list_payments(
            OPERATOR, status=status, held=held, offset=offset, limit=limit
        )

    found = run(load)
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if found.items:
        table = Table(title="Payments")
        right = {"id", "amount", "refunded"}
        columns = ("id", "order", "gateway", "status", "amount", "currency", "refunded", "held reason")
        for column in columns:
            # "fold": on a narrow terminal an order number wraps onto a second line, never cut short.
            table.add_column(column, justify="right" if column in right else "left", overflow="fold")
        for payment in found.items:
            table.add_row(
                str(payment.id),
                payment.order_number,
                payment.gateway,
                payment.status,
                payment.amount,
                payment.currency,
                payment.refunded_amount,
                escape(payment.hold_reason or ""),
            )
        console.print(table)
    footer("payment", page, page_size, found.total, len(found.items))


@app.command()
def show(payment_id: int = PAYMENT_ID, as_json: bool = JSON) -> None:
    """One payment: its fields and its refunds."""

    async def load(shop: Shop) -> PaymentView:
        return await _known(payment_id, shop.payments.get_payment(payment_id, OPERATOR))

    payment = run(load)
    if as_json:
        print_json(payment)
        return
    _show(payment)


@app.command()
def verify(payment_id: int = PAYMENT_ID) -> None:
    """Ask the payment's gateway about it (and its pending refunds) and bring it up to date."""

    async def check(shop: Shop) -> PaymentView:
        return await _known(payment_id, shop.payments.verify_payment(payment_id, OPERATOR))

    _show(run(check))


@app.command("confirm-cod")
def confirm_cod(
    number: str = typer.Argument(..., metavar="ORDER_NUMBER", help="The order number, e.g. ORD-2026-8K4Q2P."),
) -> None:
    """Confirm that a cash-on-delivery order's money was collected: the order becomes paid."""

    async def confirm(shop: Shop) -> PaymentView:
        return await shop.payments.confirm_cash(number, OPERATOR)

    payment = run(confirm)
    _show(payment)
    _say(f"Cash collected: order {payment.order_number} is paid.")


@app.command()
def refund(
    payment_id: int = PAYMENT_ID,
    amount: str | None = typer.Option(
        None, "--amount", metavar="AMOUNT", help='How much, e.g. "10.00"; all that is left when omitted.'
    ),
    reason: str = typer.Option("", "--reason", help="Why, kept with the refund and sent to the gateway."),
    yes: bool = YES,
) -> None:
    """Refund a succeeded payment, in full or in part, through its gateway."""
    if amount is not None and not amount.strip():
        fail('--amount: give an amount like "10.00", or leave the option out to refund all that is left.')
    cmd = RefundPayment(amount=amount, reason=reason)
    how_much = f"{amount.strip()} of" if amount is not None else "all that is left of"
    confirm(f"Refund {how_much} payment {payment_id} through its gateway?", yes=yes)

    async def give_back(shop: Shop) -> PaymentView:
        return await _known(payment_id, shop.payments.refund_payment(payment_id, cmd, OPERATOR))

    _show(run(give_back))


@app.command()
def reconcile(
    older_than: str = typer.Option(
        f"{int(RECONCILE_AFTER.total_seconds()) // 60}m",
        "--older-than",
        metavar="DURATION",
        help="Ask about payments untouched this long: 30s, 15m, 2h, 1d (0s: all of them).",
    ),
) -> None:
    """Ask the gateways about payments whose webhook never came, and about pending refunds."""
    age = parse_duration(older_than)

    async def ask(shop: Shop) -> ReconcileReport:
        with _progress("Asking the gateways") as progress:
            return await shop.payments.reconcile_payments(age, progress)

    with _warnings_of("shop.payments") as warnings:
        report = run(ask)
    _say(f"checked: {report.checked}")
    _say(f"settled: {report.settled}")
    _say(f"still pending: {report.still_pending}")
    _say(f"failed to ask: {report.failed_to_ask}")
    _say(f"refunds settled: {report.refunds_settled}")
    if report.failed_to_ask:
        noun = "payment" if report.failed_to_ask == 1 else "payments"
        _say(
            f"[yellow]{report.failed_to_ask} {noun} could not be asked about[/] (gateway unreachable); "
            "they stay pending and are asked again next time."
        )
    for warning in warnings:  # which payment or refund could not be settled, and why: one line each
        errors.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)


def parse_duration(raw: str) -> timedelta:
    """`30s`, `15m`, `2h`, `1d` (a whole number and one unit); a clear error (exit 1) otherwise."""
    match = DURATION.fullmatch(raw.strip().lower())
    if match is None:
        fail(f"--older-than: {raw!r} is not a duration; use a whole number and a unit: 30s, 15m, 2h or 1d.")
    digits = match[1].lstrip("0") or "0"  # int() of thousands of digits would raise
    seconds = int(digits[:12]) * UNITS[match[2]]
    if len(digits) > 12 or seconds > MAX_OLDER_THAN.total_seconds():
        fail(f"--older-than: {raw!r} is too long; at most {MAX_OLDER_THAN.days}d.")
    return timedelta(seconds=seconds)


# --- helpers ------------------------------------------------------------------------------------------


def run(use_case: Callable[[Shop], Awaitable[T]]) -> T:
    """`shop_cli.runner.run`, with a failure's message kept to one line: a gateway's message may
    span several (Stripe's "... let us know at support@stripe.com.\n\n(Network error: ...)")."""

    async def one_line(shop: Shop) -> T:
        try:
            return await use_case(shop)
        except DomainError as exc:
            exc.detail = " ".join(exc.detail.split())
            raise

    return run_use_case(one_line)


async def _known(payment_id: int, pending: Awaitable[PaymentView]) -> PaymentView:
    """The payment `pending` gives; "No payment ID." (not the core's "No such payment.") if none."""
    try:
        return await pending
    except NotFound as exc:
        if exc.detail == "No such payment.":
            raise NotFound(f"No payment {payment_id}.") from None
        raise


def _show(payment: PaymentView) -> None:
    _say(f"[bold]Payment {payment.id}[/] ({payment.gateway}) of order {payment.order_number}")
    _say(f"status: {payment.status}")
    _say(f"amount: {payment.amount} {payment.currency}")
    _say(f"refunded: {payment.refunded_amount} {payment.currency}")
    if payment.gateway_reference:
        _say(f"gateway reference: {escape(payment.gateway_reference)}")
    if payment.held:
        _say(f"[yellow]held:[/] {escape(payment.hold_reason or '')}")
    if payment.failure:
        _say(f"failure: {escape(payment.failure)}")
    _say(f"created: {when(payment.created_at, seconds=True)}")
    _say(f"updated: {when(payment.updated_at, seconds=True)}")
    refunds = payment.refunds or []
    if not refunds:
        _say("refunds: none")
        return
    table = Table(title="Refunds")
    for column in ("id", "amount", "status", "reason", "reference", "failure", "at"):
        justify: JustifyMethod = "right" if column in ("id", "amount") else "left"
        table.add_column(column, justify=justify, overflow="fold")
    for item in refunds:
        table.add_row(
            str(item.id),
            item.amount,
            item.status,
            escape(item.reason),
            escape(item.gateway_reference),
            escape(item.failure),
            when(item.created_at, seconds=True),
        )
    console.print(table)


class _Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(" ".join(record.getMessage().split()))


@contextmanager
def _warnings_of(name: str) -> Iterator[list[str]]:
    """The warnings the core logs meanwhile, one line each: without a handler Python's last resort
    would write them, several lines long, to standard error across the progress bar."""
    handler = _Collected()
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


@contextmanager
def _progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A transient bar on standard error fed `(done, total)`, as `shop_cli.progress` does for
    bulk use cases whose total is known up front; off a terminal it writes nothing."""
    stderr = Console(stderr=True)  # made now, so it follows the current streams and environment
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_interactive,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)
