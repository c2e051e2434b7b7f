"""Order use cases over the real databases, with a clock the tests move: expiry of unpaid orders,
gapless invoice numbers, idempotency-key purging, refunds and stock, prices frozen at placement."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from shop_core.adapters.fpdf_invoice_renderer import FpdfInvoiceRenderer
from shop_core.bootstrap import Shop, bootstrap
from shop_core.domain.actors import Actor
from shop_core.domain.invoices import InvoiceDocument
from shop_core.services.catalog_commands import CreateProduct, UpdateProduct
from shop_core.services.commands import RegisterUser
from shop_core.services.order_commands import AddressInput, ChangeOrderStatus, OrderItemInput, PlaceOrder
from shop_core.services.order_views import OrderView
from tests.conftest import fast_hasher, make_settings
from tests.fakes import FakeClock

TIMEOUT = 60  # seconds an order may stay unpaid
T0 = datetime(2030, 12, 31, 20, 0, tzinfo=UTC)
STAFF = Actor("staff:boss", None, is_staff=True)
ADDRESS = AddressInput(
    full_name="Ada Lovelace",
    line1="12 St James's Square",
    city="London",
    postal_code="SW1Y 4JH",
    country="gb",
)


class FlakyRenderer:
    """The real renderer, failing its first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.inner = FpdfInvoiceRenderer()
        self.failures = failures
        self.calls = 0

    def render(self, document: InvoiceDocument) -> bytes:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the printer is on fire")
        return self.inner.render(document)


@dataclass
class World:
    shop: Shop
    clock: FakeClock
    renderer: FlakyRenderer
    customer: Actor
    widget: int  # 9.99, 10% off, 10 in stock
    gadget: int  # 20.00, 5 in stock

    @property
    def user_id(self) -> int:
        assert self.customer.user_id is not None
        return self.customer.user_id

    async def place(self, *items: tuple[int, int], key: str | None = None, method: str = "cod") -> OrderView:
        cmd = PlaceOrder(
            items=[OrderItemInput(product_id=pid, quantity=qty) for pid, qty in items],
            shipping_address=ADDRESS,
            payment_method=method,
        )
        placed = await self.shop.orders.place_order(self.user_id, self.customer, cmd, idempotency_key=key)
        assert not placed.replayed
        return placed.order

    async def paid(self, *items: tuple[int, int]) -> OrderView:
        """An order placed and paid, its jobs (the invoice's among them) done."""
        order = await self.place(*items)
        await self.move(order.id, "paid")
        await self.shop.jobs.drain_jobs()
        return order

    async def stock(self, product_id: int) -> int:
        async with self.shop.ports.uow() as uow:
            found = await uow.products.by_ids([product_id])
        return found[product_id].stock_quantity

    async def movements(self, sku: str, reason: str) -> list[tuple[int, str, str]]:
        """(delta, actor, note) of the product's movements for `reason`, oldest first."""
        history = await self.shop.stock.stock_history(sku, Actor.operator())
        return [(m.delta, m.actor, m.note) for m in reversed(history) if m.reason == reason]

    async def move(self, order_id: int, *statuses: str) -> OrderView:
        view = None
        for status in statuses:
            view = await self.shop.orders.change_order_status(
                order_id, ChangeOrderStatus(status=status), STAFF
            )
        assert view is not None
        return view


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    settings = make_settings(
        database_url,
        order_payment_timeout=TIMEOUT,
        tax_rate=Decimal("0.15"),
        shipping_flat=Decimal("4.99"),
        free_shipping_over=Decimal(100),
        store_name="Corner Shop",
    )
    clock = FakeClock(T0)
    renderer = FlakyRenderer()
    async with bootstrap(settings, hasher=fast_hasher(), clock=clock, invoice_renderer=renderer) as shop:
        user = await shop.accounts.register(
            RegisterUser(email="ada@example.com", password="correct horse battery")
        )
        widget = await shop.catalog.create_product(
            CreateProduct(
                name="Widget",
                sku="WIDGET",
                price=Decimal("9.99"),
                discount_percentage=Decimal(10),
                stock_quantity=10,
            ),
            Actor("staff:boss", is_staff=True),
        )
        gadget = await shop.catalog.create_product(
            CreateProduct(name="Gadget", sku="GADGET", price=Decimal(20), stock_quantity=5),
            Actor("staff:boss", is_staff=True),
        )
        yield World(
            shop, clock, renderer, Actor(f"user:{user.id}", user.id), widget=widget.id, gadget=gadget.id
        )


async def test_an_order_is_priced_and_stored_as_placed(world: World) -> None:
    order = await world.place((world.widget, 3))

    # 9.99 -10% x 3: 3.00 off; tax 15% of 26.97 = 4.0455 → 4.05; goods 26.97 < 100: shipping 4.99.
    assert (order.subtotal, order.discount_amount, order.tax_amount, order.shipping_cost) == (
        "29.97",
        "3.00",
        "4.05",
        "4.99",
    )
    assert order.total_price == "36.01"
    assert order.shipping_address.country == "GB"
    assert (order.status, order.payment_status) == ("pending", "unpaid")
    assert await world.stock(world.widget) == 7
    assert await world.shop.orders.get_order(order.id, world.customer) == order


# --- expiry of unpaid orders -----------------------------------------------------------------------


async def test_unpaid_orders_expire_after_the_timeout(world: World) -> None:
    shop, clock = world.shop, world.clock
    old = await world.place((world.widget, 2), (world.gadget, 1), method="stripe")
    paid = await world.place((world.widget, 3), method="sslcommerz")
    await world.move(paid.id, "paid")
    clock.advance(1)
    at_the_limit = await world.place((world.gadget, 1), method="sslcommerz")
    clock.advance(49)
    young = await world.place((world.widget, 1), method="stripe")
    assert (await world.stock(world.widget), await world.stock(world.gadget)) == (4, 3)

    clock.advance(11)  # T0 + 61s: `old` and `paid` are 61s old, `at_the_limit` exactly 60s
    assert await shop.orders.expire_unpaid_orders() == 1

    expired = await shop.orders.get_order(old.id, STAFF)
    assert (expired.status, expired.payment_status) == ("cancelled", "unpaid")
    assert expired.updated_at == clock.now()
    assert isinstance(expired.events, list)
    cancel = [e for e in expired.events if e.action == "status" and e.to_status == "cancelled"]
    assert [(e.actor, e.from_status, e.note) for e in cancel] == [("system", "pending", "payment timeout")]
    assert "stock_returned" in [e.action for e in expired.events]
    assert (await world.stock(world.widget), await world.stock(world.gadget)) == (6, 4)
    assert await world.movements("WIDGET", "cancellation") == [(2, "system", old.order_number)]
    assert await world.movements("GADGET", "cancellation") == [(1, "system", old.order_number)]

    for untouched in (paid, at_the_limit, young):
        view = await shop.orders.get_order(untouched.id, world.customer)
        assert view.status == ("paid" if untouched is paid else "pending")
    assert await shop.orders.expire_unpaid_orders() == 0  # nothing more to do
    assert (await world.stock(world.widget), await world.stock(world.gadget)) == (6, 4)

    clock.advance(3600)
    assert await shop.orders.expire_unpaid_orders() == 2  # `at_the_limit` and `young` now
    assert (await shop.orders.get_order(paid.id, world.customer)).status == "paid"
    assert (await world.stock(world.widget), await world.stock(world.gadget)) == (7, 5)
    assert await shop.orders.expire_unpaid_orders() == 0


async def test_cash_on_delivery_orders_do_not_expire_with_the_payment_timeout(world: World) -> None:
    shop, clock = world.shop, world.clock
    cod = await world.place((world.widget, 2))
    online = await world.place((world.gadget, 1), method="stripe")

    clock.advance(TIMEOUT * 1000)  # days: the courier has not come yet
    assert await shop.orders.expire_unpaid_orders() == 1

    assert (await shop.orders.get_order(online.id, STAFF)).status == "cancelled"
    waiting = await shop.orders.get_order(cod.id, STAFF)
    assert (waiting.status, waiting.payment_status) == ("pending", "unpaid")
    assert await world.stock(world.widget) == 8  # still set aside for the delivery
    assert await shop.orders.expire_unpaid_orders() == 0


async def test_cash_on_delivery_orders_expire_after_their_own_timeout(database_url: str) -> None:
    clock = FakeClock()
    settings = make_settings(database_url, order_payment_timeout=TIMEOUT, cod_order_timeout=10 * TIMEOUT)
    async with bootstrap(settings, hasher=fast_hasher(), clock=clock) as shop:
        user = await shop.accounts.register(
            RegisterUser(email="cod@example.com", password="correct horse battery")
        )
        product = await shop.catalog.create_product(
            CreateProduct(name="Kettle", sku="KETTLE", price=Decimal(30), stock_quantity=5),
            Actor("staff:boss", is_staff=True),
        )
        customer = Actor(f"user:{user.id}", user.id)
        cmd = PlaceOrder(
            items=[OrderItemInput(product_id=product.id, quantity=2)],
            shipping_address=ADDRESS,
            payment_method="cod",
        )
        placed = (await shop.orders.place_order(user.id, customer, cmd)).order

        clock.advance(TIMEOUT + 1)
        assert await shop.orders.expire_unpaid_orders() == 0
        clock.advance(9 * TIMEOUT)
        assert await shop.orders.expire_unpaid_orders() == 1

        expired = await shop.orders.get_order(placed.id, STAFF)
        assert expired.status == "cancelled"
        assert isinstance(expired.events, list)
        notes = [e.note for e in expired.events if e.action == "status" and e.to_status == "cancelled"]
        assert notes == ["cash-on-delivery timeout"]
        async with shop.ports.uow() as uow:
            assert (await uow.products.by_ids([product.id]))[product.id].stock_quantity == 5


# --- invoices --------------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_invoice_numbers_run_per_year_without_gaps(world: World) -> None:
    shop, clock = world.shop, world.clock
    world.renderer.failures = 1  # the invoice job's first try fails: its number stays with the order
    first = await world.paid((world.widget, 1))
    second = await world.paid((world.widget, 1))

    issued = await shop.invoices.order_invoice(second.id, world.customer)
    assert issued.number == "INV-2030-000002"  # the first order kept its number: no gap
    assert issued.filename == "INV-2030-000002.pdf"
    text = pdf_text(issued.pdf)
    assert "INV-2030-000002" in text
    assert second.order_number in text
    assert "Payment status: paid" in text
    retried = await shop.invoices.order_invoice(first.id, STAFF)  # rendered by the job's retry, same number
    assert retried.number == "INV-2030-000001"
    assert "INV-2030-000001" in pdf_text(retried.pdf)
    third = await world.paid((world.widget, 1))
    assert (await shop.invoices.order_invoice(third.id, world.customer)).number == "INV-2030-000003"

    clock.current = datetime(2031, 1, 1, 0, 0, 1, tzinfo=UTC)
    fourth = await world.paid((world.widget, 1))
    assert (await shop.invoices.order_invoice(fourth.id, world.customer)).number == "INV-2031-000001"
    newer = await world.paid((world.gadget, 1))
    assert (
        await shop.invoices.order_invoice_by_number(newer.order_number, STAFF)
    ).number == "INV-2031-000002"

    # Issued once: asking again (even in another year) gives the same invoice, and no new number.
    calls = world.renderer.calls
    again = await shop.invoices.order_invoice(second.id, STAFF)
    assert (again.number, again.pdf) == (issued.number, issued.pdf)
    assert (
        await shop.invoices.order_invoice_by_number(second.order_number, world.customer)
    ).pdf == issued.pdf
    assert world.renderer.calls == calls
    last = await world.paid((world.gadget, 1))
    assert (await shop.invoices.order_invoice(last.id, world.customer)).number == "INV-2031-000003"


async def test_an_unpaid_order_has_a_pro_forma_and_spends_no_invoice_number(world: World) -> None:
    shop = world.shop
    unpaid = await world.place((world.widget, 1))

    proforma = await shop.invoices.order_invoice(unpaid.id, world.customer)

    assert (proforma.number, proforma.filename) == ("pro-forma", f"proforma-{unpaid.order_number}.pdf")
    text = pdf_text(proforma.pdf)
    assert "Pro-forma invoice" in text
    assert "Payment status: unpaid" in text
    assert unpaid.order_number in text
    assert "INV-" not in text
    await shop.orders.cancel_order(unpaid.id, world.customer)
    assert (
        await shop.invoices.order_invoice(unpaid.id, STAFF)
    ).number == "pro-forma"  # cancelled: still none

    paid = await world.paid((world.widget, 1))
    assert (await shop.invoices.order_invoice(paid.id, world.customer)).number == "INV-2030-000001"
    async with shop.ports.uow() as uow:
        assert await uow.invoices.get(unpaid.id) is None


async def test_an_invoice_asked_for_before_the_payment_says_paid_after_it(world: World) -> None:
    shop = world.shop
    order = await world.place((world.widget, 1))
    assert "Payment status: unpaid" in pdf_text(
        (await shop.invoices.order_invoice(order.id, world.customer)).pdf
    )

    await world.move(order.id, "paid")
    await shop.jobs.drain_jobs()

    paid = await shop.invoices.order_invoice(order.id, world.customer)
    assert paid.number == "INV-2030-000001"
    assert "Payment status: paid" in pdf_text(paid.pdf)

    await shop.orders.cancel_order(order.id, STAFF, "out of stock after all")  # refunded: rendered again
    refunded = await shop.invoices.order_invoice(order.id, world.customer)
    assert refunded.number == "INV-2030-000001"
    assert "Payment status: refunded" in pdf_text(refunded.pdf)
    assert (await shop.invoices.order_invoice(order.id, STAFF)).pdf == refunded.pdf  # and kept


# --- idempotency keys ------------------------------------------------------------------------------


async def test_idempotency_keys_are_purged_after_a_day(world: World) -> None:
    shop, clock = world.shop, world.clock
    cmd = PlaceOrder(
        items=[OrderItemInput(product_id=world.gadget, quantity=1)],
        shipping_address=ADDRESS,
        payment_method="cod",
    )

    async def place(key: str) -> tuple[int, bool]:
        placed = await shop.orders.place_order(world.user_id, world.customer, cmd, idempotency_key=key)
        return placed.order.id, placed.replayed

    old_id, _ = await place("key-old")
    assert await place("key-old") == (old_id, True)
    clock.advance(3600)
    day_old_id, _ = await place("key-day-old")
    clock.advance(24 * 3600)  # T0 + 25h: `key-old` is 25h old, `key-day-old` exactly 24h
    new_id, _ = await place("key-new")

    assert await shop.orders.purge_idempotency_keys() == 1
    assert await shop.orders.purge_idempotency_keys() == 0

    again_id, replayed = await place("key-old")  # forgotten: a new order
    assert not replayed
    assert again_id not in {old_id, day_old_id, new_id}
    assert await place("key-day-old") == (day_old_id, True)
    assert await place("key-new") == (new_id, True)
    assert await world.stock(world.gadget) == 1  # four orders of one, replays took nothing


# --- refunds and stock -----------------------------------------------------------------------------


async def test_staff_cancel_a_paid_order_which_is_refunded_with_its_stock(world: World) -> None:
    shop, clock = world.shop, world.clock
    order = await world.place((world.widget, 4))
    clock.advance(10)
    paid = await world.move(order.id, "paid")
    assert (paid.payment_status, paid.paid_at) == ("paid", clock.now())
    clock.advance(10)

    cancelled = await shop.orders.cancel_order(order.id, STAFF, "customer changed their mind")

    assert (cancelled.status, cancelled.payment_status) == ("cancelled", "refunded")
    assert isinstance(cancelled.events, list)
    actions = [e.action for e in cancelled.events]
    assert actions == ["placed", "status", "status", "stock_returned", "refund"]
    assert [e.actor for e in cancelled.events[2:]] == ["staff:boss"] * 3
    assert cancelled.events[2].note == "customer changed their mind"
    assert await world.stock(world.widget) == 10
    assert await world.movements("WIDGET", "cancellation") == [(4, "staff:boss", order.order_number)]
    assert await shop.orders.get_order(order.id, STAFF) == cancelled


async def test_paid_then_refunded_returns_the_stock(world: World) -> None:
    order = await world.place((world.widget, 2))

    refunded = await world.move(order.id, "paid", "refunded")

    assert (refunded.status, refunded.payment_status) == ("refunded", "refunded")
    assert await world.stock(world.widget) == 10
    assert await world.movements("WIDGET", "cancellation") == [(2, "staff:boss", order.order_number)]


async def test_a_delivered_order_refunded_keeps_the_stock_out(world: World) -> None:
    shop, clock = world.shop, world.clock
    order = await world.place((world.widget, 2), (world.gadget, 1))
    for status in ("paid", "processing", "shipped", "delivered"):
        clock.advance(60)
        await world.move(order.id, status)
    delivered_at = clock.now()
    clock.advance(60)

    refunded = await world.move(order.id, "refunded")

    assert (refunded.status, refunded.payment_status) == ("refunded", "refunded")
    assert refunded.delivered_at == delivered_at
    assert isinstance(refunded.events, list)
    assert "stock_returned" not in [e.action for e in refunded.events]
    assert (await world.stock(world.widget), await world.stock(world.gadget)) == (8, 4)
    assert await world.movements("WIDGET", "cancellation") == []
    assert await world.movements("GADGET", "cancellation") == []
    # The expiry sweep leaves it alone too.
    clock.advance(10 * TIMEOUT)
    assert await shop.orders.expire_unpaid_orders() == 0
    assert (await shop.orders.get_order(order.id, STAFF)).status == "refunded"


# --- prices are frozen at placement ----------------------------------------------------------------


async def test_a_catalog_price_change_leaves_placed_orders_alone(world: World) -> None:
    shop = world.shop
    order = await world.place((world.widget, 3), (world.gadget, 2))
    before = await shop.orders.get_order(order.id, world.customer)

    world.clock.advance(30)
    await shop.catalog.update_product(
        world.widget,
        UpdateProduct(price=Decimal("49.99"), discount_percentage=Decimal(0), name="Widget II"),
        Actor("x", is_staff=True),
    )
    await shop.catalog.update_product(
        world.gadget, UpdateProduct(price=Decimal("0.50")), Actor("staff:boss", is_staff=True)
    )

    after = await shop.orders.get_order(order.id, world.customer)
    assert after == before == order
    assert [(i.product_name, i.unit_price, i.discount_amount) for i in after.items] == [
        ("Widget", "9.99", "3.00"),
        ("Gadget", "20.00", "0.00"),
    ]
    # 69.97 - 3.00 = 66.97 goods (under 100: shipping 4.99); tax 4.05 + 6.00; total 82.01.
    assert (after.subtotal, after.tax_amount, after.shipping_cost, after.total_price) == (
        "69.97",
        "10.05",
        "4.99",
        "82.01",
    )
    # A new order is priced at the new prices.
    fresh = await world.place((world.widget, 1))
    assert (fresh.items[0].product_name, fresh.items[0].unit_price, fresh.subtotal) == (
        "Widget II",
        "49.99",
        "49.99",
    )
