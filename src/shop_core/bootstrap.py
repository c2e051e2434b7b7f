"""The composition root: the one place that knows which adapter serves which port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shop_core import extras
from shop_core.domain.cart import CartLimits, customer_owner, guest_owner_of, new_guest_token
from shop_core.domain.errors import ServiceUnavailable
from shop_core.domain.jobs import Job, JobStatus
from shop_core.domain.money import minor_units
from shop_core.domain.payments import Gateway
from shop_core.domain.pricing import FlatRateTax, FlatShipping, Pricing
from shop_core.domain.tokens import TokenClaims
from shop_core.ports.cache import Cache, CatalogVersion
from shop_core.ports.cart import CartStore
from shop_core.ports.catalog import CatalogReader
from shop_core.ports.clock import Clock
from shop_core.ports.health import Probe
from shop_core.ports.jobs import JobQueue
from shop_core.ports.mail import EmailRenderer, Mailer
from shop_core.ports.metrics import Metrics, NullMetrics
from shop_core.ports.orders import InvoiceRenderer
from shop_core.ports.payments import PaymentGateway
from shop_core.ports.persistence import UnitOfWorkFactory
from shop_core.ports.security import LoginThrottle, PasswordHasher, TokenCodec, TokenStore
from shop_core.services import (
    accounts,
    cart,
    catalog_admin,
    catalog_import,
    catalog_reads,
    catalog_seed,
    demo,
    health,
    invoices,
    jobs,
    notifications,
    order_listing,
    orders,
    password_reset,
    payments,
    sessions,
    stock,
)
from shop_core.services.auth_config import AuthConfig
from shop_core.services.cache_aside import CacheAside
from shop_core.services.catalog_commands import (
    ChangeStock,
    CreateCategory,
    CreateProduct,
    ProductQuery,
    ReplaceCategory,
    ReplaceProduct,
    UpdateCategory,
    UpdateProduct,
)
from shop_core.services.catalog_views import CategoryView, EncodedPage, StaffProductView, StockMovementView
from shop_core.services.commands import (
    ConfirmPasswordReset,
    CreateAdmin,
    Login,
    Logout,
    RefreshSession,
    RegisterUser,
    RequestPasswordReset,
    UpdateProfile,
)
from shop_core.services.known_users import KnownUsers
from shop_core.services.order_commands import Actor, ChangeOrderStatus, Checkout, PlaceOrder
from shop_core.services.order_views import OrderView
from shop_core.services.payment_views import PaymentView, RefundPayment, StartPayment
from shop_core.services.payments import StartedPayment
from shop_core.services.views import Page, TokenPair, UserView
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
    gateways: dict[Gateway, PaymentGateway] = field(default_factory=dict)
    mailer: Mailer | None = None
    """SMTP when `SHOP_SMTP_URL` is set, else the console."""
    email_renderer: EmailRenderer | None = None
    """The email templates (Jinja, from `services/email_templates`)."""
    queue: JobQueue | None = None
    """SAQ (`SHOP_QUEUE_URL` or `SHOP_REDIS_URL`), else this process (`InProcessJobQueue`)."""
    relay: jobs.RelayLoop = field(default_factory=jobs.RelayLoop)
    database_unreachable: Callable[[BaseException], bool] = lambda _: False
    """Whether an error says the database could not be reached (see `Shop.unavailable`)."""
    """Woken by the unit of work after a commit that recorded jobs."""
    metrics: Metrics = field(default_factory=NullMetrics)
    """Prometheus (a registry per bootstrap) when `SHOP_METRICS_ENABLED` and prometheus_client is
    installed, else nothing is recorded."""


class Shop:
    """The use cases with their ports bound: what every driver calls."""

    def __init__(self, settings: Settings, ports: Ports) -> None:
        self.settings = settings
        self.ports = ports
        self.auth_config = AuthConfig(
            access_ttl=settings.access_token_ttl,
            refresh_ttl=settings.refresh_token_ttl,
            max_failed_logins=settings.max_failed_logins,
            failed_login_window=settings.failed_login_window,
        )
        self.catalog_cache = CacheAside(
            ports.cache,
            ttl=settings.cache_ttl,
            enabled=settings.cache_enabled,
            metrics=ports.metrics,
            version=ports.catalog_version,
        )
        self._known_users = KnownUsers()
        self.catalog = catalog_reads.CatalogContext(ports.reader, self.catalog_cache, settings.currency)
        self.currency = settings.currency
        limits = CartLimits(
            max_quantity=settings.cart_max_quantity,
            max_lines=settings.cart_max_lines,
            ttl=timedelta(days=settings.cart_ttl_days),
        )
        self.cart = cart.CartContext(ports.carts, ports.uow, ports.clock, limits, settings.currency)
        self.orders = orders.OrderContext(
            uow=ports.uow,
            clock=ports.clock,
            pricing=pricing_of(settings),
            currency=settings.currency,
            cart=self.cart,
            max_quantity=settings.cart_max_quantity,
            max_lines=settings.cart_max_lines,
            payment_timeout=timedelta(seconds=settings.order_payment_timeout),
            cod_timeout=None
            if settings.cod_order_timeout is None
            else timedelta(seconds=settings.cod_order_timeout),
            low_stock_threshold=settings.low_stock_threshold,
        )
        self.invoices = invoices.InvoiceContext(
            ports.uow, ports.clock, ports.invoice_renderer, settings.store_name
        )
        self.payments = payments.PaymentContext(self.orders, ports.gateways, ports.metrics)
        self.reset_config = password_reset.ResetConfig(
            store_name=settings.store_name,
            public_base_url=settings.public_base_url,
            ttl=settings.password_reset_ttl,
        )
        self._job_handlers = self._handlers()

    # background jobs
    def _handlers(self) -> dict[str, jobs.Handler]:
        """What each kind of job runs: one use case, given the ids the job recorded."""

        def notify(case: Callable[..., Awaitable[None]], arg: str) -> jobs.Handler:
            async def handler(payload: dict[str, Any]) -> None:
                await case(int(payload[arg]), ctx=self._notifications())

            return handler

        n = notifications
        return {
            jobs.WELCOME_EMAIL: notify(n.send_welcome, "user_id"),
            jobs.PASSWORD_RESET_EMAIL: notify(n.send_password_reset, "user_id"),
            jobs.ORDER_CONFIRMATION_EMAIL: notify(n.send_order_confirmation, "order_id"),
            jobs.PAYMENT_RECEIVED_EMAIL: notify(n.send_payment_received, "order_id"),
            jobs.ORDER_SHIPPED_EMAIL: notify(n.send_order_shipped, "order_id"),
            jobs.ORDER_CANCELLED_EMAIL: notify(n.send_order_cancelled, "order_id"),
            jobs.ISSUE_INVOICE: notify(n.issue_invoice, "order_id"),
            jobs.LOW_STOCK_ALERT: notify(n.alert_low_stock, "product_id"),
        }

    def _notifications(self) -> notifications.NotificationContext:
        p = self.ports
        if p.mailer is None or p.email_renderer is None:
            raise ServiceUnavailable("Sending email needs the `mail` extra (aiosmtplib, jinja2) installed.")
        return notifications.NotificationContext(
            uow=p.uow,
            clock=p.clock,
            mailer=p.mailer,
            templates=p.email_renderer,
            store=self.settings.store_name,
            invoices=self.invoices,
            reset=self.reset_config,
            low_stock_threshold=self.settings.low_stock_threshold,
        )

    async def run_job(self, job_id: int) -> JobStatus | None:
        """One attempt at a recorded job (what the queue calls); see `services.jobs.run_job`."""
        p = self.ports
        return await jobs.run_job(
            job_id, uow=p.uow, clock=p.clock, handlers=self._job_handlers, metrics=p.metrics
        )

    async def relay_jobs(self) -> int:
        """Hand the pending jobs to the queue now; how many went."""
        p = self.ports
        if p.queue is None:
            raise ServiceUnavailable("No job queue is configured.")
        return await jobs.relay(uow=p.uow, queue=p.queue, clock=p.clock)

    async def _relay(self, recorded: list[Job] | None) -> int:
        """What the relay loop runs: these committed jobs, or (None) every pending one."""
        p = self.ports
        if recorded is None or p.queue is None:
            return await self.relay_jobs()
        return await jobs.relay_recorded(recorded, uow=p.uow, queue=p.queue, clock=p.clock)

    async def resume_jobs(self) -> None:
        """At start-up: relay, in the background, whatever an earlier process recorded and did not
        hand over (or, with the in-process queue, did not finish)."""
        p = self.ports
        if p.queue is not None:
            await jobs.resume(uow=p.uow, queue=p.queue, clock=p.clock, relay_loop=p.relay)

    async def drain_jobs(self) -> None:
        """Wait until the relay is idle and, with the in-process queue, every job it started is done
        (for a process about to exit, and for tests)."""
        p = self.ports
        drain = getattr(p.queue, "drain", None)
        while True:
            await p.relay.drain()
            if drain is not None:
                await drain()
            if not p.relay.busy:
                return

    async def list_jobs(
        self, status: str | None = None, *, offset: int = 0, limit: int = 50
    ) -> Page[jobs.JobView]:
        return await jobs.list_jobs(status, uow=self.ports.uow(), offset=offset, limit=limit)

    async def get_job(self, job_id: int) -> jobs.JobView:
        return await jobs.get_job(job_id, uow=self.ports.uow())

    async def retry_job(self, job_id: int) -> jobs.JobView:
        return await jobs.retry_job(job_id, uow=self.ports.uow(), clock=self.ports.clock)

    async def purge_jobs(self) -> int:
        older_than = timedelta(days=self.settings.job_retention_days)
        return await jobs.purge_jobs(older_than, uow=self.ports.uow(), clock=self.ports.clock)

    # accounts
    async def register(self, cmd: RegisterUser) -> UserView:
        p = self.ports
        return await accounts.register(cmd, uow=p.uow(), hasher=p.hasher, clock=p.clock)

    async def create_admin(self, cmd: CreateAdmin) -> UserView:
        p = self.ports
        return await accounts.create_admin(cmd, uow=p.uow(), hasher=p.hasher, clock=p.clock)

    async def get_profile(self, user_id: int) -> UserView:
        return await accounts.get_profile(user_id, uow=self.ports.uow(), known=self._known_users)

    async def find_user(self, email: str) -> UserView:
        return await accounts.find_user(email, uow=self.ports.uow())

    async def update_profile(self, user_id: int, cmd: UpdateProfile) -> UserView:
        return await accounts.update_profile(user_id, cmd, uow=self.ports.uow(), tokens=self.ports.tokens)

    async def list_users(self, *, offset: int = 0, limit: int = 100) -> Page[UserView]:
        return await accounts.list_users(uow=self.ports.uow(), offset=offset, limit=limit)

    async def deactivate_user(self, email: str) -> UserView:
        return await accounts.deactivate_user(email, uow=self.ports.uow(), tokens=self.ports.tokens)

    async def request_password_reset(self, cmd: RequestPasswordReset) -> str:
        """Always the same answer (the message to show), whether or not the account exists."""
        p = self.ports
        if p.mailer is None or p.email_renderer is None:
            raise ServiceUnavailable("Password reset needs the `mail` extra (jinja2) installed.")
        return await password_reset.request_password_reset(cmd, uow=p.uow(), clock=p.clock)

    async def confirm_password_reset(self, cmd: ConfirmPasswordReset) -> None:
        p = self.ports
        await password_reset.confirm_password_reset(
            cmd, uow=p.uow(), hasher=p.hasher, tokens=p.tokens, throttle=p.throttle, clock=p.clock
        )

    # sessions
    async def login(self, cmd: Login) -> TokenPair:
        p = self.ports
        return await sessions.login(
            cmd,
            uow=p.uow(),
            hasher=p.hasher,
            codec=p.codec,
            tokens=p.tokens,
            throttle=p.throttle,
            clock=p.clock,
            config=self.auth_config,
        )

    async def refresh(self, cmd: RefreshSession) -> TokenPair:
        p = self.ports
        return await sessions.refresh(
            cmd, uow=p.uow(), codec=p.codec, tokens=p.tokens, clock=p.clock, config=self.auth_config
        )

    async def logout(self, cmd: Logout, access: TokenClaims) -> None:
        await sessions.logout(cmd, access, codec=self.ports.codec, tokens=self.ports.tokens)

    async def authenticate(self, claims: TokenClaims, *, fresh: bool = False) -> UserView:
        """`fresh`: read the user from the database even if this process remembers it (writes)."""
        return await sessions.authenticate(
            claims, uow=self.ports.uow(), tokens=self.ports.tokens, known=self._known_users, fresh=fresh
        )

    def verify_token(self, token: str) -> TokenClaims:
        """The claims of a token we signed and that has not expired (AuthenticationFailed otherwise)."""
        return self.ports.codec.decode(token)

    async def authenticate_bearer(self, token: str, *, fresh: bool = False) -> UserView:
        """The user behind an access token string (for endpoints where auth is optional)."""
        return await self.authenticate(self.verify_token(token), fresh=fresh)

    # catalog: reads
    async def list_products(
        self, query: ProductQuery, *, page: int, page_size: int, staff: bool
    ) -> EncodedPage:
        return await catalog_reads.list_products(
            query, page=page, page_size=page_size, staff=staff, ctx=self.catalog
        )

    async def get_product(self, product_id: int, *, staff: bool) -> bytes:
        return await catalog_reads.get_product(product_id, staff=staff, ctx=self.catalog)

    async def list_categories(self, *, page: int, page_size: int) -> EncodedPage:
        return await catalog_reads.list_categories(page=page, page_size=page_size, ctx=self.catalog)

    async def get_category(
        self, category_id: int, *, page: int, page_size: int, staff: bool
    ) -> catalog_reads.CategoryDetail:
        return await catalog_reads.get_category(
            category_id, page=page, page_size=page_size, staff=staff, ctx=self.catalog
        )

    # catalog: writes
    async def create_product(self, cmd: CreateProduct, actor: str) -> StaffProductView:
        p = self.ports
        return await catalog_admin.create_product(
            cmd,
            actor,
            uow=p.uow(),
            cache=self.catalog_cache,
            clock=p.clock,
            currency=self.currency,
            reader=p.reader,
        )

    async def update_product(
        self, product_id: int, cmd: UpdateProduct | ReplaceProduct, actor: str
    ) -> StaffProductView:
        p = self.ports
        return await catalog_admin.update_product(
            product_id,
            cmd,
            actor,
            uow=p.uow(),
            cache=self.catalog_cache,
            clock=p.clock,
            currency=self.currency,
            reader=p.reader,
        )

    async def delete_product(self, product_id: int) -> None:
        await catalog_admin.delete_product(product_id, uow=self.ports.uow(), cache=self.catalog_cache)

    async def create_category(self, cmd: CreateCategory) -> CategoryView:
        return await catalog_admin.create_category(cmd, uow=self.ports.uow(), cache=self.catalog_cache)

    async def update_category(self, category_id: int, cmd: UpdateCategory | ReplaceCategory) -> CategoryView:
        return await catalog_admin.update_category(
            category_id, cmd, uow=self.ports.uow(), cache=self.catalog_cache
        )

    async def delete_category(self, category_id: int) -> None:
        await catalog_admin.delete_category(category_id, uow=self.ports.uow(), cache=self.catalog_cache)

    # stock
    async def change_stock(self, cmd: ChangeStock, actor: str) -> StockMovementView:
        p = self.ports
        return await stock.change_stock(
            cmd,
            actor,
            uow=p.uow(),
            cache=self.catalog_cache,
            clock=p.clock,
            low_stock_threshold=self.settings.low_stock_threshold,
        )

    async def stock_history(self, sku: str, *, limit: int = 100) -> list[StockMovementView]:
        return await stock.stock_history(sku, uow=self.ports.uow(), limit=limit)

    # catalog: bulk
    async def import_products(
        self,
        rows: Iterable[tuple[int, dict[str, str] | str]],
        actor: str,
        progress: Callable[[int], None] = lambda _: None,
    ) -> catalog_import.ImportReport:
        p = self.ports
        return await catalog_import.import_products(
            rows,
            actor,
            uow=p.uow,
            cache=self.catalog_cache,
            clock=p.clock,
            currency=self.currency,
            progress=progress,
        )

    def export_products(self) -> AsyncIterator[list[list[str]]]:
        return catalog_import.export_rows(uow=self.ports.uow, currency=self.currency)

    async def seed_catalog(
        self,
        products: int,
        categories: int,
        progress: Callable[[int], None] = lambda _: None,
        *,
        sku_prefix: str = catalog_seed.SEED_PREFIX,
        update_existing: bool = False,
    ) -> catalog_import.ImportReport:
        p = self.ports
        return await catalog_seed.seed_catalog(
            products,
            categories,
            uow=p.uow,
            cache=self.catalog_cache,
            clock=p.clock,
            currency=self.currency,
            sku_prefix=sku_prefix,
            update_existing=update_existing,
            progress=progress,
        )

    # cart: `owner` is `domain.cart.customer_owner(user_id)` or what `guest_owner` returns
    def new_guest_token(self) -> str:
        return new_guest_token(self.settings.secret_key)

    def guest_owner(self, token: str) -> str:
        """The owner a guest cart token names; InvalidInput when we did not issue it."""
        return guest_owner_of(token, self.settings.secret_key)

    async def cart_owner(
        self, user_id: int | None, cart_token: str | None, *, create: bool
    ) -> tuple[str, str | None]:
        """See `services.cart.resolve_owner`: the owner a request works on, and the token to echo."""
        return await cart.resolve_owner(
            user_id, cart_token, create=create, secret=self.settings.secret_key, ctx=self.cart
        )

    async def view_cart(self, owner: str) -> cart.CartView:
        return await cart.view_cart(owner, self.cart)

    async def add_to_cart(self, owner: str, cmd: cart.AddToCart) -> cart.CartView:
        return await cart.add_to_cart(owner, cmd, self.cart)

    async def set_cart_quantity(self, owner: str, product_id: int, cmd: cart.SetQuantity) -> cart.CartView:
        return await cart.set_quantity(owner, product_id, cmd, self.cart)

    async def remove_from_cart(self, owner: str, product_id: int) -> cart.CartView:
        return await cart.remove_line(owner, product_id, self.cart)

    async def clear_cart(self, owner: str) -> cart.CartView:
        return await cart.clear_cart(owner, self.cart)

    async def merge_carts(self, guest: str, customer: str) -> cart.CartView:
        return await cart.merge_carts(guest, customer, self.cart)

    async def purge_expired_carts(self) -> int:
        return await cart.purge_expired(self.cart)

    # orders: `actor` says who asks (customers see and cancel only their own orders)
    async def place_order(
        self, user_id: int, actor: Actor, cmd: PlaceOrder, *, idempotency_key: str | None = None
    ) -> orders.Placed:
        key = orders.check_idempotency_key(idempotency_key)
        return await orders.place_order(user_id, actor, cmd, key=key, ctx=self.orders)

    async def checkout_cart(
        self, user_id: int, actor: Actor, cmd: Checkout, *, idempotency_key: str | None = None
    ) -> orders.Placed:
        key = orders.check_idempotency_key(idempotency_key)
        owner = customer_owner(user_id)
        return await orders.checkout_cart(user_id, owner, actor, cmd, key=key, ctx=self.orders)

    async def get_order(self, order_id: int, viewer: Actor) -> OrderView:
        return await orders.get_order(order_id, viewer, self.orders)

    async def get_order_by_number(self, number: str, viewer: Actor) -> OrderView:
        return await orders.get_order_by_number(number, viewer, self.orders)

    async def list_orders(
        self,
        viewer: Actor,
        *,
        status: str | None = None,
        user_id: int | None = None,
        since: datetime | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> Page[OrderView]:
        return await orders.list_orders(
            viewer, self.orders, status=status, user_id=user_id, since=since, offset=offset, limit=limit
        )

    async def list_orders_with_emails(
        self,
        viewer: Actor,
        *,
        status: str | None = None,
        user_id: int | None = None,
        since: datetime | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> Page[order_listing.StaffOrderView]:
        return await order_listing.list_orders_with_emails(
            viewer, self.orders, status=status, user_id=user_id, since=since, offset=offset, limit=limit
        )

    async def cancel_order(self, order_id: int, actor: Actor, note: str = "") -> OrderView:
        """A paid order cancelled by staff is refunded through its gateway first."""
        return await payments.cancel_order(order_id, actor, ctx=self.payments, note=note)

    async def change_order_status(self, order_id: int, cmd: ChangeOrderStatus, actor: Actor) -> OrderView:
        return await orders.change_status(order_id, cmd, actor, self.orders)

    async def expire_unpaid_orders(self) -> int:
        return await orders.expire_unpaid(self.orders)

    async def purge_idempotency_keys(self) -> int:
        return await orders.purge_idempotency_keys(self.orders)

    async def order_invoice(self, order_id: int, viewer: Actor) -> invoices.InvoiceFile:
        return await invoices.invoice_for(order_id, viewer, self.invoices)

    async def order_invoice_by_number(self, number: str, viewer: Actor) -> invoices.InvoiceFile:
        return await invoices.invoice_by_number(number, viewer, self.invoices)

    # payments
    async def start_payment(self, cmd: StartPayment, viewer: Actor, key: str | None = None) -> StartedPayment:
        return await payments.start_payment(cmd, viewer, key=key, ctx=self.payments)

    async def handle_webhook(self, gateway: Gateway, body: bytes, headers: Mapping[str, str]) -> str:
        return await payments.handle_webhook(gateway, body, headers, ctx=self.payments)

    async def get_payment(self, payment_id: int, viewer: Actor) -> PaymentView:
        return await payments.get_payment(payment_id, viewer, ctx=self.payments)

    async def customer_returned(self, gateway: Gateway, reference: str) -> PaymentView | None:
        return await payments.customer_returned(gateway, reference, ctx=self.payments)

    async def verify_payment(self, payment_id: int, viewer: Actor) -> PaymentView:
        return await payments.verify_payment(payment_id, viewer, ctx=self.payments)

    async def refund_payment(self, payment_id: int, cmd: RefundPayment, actor: Actor) -> PaymentView:
        return await payments.refund_payment(payment_id, cmd, actor, ctx=self.payments)

    async def confirm_cash(self, order_number: str, actor: Actor) -> PaymentView:
        return await payments.confirm_cash(order_number, actor, ctx=self.payments)

    async def list_payments(
        self, *, status: str | None = None, held: bool | None = None, offset: int = 0, limit: int = 100
    ) -> Page[PaymentView]:
        return await payments.list_payments(
            status=status, held=held, offset=offset, limit=limit, ctx=self.payments
        )

    async def payments_of_order(self, order_id: int, viewer: Actor) -> list[PaymentView]:
        return await payments.payments_of_order(order_id, viewer, ctx=self.payments)

    async def reconcile_payments(
        self, older_than: timedelta, progress: Callable[[int, int], None] | None = None
    ) -> payments.ReconcileReport:
        return await payments.reconcile(older_than, ctx=self.payments, progress=progress)

    # operations
    def unavailable(self, exc: BaseException) -> ServiceUnavailable | None:
        """What an unexpected error means to a caller when it is the database being unreachable
        (a 503 to retry), else None (a bug: a 500)."""
        if self.ports.database_unreachable(exc):
            return ServiceUnavailable(
                "The database is unavailable right now; try again shortly.", retry_after=5
            )
        return None

    async def check_health(self) -> health.HealthReport:
        return await health.check_health(probes=self.ports.probes)

    @property
    def metrics_registry(self) -> Any:
        """The `prometheus_client.CollectorRegistry` holding this shop's metrics (its use cases' and
        its database pool's), for a driver to expose; None when metrics are off."""
        return getattr(self.ports.metrics, "registry", None)

    async def seed_demo(self) -> demo.DemoReport:
        p = self.ports
        return await demo.seed_demo(uow=p.uow, hasher=p.hasher, clock=p.clock)


@asynccontextmanager
async def bootstrap(settings: Settings | None = None, **overrides: Any) -> AsyncIterator[Shop]:
    """Build the adapters the settings ask for, yield the Shop, close every pool on exit.

    `overrides` replace single ports by name (`hasher=…`, `clock=…`): how tests swap in fakes.
    """
    settings = settings or Settings.from_env()
    async with AsyncExitStack() as stack:
        with extras.naming_the_extra("This shop's configuration"):
            ports = await _build_ports(settings, stack)
        shop = Shop(settings, replace(ports, **overrides))
        stack.push_async_callback(shop.catalog_cache.aclose)
        shop.ports.relay.bind(shop._relay)
        bind = getattr(shop.ports.queue, "bind", None)
        if bind is not None:
            bind(shop.run_job)
        stack.push_async_callback(shop.ports.relay.aclose)  # before the queue and the database close
        yield shop


async def _build_ports(settings: Settings, stack: AsyncExitStack) -> Ports:
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
    gateways = await _build_gateways(settings, stack)
    relay = jobs.RelayLoop()
    metrics = _build_metrics(settings, db)
    return Ports(
        uow=lambda: SqlUnitOfWork(db.sessions, relay.wake, clock=SystemClock()),
        # Without their extra these stand in, and only the use cases that need them fail (naming it).
        hasher=extras.or_unavailable(_password_hasher, "Hashing passwords"),
        codec=extras.or_unavailable(lambda: _token_codec(settings), "Signing tokens"),
        tokens=tokens,
        throttle=throttle,
        clock=SystemClock(),
        cache=cache,
        reader=SqlCatalogReader(db.engine),
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
    )


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
    """Prometheus, in a registry of this bootstrap's own (with the database pool's gauges), when
    metrics are on and prometheus_client (the `http` extra) is installed; else nothing is recorded."""
    if not settings.metrics_enabled:
        return NullMetrics()
    try:
        from shop_core.adapters.prometheus_metrics import PrometheusMetrics
    except ImportError:
        return NullMetrics()
    metrics = PrometheusMetrics()
    metrics.watch_pool(db.engine)
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


async def _build_gateways(settings: Settings, stack: AsyncExitStack) -> dict[Gateway, PaymentGateway]:
    """Cash on delivery always; Stripe and SSLCommerz when their credentials are set."""
    from shop_core.adapters.cash_on_delivery import CashOnDelivery

    gateways: dict[Gateway, PaymentGateway] = {Gateway.COD: CashOnDelivery()}
    if settings.stripe_secret_key and settings.stripe_webhook_secret:
        from shop_core.adapters.stripe_gateway import StripeGateway

        stripe = StripeGateway(
            settings.stripe_secret_key,
            settings.stripe_webhook_secret,
            api_base=settings.stripe_api_base,
            timeout=settings.payment_gateway_timeout,
        )
        stack.push_async_callback(stripe.aclose)
        gateways[Gateway.STRIPE] = stripe
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
        gateways[Gateway.SSLCOMMERZ] = sslcommerz
    return gateways


def pricing_of(settings: Settings) -> Pricing:
    """The store's pricing policies from its settings: a flat tax rate and flat shipping."""
    free_over = settings.free_shipping_over
    return Pricing(
        tax=FlatRateTax(settings.tax_rate),
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
