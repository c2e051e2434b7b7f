"""The project's promises about itself: a core installable alone, every setting documented (on the
docs' configuration page and in `.env.example`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import msgspec

from shop_core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DRIVER_AND_ADAPTER_LIBRARIES = (
    "litestar",
    "typer",
    "rich",
    "saq",
    "sqlalchemy",
    "advanced_alchemy",
    "asyncpg",
    "aiosqlite",
    "redis",
    "jwt",
    "argon2",
    "alembic",
    "uvicorn",
    "httpx",
    "stripe",
)


def setting_variables() -> set[str]:
    return {f"SHOP_{name.upper()}" for name in (f.name for f in msgspec.structs.fields(Settings))}


def test_the_core_imports_without_any_driver_or_adapter_library() -> None:
    blocked = ", ".join(repr(m) for m in DRIVER_AND_ADAPTER_LIBRARIES)
    code = (
        f"import sys\nfor m in ({blocked},): sys.modules[m] = None\n"
        "import shop_core.bootstrap, shop_core.services.sessions, shop_core.services.accounts\n"
        "from tests.fakes import FakeUnitOfWork\n"
        "print('ok')\n"
    )
    # tests.fakes imports the JWT adapter lazily; importing the module itself needs nothing else.
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_env_example_lists_exactly_the_settings() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*(SHOP_[A-Z_]+)=", text, flags=re.MULTILINE))
    assert listed == setting_variables()


def test_the_configuration_page_documents_exactly_the_settings() -> None:
    # One row per setting in the docs' settings table: a setting without a row, or a row for a
    # setting that is gone, fails.
    page = (ROOT / "docs" / "configuration.md").read_text()
    table = page.split("\n## Every setting\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(SHOP_[A-Z_]+)` \|", table, flags=re.MULTILINE)
    assert len(rows) == len(set(rows)), "a setting has two rows"
    assert set(rows) == setting_variables()


def test_env_example_values_are_valid_settings() -> None:
    pairs = re.findall(r"^(SHOP_[A-Z_]+)=(.*)$", (ROOT / ".env.example").read_text(), flags=re.MULTILINE)
    settings = Settings.from_mapping(dict(pairs))
    assert settings == Settings()
