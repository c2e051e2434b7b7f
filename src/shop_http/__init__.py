"""The Litestar REST API: thin controllers over the shop's use cases."""

from shop_http.app import create_app

__all__ = ["create_app"]
