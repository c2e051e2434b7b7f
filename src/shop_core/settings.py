"""One typed settings object, read from `SHOP_*` environment variables and an optional `.env`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from dotenv import dotenv_values

from shop_core.domain.money import CURRENCY_EXPONENTS

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789"  # noqa: S105 - refused in production
PREFIX = "SHOP_"
SECRETS = frozenset(
    {"secret_key", "stripe_secret_key", "stripe_webhook_secret", "sslcommerz_store_password", "metrics_token"}
)


class SettingsError(ValueError):
    """A setting is missing, malformed or unsafe; the message names it."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


PositiveInt = Annotated[int, msgspec.Meta(ge=1)]


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every setting, its type and default. Field `x` is read from `SHOP_X`."""

    env: Environment = Environment.DEVELOPMENT
    debug: bool = False
    database_url: str = "sqlite+aiosqlite:///./shop.db"
    database_pool_size: PositiveInt = 20
    database_echo: bool = False
    redis_url: str | None = None
    redis_key_prefix: str = "shop:"
    secret_key: str = DEV_SECRET_KEY
    access_token_ttl: PositiveInt = 900
    refresh_token_ttl: PositiveInt = 604_800
    max_failed_logins: PositiveInt = 5
    failed_login_window: PositiveInt = 900
    password_reset_ttl: PositiveInt = 3600
    cors_origins: tuple[str, ...] = ()
    rate_limit_enabled: bool = True
    rate_limit_per_minute: PositiveInt = 300
    auth_rate_limit_per_minute: PositiveInt = 20
    max_request_body_bytes: PositiveInt = 1_048_576
    log_level: Annotated[str, msgspec.Meta(pattern="^(?i:debug|info|warning|error|critical)$")] = "info"
    public_base_url: str = "http://127.0.0.1:8000"
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] = "USD"
    cache_enabled: bool = True
    cache_ttl: PositiveInt = 300
    cart_max_quantity: PositiveInt = 99
    cart_max_lines: PositiveInt = 100
    cart_ttl_days: PositiveInt = 30
    store_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "Shop"
    tax_rate: Decimal = Decimal(0)
    prices_include_tax: bool = False  # catalog prices are gross: tax is extracted, not added
    tax_shipping: bool = False  # shipping is taxed at the order's rate
    shipping_flat: Decimal = Decimal(0)
    free_shipping_over: Decimal | None = None
    order_payment_timeout: PositiveInt = 1800
    cod_order_timeout: PositiveInt | None = None  # unset: cash-on-delivery orders never expire
    return_window_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 30  # returns open after delivery
    reviews_require_approval: bool = False  # new reviews (and authors' edits) wait for staff to publish
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None  # only for the tests' stand-in
    sslcommerz_store_id: str | None = None
    sslcommerz_store_password: str | None = None
    sslcommerz_base_url: str = "https://sandbox.sslcommerz.com"
    payment_gateway_timeout: Annotated[float, msgspec.Meta(gt=0, le=120)] = 20.0
    smtp_url: str | None = None
    mail_from: Annotated[str, msgspec.Meta(min_length=3, max_length=320)] = "Shop <shop@localhost>"
    queue_url: str | None = None
    low_stock_threshold: Annotated[int, msgspec.Meta(ge=0)] = 5
    job_retry_delay: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 10.0
    job_retention_days: PositiveInt = 14
    log_format: Literal["json", "console"] | None = None  # None: json in production, else console
    metrics_enabled: bool = True
    metrics_token: str | None = None  # when set, GET /metrics needs `Authorization: Bearer <token>`
    metrics_public: bool = False  # production: serve /metrics without a token (off: refuse to start)
    # Outgoing webhooks: private targets (loopback, LAN, link-local...) refused unless allowed;
    # each attempt cut off after the timeout; a new subscription heard by every process within
    # the refresh period (see docs/webhooks.md).
    webhooks_allow_private: bool = False
    webhooks_timeout: Annotated[float, msgspec.Meta(gt=0, le=30)] = 10.0
    webhooks_refresh_seconds: Annotated[float, msgspec.Meta(ge=0, le=300)] = 5.0
    sse_heartbeat_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 15.0  # live order streams
    sse_max_streams_per_user: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5  # per server process
    sse_max_stream_seconds: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 3600.0  # then reconnect

    def __repr__(self) -> str:
        shown = {
            f: ("***" if f in SECRETS and v else _mask_url(v) if f.endswith("_url") else v)
            for f in self.__struct_fields__
            for v in [getattr(self, f)]
        }
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    @property
    def uses_default_secret(self) -> bool:
        return self.secret_key == DEV_SECRET_KEY

    def check(self) -> Settings:
        """Refuse unsafe combinations; return self so it chains."""
        if self.currency not in CURRENCY_EXPONENTS:
            raise SettingsError(f"SHOP_CURRENCY: {self.currency} is not a supported ISO 4217 currency.")
        if not Decimal(0) <= self.tax_rate < Decimal(1):
            raise SettingsError(f"SHOP_TAX_RATE: {self.tax_rate} is not a rate from 0 to 1 (0.15 is 15%).")
        for name in ("shipping_flat", "free_shipping_over"):
            amount = getattr(self, name)
            if amount is not None and (not amount.is_finite() or amount < 0 or amount >= 10**9):
                raise SettingsError(f"SHOP_{name.upper()}: {amount} is not an amount of money.")
        if bool(self.stripe_secret_key) != bool(self.stripe_webhook_secret):
            raise SettingsError(
                "SHOP_STRIPE_SECRET_KEY and SHOP_STRIPE_WEBHOOK_SECRET go together: set both or neither."
            )
        if bool(self.sslcommerz_store_id) != bool(self.sslcommerz_store_password):
            raise SettingsError(
                "SHOP_SSLCOMMERZ_STORE_ID and SHOP_SSLCOMMERZ_STORE_PASSWORD go together: "
                "set both or neither."
            )
        if len(self.secret_key) < 32 and not self.uses_default_secret:
            raise SettingsError("SHOP_SECRET_KEY must be at least 32 characters long.")
        if self.env is Environment.PRODUCTION:
            if self.uses_default_secret:
                raise SettingsError("SHOP_SECRET_KEY must be set to a secret value in production.")
            if self.debug:
                raise SettingsError("SHOP_DEBUG must be off in production.")
            if "*" in self.cors_origins:
                raise SettingsError("SHOP_CORS_ORIGINS cannot be '*' in production; list the origins.")
            if self.database_url.strip().lower().startswith("sqlite"):
                raise SettingsError(
                    "SHOP_DATABASE_URL cannot be SQLite in production (a local file that no other "
                    "replica can share); use PostgreSQL: postgresql+asyncpg://user:password@host:5432/db."
                )
            self._refuse_open_metrics()
        return self

    def _refuse_open_metrics(self) -> None:
        """Production: /metrics without a token only when SHOP_METRICS_PUBLIC says it is wanted."""
        if self.metrics_enabled and not self.metrics_token and not self.metrics_public:
            raise SettingsError(
                "SHOP_METRICS_TOKEN must be set in production while metrics are enabled (scrapers "
                "then send 'Authorization: Bearer <token>'). Set SHOP_METRICS_PUBLIC=true if /metrics "
                "is meant to be open (reachable only from a private network), or "
                "SHOP_METRICS_ENABLED=false to turn metrics off."
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
    ) -> Settings:
        """Read `SHOP_*` variables (the environment wins over the `.env` file) and check them."""
        raw: dict[str, str | None] = {}
        if env_file is not None and Path(env_file).is_file():
            raw.update(dotenv_values(env_file))
        raw.update(os.environ if environ is None else environ)
        return cls.from_mapping({k: v for k, v in raw.items() if v is not None})

    @classmethod
    def from_mapping(cls, raw: Mapping[str, str]) -> Settings:
        known = {f.name for f in msgspec.structs.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX) :].lower()
            if name not in known:
                continue
            values[name] = _parse(name, value)
        try:
            settings = msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(_explain(str(exc))) from None
        return settings.check()

    def replace(self, **changes: Any) -> Settings:
        return msgspec.structs.replace(self, **changes).check()


def _mask_url(url: object) -> object:
    """Hide the password of a URL (`scheme://user:***@host`) so it can be logged."""
    if not isinstance(url, str) or "@" not in url or "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def _parse(name: str, value: str) -> Any:
    if name == "cors_origins":
        return [o.strip() for o in value.split(",") if o.strip()]
    if name in ("redis_url", "free_shipping_over") and not value.strip():
        return None
    return value.strip()


def _explain(message: str) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.access_token_ttl`"; name the variable instead.
    if " - at `$." in message:
        text, _, path = message.partition(" - at `$.")
        field = path.rstrip("`").split("[", 1)[0]
        return f"{PREFIX}{field.upper()}: {text}"
    return message
