"""One session, one transaction, per use case."""

from __future__ import annotations

from collections.abc import Callable, Collection
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop_core.adapters.sql.address_repository import SqlAddressRepository
from shop_core.adapters.sql.catalog_repositories import (
    SqlCategoryRepository,
    SqlProductRepository,
    SqlStockMovementRepository,
)
from shop_core.adapters.sql.fulfilment_repository import SqlFulfilmentRepository
from shop_core.adapters.sql.job_ledger import SqlJobLedger
from shop_core.adapters.sql.order_repositories import (
    SqlIdempotencyRepository,
    SqlInvoiceRepository,
    SqlOrderRepository,
)
from shop_core.adapters.sql.payment_repositories import SqlPaymentRepository
from shop_core.adapters.sql.pg_fast_path import forget_connection
from shop_core.adapters.sql.repositories import SqlPasswordResetRepository, SqlUserRepository
from shop_core.adapters.sql.return_repository import SqlReturnRepository
from shop_core.adapters.sql.review_repository import SqlReviewRepository
from shop_core.adapters.sql.sale_repository import SqlSaleRepository
from shop_core.adapters.sql.shipping_repository import SqlShippingRepository, SqlTaxRateRepository
from shop_core.adapters.sql.variant_repository import SqlVariantRepository
from shop_core.adapters.sql.voucher_repository import SqlVoucherRepository
from shop_core.adapters.sql.webhook_repository import SqlWebhookRepository
from shop_core.adapters.sql.wishlist_repository import SqlWishlistRepository
from shop_core.domain.jobs import Job
from shop_core.domain.webhook_deliveries import ListenerSnapshot
from shop_core.ports.clock import Clock

R = TypeVar("R")


class SqlUnitOfWork:
    """Commit is explicit; leaving the block without it rolls back. Repositories are made on first
    use: most use cases touch one or two of them."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        on_jobs: Callable[[list[Job] | None], None] | None = None,
        *,
        clock: Clock,
        webhook_listeners: ListenerSnapshot | None = None,
        on_orders: Callable[[Collection[int]], None] | None = None,
    ) -> None:
        self._sessions = sessions
        # The process's snapshot of the event types webhooks listen to (None: read each time).
        self._webhook_listeners = webhook_listeners or ListenerSnapshot(max_age=0)
        self._clock = clock  # for what a repository stamps itself (a product's `updated_at`)
        self._on_jobs = on_jobs
        self._on_orders = on_orders
        self._session: AsyncSession | None = None
        self._repositories: dict[Callable[..., Any], Any] = {}

    def _repository(self, kind: Callable[..., R], *args: Any) -> R:
        """The unit of work's one `kind(session, *args)`."""
        found = self._repositories.get(kind)
        if found is None:
            assert self._session is not None, "use the unit of work inside `async with`"
            found = self._repositories[kind] = kind(self._session, *args)
        return cast(R, found)

    @property
    def users(self) -> SqlUserRepository:
        return self._repository(SqlUserRepository)

    @property
    def categories(self) -> SqlCategoryRepository:
        return self._repository(SqlCategoryRepository)

    @property
    def products(self) -> SqlProductRepository:
        return self._repository(SqlProductRepository, self._clock)

    @property
    def variants(self) -> SqlVariantRepository:
        return self._repository(SqlVariantRepository)

    @property
    def vouchers(self) -> SqlVoucherRepository:
        return self._repository(SqlVoucherRepository)

    @property
    def addresses(self) -> SqlAddressRepository:
        return self._repository(SqlAddressRepository)

    @property
    def shipping(self) -> SqlShippingRepository:
        return self._repository(SqlShippingRepository)

    @property
    def tax_rates(self) -> SqlTaxRateRepository:
        return self._repository(SqlTaxRateRepository)

    @property
    def stock(self) -> SqlStockMovementRepository:
        return self._repository(SqlStockMovementRepository)

    @property
    def orders(self) -> SqlOrderRepository:
        return self._repository(SqlOrderRepository, self.jobs)  # it records an order's job there

    @property
    def fulfilments(self) -> SqlFulfilmentRepository:
        return self._repository(SqlFulfilmentRepository)

    @property
    def returns(self) -> SqlReturnRepository:
        return self._repository(SqlReturnRepository)

    @property
    def idempotency(self) -> SqlIdempotencyRepository:
        return self._repository(SqlIdempotencyRepository)

    @property
    def invoices(self) -> SqlInvoiceRepository:
        return self._repository(SqlInvoiceRepository)

    @property
    def payments(self) -> SqlPaymentRepository:
        return self._repository(SqlPaymentRepository)

    @property
    def password_resets(self) -> SqlPasswordResetRepository:
        return self._repository(SqlPasswordResetRepository)

    @property
    def jobs(self) -> SqlJobLedger:
        return self._repository(SqlJobLedger)

    @property
    def sales(self) -> SqlSaleRepository:
        return self._repository(SqlSaleRepository)

    @property
    def wishlist(self) -> SqlWishlistRepository:
        return self._repository(SqlWishlistRepository)

    @property
    def webhooks(self) -> SqlWebhookRepository:
        return self._repository(SqlWebhookRepository, self._webhook_listeners)

    @property
    def reviews(self) -> SqlReviewRepository:
        return self._repository(SqlReviewRepository)

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self._repositories = {}
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        # close() rolls back whatever was not committed, and keeps loaded objects readable.
        await self._session.close()
        self._session = None
        self._repositories = {}

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()
        forget_connection(self._session)  # the next transaction may run on another connection
        ledger = self._repositories.get(SqlJobLedger)
        if ledger is not None and (ledger.recorded or ledger.rescan):
            recorded = None if ledger.rescan else ledger.recorded
            ledger.recorded, ledger.rescan = [], False
            if self._on_jobs is not None:
                self._on_jobs(recorded)  # the jobs this transaction recorded can go to the queue now
        orders = self._repositories.get(SqlOrderRepository)
        if orders is not None and orders.changed:
            changed, orders.changed = orders.changed, set()
            if self._on_orders is not None:
                self._on_orders(changed)  # live streams of these orders look again (see OrderNews)

    async def rollback(self) -> None:
        assert self._session is not None
        await self._session.rollback()
        forget_connection(self._session)
        ledger = self._repositories.get(SqlJobLedger)
        if ledger is not None:  # what it recorded is gone with the transaction
            ledger.recorded, ledger.rescan = [], False
        orders = self._repositories.get(SqlOrderRepository)
        if orders is not None:  # and so are the audit events it wrote
            orders.changed = set()
