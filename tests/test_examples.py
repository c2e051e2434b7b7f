"""The examples run as a user would run them: a separate program, its output read back."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import msgspec

from shop_core.extras import EXTRA_OF_MODULE
from shop_core.services.order_views import OrderView

ROOT = Path(__file__).resolve().parent.parent


def run_with_only(extras: set[str], script: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` as if only these extras were installed: the other extras' modules are blocked."""
    blocked = sorted(module for module, extra in EXTRA_OF_MODULE.items() if extra not in extras)
    program = (
        f"import runpy, sys\nfor m in {blocked!r}: sys.modules[m] = None\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_place_an_order_places_one_and_reads_the_same_order_back(tmp_path: Path) -> None:
    # With only the extras its docstring names, from an empty directory (no checkout, no `.env`);
    # it leaves nothing behind.
    result = run_with_only({"sql", "auth", "mail"}, ROOT / "examples" / "place_an_order.py", tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []

    migrated, placed, read_back, totals, as_json = result.stdout.splitlines()
    assert migrated.startswith("Database migrated to ")
    order = msgspec.json.decode(as_json, type=OrderView)
    assert placed == f"Placed order {order.order_number} for ada@example.com"
    assert read_back == f"Read back order {order.order_number}: pending, 2 x Teapot (TEA-1)"

    # The order as placed with the example's settings: EUR, 20% tax, 4.90 shipping, paid on delivery.
    assert (order.status, order.payment_method, order.payment_status) == ("pending", "cod", "unpaid")
    assert order.currency == "EUR"
    assert [(i.sku, i.quantity, i.unit_price) for i in order.items] == [("TEA-1", 2, "24.50")]
    assert order.shipping_address.full_name == "Ada Lovelace"
    subtotal = Decimal("24.50") * 2
    assert Decimal(order.subtotal) == subtotal
    assert Decimal(order.tax_amount) == subtotal * Decimal("0.2")
    assert Decimal(order.shipping_cost) == Decimal("4.90")
    assert Decimal(order.total_price) == subtotal * Decimal("1.2") + Decimal("4.90")
    assert totals == (
        f"subtotal {order.subtotal} + tax {order.tax_amount} + shipping {order.shipping_cost} "
        f"= {order.total_price} EUR"
    )
