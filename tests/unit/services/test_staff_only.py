"""Every staff-only use case refuses a customer in the core itself, whatever driver calls it: the
HTTP guards and the CLI are a second line, not the only one. A refused call changes nothing."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.errors import PermissionDenied
from shop_core.domain.vouchers import VoucherKind
from shop_core.services.catalog_commands import (
    ChangeStock,
    CreateCategory,
    CreateProduct,
    UpdateCategory,
    UpdateProduct,
)
from shop_core.services.catalog_variants import AddVariant, UpdateVariant
from shop_core.services.commands import CreateAdmin
from shop_core.services.order_commands import ChangeOrderStatus
from shop_core.services.payment_views import RefundPayment
from shop_core.services.sales import CreateSale, UpdateSale
from shop_core.services.shipping_commands import CreateZone, MethodInput, UpdateMethod, UpdateZone
from shop_core.services.shopify_import import read_shopify_file
from shop_core.services.tax_rates import CreateTaxRate, UpdateTaxRate
from shop_core.services.voucher_commands import CreateVoucher, GenerateVouchers, UpdateVoucher
from tests.fakes import fake_shop

CUSTOMER = Actor.user(7, "eve@example.com", is_staff=False)
STAFF = Actor.operator()

UseCase = Callable[[Shop, Actor], Awaitable[Any]]


async def _drain(shop: Shop, actor: Actor) -> None:
    async for _ in shop.catalog.export_products(actor):
        pass


STAFF_ONLY: dict[str, UseCase] = {
    "accounts.create_admin": lambda s, a: s.accounts.create_admin(
        CreateAdmin(email="root@example.com", password="a long enough password"), a
    ),
    "accounts.find_user": lambda s, a: s.accounts.find_user("ada@example.com", a),
    "accounts.list_users": lambda s, a: s.accounts.list_users(a),
    "accounts.deactivate_user": lambda s, a: s.accounts.deactivate_user("ada@example.com", a),
    "catalog.create_product": lambda s, a: s.catalog.create_product(
        CreateProduct(name="Lamp", sku="L-9", price=Decimal("5.00")), a
    ),
    "catalog.update_product": lambda s, a: s.catalog.update_product(1, UpdateProduct(name="Renamed"), a),
    "catalog.delete_product": lambda s, a: s.catalog.delete_product(1, a),
    "catalog.create_category": lambda s, a: s.catalog.create_category(CreateCategory(name="Toys"), a),
    "catalog.update_category": lambda s, a: s.catalog.update_category(1, UpdateCategory(name="Games"), a),
    "catalog.delete_category": lambda s, a: s.catalog.delete_category(1, a),
    "catalog.list_variants": lambda s, a: s.catalog.list_variants(1, a),
    "catalog.add_variant": lambda s, a: s.catalog.add_variant(
        1, AddVariant(sku="L-1-S", options={"Size": "S"}), a
    ),
    "catalog.update_variant": lambda s, a: s.catalog.update_variant(1, 1, UpdateVariant(sku="L-1-X"), a),
    "catalog.delete_variant": lambda s, a: s.catalog.delete_variant(1, 1, a),
    "catalog.import_products": lambda s, a: s.catalog.import_products(iter([]), a),
    "catalog.import_shopify": lambda s, a: s.catalog.import_shopify(
        read_shopify_file(b"Handle,Title,Variant Price\npen,Pen,1\n", "USD"), a
    ),
    "catalog.export_products": _drain,
    "catalog.seed_catalog": lambda s, a: s.catalog.seed_catalog(3, 1, a),
    "catalog.recount": lambda s, a: s.catalog.recount(a),
    "stock.change_stock": lambda s, a: s.stock.change_stock(ChangeStock(sku="L-1", reason="x", delta=5), a),
    "stock.stock_history": lambda s, a: s.stock.stock_history("L-1", a),
    "orders.list_orders_with_emails": lambda s, a: s.orders.list_orders_with_emails(a),
    "orders.change_order_status": lambda s, a: s.orders.change_order_status(
        1, ChangeOrderStatus(status="processing"), a
    ),
    "payments.list_payments": lambda s, a: s.payments.list_payments(a),
    "payments.refund_payment": lambda s, a: s.payments.refund_payment(
        1, msgspec.convert({"amount": "1.00"}, RefundPayment), a
    ),
    "payments.confirm_cash": lambda s, a: s.payments.confirm_cash("ORD-2026-AAAA", a),
    "payments.confirm_cash_for_order": lambda s, a: s.payments.confirm_cash_for_order(1, a),
    "jobs.list_jobs": lambda s, a: s.jobs.list_jobs(a),
    "jobs.get_job": lambda s, a: s.jobs.get_job(1, a),
    "jobs.retry_job": lambda s, a: s.jobs.retry_job(1, a),
    "operations.seed_demo": lambda s, a: s.operations.seed_demo(a),
    "vouchers.create_voucher": lambda s, a: s.vouchers.create_voucher(
        CreateVoucher(code="XMAS-10", kind=VoucherKind.FREE_SHIPPING), a
    ),
    "vouchers.list_vouchers": lambda s, a: s.vouchers.list_vouchers(a),
    "vouchers.get_voucher": lambda s, a: s.vouchers.get_voucher(1, a),
    "vouchers.find_voucher": lambda s, a: s.vouchers.find_voucher("XMAS-10", a),
    "vouchers.update_voucher": lambda s, a: s.vouchers.update_voucher(1, UpdateVoucher(usage_limit=5), a),
    "vouchers.deactivate_voucher": lambda s, a: s.vouchers.deactivate_voucher("XMAS-10", a),
    "vouchers.delete_voucher": lambda s, a: s.vouchers.delete_voucher(1, a),
    "vouchers.generate_vouchers": lambda s, a: s.vouchers.generate_vouchers(
        GenerateVouchers(count=3, prefix="XMAS-", kind=VoucherKind.FREE_SHIPPING), a
    ),
    "sales.create_sale": lambda s, a: s.sales.create_sale(_sale(s), a),
    "sales.list_sales": lambda s, a: s.sales.list_sales(a),
    "sales.get_sale": lambda s, a: s.sales.get_sale(1, a),
    "sales.update_sale": lambda s, a: s.sales.update_sale(1, UpdateSale(name="Renamed"), a),
    "sales.end_sale": lambda s, a: s.sales.end_sale(1, a),
    "sales.delete_sale": lambda s, a: s.sales.delete_sale(1, a),
    "addresses.addresses_of": lambda s, a: s.addresses.addresses_of(7, a),
    "tax.list_rates": lambda s, a: s.tax.list_rates(a),
    "tax.get_rate": lambda s, a: s.tax.get_rate(1, a),
    "tax.create_rate": lambda s, a: s.tax.create_rate(
        CreateTaxRate(country="BD", rate=Decimal("0.15"), name="VAT"), a
    ),
    "tax.update_rate": lambda s, a: s.tax.update_rate(1, UpdateTaxRate(rate=Decimal("0.2")), a),
    "tax.delete_rate": lambda s, a: s.tax.delete_rate(1, a),
    "shipping.list_zones": lambda s, a: s.shipping.list_zones(a),
    "shipping.get_zone": lambda s, a: s.shipping.get_zone(1, a),
    "shipping.find_zone": lambda s, a: s.shipping.find_zone("Asia", a),
    "shipping.create_zone": lambda s, a: s.shipping.create_zone(CreateZone(name="Asia", countries=["BD"]), a),
    "shipping.update_zone": lambda s, a: s.shipping.update_zone(1, UpdateZone(name="South Asia"), a),
    "shipping.delete_zone": lambda s, a: s.shipping.delete_zone(1, a),
    "shipping.add_method": lambda s, a: s.shipping.add_method(
        1, MethodInput(name="Standard", price=Decimal("4.99")), a
    ),
    "shipping.update_method": lambda s, a: s.shipping.update_method(1, UpdateMethod(price=Decimal(0)), a),
    "shipping.delete_method": lambda s, a: s.shipping.delete_method(1, a, zone_id=1),
}

# Use cases that take an actor but serve customers too (they see and act on their own things only).
FOR_CUSTOMERS_TOO = {
    "orders.place_order",
    "orders.checkout_cart",
    "orders.get_order",
    "orders.get_order_by_number",
    "orders.list_orders",
    "orders.cancel_order",
    "invoices.order_invoice",
    "invoices.order_invoice_by_number",
    "payments.start_payment",
    "payments.get_payment",
    "payments.verify_payment",
    "payments.payments_of_order",
    "payments.cancel_order",
    "addresses.list_addresses",
    "addresses.add_address",
    "addresses.get_address",
    "addresses.update_address",
    "addresses.delete_address",
}


def _sale(shop: Shop) -> CreateSale:
    """10% off the lamp for a day, from now."""
    ends_at = shop.ports.clock.now() + timedelta(days=1)
    return CreateSale(name="Lamp days", percentage=Decimal(10), ends_at=ends_at, product_ids=[1])


@pytest.fixture
async def shop() -> Shop:
    shop, _, clock = fake_shop()
    await shop.catalog.create_category(CreateCategory(name="Lighting"), STAFF)
    await shop.catalog.create_product(
        CreateProduct(name="Lamp", sku="L-1", price=Decimal("20.00"), stock_quantity=10), STAFF
    )
    await shop.sales.create_sale(_sale(shop), STAFF)
    clock.advance(60)  # the sale runs: ending it would change it
    return shop


@pytest.mark.parametrize("name", sorted(STAFF_ONLY))
async def test_a_customer_is_refused_and_nothing_changes(shop: Shop, name: str) -> None:
    before = await _state(shop)
    with pytest.raises(PermissionDenied, match="staff"):
        await STAFF_ONLY[name](shop, CUSTOMER)
    assert await _state(shop) == before


async def test_staff_get_through_the_same_check(shop: Shop) -> None:
    movement = await STAFF_ONLY["stock.change_stock"](shop, STAFF)
    assert (movement.balance_after, movement.actor) == (15, "cli")
    assert (await shop.catalog.create_category(CreateCategory(name="Toys"), STAFF)).name == "Toys"


def test_every_use_case_that_takes_an_actor_is_classified() -> None:
    """A new use case taking an `actor` must be listed above: staff-only (and tested here) or not."""
    shop, _, _ = fake_shop()
    takes_actor = set()
    areas = (
        "accounts",
        "sessions",
        "catalog",
        "stock",
        "cart",
        "orders",
        "invoices",
        "payments",
        "jobs",
        "vouchers",
        "sales",
        "addresses",
        "tax",
        "shipping",
    )
    for area in (*areas, "operations"):
        service = getattr(shop, area)
        for method, function in inspect.getmembers(service, inspect.ismethod):
            params = inspect.signature(function).parameters
            if not method.startswith("_") and ({"actor", "viewer"} & params.keys()):
                takes_actor.add(f"{area}.{method}")
    assert takes_actor == set(STAFF_ONLY) | FOR_CUSTOMERS_TOO


async def _state(shop: Shop) -> tuple[Any, ...]:
    async with shop.ports.uow() as uow:
        products = await uow.products.page(offset=0, limit=100)
        categories = await uow.categories.all()
        users, _ = await uow.users.list(offset=0, limit=100)
        movements = await shop.stock.stock_history("L-1", STAFF)
        sales, _ = await uow.sales.page(offset=0, limit=100)
    return (
        [(p.sku, p.name, p.stock_quantity, p.is_active) for p in products],
        sorted(c.name for c in categories),
        [(u.email, u.is_active) for u in users],
        len(movements),
        [(s.id, s.name, s.percentage, s.starts_at, s.ends_at, s.product_ids) for s in sales],
    )
