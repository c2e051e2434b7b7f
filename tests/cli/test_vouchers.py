"""`shop vouchers create|list|show|deactivate|generate`: the staff API's rules and messages, as one
red line (never a traceback) for what the core refuses, and codes printed or exported as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from pathlib import Path

import pytest

from shop_core.bootstrap import bootstrap
from shop_core.services.commands import RegisterUser
from tests.cli.conftest import Cli, error_line, make_categories, ok, table_rows
from tests.conftest import fast_hasher, make_settings

GENERATED = re.compile(r"^XMAS-[23456789A-HJ-NP-Z]{10}$")


def test_create_list_show_and_deactivate(cli: Cli, sqlite_url: str) -> None:
    toys = make_categories(sqlite_url, "Toys")["Toys"]
    created = ok(
        cli(
            "vouchers", "create", "xmas-15", "--kind", "percentage", "--value", "15", "--min-subtotal", "50",
            "--starts-at", "2026-12-01", "--ends-at", "2026-12-27T00:00+01:00", "--usage-limit", "500",
            "--per-customer-limit", "1", "--category", str(toys),
        )
    )  # fmt: skip
    assert created.strip() == "Created voucher XMAS-15 (id 1): 15.00% off."
    ok(cli("vouchers", "create", "WELCOME", "--kind", "fixed", "--value", "10"))
    ok(cli("vouchers", "create", "shipfree", "--kind", "free_shipping", "--inactive"))

    rows = table_rows(ok(cli("vouchers", "list")))

    assert [(r["code"], r["value"], r["uses left"], r["active"]) for r in rows] == [
        ("SHIPFREE", "free shipping", "unlimited", "no"),
        ("WELCOME", "10.00", "unlimited", "yes"),
        ("XMAS-15", "15.00%", "500", "yes"),
    ]
    xmas = rows[2]
    assert (xmas["minimum"], xmas["starts"], xmas["ends"], xmas["restricted"]) == (
        "50.00",
        "2026-12-01 00:00",
        "2026-12-26 23:00",
        "yes",
    )
    shown = ok(cli("vouchers", "show", "Xmas-15"))
    assert "uses: 0 of 500, 500 left" in shown
    assert f"categories {toys}" in shown
    assert ok(cli("vouchers", "show", "2", "--json")).count('"code": "WELCOME"') == 1

    assert "Deactivated voucher XMAS-15 (id 1)." in ok(cli("vouchers", "deactivate", "xmas-15"))
    listed = json.loads(ok(cli("vouchers", "list", "--inactive", "--json")))
    assert [v["code"] for v in listed["results"]] == ["SHIPFREE", "XMAS-15"]
    assert [r["code"] for r in table_rows(ok(cli("vouchers", "list", "--search", "come")))] == ["WELCOME"]
    assert ok(cli("vouchers", "list", "--search", "nothing")).strip() == "No vouchers match."


def test_uses_left_count_down_to_zero(cli: Cli, sqlite_url: str) -> None:
    ok(cli("vouchers", "create", "ONCE", "--kind", "fixed", "--value", "1", "--usage-limit", "1"))
    assert table_rows(ok(cli("vouchers", "list")))[0]["uses left"] == "1"

    async def checkout() -> None:  # what checkout does with the voucher of an order
        async with bootstrap(make_settings(sqlite_url), hasher=fast_hasher()) as shop:
            ada = await shop.accounts.register(
                RegisterUser(email="ada@example.com", password="long enough pw")
            )
            async with shop.ports.uow() as uow:
                voucher = await uow.vouchers.by_code("ONCE")
                assert voucher is not None
                assert voucher.id is not None
                assert await uow.vouchers.count_use(voucher.id, ada.id)
                await uow.commit()

    asyncio.run(checkout())

    [row] = table_rows(ok(cli("vouchers", "list")))
    assert (row["used"], row["limit"], row["uses left"]) == ("1", "1", "0")
    assert "uses: 1 of 1, 0 left" in ok(cli("vouchers", "show", "once"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "percentage", "--value", "150"], "value: A percentage is more than 0 and at most 100."),
        (["--kind", "percentage", "--value", "12.345"], "value: Use at most two decimal places."),
        (["--kind", "percentage"], "value: A percentage voucher needs its value."),
        (["--kind", "fixed", "--value", "-1"], "value: Use an amount of zero or more."),
        (["--kind", "fixed", "--value", "0"], "value: A fixed amount is more than 0."),
        (["--kind", "fixed", "--value", "ten"], "Invalid decimal string"),
        (["--kind", "free_shipping", "--value", "5"], "value: Free shipping takes no value."),
        (
            ["--kind", "free_shipping", "--starts-at", "2026-12-02", "--ends-at", "2026-12-01"],
            "ends_at: The voucher must end after it starts.",
        ),
        (["--kind", "free_shipping", "--ends-at", "soon"], "--ends-at 'soon': use ISO 8601"),
        (["--kind", "free_shipping", "--product", "99"], "product_ids: No such products: 99."),
        (["--kind", "free_shipping", "--category", "7"], "category_ids: No such categories: 7."),
    ],
)
def test_a_bad_voucher_is_one_error_line_and_nothing_is_stored(
    cli: Cli, args: list[str], message: str
) -> None:
    line = error_line(cli("vouchers", "create", "NEW-ONE", *args))

    assert message in line
    assert ok(cli("vouchers", "list")).strip() == "No vouchers."


@pytest.mark.parametrize("code", ["XMAS 15", "AB", "X" * 33, "-XMAS"])
def test_a_malformed_code_is_refused(cli: Cli, code: str) -> None:
    refused = cli("vouchers", "create", "--kind", "free_shipping", "--", code)  # `--`: -XMAS is no option

    assert "code: Use 3 to 32 letters" in error_line(refused)


def test_a_code_taken_in_any_case_is_refused(cli: Cli) -> None:
    ok(cli("vouchers", "create", "XMAS-15", "--kind", "free_shipping"))

    line = error_line(cli("vouchers", "create", "xmas-15", "--kind", "fixed", "--value", "5"))

    assert line == "error: A voucher with the code 'XMAS-15' already exists (codes are case-insensitive)."


def test_a_limit_below_1_is_a_usage_error(cli: Cli) -> None:
    refused = cli("vouchers", "create", "XMAS", "--kind", "free_shipping", "--usage-limit", "0")
    assert refused.exit_code == 2
    assert "--usage-limit" in refused.output


@pytest.mark.parametrize("command", [["show", "NOPE"], ["show", "42"], ["deactivate", "NOPE"]])
def test_an_unknown_voucher_is_named(cli: Cli, command: list[str]) -> None:
    assert error_line(cli("vouchers", *command)) == f"error: No voucher with the code or id {command[1]!r}."


def test_generate_prints_unique_codes_one_per_line(cli: Cli) -> None:
    result = cli(
        "vouchers", "generate", "--count", "600", "--prefix", "xmas-", "--kind", "fixed", "--value", "5",
        "--usage-limit", "1",
    )  # fmt: skip

    codes = ok(result).splitlines()
    assert len(codes) == len(set(codes)) == 600
    assert all(GENERATED.match(code) for code in codes)
    assert result.stderr.strip() == "Generated 600 vouchers."
    listed = json.loads(ok(cli("vouchers", "list", "--search", "XMAS-", "--json", "--page-size", "100")))
    assert listed["count"] == 600
    assert {(v["kind"], v["value"], v["usage_limit"], v["uses_left"]) for v in listed["results"]} == {
        ("fixed", "5.00", 1, 1)
    }


def test_generate_exports_csv(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "codes.csv"
    target.write_text("old content\n")

    out = ok(
        cli(
            "vouchers", "generate", "--count", "3", "--prefix", "XMAS-", "--kind", "percentage",
            "--value", "10", "--per-customer-limit", "1", "--ends-at", "2026-12-27", "--csv", str(target),
        )
    )  # fmt: skip

    assert out.strip() == f"Generated 3 vouchers into {target}."
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert list(rows[0]) == [
        "code",
        "kind",
        "value",
        "usage_limit",
        "per_customer_limit",
        "starts_at",
        "ends_at",
    ]
    assert all(GENERATED.match(row["code"]) for row in rows)
    assert {
        (r["kind"], r["value"], r["usage_limit"], r["per_customer_limit"], r["ends_at"]) for r in rows
    } == {("percentage", "10.00", "", "1", "2026-12-27T00:00:00Z")}
    assert list(folder.iterdir()) == [target]  # no temporary file left behind

    to_stdout = ok(cli("vouchers", "generate", "--count", "2", "--kind", "free_shipping", "--csv", "-"))
    assert len(list(csv.DictReader(io.StringIO(to_stdout)))) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prefix", "-XMAS"], "prefix: Use at most 22 letters"),
        (["--prefix", "A" * 23], "prefix: Use at most 22 letters"),
        (["--kind", "percentage", "--value", "101"], "value: A percentage is more than 0"),
        (["--product", "99"], "product_ids: No such products: 99."),
    ],
)
def test_a_refused_generation_makes_no_voucher_and_writes_no_file(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "codes.csv"
    terms = ["--kind", "free_shipping"] if "--kind" not in args else []

    line = error_line(cli("vouchers", "generate", "--count", "5", *terms, *args, "--csv", str(target)))

    assert message in line
    assert list(folder.iterdir()) == []
    assert ok(cli("vouchers", "list")).strip() == "No vouchers."


def test_generate_into_a_missing_directory_fails_before_making_any(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "codes.csv"

    line = error_line(
        cli("vouchers", "generate", "--count", "5", "--kind", "free_shipping", "--csv", str(target))
    )

    assert "does not exist" in line
    assert ok(cli("vouchers", "list")).strip() == "No vouchers."


@pytest.mark.parametrize("count", ["0", "10001"])
def test_generate_counts_from_1_to_10000(cli: Cli, count: str) -> None:
    refused = cli("vouchers", "generate", "--count", count, "--kind", "free_shipping")
    assert refused.exit_code == 2
    assert "--count" in refused.output
