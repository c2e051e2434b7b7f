"""One session, one transaction, per use case."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop_core.adapters.sql.catalog_repositories import (
    SqlCategoryRepository,
    SqlProductRepository,
    SqlStockMovementRepository,
)
from shop_core.adapters.sql.order_repositories import (
    SqlIdempotencyRepository,
    SqlInvoiceRepository,
    SqlOrderRepository,
)
from shop_core.adapters.sql.repositories import SqlUserRepository


class SqlUnitOfWork:
    """Commit is explicit; leaving the block without it rolls back."""

    users: SqlUserRepository
    categories: SqlCategoryRepository
    products: SqlProductRepository
    stock: SqlStockMovementRepository
    orders: SqlOrderRepository
    idempotency: SqlIdempotencyRepository
    invoices: SqlInvoiceRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self.users = SqlUserRepository(self._session)
        self.categories = SqlCategoryRepository(self._session)
        self.products = SqlProductRepository(self._session)
        self.stock = SqlStockMovementRepository(self._session)
        self.orders = SqlOrderRepository(self._session)
        self.idempotency = SqlIdempotencyRepository(self._session)
        self.invoices = SqlInvoiceRepository(self._session)
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

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()

    async def rollback(self) -> None:
        assert self._session is not None
        await self._session.rollback()
