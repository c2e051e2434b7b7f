"""`shop db upgrade|downgrade|current`: Alembic migrations."""

from __future__ import annotations

import typer
from rich.markup import escape

from shop_cli.runner import NOT_MIGRATED, YES, confirm, console, fail, guarded, load_settings
from shop_core.bootstrap import migrate, migration_head, missing_database_file

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision (default: the newest).")) -> None:
    """Apply migrations up to REVISION."""
    settings = load_settings()
    current = guarded(lambda: migrate(settings, "upgrade", revision))
    console.print(f"[green]Database at revision[/] {current}")


@app.command()
def downgrade(
    revision: str = typer.Argument("-1", help="Target revision: -1 for one step, base for empty."),
    yes: bool = YES,
) -> None:
    """Undo migrations down to REVISION (their tables' data is lost)."""
    settings = load_settings()
    if (path := missing_database_file(settings)) is not None:
        fail(f"{NOT_MIGRATED} (there is no database file at {escape(path)})")
    target = "base (an empty database)" if revision == "base" else revision
    confirm(f"Downgrade the database to {target}? The data of the tables it removes is lost.", yes=yes)
    current = guarded(lambda: migrate(settings, "downgrade", revision))
    console.print(f"[yellow]Database at revision[/] {current}")


@app.command()
def current() -> None:
    """Show the database's revision and the newest one available."""
    settings = load_settings()
    revision = guarded(lambda: migrate(settings, "current"))
    head = migration_head()
    state = "[green]up to date[/]" if revision == head else "[yellow]needs `shop db upgrade`[/]"
    console.print(f"current: {revision}  head: {head}  {state}")
