"""The request class: bodies msgspec cannot read are the client's mistake (400), not ours (500)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException

from shop_core.bootstrap import Shop


class ShopRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        """Litestar turns msgspec's DecodeError into a 400, but not the UnicodeDecodeError of
        invalid UTF-8 inside a string, nor the RecursionError of absurdly deep nesting."""
        try:
            return await super().json()
        except UnicodeDecodeError as exc:
            raise ClientException("The request body is not valid UTF-8 JSON.") from exc
        except RecursionError as exc:
            raise ClientException("The request body is nested too deeply.") from exc


def shop_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Shop:
    """The app's Shop, for the hottest public reads (the cached catalog): a handler that asks for
    no dependency skips Litestar's dependency resolution, ~6 us of CPU per request. Everything
    else takes the `shop` dependency."""
    shop: Shop = connection.app.state.shop
    return shop
