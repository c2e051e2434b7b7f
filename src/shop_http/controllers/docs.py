"""Interactive API documentation at /api/docs/ (Swagger UI over /api/schema/openapi.json)."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.openapi.plugins import SwaggerRenderPlugin

from shop_http.security import PUBLIC

swagger = SwaggerRenderPlugin(path="/swagger")


@get("/api/docs", media_type=MediaType.HTML, include_in_schema=False, opt=PUBLIC, sync_to_thread=False)
def docs(request: Request[Any, Any, Any]) -> Response[bytes]:
    schema = request.app.openapi_schema.to_schema()
    return Response(swagger.render(request, schema), media_type=MediaType.HTML)
