"""`shop payments list|show|confirm-cod|reconcile|refund|verify`, on SQLite and the Stripe stand-in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import pytest
from click.testing import Result

from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.services.catalog_commands import CreateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import AddressInput, OrderItemInput, PlaceOrder
from shop_core.services.order_views import OrderView
from shop_core.services.payment_views import PaymentView, StartPayment
from tests.cli.conftest import Cli, error_line, ok, table_rows
from tests.conftest import fast_hasher, gateway_settings, make_settings
from tests.fakes import FakeClock
from tests.stand_ins.stripe_server import StripeStandIn

T = TypeVar("T")
STAFF = Actor("staff:test", None, is_staff=True)
ADDRESS = AddressInput(
    full_name="Ann Lee", line1="1 Main Street", city="Springfield", postal_code="12345", country="US"
)
UNREACHABLE = "http://127.0.0.1:1"  # nothing listens on port 1: the gateway cannot be asked


class Store:
    """The shop the CLI works on, driven through the core as the HTTP API would (customer side),
    with Stripe pointed at the stand-in. `cli(...)` runs `shop` with the same Stripe settings."""

    def __init__(self, cli: Cli, stripe: StripeStandIn) -> None:
        self.cli_of = cli
        self.stripe = stripe
        self.env = {
            "SHOP_STRIPE_SECRET_KEY": stripe.api_key,
            "SHOP_STRIPE_WEBHOOK_SECRET": stripe.webhook_secret,
            "SHOP_STRIPE_API_BASE": stripe.url,
        }
        self.customer, self.lamp = self.run(self._setup)

    def cli(self, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        return self.cli_of(*args, env={**self.env, **(env or {})}, input=input)

    def run(self, use_case: Callable[[Shop], Awaitable[T]], at: datetime | None = None) -> T:
        settings = make_settings(self.cli_of.database_url, **gateway_settings(self.stripe, None))
        clock = FakeClock(at) if at is not None else FakeClock(datetime.now(UTC))

        async def go() -> T:
            async with bootstrap(settings, hasher=fast_hasher(), clock=clock) as shop:
                return await use_case(shop)

        return asyncio.run(go())

    @staticmethod
    async def _setup(shop: Shop) -> tuple[Actor, int]:
        user = await shop.accounts.register(
            RegisterUser(email="ann@example.com", password="correct horse battery")
        )
        lamp = await shop.catalog.create_product(
            CreateProduct(name="Lamp", sku="LAMP", price=Decimal(25), stock_quantity=50),
            Actor("staff:test", is_staff=True),
        )
        return Actor(f"user:{user.id}", user.id), lamp.id

    def order(self, method: str, quantity: int = 1, at: datetime | None = None) -> OrderView:
        assert self.customer.user_id is not None
        user_id = self.customer.user_id
        cmd = PlaceOrder(
            items=[OrderItemInput(product_id=self.lamp, quantity=quantity)],
            shipping_address=ADDRESS,
            payment_method=method,
        )

        async def place(shop: Shop) -> OrderView:
            return (await shop.orders.place_order(user_id, self.customer, cmd)).order

        return self.run(place, at)

    def start(self, order: OrderView, at: datetime | None = None) -> PaymentView:
        async def start(shop: Shop) -> PaymentView:
            return (await shop.payments.start_payment(StartPayment(order_id=order.id), self.customer)).payment

        return self.run(start, at)

    def paid_by_card(self, quantity: int = 1, at: datetime | None = None) -> tuple[OrderView, PaymentView]:
        """A Stripe order the customer paid at the stand-in; its webhook is withheld (never delivered)."""
        order = self.order("stripe", quantity, at)
        payment = self.start(order, at)
        self.stripe.pay(payment.gateway_reference, "pm_card_visa")
        return order, payment

    def order_status(self, number: str) -> tuple[str, str]:
        async def look(shop: Shop) -> OrderView:
            return await shop.orders.get_order_by_number(number, STAFF)

        order = self.run(look)
        return order.status, order.payment_status

    def payment(self, payment_id: int) -> PaymentView:
        async def look(shop: Shop) -> PaymentView:
            return await shop.payments.get_payment(payment_id, STAFF)

        return self.run(look)


@pytest.fixture
def store(cli: Cli, stripe_stand_in: StripeStandIn) -> Store:
    return Store(cli, stripe_stand_in)


def lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def report(output: str) -> dict[str, int]:
    """The counts `shop payments reconcile` prints, by name."""
    counts: dict[str, int] = {}
    for line in lines(output):
        name, sep, value = line.partition(": ")
        if sep and value.isdigit():
            counts[name] = int(value)
    return counts


# --- list ------------------------------------------------------------------------------------------


def test_list_shows_the_payments_in_a_table_with_the_count(store: Store) -> None:
    cod = store.order("cod")
    ok(store.cli("payments", "confirm-cod", cod.order_number))
    card, card_payment = store.paid_by_card(quantity=2)

    out = ok(store.cli("payments", "list"))

    rows = sorted(table_rows(out), key=lambda row: int(row["id"]))
    cod_payment = next(row for row in rows if row["gateway"] == "cod")
    assert cod_payment == {
        "id": cod_payment["id"],
        "order": cod.order_number,
        "gateway": "cod",
        "status": "succeeded",
        "amount": "25.00",
        "currency": "USD",
        "refunded": "0.00",
        "held reason": "",
    }
    assert [
        (row["id"], row["order"], row["status"], row["amount"]) for row in rows if row is not cod_payment
    ] == [(str(card_payment.id), card.order_number, "pending", "50.00")]
    assert lines(out)[-1] == "page 1 of 1: 2 of 2 payments"

    pending = ok(store.cli("payments", "list", "--status", "pending"))
    assert [row["id"] for row in table_rows(pending)] == [str(card_payment.id)]
    assert lines(pending)[-1] == "page 1 of 1: 1 of 1 payment"
    assert lines(ok(store.cli("payments", "list", "--held"))) == ["page 1 of 1: 0 of 0 payments"]
    assert len(table_rows(ok(store.cli("payments", "list", "--not-held")))) == 2
    limited = ok(store.cli("payments", "list", "--page-size", "1"))
    assert len(table_rows(limited)) == 1
    assert lines(limited)[-1] == "page 1 of 2: 1 of 2 payments"


def test_list_with_an_unknown_status_is_one_error(store: Store) -> None:
    result = store.cli("payments", "list", "--status", "lost")

    assert error_line(result).startswith("error: status: Unknown status 'lost'; one of pending,")
    assert result.stdout == ""


# --- show ------------------------------------------------------------------------------------------


def test_show_has_the_fields_and_no_refunds(store: Store) -> None:
    order, payment = store.paid_by_card()

    out = ok(store.cli("payments", "show", str(payment.id)))

    assert lines(out)[0] == f"Payment {payment.id} (stripe) of order {order.order_number}"
    for line in (
        "status: pending",
        "amount: 25.00 USD",
        "refunded: 0.00 USD",
        f"gateway reference: {payment.gateway_reference}",
        "refunds: none",
    ):
        assert line in lines(out)
    assert not any(line.startswith("held:") for line in lines(out))


def test_show_of_an_unknown_payment_is_one_error(store: Store) -> None:
    result = store.cli("payments", "show", "999")

    assert error_line(result) == "error: No payment 999."
    assert result.stdout == ""


# --- confirm-cod -----------------------------------------------------------------------------------


def test_confirm_cod_pays_the_order_and_a_second_confirm_is_refused(store: Store) -> None:
    order = store.order("cod", quantity=2)
    assert store.order_status(order.order_number) == ("pending", "unpaid")

    out = ok(store.cli("payments", "confirm-cod", order.order_number.lower()))

    assert lines(out)[0].endswith(f"(cod) of order {order.order_number}")
    assert "status: succeeded" in lines(out)
    assert "amount: 50.00 USD" in lines(out)
    assert lines(out)[-1] == f"Cash collected: order {order.order_number} is paid."
    assert store.order_status(order.order_number) == ("paid", "paid")

    again = store.cli("payments", "confirm-cod", order.order_number)

    assert error_line(again) == f"error: Order {order.order_number} is paid; there is nothing to pay."
    assert again.stdout == ""
    assert len(table_rows(ok(store.cli("payments", "list")))) == 1  # still one payment


def test_confirm_cod_of_an_unknown_order_is_one_error(store: Store) -> None:
    result = store.cli("payments", "confirm-cod", "ORD-2026-NOPE2345")

    assert error_line(result) == "error: No order 'ORD-2026-NOPE2345'."
    assert result.stdout == ""


def test_confirm_cod_of_a_card_order_is_one_error_and_changes_nothing(store: Store) -> None:
    order = store.order("stripe")

    result = store.cli("payments", "confirm-cod", order.order_number)

    assert error_line(result) == f"error: Order {order.order_number} is paid by stripe, not cash."
    assert store.order_status(order.order_number) == ("pending", "unpaid")


# --- reconcile -------------------------------------------------------------------------------------


def test_reconcile_settles_a_card_payment_whose_webhook_never_came(store: Store) -> None:
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    old_order, old_payment = store.paid_by_card(at=hour_ago)
    new_order, new_payment = store.paid_by_card()

    out = ok(store.cli("payments", "reconcile"))  # 15 minutes by default: the old one only

    assert report(out) == {
        "checked": 1,
        "settled": 1,
        "still pending": 0,
        "failed to ask": 0,
        "refunds settled": 0,
    }
    assert "could not be asked" not in out
    assert store.order_status(old_order.order_number) == ("paid", "paid")
    assert store.payment(old_payment.id).status == "succeeded"
    assert store.order_status(new_order.order_number) == ("pending", "unpaid")

    out = ok(store.cli("payments", "reconcile", "--older-than", "0s"))  # 0s: every live payment

    assert (report(out)["checked"], report(out)["settled"]) == (1, 1)
    assert store.order_status(new_order.order_number) == ("paid", "paid")
    assert store.payment(new_payment.id).status == "succeeded"
    assert report(ok(store.cli("payments", "reconcile", "--older-than", "0s")))["checked"] == 0


def test_reconcile_counts_a_payment_still_unpaid_at_the_gateway(store: Store) -> None:
    order = store.order("stripe")
    store.start(order)  # the customer never paid

    out = ok(store.cli("payments", "reconcile", "--older-than", "0s"))

    assert (report(out)["checked"], report(out)["settled"], report(out)["still pending"]) == (1, 0, 1)
    assert store.order_status(order.order_number) == ("pending", "unpaid")


def test_reconcile_settles_a_pending_refund(store: Store) -> None:
    _, payment = store.paid_by_card()
    ok(store.cli("payments", "verify", str(payment.id)))
    store.stripe.set_refund_mode("pending")
    ok(store.cli("payments", "refund", str(payment.id), "--amount", "5.00", "--yes"))
    (refund,) = store.payment(payment.id).refunds or []
    assert refund.status == "pending"
    store.stripe.settle_refund(refund.gateway_reference)  # its webhook is withheld too

    out = ok(store.cli("payments", "reconcile", "--older-than", "0s"))

    assert report(out)["refunds settled"] == 1
    assert store.payment(payment.id).refunded_amount == "5.00"


def test_reconcile_says_so_when_a_gateway_cannot_be_asked_and_still_exits_0(store: Store) -> None:
    order, payment = store.paid_by_card()

    result = store.cli(
        "payments", "reconcile", "--older-than", "0s", env={"SHOP_STRIPE_API_BASE": UNREACHABLE}
    )

    out = ok(result)
    assert report(out) == {
        "checked": 1,
        "settled": 0,
        "still pending": 0,
        "failed to ask": 1,
        "refunds settled": 0,
    }
    assert lines(out)[-1] == (
        "1 payment could not be asked about (gateway unreachable); "
        "they stay pending and are asked again next time."
    )
    assert "Traceback" not in result.output
    (warning,) = result.stderr.splitlines()  # why, in one line (the gateway's message has several)
    assert warning.startswith(
        f"warning: payment {payment.id} could not be reconciled: The stripe gateway could not be asked:"
    )
    assert store.payment(payment.id).status == "pending"
    assert store.order_status(order.order_number) == ("pending", "unpaid")


@pytest.mark.parametrize(
    "duration", ["15", "15x", "1w", "-1m", "1.5h", "m", "", "1d2h", "3651d", "9" * 5000 + "s"]
)
def test_reconcile_with_a_bad_duration_is_one_error(store: Store, duration: str) -> None:
    _, payment = store.paid_by_card(at=datetime.now(UTC) - timedelta(days=1))

    result = store.cli("payments", "reconcile", "--older-than", duration)

    line = error_line(result)
    assert line.startswith(f"error: --older-than: {duration!r} is ")
    assert result.stdout == ""
    assert store.payment(payment.id).status == "pending"  # nothing was asked


@pytest.mark.parametrize("duration", ["30s", "15m", "2h", "1d", "1D", " 5m ", "0005m", "3650d"])
def test_reconcile_accepts_each_unit(store: Store, duration: str) -> None:
    assert report(ok(store.cli("payments", "reconcile", "--older-than", duration)))["checked"] == 0


# --- refund ----------------------------------------------------------------------------------------


def test_refund_asks_first_and_no_refunds_nothing(store: Store) -> None:
    _, payment = store.paid_by_card()
    ok(store.cli("payments", "verify", str(payment.id)))

    result = store.cli("payments", "refund", str(payment.id), "--amount", "5.00", input="n\n")

    assert result.exit_code == 1
    assert "Aborted" in result.stderr
    assert "Refund 5.00 of payment" in result.stderr
    assert store.stripe.refunds() == []
    assert store.payment(payment.id).refunded_amount == "0.00"
    agreed = ok(store.cli("payments", "refund", str(payment.id), "--amount", "5.00", input="y\n"))
    assert "refunded: 5.00 USD" in lines(agreed)


def test_show_and_list_as_json(store: Store) -> None:
    order, payment = store.paid_by_card(quantity=2)
    ok(store.cli("payments", "verify", str(payment.id)))

    shown = json.loads(ok(store.cli("payments", "show", str(payment.id), "--json")))
    listed = json.loads(ok(store.cli("payments", "list", "--json")))

    assert (shown["id"], shown["order_number"], shown["status"], shown["amount"]) == (
        payment.id,
        order.order_number,
        "succeeded",
        "50.00",
    )
    assert listed["count"] == 1
    [first] = listed["results"]
    assert {k: first[k] for k in ("id", "order_number", "status", "amount", "refunded_amount")} == {
        "id": payment.id,
        "order_number": order.order_number,
        "status": "succeeded",
        "amount": "50.00",
        "refunded_amount": "0.00",
    }


def test_refund_in_part_then_in_full_through_stripe(store: Store) -> None:
    order, payment = store.paid_by_card(quantity=2)  # 50.00
    ok(store.cli("payments", "verify", str(payment.id)))

    part = ok(
        store.cli(
            "payments", "refund", str(payment.id), "--amount", "20.00", "--reason", "scratched", "--yes"
        )
    )

    assert "status: succeeded" in lines(part)
    assert "refunded: 20.00 USD" in lines(part)
    assert [(row["amount"], row["status"], row["reason"]) for row in table_rows(part)] == [
        ("20.00", "succeeded", "scratched")
    ]
    assert store.order_status(order.order_number) == ("paid", "paid")

    rest = ok(store.cli("payments", "refund", str(payment.id), "--yes"))

    assert "status: refunded" in lines(rest)
    assert "refunded: 50.00 USD" in lines(rest)
    assert [(row["amount"], row["status"]) for row in table_rows(rest)] == [
        ("20.00", "succeeded"),
        ("30.00", "succeeded"),
    ]
    assert sorted(r["amount"] for r in store.stripe.refunds()) == [2000, 3000]
    assert store.order_status(order.order_number) == ("refunded", "refunded")
    shown = ok(store.cli("payments", "show", str(payment.id)))
    assert [row["amount"] for row in table_rows(shown)] == ["20.00", "30.00"]

    again = store.cli("payments", "refund", str(payment.id), "--amount", "1.00", "--yes")

    assert error_line(again) == (
        f"error: Payment {payment.id} is refunded; only a succeeded payment is refunded."
    )
    assert len(store.stripe.refunds()) == 2


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("ten", "error: amount: 'ten' is not an amount; use a decimal string like \"10.00\"."),
        ("0", "error: amount: A refund must be more than zero."),
        ("-5", "error: amount: Use an amount of zero or more."),
        ("1.234", "error: amount: Use at most 2 decimal places for USD."),
        ("NaN", "error: amount: Use an amount of zero or more."),
        ("25.01", "error: amount: At most 25.00 USD is left to refund."),
        ("  ", 'error: --amount: give an amount like "10.00", or leave the option out'),
    ],
    ids=["not a number", "zero", "negative", "too fine", "nan", "too much", "blank"],
)
def test_refund_with_a_bad_amount_is_one_error_and_refunds_nothing(
    store: Store, amount: str, message: str
) -> None:
    _, payment = store.paid_by_card()
    ok(store.cli("payments", "verify", str(payment.id)))

    result = store.cli("payments", "refund", str(payment.id), "--amount", amount, "--yes")

    assert error_line(result).startswith(message)
    assert result.stdout == ""
    assert store.stripe.refunds() == []
    assert store.payment(payment.id).refunds == []


def test_refund_of_an_unpaid_payment_or_an_unknown_one_is_one_error(store: Store) -> None:
    _, payment = store.paid_by_card()  # not verified: still pending here

    line = error_line(store.cli("payments", "refund", str(payment.id), "--yes"))

    assert line == f"error: Payment {payment.id} is pending; only a succeeded payment is refunded."
    assert (
        error_line(store.cli("payments", "refund", "999", "--amount", "1", "--yes"))
        == "error: No payment 999."
    )
    assert store.stripe.refunds() == []


def test_refund_when_the_gateway_fails_is_one_error_and_stays_pending(store: Store) -> None:
    _, payment = store.paid_by_card()
    ok(store.cli("payments", "verify", str(payment.id)))
    store.stripe.fail_next(1, 500, should_retry=False)

    result = store.cli("payments", "refund", str(payment.id), "--amount", "5.00", "--yes")

    line = error_line(result)
    assert line.startswith("error: The stripe gateway did not confirm refund #")
    assert line.endswith("It stays pending and is tried again by reconciliation.")
    (refund,) = store.payment(payment.id).refunds or []
    assert refund.status == "pending"

    out = ok(store.cli("payments", "reconcile", "--older-than", "0s"))  # asks again: made once

    assert report(out)["refunds settled"] == 1
    assert store.payment(payment.id).refunded_amount == "5.00"
    assert [r["amount"] for r in store.stripe.refunds()] == [500]


# --- verify ----------------------------------------------------------------------------------------


def test_verify_asks_stripe_and_pays_the_order(store: Store) -> None:
    order, payment = store.paid_by_card()

    out = ok(store.cli("payments", "verify", str(payment.id)))

    assert lines(out)[0] == f"Payment {payment.id} (stripe) of order {order.order_number}"
    assert "status: succeeded" in lines(out)
    assert store.order_status(order.order_number) == ("paid", "paid")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHOP_STRIPE_API_BASE": UNREACHABLE}, "error: The stripe gateway could not be asked:"),
        (
            {"SHOP_STRIPE_SECRET_KEY": "", "SHOP_STRIPE_WEBHOOK_SECRET": ""},
            "error: stripe payments are not configured on this shop.",
        ),
    ],
    ids=["unreachable", "not configured"],
)
def test_verify_without_the_gateway_is_one_error(store: Store, env: dict[str, str], message: str) -> None:
    order, payment = store.paid_by_card()

    result = store.cli("payments", "verify", str(payment.id), env=env)

    assert error_line(result).startswith(message)
    assert result.stdout == ""
    assert store.order_status(order.order_number) == ("pending", "unpaid")


def test_verify_of_an_unknown_payment_is_one_error(store: Store) -> None:
    assert error_line(store.cli("payments", "verify", "999")) == "error: No payment 999."


def test_a_payment_id_must_be_a_positive_number(store: Store) -> None:
    result = store.cli("payments", "show", "abc")

    assert result.exit_code == 2  # a usage error, like every argument typer checks
    assert "Traceback" not in result.output
    assert result.stdout == ""
