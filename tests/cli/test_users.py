"""`shop users create-admin|list|addresses|deactivate`."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Cli, can_log_in, error_line, ok, user_rows

PASSWORD = "s3cret-pass"


def test_create_admin_makes_a_staff_account_that_can_log_in(cli: Cli) -> None:
    out = ok(cli("users", "create-admin", "--email", "Boss@Example.com", "--password", PASSWORD))

    assert "Created admin boss@example.com" in out
    row = user_rows(ok(cli("users", "list")))["boss@example.com"]
    assert row["staff"] == "yes"
    assert row["active"] == "yes"
    assert row["username"] == "boss"
    assert can_log_in(cli.database_url, "boss@example.com", PASSWORD)


def test_create_admin_takes_the_username(cli: Cli) -> None:
    create = ["users", "create-admin", "--email", "boss@example.com", "--password", PASSWORD]
    ok(cli(*create, "--username", "ceo"))

    assert user_rows(ok(cli("users", "list")))["boss@example.com"]["username"] == "ceo"


def test_create_admin_prompts_for_the_password_twice_when_left_out(cli: Cli) -> None:
    result = cli("users", "create-admin", "--email", "boss@example.com", input=f"{PASSWORD}\n{PASSWORD}\n")

    out = ok(result)
    assert "Password:" in out
    assert "Repeat for confirmation:" in out
    assert PASSWORD not in out  # hidden input is not echoed
    assert "Created admin boss@example.com" in out
    assert can_log_in(cli.database_url, "boss@example.com", PASSWORD)


def test_a_prompted_password_is_checked_like_any_other(cli: Cli) -> None:
    line = error_line(cli("users", "create-admin", "--email", "boss@example.com", input="pw\npw\n"))

    assert line == "error: password: Use at least 8 characters."
    assert ok(cli("users", "list")).strip() == "No users."


def test_a_confirmation_that_does_not_match_is_one_error(cli: Cli) -> None:
    result = cli("users", "create-admin", "--email", "boss@example.com", input=f"{PASSWORD}\nother-pass\n")

    assert error_line(result) == "error: The two passwords do not match."
    assert ok(cli("users", "list")).strip() == "No users."


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, "error: email: Enter a valid email address."),
        ("boss@example.com", "short", "error: password: Use at least 8 characters."),
        ("boss@example.com", "1234567890", "error: password: The password cannot be all digits."),
        ("ann@example.io", "Ann@Example.IO", "error: password: The password cannot be your email address."),
    ],
    ids=["invalid-email", "too-short", "all-digits", "same-as-email"],
)
def test_invalid_input_is_one_error_line(cli: Cli, email: str, password: str, message: str) -> None:
    assert error_line(cli("users", "create-admin", "--email", email, "--password", password)) == message
    assert ok(cli("users", "list")).strip() == "No users."


def test_a_duplicate_email_is_one_error_line(cli: Cli) -> None:
    ok(cli("users", "create-admin", "--email", "boss@example.com", "--password", PASSWORD))

    result = cli("users", "create-admin", "--email", "BOSS@example.com", "--password", "another-pass")

    assert error_line(result) == "error: A user with that email already exists."
    assert list(user_rows(ok(cli("users", "list")))) == ["boss@example.com"]


def test_create_admin_requires_the_email(cli: Cli) -> None:
    result = cli("users", "create-admin", "--password", PASSWORD)

    assert result.exit_code == 2
    assert "--email" in result.stderr


def test_list_on_an_empty_database(cli: Cli) -> None:
    assert ok(cli("users", "list")).strip() == "No users."


def test_list_shows_every_user_in_a_table(cli: Cli) -> None:
    ok(cli("demo"))
    ok(cli("users", "create-admin", "--email", "boss@example.com", "--password", PASSWORD))

    out = ok(cli("users", "list"))

    assert "Users 1-3 of 3" in out
    rows = user_rows(out)
    assert list(rows) == ["admin@example.com", "customer@example.com", "boss@example.com"]
    assert [row["id"] for row in rows.values()] == ["1", "2", "3"]
    customer = rows["customer@example.com"]
    assert customer["name"] == "Ada Lovelace"
    assert customer["staff"] == ""
    assert customer["active"] == "yes"
    assert rows["admin@example.com"]["staff"] == "yes"


def test_list_pages_with_page_and_page_size(cli: Cli) -> None:
    ok(cli("demo"))
    ok(cli("users", "create-admin", "--email", "boss@example.com", "--password", PASSWORD))

    out = ok(cli("users", "list", "--page", "2", "--page-size", "1"))
    assert "Users 2-2 of 3" in out
    assert "page 2 of 3: 1 of 3 users" in out
    assert list(user_rows(out)) == ["customer@example.com"]


def test_list_past_the_end_is_one_error_line(cli: Cli) -> None:
    ok(cli("demo"))

    assert error_line(cli("users", "list", "--page", "2")) == "error: That page is past the end of the list."


def test_list_as_json(cli: Cli) -> None:
    ok(cli("demo"))

    listed = json.loads(ok(cli("users", "list", "--json", "--page-size", "1")))

    assert {k: v for k, v in listed.items() if k != "results"} == {
        "count": 2,
        "page": 1,
        "page_size": 1,
        "pages": 2,
    }
    [user] = listed["results"]
    assert (user["email"], user["is_staff"], user["is_active"]) == ("admin@example.com", True, True)


@pytest.mark.parametrize("option", [["--page-size", "0"], ["--page", "0"], ["--page-size", "101"]])
def test_list_rejects_out_of_range_options(cli: Cli, option: list[str]) -> None:
    result = cli("users", "list", *option)

    assert result.exit_code == 2
    assert option[0] in result.stderr


def test_deactivate_stops_the_account_from_logging_in(cli: Cli) -> None:
    ok(cli("users", "create-admin", "--email", "boss@example.com", "--password", PASSWORD))
    ok(cli("users", "create-admin", "--email", "other@example.com", "--password", PASSWORD))

    assert "Deactivated boss@example.com" in ok(cli("users", "deactivate", "  BOSS@example.com "))

    rows = user_rows(ok(cli("users", "list")))
    assert rows["boss@example.com"]["active"] == "no"
    assert rows["other@example.com"]["active"] == "yes"
    assert not can_log_in(cli.database_url, "boss@example.com", PASSWORD)
    assert can_log_in(cli.database_url, "other@example.com", PASSWORD)


def test_deactivating_an_unknown_email_is_one_error_line(cli: Cli) -> None:
    line = error_line(cli("users", "deactivate", "nobody@example.com"))

    assert line == "error: No user with the email 'nobody@example.com'."


def test_an_error_stays_on_one_line_however_narrow_the_output(cli: Cli) -> None:
    line = error_line(cli("users", "deactivate", "nobody@example.com", env={"COLUMNS": "30"}))

    assert line == "error: No user with the email 'nobody@example.com'."


def test_addresses_lists_a_customers_address_book_with_its_defaults(cli: Cli) -> None:
    import asyncio

    from shop_core.bootstrap import bootstrap
    from shop_core.domain.actors import Actor
    from shop_core.services.address_book import SaveAddress
    from shop_core.services.commands import RegisterUser
    from tests.conftest import fast_hasher, make_settings

    home = {
        "full_name": "Ada [b]Lovelace[/b]",
        "line1": "12 Square",
        "city": "London",
        "postal_code": "N1",
        "country": "GB",
    }

    async def fill() -> None:
        async with bootstrap(make_settings(cli.database_url), hasher=fast_hasher()) as shop:
            ada = await shop.accounts.register(RegisterUser(email="ada@example.com", password=PASSWORD))
            actor = Actor.user(ada.id, ada.email, is_staff=False)
            await shop.addresses.add_address(actor, SaveAddress(**home))
            await shop.addresses.add_address(
                actor, SaveAddress(**{**home, "line1": "1 Office Park"}, is_default_billing=True)
            )

    asyncio.run(fill())

    table = ok(cli("users", "addresses", "ada@example.com"))
    assert "[b]Lovelace[/b]" in table  # shown as written, never as markup
    assert "12 Square, N1 London" in table
    assert "shipping" in table
    listed = json.loads(ok(cli("users", "addresses", "ada@example.com", "--json")))
    assert [(a["line1"], a["is_default_shipping"], a["is_default_billing"]) for a in listed] == [
        ("12 Square", True, False),
        ("1 Office Park", False, True),
    ]
    ok(cli("users", "create-admin", "--email", "boss@example.com", "--password", PASSWORD))
    assert "No saved addresses for boss@example.com." in ok(cli("users", "addresses", "boss@example.com"))
    assert error_line(cli("users", "addresses", "nobody@example.com"))
