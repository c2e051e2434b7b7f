"""The operator's paths once against PostgreSQL: accounts, then the catalog and its stock."""

from __future__ import annotations

from pathlib import Path

from shop_core.bootstrap import migration_head
from tests.cli.conftest import Cli, can_log_in, error_line, make_categories, ok, table_rows, user_rows


def test_upgrade_create_admin_and_list_on_postgres(pg_url: str) -> None:
    cli = Cli(pg_url)

    assert f"Database at revision {migration_head()}" in ok(cli("db", "upgrade"))
    assert "up to date" in ok(cli("db", "current"))
    out = ok(cli("users", "create-admin", "--email", "boss@example.com", "--password", "s3cret-pass"))
    assert "Created admin boss@example.com" in out

    rows = user_rows(ok(cli("users", "list")))

    assert list(rows) == ["boss@example.com"]
    assert rows["boss@example.com"]["staff"] == "yes"
    assert can_log_in(pg_url, "boss@example.com", "s3cret-pass")
    assert "Deactivated boss@example.com" in ok(cli("users", "deactivate", "boss@example.com"))
    assert user_rows(ok(cli("users", "list")))["boss@example.com"]["active"] == "no"


def test_import_list_and_adjust_stock_on_postgres(pg_url: str, tmp_path: Path) -> None:
    cli = Cli(pg_url)
    ids = make_categories(pg_url, "Home > Kitchen", "Garden")
    (tmp_path / "catalog.csv").write_bytes(
        b"sku,name,category,price,discount_percentage,stock_quantity,is_active\n"
        b"KETTLE-1,Steel Kettle,Home > Kitchen,30.00,10,2,true\n"
        b"RAKE-1,Leaf Rake,Garden,12.00,0,1,false\n"
        b"BAD-1,Bad Price,Garden,cheap,0,1,true\n"
        b"KETTLE-1,Again,Home,1.00,0,1,true\n"
    )

    out = ok(cli("catalog", "import", "catalog.csv"))

    assert "4 rows read — 2 created, 0 updated, 0 unchanged, 2 rejected." in out
    assert {int(r["line"]) for r in table_rows(out) if "line" in r} == {4, 5}
    assert "2 unchanged, 2 rejected" in ok(cli("catalog", "import", "catalog.csv"))
    home = table_rows(ok(cli("products", "list", "--category", str(ids["Home"]))))
    assert [(r["sku"], r["category"], r["final price"], r["stock"]) for r in home] == [
        ("KETTLE-1", "Kitchen", "27.00", "2")
    ]
    assert [r["sku"] for r in table_rows(ok(cli("products", "list", "--low-stock", "2")))] == ["RAKE-1"]

    assert "KETTLE-1: stock 2 → 7 (+5)" in ok(cli("stock", "adjust", "KETTLE-1", "5", "--reason", "restock"))
    assert "stock 7 → 4 (-3)" in ok(cli("stock", "adjust", "KETTLE-1", "-3", "--reason", "damage"))
    line = error_line(cli("stock", "adjust", "KETTLE-1", "-5", "--reason", "sale"))
    assert line == "error: Only 4 of KETTLE-1 in stock; cannot remove 5."
    history = table_rows(ok(cli("stock", "history", "KETTLE-1")))
    assert [(r["delta"], r["balance"], r["reason"], r["actor"]) for r in history] == [
        ("-3", "4", "damage", "cli"),
        ("+5", "7", "restock", "cli"),
        ("+2", "2", "import", "cli"),
    ]


def test_orders_list_names_customers_by_email_on_postgres(pg_url: str, tmp_path: Path) -> None:
    from tests.cli.test_orders import place, register

    cli = Cli(pg_url)
    (tmp_path / "products.csv").write_text(
        "sku,name,price,stock_quantity\nLAMP-1,Lamp,10,10\nMUG-1,Mug,2.5,3\n"
    )
    ok(cli("catalog", "import", "products.csv"))
    ann, bob = register(cli, "ann@example.com"), register(cli, "bob@example.com")
    first, second = place(cli, ann, {"LAMP-1": 1}), place(cli, bob, {"MUG-1": 1})

    rows = table_rows(ok(cli("orders", "list")))

    assert {(r["number"], r["customer"]) for r in rows} == {
        (first, "ann@example.com"),
        (second, "bob@example.com"),
    }
