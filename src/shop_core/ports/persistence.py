"""Repositories and the unit of work: one transaction per use case."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from shop_core.domain.users import User
from shop_core.ports.address_book import AddressRepository
from shop_core.ports.catalog import (
    CategoryRepository,
    ProductRepository,
    StockMovementRepository,
    VariantRepository,
)
from shop_core.ports.fulfilments import FulfilmentRepository
from shop_core.ports.jobs import JobLedger
from shop_core.ports.orders import IdempotencyRepository, InvoiceRepository, OrderRepository
from shop_core.ports.payments import PaymentRepository
from shop_core.ports.returns import ReturnRepository
from shop_core.ports.reviews import ReviewRepository
from shop_core.ports.sales import SaleRepository
from shop_core.ports.shipping import ShippingRepository, TaxRateRepository
from shop_core.ports.vouchers import VoucherRepository
from shop_core.ports.webhooks import WebhookRepository
from shop_core.ports.wishlist import WishlistRepository


class UserRepository(Protocol):
    async def add(self, user: User) -> User:
        """Store a new user; raise Conflict when the email or username is taken."""
        ...

    async def get(self, user_id: int) -> User | None: ...

    async def get_read_only(self, user_id: int) -> User | None:
        """A read-only look at a user (every authenticated request makes one): the result is not
        tracked by the unit of work, so it must not be changed and saved."""
        ...

    async def get_by_email(self, email: str) -> User | None: ...

    async def lock(self, user_id: int) -> None:
        """Lock the user's row until the transaction ends: what serialises changes of what belongs
        to one customer (their address book)."""
        ...

    async def get_by_username(self, username: str) -> User | None:
        """Usernames are matched ignoring case, as they are unique ignoring case."""
        ...

    async def username_taken(self, username: str) -> bool: ...

    async def staff_emails(self) -> list[str]:
        """The addresses of active staff and superusers (for alerts)."""
        ...

    async def list(self, *, offset: int = 0, limit: int = 100) -> tuple[list[User], int]:
        """A page of users by id, and the total count."""
        ...

    async def emails_of(self, user_ids: set[int]) -> dict[int, str]:
        """The email of each of these users that exists, by id, in one query."""
        ...

    async def save(self, user: User) -> None:
        """Persist changes to a user loaded through this repository."""
        ...


class PasswordResetRepository(Protocol):
    """Password-reset tokens, by the SHA-256 hex digest of the token (the token itself is never stored)."""

    async def add(
        self, token_hash: str, user_id: int, created_at: datetime, expires_at: datetime
    ) -> None: ...

    async def discard_unused(self, user_id: int) -> None:
        """Forget the user's tokens not used yet (a new request replaces them)."""
        ...

    async def consume(self, token_hash: str, now: datetime) -> int | None:
        """Mark the token used, if it is unused and unexpired at `now`, with one conditional write;
        the user it was issued to, or None. Of concurrent consumers only one gets the user; the
        mark stays only if the unit of work commits."""
        ...


class UnitOfWork(Protocol):
    """A transaction: nothing is stored unless `commit` is called before leaving the block."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def categories(self) -> CategoryRepository: ...

    @property
    def products(self) -> ProductRepository: ...

    @property
    def variants(self) -> VariantRepository: ...

    @property
    def vouchers(self) -> VoucherRepository: ...

    @property
    def addresses(self) -> AddressRepository: ...

    @property
    def shipping(self) -> ShippingRepository: ...

    @property
    def tax_rates(self) -> TaxRateRepository: ...

    @property
    def stock(self) -> StockMovementRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def fulfilments(self) -> FulfilmentRepository: ...

    @property
    def returns(self) -> ReturnRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def invoices(self) -> InvoiceRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def password_resets(self) -> PasswordResetRepository: ...

    @property
    def jobs(self) -> JobLedger:
        """Jobs recorded here are handed to the queue once (and only if) the transaction commits."""
        ...

    @property
    def sales(self) -> SaleRepository: ...

    @property
    def wishlist(self) -> WishlistRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def reviews(self) -> ReviewRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
