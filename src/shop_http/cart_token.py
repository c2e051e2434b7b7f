"""The header a guest's cart travels in, both ways (the cart's routes read and echo it)."""

from __future__ import annotations

CART_TOKEN = "X-Cart-Token"  # noqa: S105 - a header name, not a secret
