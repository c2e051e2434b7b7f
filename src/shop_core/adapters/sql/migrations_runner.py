"""Alembic migrations through advanced-alchemy, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from advanced_alchemy.alembic.commands import AlembicCommands
from advanced_alchemy.config import AlembicAsyncConfig

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> AlembicAsyncConfig:
    return AlembicAsyncConfig(
        script_location=str(MIGRATIONS),
        script_config=str(MIGRATIONS / "alembic.ini"),
        version_table_name="alembic_version",
        render_as_batch=True,
    )


def _commands(url: str) -> AlembicCommands:
    from advanced_alchemy.config import EngineConfig, SQLAlchemyAsyncConfig
    from sqlalchemy.pool import NullPool

    config = SQLAlchemyAsyncConfig(
        connection_string=url,
        engine_config=EngineConfig(poolclass=NullPool),
        alembic_config=alembic_config(),
    )
    return AlembicCommands(sqlalchemy_config=config)


def upgrade(url: str, revision: str = "head") -> None:
    _commands(url).upgrade(revision)


def downgrade(url: str, revision: str = "-1") -> None:
    _commands(url).downgrade(revision)


def current(url: str) -> str:
    """The revision the database is at ('none' for an empty database)."""
    out = io.StringIO()
    commands = _commands(url)
    commands.config.stdout = out
    with contextlib.redirect_stdout(out):
        commands.current(verbose=False)
    text = out.getvalue().strip()
    return text.split()[0] if text else "none"


def head() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    heads = script.get_heads()
    return heads[0] if heads else "none"
