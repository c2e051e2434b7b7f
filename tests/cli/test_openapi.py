"""`shop openapi export FILE`: the schema the API serves, as JSON or YAML, to a file or stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from litestar.serialization import encode_json

from tests.cli.conftest import Cli, error_line, ok
from tests.conftest import build_app, make_settings

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def served(cli: Cli) -> dict[str, Any]:
    """The schema the app serves at /api/schema/openapi.json."""
    app = build_app(make_settings(cli.database_url))
    schema: dict[str, Any] = json.loads(encode_json(app.openapi_schema.to_schema()))
    return schema


def operations(schema: dict[str, Any]) -> int:
    return sum(1 for item in schema["paths"].values() for method in item if method in METHODS)


def test_export_json(cli: Cli, served: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"

    out = ok(cli("openapi", "export", str(target)))

    assert json.loads(target.read_text(encoding="utf-8")) == served
    assert out.strip() == f"Wrote the OpenAPI schema ({operations(served)} operations) to {target}"
    assert operations(served) > 40


@pytest.mark.parametrize("name", ["openapi.yaml", "openapi.yml", "OPENAPI.YAML"])
def test_export_yaml(cli: Cli, served: dict[str, Any], tmp_path: Path, name: str) -> None:
    target = tmp_path / name

    out = ok(cli("openapi", "export", str(target)))

    text = target.read_text(encoding="utf-8")
    assert not text.lstrip().startswith("{")  # YAML, not JSON (which YAML would read too)
    assert yaml.safe_load(text) == served
    assert f"({operations(served)} operations) to {target}" in out


def test_export_to_stdout(cli: Cli, served: dict[str, Any]) -> None:
    result = cli("openapi", "export", "-")

    assert json.loads(ok(result)) == served
    assert "Wrote" not in result.output


def test_export_needs_no_database(empty_cli: Cli, served: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"

    ok(
        empty_cli(
            "openapi",
            "export",
            str(target),
            env={"SHOP_DATABASE_URL": "postgresql+asyncpg://x@127.0.0.1:1/x"},
        )
    )

    assert json.loads(target.read_text(encoding="utf-8")) == served


def test_the_export_leaves_metrics_out(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"

    ok(cli("openapi", "export", str(target)))

    assert not [path for path in json.loads(target.read_text(encoding="utf-8"))["paths"] if "metrics" in path]


@pytest.mark.parametrize("where", ["missing/openapi.json", "a-directory"])
def test_an_unwritable_path_is_one_error_line(cli: Cli, tmp_path: Path, where: str) -> None:
    (tmp_path / "a-directory").mkdir()
    target = tmp_path / where

    line = error_line(cli("openapi", "export", str(target)))

    assert str(target) in line
    assert not target.is_file()
