"""Every stock movement is recorded through `services.stock_movements`, so what follows a stock
change (the back-in-stock emails) follows every path that changes stock: no use case writes to the
movement store directly."""

from __future__ import annotations

import re
from pathlib import Path

from shop_core import services

RECORDER = "stock_movements.py"
DIRECT = re.compile(r"\.stock\.add(_many)?\(")


def test_no_use_case_records_a_movement_around_the_shared_recorder() -> None:
    root = Path(services.__file__).parent
    direct = [
        f"{path.name}:{n}"
        for path in sorted(root.rglob("*.py"))
        if path.name != RECORDER
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if DIRECT.search(line)
    ]
    assert direct == []
    users = {p.name for p in root.rglob("*.py") if "record_movement" in p.read_text()} - {RECORDER}
    # Staff adjustments, product and variant edits, imports, cancelled orders, returns received.
    assert users >= {
        "stock.py",
        "catalog_admin.py",
        "catalog_variants.py",
        "catalog_import.py",
        "order_moves.py",
        "returns.py",
    }
