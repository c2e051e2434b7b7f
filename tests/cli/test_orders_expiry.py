"""`shop orders expire-unpaid` and cash on delivery: paid on delivery, so the payment timeout of
online payments does not apply to it; only `SHOP_COD_ORDER_TIMEOUT`, when set, expires it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, ok
from tests.cli.test_orders import place, register, stored_status


@pytest.fixture
def cli(cli: Cli, tmp_path: Path) -> Cli:
    """The CLI's shop with LAMP-1 (10.00, 10 in stock)."""
    (tmp_path / "products.csv").write_text("sku,name,price,stock_quantity\nLAMP-1,Lamp,10,10\n")
    ok(cli("catalog", "import", "products.csv"))
    return cli


def test_expire_unpaid_leaves_cash_on_delivery_orders_waiting_for_their_delivery(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    days_ago = datetime.now(UTC) - timedelta(days=3)
    cod = place(cli, ann, {"LAMP-1": 2}, at=days_ago)
    stripe = place(cli, ann, {"LAMP-1": 1}, at=days_ago, method="stripe")

    out = ok(cli("orders", "expire-unpaid"))

    assert out.strip().startswith("Cancelled 1 unpaid order ")
    assert stored_status(cli, stripe) == ("cancelled", "unpaid")
    assert stored_status(cli, cod) == ("pending", "unpaid")
    assert ok(cli("orders", "expire-unpaid")).strip().startswith("Cancelled 0 unpaid orders ")
    assert stored_status(cli, cod) == ("pending", "unpaid")


def test_expire_unpaid_cancels_cash_on_delivery_orders_after_their_own_timeout(cli: Cli) -> None:
    ann = register(cli, "ann@example.com")
    now = datetime.now(UTC)
    old = place(cli, ann, {"LAMP-1": 2}, at=now - timedelta(days=15))
    recent = place(cli, ann, {"LAMP-1": 1}, at=now - timedelta(days=2))
    week = {"SHOP_COD_ORDER_TIMEOUT": str(7 * 24 * 3600)}

    out = ok(cli("orders", "expire-unpaid", env=week))

    assert out.strip().startswith("Cancelled 1 unpaid order ")
    assert stored_status(cli, old) == ("cancelled", "unpaid")
    assert stored_status(cli, recent) == ("pending", "unpaid")
