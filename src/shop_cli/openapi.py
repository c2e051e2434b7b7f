"""`shop openapi export FILE`: the API's OpenAPI schema, for client generators, Postman and Insomnia."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import typer

from shop_cli.runner import console, fail, guarded, load_settings

app = typer.Typer(help="The API's OpenAPI schema.", no_args_is_help=True)
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@app.command()
def export(
    file: str = typer.Argument(
        ..., metavar="FILE", help="Where to write it: *.json, *.yaml or *.yml, or - for standard output."
    ),
) -> None:
    """Write the OpenAPI schema the API serves at /api/schema/openapi.json (no database needed)."""
    schema = guarded(_schema)
    yaml = file.lower().endswith((".yaml", ".yml"))
    text = _yaml(schema) if yaml else json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if file == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(file).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"Cannot write {file}: {exc.strerror or exc}.")
    count = sum(1 for item in schema.get("paths", {}).values() for method in item if method in HTTP_METHODS)
    console.print(f"Wrote the OpenAPI schema ({count} operations) to {file}", highlight=False, soft_wrap=True)


def _schema() -> dict[str, Any]:
    """Build the app (it connects to nothing until it starts) and encode its schema as it serves it.

    The API is loaded by name, as `shop serve` hands it to uvicorn: the drivers stay independent.
    """
    from litestar.serialization import encode_json

    create_app = importlib.import_module("shop_http.app").create_app
    built = create_app(load_settings())
    schema: dict[str, Any] = json.loads(encode_json(built.openapi_schema.to_schema()))
    return schema


def _yaml(schema: dict[str, Any]) -> str:
    try:  # PyYAML comes with the http extra (uvicorn[standard]); it ships no type stubs
        yaml = importlib.import_module("yaml")
    except ImportError:
        fail("Writing YAML needs PyYAML (pip install pyyaml); write .json instead.")
    text: str = yaml.safe_dump(schema, sort_keys=False, allow_unicode=True, width=100)
    return text
