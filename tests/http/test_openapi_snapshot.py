"""The API's contract, as its OpenAPI schema states it, is the one recorded in
`openapi_contract.json`: per operation its method, path, operationId, tags, security, parameters
(name, location, required, schema), request body (media types, schemas) and responses (status
codes, media types, schemas, header names); and every component schema's properties, their types
and which are required.

Wording is left out (descriptions, summaries, examples, titles), so rewording the documentation
never fails this test, while a changed operation id, status code, parameter or field does. After a
deliberate change of the contract, rewrite the snapshot with `SHOP_UPDATE_OPENAPI_CONTRACT=1` and
review its diff.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from litestar.serialization import encode_json

from tests.conftest import build_app, make_settings

SNAPSHOT = Path(__file__).with_name("openapi_contract.json")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
COMPOSITION = ("oneOf", "anyOf", "allOf", "enum")
WORDING = frozenset({"description", "summary", "examples", "example", "title"})


def _served_schema() -> dict[str, Any]:
    """The schema the app serves at /api/schema/openapi.json (and `shop openapi export` writes)."""
    app = build_app(make_settings("sqlite+aiosqlite:///never-opened.db"))
    schema: dict[str, Any] = json.loads(encode_json(app.openapi_schema.to_schema()))
    return schema


def _shape(schema: Any) -> Any:
    """A JSON schema without its wording: types, formats, bounds, enums, defaults and refs stay."""
    if isinstance(schema, dict):
        return {
            key: _properties(value) if key == "properties" else _shape(value)
            for key, value in schema.items()
            if key not in WORDING
        }
    if isinstance(schema, list):
        return [_shape(item) for item in schema]
    return schema


def _properties(properties: dict[str, Any]) -> dict[str, Any]:
    """Fields by name (a field may be called `description`: it is no wording)."""
    return {name: _shape(value) for name, value in properties.items()}


def _media(content: dict[str, Any]) -> dict[str, Any]:
    return {media_type: _shape(media.get("schema")) for media_type, media in content.items()}


def _operation(operation: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "operationId": operation.get("operationId"),
        "tags": operation.get("tags", []),
        "security": operation.get("security", "inherited"),
        "deprecated": operation.get("deprecated", False),
        "parameters": [
            {
                "name": parameter["name"],
                "in": parameter["in"],
                "required": parameter.get("required", False),
                "schema": _shape(parameter.get("schema")),
            }
            for parameter in operation.get("parameters", [])
        ],
        "responses": {
            status: {
                "content": _media(response.get("content", {})),
                "headers": sorted(response.get("headers", {})),
            }
            for status, response in operation.get("responses", {}).items()
        },
    }
    if "requestBody" in operation:
        found["requestBody"] = {
            "required": operation["requestBody"].get("required", False),
            "content": _media(operation["requestBody"].get("content", {})),
        }
    return found


def contract(schema: dict[str, Any]) -> dict[str, Any]:
    """What a client relies on in the schema, without the wording."""
    components = schema.get("components", {})
    return {
        "security": schema.get("security"),
        "securitySchemes": {
            name: {key: value for key, value in scheme.items() if key not in WORDING}
            for name, scheme in components.get("securitySchemes", {}).items()
        },
        "operations": {
            f"{method.upper()} {path}": _operation(operation)
            for path, item in schema.get("paths", {}).items()
            for method, operation in item.items()
            if method in METHODS
        },
        "schemas": {
            name: {
                "type": component.get("type"),
                "required": sorted(component.get("required", [])),
                "properties": _properties(component.get("properties", {})),
                **{key: _shape(component[key]) for key in COMPOSITION if key in component},
            }
            for name, component in components.get("schemas", {}).items()
        },
    }


def _text(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_contract_is_the_recorded_one() -> None:
    served = _text(contract(_served_schema()))
    if os.environ.get("SHOP_UPDATE_OPENAPI_CONTRACT") == "1":
        SNAPSHOT.write_text(served, encoding="utf-8")

    recorded = SNAPSHOT.read_text(encoding="utf-8")

    diff = "".join(
        difflib.unified_diff(
            recorded.splitlines(keepends=True),
            served.splitlines(keepends=True),
            fromfile="recorded (tests/http/openapi_contract.json)",
            tofile="served",
        )
    )
    assert not diff, "The API's contract changed (wording aside):\n" + diff


def test_the_contract_leaves_out_wording_only() -> None:
    """Rewording every description, summary and example changes nothing recorded."""
    schema = _served_schema()
    reworded = json.loads(
        json.dumps(schema),
        object_hook=lambda node: {
            key: ("reworded" if key in ("description", "summary") and isinstance(value, str) else value)
            for key, value in node.items()
            if key not in ("examples", "example")
        },
    )
    renamed = json.loads(json.dumps(schema))
    first = next(iter(renamed["paths"].values()))
    next(op for method, op in first.items() if method in METHODS)["operationId"] = "renamed"

    assert contract(reworded) == contract(schema)
    assert contract(renamed) != contract(schema)
