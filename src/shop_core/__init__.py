"""shop_core: the domain, ports and use cases of a headless shop, and the adapters that run them."""

__version__ = "0.1.0"
