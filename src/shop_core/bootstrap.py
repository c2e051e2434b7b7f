"""The composition root: the one place that knows which adapter serves which port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shop_core import extras
from shop_core.domain.cart import CartLimits
from shop_core.domain.errors import ServiceUnavailable
from shop_core.domain.money import minor_units
from shop_core.domain.orders import PaymentMethod
from shop_core.domain.pricing import FlatShipping, Pricing, TaxTerms
from shop_core.domain.webhook_deliveries import ListenerSnapshot
from shop_core.ports.cache import Cache, CatalogVersion
from shop_core.ports.cart import CartStore
from shop_core.ports.catalog import CatalogReader
from shop_core.ports.clock import Clock
from shop_core.ports.health import Probe
from shop_core.ports.jobs import JobQueue
from shop_core.ports.mail import EmailRenderer, Mailer
from shop_core.ports.metrics import Metrics, NullMetrics
from shop_core.ports.order_news import OrderNews, StreamTicketStore
from shop_core.ports.orders import InvoiceRenderer
from shop_core.ports.payments import PaymentGateway
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.ports.security import LoginThrottle, PasswordHasher, TokenCodec, TokenStore
from shop_core.ports.webhooks import WebhookSender
from shop_core.services import jobs
from shop_core.services.accounts import Accounts
from shop_core.services.address_book import AddressBook
from shop_core.services.auth_config import AuthConfig
from shop_core.services.cache_aside import CacheAside
from shop_core.services.cart import CartContext, Carts
from shop_core.services.catalog import Catalog
from shop_core.services.fulfilments import Fulfilments
from shop_core.services.invoices import InvoiceContext, Invoices
from shop_core.services.job_handlers import job_handlers
from shop_core.services.jobs import Jobs
from shop_core.services.known_users import KnownUsers
from shop_core.services.live_orders import LiveOrderContext, LiveOrders
from shop_core.services.notifications import NotificationContext
from shop_core.services.operations import Operations
from shop_core.services.order_context import OrderContext
from shop_core.services.orders import Orders
from shop_core.services.password_reset import ResetConfig
from shop_core.services.payments import PaymentContext, Payments
from shop_core.services.returns import ReturnContext, Returns
from shop_core.services.reviews import Reviews
from shop_core.services.sales import Sales
from shop_core.services.sessions import Sessions
from shop_core.services.shipping import Shipping
from shop_core.services.shipping_offers import ShippingOffers
from shop_core.services.stock import Stock
from shop_core.services.tax_rates import Tax
from shop_core.services.vouchers import Vouchers
from shop_core.services.webhook_events import WebhookContext
from shop_core.services.webhooks import Webhooks
from shop_core.services.wishlist import Wishlist
from shop_core.settings import Settings

if TYPE_CHECKING:
    from shop_core.adapters.sql.database import Database


@dataclass
class Ports:
    """Every port the use cases need, bound to an adapter."""

    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    codec: TokenCodec
    tokens: TokenStore
    throttle: LoginThrottle
    clock: Clock
    cache: Cache
    reader: CatalogReader
    carts: CartStore
    invoice_renderer: InvoiceRenderer
    catalog_version: CatalogVersion | None = None
    """The database's catalog version, which every process's catalog cache checks once a second."""
    probes: dict[str, Probe] = field(default_factory=dict)
    gateways: dict[PaymentMethod, PaymentGateway] = field(default_factory=dict)
    mailer: Mailer | None = None
    """SMTP when `SHOP_SMTP_URL` is set, else the console."""
    email_renderer: EmailRenderer | None = None
    """The email templates (Jinja, from `services/email_templates`)."""
    queue: JobQueue | None = None
    """SAQ (`SHOP_QUEUE_URL` or `SHOP_REDIS_URL`), else this process (`InProcessJobQueue`)."""
    relay: jobs.RelayLoop = field(default_factory=jobs.RelayLoop)
    """Woken by the unit of work after a commit that recorded jobs."""
    database_unreachable: Callable[[BaseException], bool] = lambda _: False
    """Whether an error says the database could not be reached (see `Operations.database_outage`)."""
    metrics: Metrics = field(default_factory=NullMetrics)
    """Prometheus (a registry per bootstrap) when `SHOP_METRICS_ENABLED` and prometheus_client is
    installed, else nothing is recorded."""
    webhook_sender: WebhookSender | None = None
    """httpx, refusing private targets unless `SHOP_WEBHOOKS_ALLOW_PRIVATE` (tests: a resolver seam)."""
    news: OrderNews | None = None
    """Redis pub/sub (`SHOP_REDIS_URL`), else this process; told by the unit of work after a commit
    that wrote orders' audit events. None: in-process (a Shop built by hand)."""
    stream_tickets: StreamTicketStore | None = None
    """Redis, else this process's memory."""


class Shop:
    """The shop's application services, one per area, each bound to its ports and settings: what
    every driver calls (`await shop.orders.place_order(...)`). Wiring only: a use case is a method
    of its area's service, and a new area is its module plus one line here."""

    def __init__(self, settings: Settings, ports: Ports) -> None:
        self.settings = settings
        self.ports = ports
        self.catalog_cache = CacheAside(
            ports.cache,
            ttl=settings.cache_ttl,
            enabled=settings.cache_enabled,
            metrics=ports.metrics,
            version=ports.catalog_version,
            clock=ports.clock,
        )
        known = KnownUsers()
        self.accounts = Accounts(
            uow=ports.uow,
            hasher=ports.hasher,
            tokens=ports.tokens,
            throttle=ports.throttle,
            clock=ports.clock,
            known=known,
            can_send_mail=ports.mailer is not None and ports.email_renderer is not None,
        )
        self.sessions = Sessions(
            uow=ports.uow,
            hasher=ports.hasher,
            codec=ports.codec,
            tokens=ports.tokens,
            throttle=ports.throttle,
            clock=ports.clock,
            config=auth_config_of(settings),
            known=known,
        )
        self.catalog = Catalog(
            uow=ports.uow,
            reader=ports.reader,
            cache=self.catalog_cache,
            clock=ports.clock,
            currency=settings.currency,
        )
        self.stock = Stock(
            uow=ports.uow,
            cache=self.catalog_cache,
            clock=ports.clock,
            low_stock_threshold=settings.low_stock_threshold,
        )
        self.vouchers = Vouchers(uow=ports.uow, clock=ports.clock, currency=settings.currency)
        self.addresses = AddressBook(uow=ports.uow, clock=ports.clock)
        self.wishlist = Wishlist(uow=ports.uow, clock=ports.clock, currency=settings.currency)
        self.sales = Sales(uow=ports.uow, cache=self.catalog_cache, clock=ports.clock)
        self.tax = Tax(uow=ports.uow)
        self.shipping = Shipping(uow=ports.uow, currency=settings.currency)
        self.cart = Carts(
            store=ports.carts,
            uow=ports.uow,
            clock=ports.clock,
            limits=cart_limits_of(settings),
            currency=settings.currency,
            secret=settings.secret_key,
        )
        self.shipping_offers = ShippingOffers(self.cart.context, pricing_of(settings).shipping)
        orders = order_context_of(settings, ports, self.cart.context)
        self.payments = Payments(PaymentContext(orders, ports.gateways, ports.metrics))
        self.orders = Orders(orders, self.cart.context, self.payments, secret=settings.secret_key)
        self.fulfilments = Fulfilments(orders)
        window = timedelta(days=settings.return_window_days)
        self.returns = Returns(ReturnContext(orders, window, self.payments.context))
        self.reviews = Reviews(
            uow=ports.uow,
            cache=self.catalog_cache,
            clock=ports.clock,
            require_approval=settings.reviews_require_approval,
        )
        self.invoices = Invoices(
            InvoiceContext(ports.uow, ports.clock, ports.invoice_renderer, settings.store_name)
        )
        self.jobs = Jobs(
            uow=ports.uow,
            clock=ports.clock,
            queue=ports.queue,
            relay_loop=ports.relay,
            handlers=job_handlers(
                lambda: notification_context_of(settings, ports, self.invoices.context),
                webhooks=lambda: webhook_context_of(settings, ports),
            ),
            metrics=ports.metrics,
            retention=timedelta(days=settings.job_retention_days),
        )
        self.webhooks = Webhooks(ports.uow, ports.clock, allow_private=settings.webhooks_allow_private)
        self.live_orders = LiveOrders(live_order_context_of(settings, ports))
        self.operations = Operations(
            uow=ports.uow,
            hasher=ports.hasher,
            clock=ports.clock,
            probes=ports.probes,
            metrics=ports.metrics,
            database_unreachable=ports.database_unreachable,
        )


def live_order_context_of(settings: Settings, ports: Ports) -> LiveOrderContext:
    from shop_core.adapters.inprocess_order_news import InProcessOrderNews, InProcessStreamTickets

    return LiveOrderContext(
        uow=ports.uow,
        clock=ports.clock,
        news=ports.news or InProcessOrderNews(),
        tickets=ports.stream_tickets or InProcessStreamTickets(),
        tokens=ports.tokens,
        heartbeat=settings.sse_heartbeat_seconds,
        max_streams=settings.sse_max_streams_per_user,
        max_seconds=settings.sse_max_stream_seconds,
    )


def auth_config_of(settings: Settings) -> AuthConfig:
    return AuthConfig(
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        max_failed_logins=settings.max_failed_logins,
        failed_login_window=settings.failed_login_window,
    )


def cart_limits_of(settings: Settings) -> CartLimits:
    return CartLimits(
        max_quantity=settings.cart_max_quantity,
        max_lines=settings.cart_max_lines,
        ttl=timedelta(days=settings.cart_ttl_days),
    )


def order_context_of(settings: Settings, ports: Ports, carts: CartContext) -> OrderContext:
    return OrderContext(
        uow=ports.uow,
        clock=ports.clock,
        pricing=pricing_of(settings),
        currency=settings.currency,
        cart=carts,
        max_quantity=settings.cart_max_quantity,
        max_lines=settings.cart_max_lines,
        payment_timeout=timedelta(seconds=settings.order_payment_timeout),
        cod_timeout=None
        if settings.cod_order_timeout is None
        else timedelta(seconds=settings.cod_order_timeout),
        low_stock_threshold=settings.low_stock_threshold,
    )


def webhook_context_of(settings: Settings, ports: Ports) -> WebhookContext:
    """What the webhook jobs need; ServiceUnavailable (the attempt fails) without httpx."""
    if ports.webhook_sender is None:
        raise ServiceUnavailable("Delivering webhooks needs httpx installed (the `payments` extra).")
    return WebhookContext(ports.uow, ports.clock, ports.webhook_sender, settings.job_retry_delay)


def notification_context_of(
    settings: Settings, ports: Ports, invoices: InvoiceContext
) -> NotificationContext:
    """What the email jobs need; ServiceUnavailable (the attempt fails, naming the extra) without
    the `mail` extra."""
    if ports.mailer is None or ports.email_renderer is None:
        raise ServiceUnavailable("Sending email needs the `mail` extra (aiosmtplib, jinja2) installed.")
    return NotificationContext(
        uow=ports.uow,
        clock=ports.clock,
        mailer=ports.mailer,
        templates=ports.email_renderer,
        store=settings.store_name,
        invoices=invoices,
        reset=ResetConfig(
            store_name=settings.store_name,
            public_base_url=settings.public_base_url,
            ttl=settings.password_reset_ttl,
        ),
        low_stock_threshold=settings.low_stock_threshold,
    )


@asynccontextmanager
async def bootstrap(settings: Settings | None = None, **overrides: Any) -> AsyncIterator[Shop]:
    """Build the adapters the settings ask for, yield the Shop, close every pool on exit.

    `overrides` replace single ports by name (`hasher=…`, `clock=…`): how tests swap in fakes.
    """
    settings = settings or Settings.from_env()
    async with AsyncExitStack() as stack:
        with extras.naming_the_extra("This shop's configuration"):
            ports = await _build_ports(settings, stack, overrides.get("clock"))
        shop = Shop(settings, replace(ports, **overrides))
        stack.push_async_callback(shop.catalog_cache.aclose)
        shop.jobs.start()
        stack.push_async_callback(shop.ports.relay.aclose)  # before the queue and the database close
        yield shop


async def _build_ports(settings: Settings, stack: AsyncExitStack, clock: Clock | None = None) -> Ports:
    from shop_core.adapters.inprocess_order_news import InProcessOrderNews, InProcessStreamTickets
    from shop_core.adapters.memory_cache import MemoryCache
    from shop_core.adapters.sql.cart_store import SqlCartStore
    from shop_core.adapters.sql.catalog_reader import SqlCatalogReader
    from shop_core.adapters.sql.catalog_version import SqlCatalogVersion
    from shop_core.adapters.sql.database import open_database, unreachable
    from shop_core.adapters.sql.login_throttle import SqlLoginThrottle
    from shop_core.adapters.sql.token_store import SqlTokenStore
    from shop_core.adapters.sql.unit_of_work import SqlUnitOfWork
    from shop_core.adapters.system_clock import SystemClock

    db = open_database(
        settings.database_url, pool_size=settings.database_pool_size, echo=settings.database_echo
    )
    stack.push_async_callback(db.close)
    tokens: TokenStore = SqlTokenStore(db.engine)
    throttle: LoginThrottle = SqlLoginThrottle(db.engine)
    probes: dict[str, Probe] = {"database": db}
    cache: Cache = MemoryCache()
    carts: CartStore = SqlCartStore(db.engine)
    news: OrderNews = InProcessOrderNews()
    stream_tickets: StreamTicketStore = InProcessStreamTickets()
    if settings.redis_url:
        from redis.asyncio import Redis

        from shop_core.adapters.fallback_login_throttle import FallbackLoginThrottle
        from shop_core.adapters.redis_cache import RedisCache
        from shop_core.adapters.redis_cart_store import RedisCartStore
        from shop_core.adapters.redis_login_throttle import RedisLoginThrottle
        from shop_core.adapters.redis_token_store import RedisTokenStore
        from shop_core.adapters.write_through_token_store import WriteThroughTokenStore

        client = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        stack.push_async_callback(client.aclose)
        write_through = WriteThroughTokenStore(
            RedisTokenStore(client, settings.redis_key_prefix), SqlTokenStore(db.engine)
        )
        stack.push_async_callback(write_through.aclose)
        tokens = write_through
        throttle = FallbackLoginThrottle(
            RedisLoginThrottle(client, settings.redis_key_prefix), SqlLoginThrottle(db.engine)
        )
        cache = RedisCache(client, settings.redis_key_prefix)
        carts = RedisCartStore(client, settings.redis_key_prefix)
        probes["redis"] = write_through
        news, stream_tickets = _redis_order_news(settings, client, stack)
    gateways = await _build_gateways(settings, stack)
    clock = clock or SystemClock()  # one for the use cases and the SQL fast path alike (a test's too)
    relay = jobs.RelayLoop()
    metrics = _build_metrics(settings, db)
    listeners = ListenerSnapshot(max_age=settings.webhooks_refresh_seconds)  # this process's
    return Ports(
        uow=lambda: SqlUnitOfWork(
            db.sessions, relay.wake, clock=clock, webhook_listeners=listeners, on_orders=news.announce
        ),
        # Without their extra these stand in, and only the use cases that need them fail (naming it).
        hasher=extras.or_unavailable(_password_hasher, "Hashing passwords"),
        codec=extras.or_unavailable(lambda: _token_codec(settings), "Signing tokens"),
        tokens=tokens,
        throttle=throttle,
        clock=clock,
        cache=cache,
        reader=SqlCatalogReader(db.engine, db.reads),
        catalog_version=SqlCatalogVersion(db.engine),
        carts=carts,
        invoice_renderer=extras.or_unavailable(_invoice_renderer, "Rendering invoices"),
        probes=probes,
        gateways=gateways,
        mailer=_build_mailer(settings),
        email_renderer=_build_email_renderer(),
        queue=_build_job_queue(settings, stack),
        relay=relay,
        database_unreachable=unreachable,
        metrics=metrics,
        webhook_sender=_build_webhook_sender(settings, stack),
        news=news,
        stream_tickets=stream_tickets,
    )


def _build_webhook_sender(settings: Settings, stack: AsyncExitStack) -> WebhookSender | None:
    """httpx when installed; without it, only delivering webhooks fails (naming the extra)."""
    try:
        from shop_core.adapters.httpx_webhook_sender import HttpxWebhookSender
    except ImportError:
        return None
    sender = HttpxWebhookSender(
        timeout=settings.webhooks_timeout, allow_private=settings.webhooks_allow_private
    )
    stack.push_async_callback(sender.aclose)
    return sender


def _redis_order_news(
    settings: Settings, client: Any, stack: AsyncExitStack
) -> tuple[OrderNews, StreamTicketStore]:
    """Order news over Redis pub/sub: published with the shop's client, heard on a client of its
    own with no socket timeout (a quiet channel is no error), closed after the announcements."""
    from redis.asyncio import Redis

    from shop_core.adapters.redis_order_news import RedisOrderNews, RedisStreamTickets

    assert settings.redis_url is not None
    subscriber = Redis.from_url(settings.redis_url, socket_connect_timeout=2, health_check_interval=30)
    stack.push_async_callback(subscriber.aclose)
    news = RedisOrderNews(client, subscriber, settings.redis_key_prefix)
    stack.push_async_callback(news.aclose)  # before either client closes
    return news, RedisStreamTickets(client, settings.redis_key_prefix)


def _password_hasher() -> PasswordHasher:
    from shop_core.adapters.argon2_hasher import Argon2PasswordHasher

    return Argon2PasswordHasher()


def _token_codec(settings: Settings) -> TokenCodec:
    from shop_core.adapters.jwt_codec import JwtTokenCodec

    return JwtTokenCodec(settings.secret_key)


def _invoice_renderer() -> InvoiceRenderer:
    from shop_core.adapters.fpdf_invoice_renderer import FpdfInvoiceRenderer

    return FpdfInvoiceRenderer()


def queue_url(settings: Settings) -> str | None:
    """Where the SAQ queue lives (`SHOP_QUEUE_URL`, else `SHOP_REDIS_URL`); None: in-process jobs."""
    return settings.queue_url or settings.redis_url


def saq_queue(settings: Settings) -> Any:
    """The SAQ queue the shop's jobs go to (a `saq.Queue`), for the worker; None without one."""
    url = queue_url(settings)
    if url is None:
        return None
    with extras.naming_the_extra("The job queue"):
        from shop_core.adapters.saq_jobs import saq_queue as make

        return make(url, settings.redis_key_prefix)


def _build_job_queue(settings: Settings, stack: AsyncExitStack) -> JobQueue:
    if queue_url(settings):
        from shop_core.adapters.saq_jobs import SaqJobQueue

        saq = SaqJobQueue(saq_queue(settings), settings.job_retry_delay)
        stack.push_async_callback(saq.aclose)
        return saq
    from shop_core.adapters.inprocess_jobs import InProcessJobQueue

    here = InProcessJobQueue(settings.job_retry_delay)
    stack.push_async_callback(here.aclose)
    return here


def _build_metrics(settings: Settings, db: Database) -> Metrics:
    """Prometheus, in a registry of this bootstrap's own (with the database pools' gauges), when
    metrics are on and prometheus_client (the `http` extra) is installed; else nothing is recorded."""
    if not settings.metrics_enabled:
        return NullMetrics()
    try:
        from shop_core.adapters.prometheus_metrics import PrometheusMetrics
    except ImportError:
        return NullMetrics()
    metrics = PrometheusMetrics()
    metrics.watch_pool(db.engine, db.reads)
    return metrics


def _build_email_renderer() -> EmailRenderer | None:
    """Jinja when the `mail` extra is installed; without it, no use case that sends mail works."""
    try:
        from shop_core.adapters.jinja_templates import JinjaEmailRenderer
    except ImportError:
        return None
    return JinjaEmailRenderer()


def _build_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        from shop_core.adapters.smtp_mailer import SmtpMailer

        return SmtpMailer(settings.smtp_url, settings.mail_from)
    from shop_core.adapters.console_mailer import ConsoleMailer

    return ConsoleMailer(settings.mail_from)


async def _build_gateways(settings: Settings, stack: AsyncExitStack) -> dict[PaymentMethod, PaymentGateway]:
    """Cash on delivery always; Stripe and SSLCommerz when their credentials are set."""
    from shop_core.adapters.cash_on_delivery import CashOnDelivery

    gateways: dict[PaymentMethod, PaymentGateway] = {PaymentMethod.COD: CashOnDelivery()}
    if settings.stripe_secret_key and settings.stripe_webhook_secret:
        from shop_core.adapters.stripe_gateway import StripeGateway

        stripe = StripeGateway(
            settings.stripe_secret_key,
            settings.stripe_webhook_secret,
            api_base=settings.stripe_api_base,
            timeout=settings.payment_gateway_timeout,
        )
        stack.push_async_callback(stripe.aclose)
        gateways[PaymentMethod.STRIPE] = stripe
    if settings.sslcommerz_store_id and settings.sslcommerz_store_password:
        from shop_core.adapters.sslcommerz_gateway import SslcommerzGateway

        sslcommerz = SslcommerzGateway(
            settings.sslcommerz_store_id,
            settings.sslcommerz_store_password,
            base_url=settings.sslcommerz_base_url,
            public_base_url=settings.public_base_url,
            timeout=settings.payment_gateway_timeout,
        )
        stack.push_async_callback(sslcommerz.aclose)
        gateways[PaymentMethod.SSLCOMMERZ] = sslcommerz
    return gateways


def pricing_of(settings: Settings) -> Pricing:
    """The store's pricing policies from its settings: the default tax rate and mode, and flat
    shipping."""
    free_over = settings.free_shipping_over
    return Pricing(
        tax=TaxTerms(
            settings.tax_rate, included=settings.prices_include_tax, on_shipping=settings.tax_shipping
        ),
        shipping=FlatShipping(
            flat=minor_units(settings.shipping_flat, settings.currency, field="shipping_flat"),
            free_over=None
            if free_over is None
            else minor_units(free_over, settings.currency, field="free_over"),
        ),
    )


def migrate(settings: Settings, action: str = "upgrade", revision: str | None = None) -> str:
    """Run Alembic (`upgrade`, `downgrade` or `current`); returns the revision the database is at.

    Synchronous: call it outside a running event loop (or in a thread).
    """
    with extras.naming_the_extra("Migrating the database"):
        return _migrate(settings, action, revision)


def _migrate(settings: Settings, action: str, revision: str | None) -> str:
    from shop_core.adapters.sql import migrations_runner as runner

    url = settings.database_url
    if action not in {"upgrade", "downgrade", "current"}:
        raise ValueError(f"unknown migration action {action!r}")
    if action != "upgrade" and missing_database_file(settings) is not None:
        return "none"  # reading must not create the file (connecting to SQLite would)
    if action == "upgrade":
        runner.upgrade(url, revision or "head")
    elif action == "downgrade":
        runner.downgrade(url, revision or "-1")
    elif action != "current":
        raise ValueError(f"unknown migration action {action!r}")
    return runner.current(url)


def missing_database_file(settings: Settings) -> str | None:
    """The SQLite file `SHOP_DATABASE_URL` names, if it does not exist: connecting would create
    it, empty. None for any other database (and for an in-memory SQLite one)."""
    with extras.naming_the_extra("Opening the database"):
        from shop_core.adapters.sql.database import missing_sqlite_file

    return missing_sqlite_file(settings.database_url)


def schema_missing(exc: BaseException) -> bool:
    """Whether `exc` says the database was never migrated (its tables are not there)."""
    from shop_core.adapters.sql.database import schema_missing as tables_missing

    return tables_missing(exc)


def migration_head() -> str:
    with extras.naming_the_extra("Migrating the database"):
        from shop_core.adapters.sql import migrations_runner as runner

    return runner.head()
