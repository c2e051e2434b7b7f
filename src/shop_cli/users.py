"""`shop users …`: accounts, for operators."""

from __future__ import annotations

import msgspec
import typer
from rich.table import Table

from shop_cli.runner import console, fail, guarded, run
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
    user = run(lambda shop: shop.create_admin(cmd))
    console.print(f"[green]Created admin[/] {user.email} (id {user.id}, username {user.username})")


@app.command("list")
def list_users(
    limit: int = typer.Option(100, min=1, max=10_000, help="How many to show."),
    offset: int = typer.Option(0, min=0, help="How many to skip."),
) -> None:
    """List accounts by id."""
    page = run(lambda shop: shop.list_users(offset=offset, limit=limit))
    table = Table(
        title=f"Users {offset + 1}-{offset + len(page.items)} of {page.total}" if page.items else "Users"
    )
    for column in ("id", "email", "username", "name", "staff", "active", "joined"):
        table.add_column(column, justify="right" if column == "id" else "left", no_wrap=column == "email")
    for u in page.items:
        table.add_row(
            str(u.id),
            u.email,
            u.username,
            f"{u.first_name} {u.last_name}".strip(),
            "yes" if u.is_staff else "",
            "yes" if u.is_active else "[red]no[/]",
            u.date_joined.strftime("%Y-%m-%d %H:%M"),
        )
    if not page.items:
        console.print("No users." if page.total == 0 else f"No users past {offset} (there are {page.total}).")
        return
    console.print(table)


@app.command()
def deactivate(email: str = typer.Argument(..., help="The account's email.")) -> None:
    """Stop an account from logging in; its tokens stop working at once."""
    user = run(lambda shop: shop.deactivate_user(email))
    console.print(f"[yellow]Deactivated[/] {user.email}")
