"""`shop users …`: accounts, for operators."""

from __future__ import annotations

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from shop_cli.paging import JSON, PAGE, PAGE_SIZE, check_page, footer, print_page, window
from shop_cli.runner import OPERATOR, console, fail, guarded, print_json, run
from shop_core.bootstrap import Shop
from shop_core.services.address_book import SavedAddressView
from shop_core.services.commands import CreateAdmin

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command("create-admin")
def create_admin(
    email: str = typer.Option(..., "--email", help="The admin's email."),
    password: str | None = typer.Option(None, "--password", help="Prompted (hidden) when left out."),
    username: str | None = typer.Option(None, "--username"),
) -> None:
    """Create a superuser (staff rights and more)."""
    if password is None:
        # Not click's confirmation_prompt: it loops on a mismatch and ends in a bare "Aborted." when
        # the input runs out; a mismatch is one clear error like every other failure here.
        password = typer.prompt("Password", hide_input=True)
        if typer.prompt("Repeat for confirmation", hide_input=True) != password:
            fail("The two passwords do not match.")
    cmd = guarded(
        lambda: msgspec.convert({"email": email, "password": password, "username": username}, CreateAdmin)
    )
    user = run(lambda shop: shop.accounts.create_admin(cmd, OPERATOR))
    console.print(f"[green]Created admin[/] {user.email} (id {user.id}, username {user.username})")


@app.command("list")
def list_users(
    page: int = PAGE,
    page_size: int = PAGE_SIZE,
    as_json: bool = JSON,
) -> None:
    """List accounts by id."""
    offset, limit = window(page, page_size)
    found = run(lambda shop: shop.accounts.list_users(OPERATOR, offset=offset, limit=limit))
    check_page(page, page_size, found.total)
    if as_json:
        print_page(found.items, page=page, page_size=page_size, total=found.total)
        return
    if not found.items:
        console.print("No users.")
        return
    table = Table(title=f"Users {offset + 1}-{offset + len(found.items)} of {found.total}")
    for column in ("id", "email", "username", "name", "staff", "active", "joined"):
        table.add_column(column, justify="right" if column == "id" else "left", no_wrap=column == "email")
    for u in found.items:
        table.add_row(
            str(u.id),
            u.email,
            u.username,
            f"{u.first_name} {u.last_name}".strip(),
            "yes" if u.is_staff else "",
            "yes" if u.is_active else "[red]no[/]",
            u.date_joined.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    footer("user", page, page_size, found.total, len(found.items))


@app.command()
def addresses(
    email: str = typer.Argument(..., help="The customer's email."),
    as_json: bool = JSON,
) -> None:
    """A customer's address book: their saved addresses and which are the defaults."""

    async def load(shop: Shop) -> list[SavedAddressView]:
        user = await shop.accounts.find_user(email, OPERATOR)
        return await shop.addresses.addresses_of(user.id, OPERATOR)

    found = run(load)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print(f"No saved addresses for {escape(email)}.")
        return
    table = Table(title=f"Addresses of {escape(email)}")
    for column in ("id", "name", "address", "country", "phone", "default for"):
        table.add_column(column, justify="right" if column == "id" else "left", overflow="fold")
    for entry in found:
        kinds = [
            k
            for k, on in (("shipping", entry.is_default_shipping), ("billing", entry.is_default_billing))
            if on
        ]
        parts = [entry.line1, entry.line2, f"{entry.postal_code} {entry.city}"]
        table.add_row(
            str(entry.id),
            escape(entry.full_name),
            escape(", ".join(p for p in parts if p)),
            entry.country,
            escape(entry.phone),
            ", ".join(kinds),
        )
    console.print(table)


@app.command()
def deactivate(email: str = typer.Argument(..., help="The account's email.")) -> None:
    """Stop an account from logging in; its tokens stop working at once."""
    user = run(lambda shop: shop.accounts.deactivate_user(email, OPERATOR))
    console.print(f"[yellow]Deactivated[/] {user.email}")
