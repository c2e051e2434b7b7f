"""`create_app()`: the Litestar application, built from settings and a shop factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide

from shop_core.bootstrap import Shop, bootstrap
from shop_core.settings import Environment, Settings
from shop_http.controllers.addresses import AddressController
from shop_http.controllers.auth import AuthController
from shop_http.controllers.cart import CART_TOKEN, CartController
from shop_http.controllers.categories import CategoryController
from shop_http.controllers.docs import docs, docs_assets, schema_yaml, swagger
from shop_http.controllers.fulfilments import FulfilmentController
from shop_http.controllers.health import HealthController
from shop_http.controllers.live_orders import LiveOrderController
from shop_http.controllers.orders import OrderController
from shop_http.controllers.payments import PaymentController
from shop_http.controllers.products import ProductController
from shop_http.controllers.returns import OrderReturnController, ReturnController
from shop_http.controllers.reviews import ProductReviewController, ReviewController
from shop_http.controllers.sales import SaleController
from shop_http.controllers.shipping import ShippingZoneController
from shop_http.controllers.tax_rates import TaxRateController
from shop_http.controllers.users import UserController
from shop_http.controllers.variants import VariantController
from shop_http.controllers.vouchers import VoucherController
from shop_http.controllers.webhooks import WebhookController
from shop_http.controllers.wishlist import WishlistController
from shop_http.errors import EXCEPTION_HANDLERS
from shop_http.headers import security_headers
from shop_http.limits import rate_limit_stores, rate_limits
from shop_http.live_streams import stopping_streams
from shop_http.metrics import HttpMetrics
from shop_http.observability import REQUEST_ID_HEADER, with_request_context
from shop_http.openapi import openapi_config
from shop_http.request import ShopRequest
from shop_http.security import jwt_auth
from shop_runtime.logging_setup import configure_logging

ShopFactory = Callable[[Settings], AbstractAsyncContextManager[Shop]]
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Cart-Token", "X-Request-ID"]


def provide_shop(state: State) -> Shop:
    shop: Shop = state.shop
    return shop


def create_app(settings: Settings | None = None, shop_factory: ShopFactory = bootstrap) -> Litestar:
    """The API. `shop_factory` builds the Shop at start-up and closes it at shutdown."""
    settings = settings or Settings.from_env()
    configure_logging(settings)  # one line per record on stderr, written off the event loop

    @asynccontextmanager
    async def shop_lifespan(app: Litestar) -> AsyncIterator[None]:
        async with shop_factory(settings) as shop:
            app.state.shop = shop
            await shop.jobs.resume_jobs()  # what an earlier process recorded and never handed to the queue
            if settings.env is not Environment.TEST:
                # Everything built so far lives as long as the process: keep it out of the
                # collector's full passes, which otherwise pause a worker for ~100 ms each.
                gc.collect()
                gc.freeze()
            yield

    auth = jwt_auth(settings)
    openapi = openapi_config()
    openapi.render_plugins = [swagger, schema_yaml]  # /api/schema/swagger, /api/schema/openapi.yaml
    metrics = HttpMetrics(settings)
    api = Litestar(
        route_handlers=[
            AuthController,
            UserController,
            ProductController,
            VariantController,
            CategoryController,
            SaleController,
            CartController,
            AddressController,
            ShippingZoneController,
            OrderController,
            PaymentController,
            VoucherController,
            TaxRateController,
            FulfilmentController,
            OrderReturnController,
            ReturnController,
            WishlistController,
            WebhookController,
            ProductReviewController,
            ReviewController,
            HealthController,
            LiveOrderController,
            docs,
            docs_assets,
            *metrics.routes,
        ],
        dependencies={"shop": Provide(provide_shop, sync_to_thread=False)},
        lifespan=[shop_lifespan, stopping_streams],
        on_app_init=[auth.on_app_init, _rate_limits_before_auth(settings)],
        stores=rate_limit_stores(settings),
        cors_config=_cors(settings),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        request_max_body_size=settings.max_request_body_bytes,
        request_class=ShopRequest,
        logging_config=None,  # configure_logging above; errors.server_error logs the 500s
        debug=False,
    )
    # Every request counted and every response given the security headers, the router's 404s included.
    return with_request_context(api, observe=metrics.observer, response_headers=security_headers)


def _rate_limits_before_auth(settings: Settings) -> Callable[[AppConfig], AppConfig]:
    """Put the limiters outside the auth middleware (which puts itself first), so requests with
    missing or guessed tokens are counted too."""

    def hook(config: AppConfig) -> AppConfig:
        config.middleware[0:0] = [limit.middleware for limit in rate_limits(settings)]
        return config

    return hook


def _cors(settings: Settings) -> CORSConfig | None:
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=CORS_HEADERS,
        expose_headers=[CART_TOKEN, "Retry-After", REQUEST_ID_HEADER],
        # Never: the API reads no cookies (a bearer token and X-Cart-Token travel in headers, which
        # `allow_headers` lets through), so a browser need not send credentials cross-origin; and
        # with a wildcard origin the CORS spec forbids allowing them anyway.
        allow_credentials=False,
        max_age=600,
    )


logging.getLogger("shop").addHandler(logging.NullHandler())
