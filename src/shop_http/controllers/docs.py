"""Interactive API documentation at /api/docs/: Swagger UI over /api/schema/openapi.json; the
schema as YAML at /api/schema/openapi.yaml.

Every file the page loads comes from the app itself (`/api/docs/assets/`): Swagger UI's release
files, vendored in `shop_http/static/swagger-ui/` with their licence, and the few lines that start
it (`shop_http/static/docs/shop-docs.js`). The page works offline, in an air-gapped deployment and
behind a proxy that blocks CDNs, and its Content-Security-Policy allows scripts from 'self' alone
(no inline script: the page is static HTML, the schema is fetched from its own origin).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import yaml
from litestar import MediaType, Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin, YamlRenderPlugin
from litestar.static_files import create_static_files_router

from shop_http.security import PUBLIC

SWAGGER_UI_VERSION = "5.36.0"  # the vendored release: static/swagger-ui/README.md
ASSETS_PATH = "/api/docs/assets"
STATIC = Path(__file__).resolve().parent.parent / "static"
ASSET_DIRECTORIES = [STATIC / "swagger-ui", STATIC / "docs"]


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI from the app's own files, started by a script file rather than an inline one."""

    def __init__(self, path: str = "/swagger") -> None:
        super().__init__(
            version=SWAGGER_UI_VERSION,
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f'<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">',
            path=path,
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        schema_url = f"{request.app.openapi_config.path.rstrip('/')}/openapi.json"  # type: ignore[union-attr]
        title = html.escape(str(openapi_schema["info"]["title"]))
        page = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  {self.favicon}
  <link rel="stylesheet" href="{self.css_url}">
</head>
<body>
  <div id="swagger-ui" data-schema-url="{html.escape(schema_url)}"></div>
  <script src="{self.js_url}"></script>
  <script src="{self.standalone_preset_js_url}"></script>
  <script src="{ASSETS_PATH}/shop-docs.js"></script>
</body>
</html>
"""
        return page.encode()

    def receive_router(self, router: Router) -> None:
        """No OAuth2 redirect page: the API takes bearer tokens, and that page is an inline script."""


class SchemaAsYaml(YamlRenderPlugin):
    """`/api/schema/openapi.yaml` (and `.yml`): the JSON schema, the very same document, as YAML.

    Made from the JSON rendering: the schema holds pre-encoded examples (`msgspec.Raw`), which
    Litestar's own YAML rendering cannot convert."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        document = json.loads(self.render_json(request, openapi_schema))
        text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        return text.encode()


swagger = OfflineSwagger()
schema_yaml = SchemaAsYaml()


@get("/api/docs", media_type=MediaType.HTML, include_in_schema=False, opt=PUBLIC, sync_to_thread=False)
def docs(request: Request[Any, Any, Any]) -> Response[bytes]:
    schema = request.app.openapi_schema.to_schema()
    return Response(swagger.render(request, schema), media_type=MediaType.HTML)


# The files change only with a release of the shop: browsers may keep them for a day.
docs_assets = create_static_files_router(
    path=ASSETS_PATH,
    directories=list(ASSET_DIRECTORIES),
    name="docs-assets",
    opt=PUBLIC,
    include_in_schema=False,
    cache_control=CacheControlHeader(max_age=86_400, public=True),
)
