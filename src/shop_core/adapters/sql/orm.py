"""Tables, and the imperative mapping of domain dataclasses onto them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import registry

from shop_core.domain.catalog import Category, Product
from shop_core.domain.stock import StockMovement
from shop_core.domain.users import Role, User
from shop_core.domain.variants import Variant

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
mapper_registry = registry(metadata=metadata)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("username", sa.String(150), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("first_name", sa.String(150), nullable=False, server_default=""),
    sa.Column("last_name", sa.String(150), nullable=False, server_default=""),
    sa.Column("phone", sa.String(32), nullable=False, server_default=""),
    sa.Column(
        "role",
        sa.Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    ),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("date_joined", DateTimeUTC(timezone=True), nullable=False),
)

revoked_tokens = sa.Table(
    "revoked_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False, index=True),
)

refresh_families = sa.Table(
    "refresh_families",
    metadata,
    sa.Column("family", sa.String(64), primary_key=True),
    sa.Column("current_jti", sa.String(64), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False, index=True),
    # Null for families started before migration 0006: a password reset cannot find those.
    sa.Column("user_id", sa.Integer, index=True),
)

password_reset_tokens = sa.Table(
    "password_reset_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # SHA-256 hex: the token is never stored
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False, index=True),
    sa.Column("used_at", DateTimeUTC(timezone=True)),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_ends", DateTimeUTC(timezone=True), nullable=False),
)


class Hundredths(sa.types.TypeDecorator[Decimal]):
    """A Decimal with two places, stored exactly as an integer count of hundredths."""

    impl = sa.Integer
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        return None if value is None else int((value * 100).to_integral_value())

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("slug", sa.String(200), nullable=False, unique=True),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("categories.id", ondelete="RESTRICT"), index=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("slug", sa.String(200), nullable=False, unique=True),
    sa.Column("sku", sa.String(64), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("category_id", sa.Integer, sa.ForeignKey("categories.id", ondelete="RESTRICT"), index=True),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("cost_price", sa.BigInteger),
    sa.Column("discount_percentage", Hundredths, nullable=False, server_default="0"),
    sa.Column("stock_quantity", sa.Integer, nullable=False, server_default="0"),
    sa.Column("image_url", sa.String(500), nullable=False, server_default=""),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False, index=True),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    # [{"name": "Size", "values": ["S", "M"]}, ...]: what the variants differ by; [] for none.
    sa.Column("options", sa.JSON, nullable=False, server_default="[]"),
    # What the catalog shows as the product's price, and filters and orders by: the lowest price of
    # its active variants (a variant without its own price has `price`, the product's base price).
    # Kept in step by `variant_rows.refresh_totals` in the transaction of every change to either.
    sa.Column("min_price", sa.BigInteger, nullable=False, server_default="0"),
    # Its published reviews: how many, and their ratings added up (the average is worked out when
    # shown). Moved by one conditional-free `SET x = x + :d` in the transaction of every review
    # change that touches a published review (`review_repository.add_to_rating`).
    sa.Column("rating_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rating_sum", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint("stock_quantity >= 0", name="stock_not_negative"),
    sa.CheckConstraint("price >= 0", name="price_not_negative"),
    sa.CheckConstraint("cost_price IS NULL OR cost_price >= 0", name="cost_price_not_negative"),
    sa.CheckConstraint("discount_percentage BETWEEN 0 AND 10000", name="discount_in_range"),
    sa.Index("ix_products_min_price", "min_price"),
    sa.Index("ix_products_name", "name"),
    # The public list's pages are picked from these alone, then joined to their rows (see
    # `catalog_paging`). Migration 0020 also adds the search's indexes, which are the database's own
    # (pg_trgm on PostgreSQL, an FTS5 table on SQLite) and so are not described here.
    sa.Index(
        "ix_products_active_id",
        "id",
        "category_id",
        postgresql_where=sa.text("is_active IS true"),
        sqlite_where=sa.text("is_active IS 1"),
    ),
    sa.Index(
        "ix_products_active_price",
        "min_price",
        "id",
        "category_id",
        postgresql_where=sa.text("is_active IS true"),
        sqlite_where=sa.text("is_active IS 1"),
    ),
)

# Per category (0: products without one), how many products it has and how many are active: what
# the product list's exact `count` sums over a category's descendants. Kept by triggers on
# `products` (migration 0020) in the transaction of every insert, delete, move and (de)activation.
BLOCK = 1024
"""Ids per row of `product_id_blocks`."""

# Per block of BLOCK consecutive product ids (`id / 1024`), how many of its products are active:
# what finds a deep page of the public list without reading every earlier row (`catalog_paging`).
# Kept by the same triggers as `category_product_counts`.
product_id_blocks = sa.Table(
    "product_id_blocks",
    metadata,
    sa.Column("block", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("active", sa.Integer, nullable=False, server_default="0"),
)

category_product_counts = sa.Table(
    "category_product_counts",
    metadata,
    sa.Column("category_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("active", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
)

# The unit that is stocked and sold. Every product has at least one; a product without options has
# exactly one, its default variant (`is_default`), which carries the product's own sku and stock.
# The product's `stock_quantity` is the sum over its active variants, kept in step in the same
# transaction as every change of a variant's stock.
product_variants = sa.Table(
    "product_variants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False, unique=True),
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("options", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("price", sa.BigInteger),  # NULL: the product's price
    sa.Column("stock_quantity", sa.Integer, nullable=False, server_default="0"),
    sa.Column("weight_grams", sa.Integer),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint("stock_quantity >= 0", name="stock_not_negative"),
    sa.CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
    sa.CheckConstraint("weight_grams IS NULL OR weight_grams >= 0", name="weight_not_negative"),
    sa.Index("ix_product_variants_product_id", "product_id"),
)

stock_movements = sa.Table(
    "stock_movements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    sa.Column("variant_id", sa.Integer, sa.ForeignKey("product_variants.id", ondelete="CASCADE")),
    sa.Column("delta", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("balance_after", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(320), nullable=False, server_default=""),
    sa.Column("note", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Index("ix_stock_movements_product_id_id", "product_id", "id"),
)

# One row: moved on by every catalog write, so every process's cache can tell the catalog changed.
catalog_version = sa.Table(
    "catalog_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)

carts = sa.Table(
    "carts",
    metadata,
    sa.Column("owner", sa.String(100), primary_key=True),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False, index=True),
    # The code of the voucher applied to the cart (as normalized), checked again on every read.
    sa.Column("voucher_code", sa.String(32)),
)

cart_lines = sa.Table(
    "cart_lines",
    metadata,
    sa.Column("owner", sa.String(100), sa.ForeignKey("carts.owner", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.Integer, primary_key=True),
    # 0: the product's default variant (the lines of carts from before variants are such lines).
    sa.Column("variant_id", sa.Integer, primary_key=True, server_default="0"),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
)

# Customers' saved addresses. At most one default for shipping and one for billing per customer
# (partial unique indexes: two concurrent changes cannot both leave a default).
addresses = sa.Table(
    "addresses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("line1", sa.String(200), nullable=False),
    sa.Column("line2", sa.String(200), nullable=False, server_default=""),
    sa.Column("city", sa.String(100), nullable=False),
    sa.Column("postal_code", sa.String(20), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("phone", sa.String(32), nullable=False, server_default=""),
    sa.Column("region", sa.String(64), nullable=False, server_default=""),
    sa.Column("is_default_shipping", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("is_default_billing", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Index("ix_addresses_user_id", "user_id"),
    sa.Index(
        "uq_addresses_default_shipping",
        "user_id",
        unique=True,
        sqlite_where=sa.text("is_default_shipping"),
        postgresql_where=sa.text("is_default_shipping"),
    ),
    sa.Index(
        "uq_addresses_default_billing",
        "user_id",
        unique=True,
        sqlite_where=sa.text("is_default_billing"),
        postgresql_where=sa.text("is_default_billing"),
    ),
)

# Discount codes. `code` is stored normalized (upper case), so uniqueness ignores case. A percentage
# voucher has `percentage` (hundredths exact), a fixed one `amount` (minor units), free shipping
# neither. `used_count` moves only by conditional updates (see VoucherRepository.use).
vouchers = sa.Table(
    "vouchers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("percentage", Hundredths),
    sa.Column("amount", sa.BigInteger),
    sa.Column("min_subtotal", sa.BigInteger),
    sa.Column("starts_at", DateTimeUTC(timezone=True)),
    sa.Column("ends_at", DateTimeUTC(timezone=True)),
    sa.Column("usage_limit", sa.Integer),
    sa.Column("per_customer_limit", sa.Integer),
    sa.Column("used_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint("used_count >= 0", name="used_count_not_negative"),
    sa.CheckConstraint("percentage IS NULL OR percentage BETWEEN 1 AND 10000", name="percentage_in_range"),
    sa.CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
    sa.CheckConstraint("min_subtotal IS NULL OR min_subtotal >= 0", name="min_subtotal_not_negative"),
    sa.CheckConstraint(
        "ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="ends_after_start"
    ),
)

# RESTRICT on the products and categories a voucher is restricted to: erasing the last of them would
# leave a voucher that applies to everything (the catalog deactivates such a product instead, and
# refuses to delete such a category).
voucher_products = sa.Table(
    "voucher_products",
    metadata,
    sa.Column("voucher_id", sa.Integer, sa.ForeignKey("vouchers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id", ondelete="RESTRICT"), primary_key=True),
    sa.Index("ix_voucher_products_product_id", "product_id"),
)

voucher_categories = sa.Table(
    "voucher_categories",
    metadata,
    sa.Column("voucher_id", sa.Integer, sa.ForeignKey("vouchers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "category_id", sa.Integer, sa.ForeignKey("categories.id", ondelete="RESTRICT"), primary_key=True
    ),
    sa.Index("ix_voucher_categories_category_id", "category_id"),
)

# How often each customer used each voucher: the per-customer limit, kept by conditional upserts.
voucher_uses = sa.Table(
    "voucher_uses",
    metadata,
    sa.Column("voucher_id", sa.Integer, sa.ForeignKey("vouchers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.CheckConstraint("count >= 0", name="count_not_negative"),
)

# Time-boxed percentage sales on products and categories (a category with its descendants).
sales = sa.Table(
    "sales",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("percentage", Hundredths, nullable=False),
    sa.Column("starts_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("ends_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint("percentage BETWEEN 1 AND 10000", name="percentage_in_range"),
    sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    sa.Index("ix_sales_ends_at", "ends_at"),
)

sale_products = sa.Table(
    "sale_products",
    metadata,
    sa.Column("sale_id", sa.Integer, sa.ForeignKey("sales.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
)

sale_categories = sa.Table(
    "sale_categories",
    metadata,
    sa.Column("sale_id", sa.Integer, sa.ForeignKey("sales.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "category_id", sa.Integer, sa.ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True
    ),
)

# Shipping zones: a country is in one zone at most (the country is the key of its row).
shipping_zones = sa.Table(
    "shipping_zones",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
)

shipping_zone_countries = sa.Table(
    "shipping_zone_countries",
    metadata,
    sa.Column("country", sa.String(2), primary_key=True),
    sa.Column(
        "zone_id",
        sa.Integer,
        sa.ForeignKey("shipping_zones.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

shipping_methods = sa.Table(
    "shipping_methods",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "zone_id",
        sa.Integer,
        sa.ForeignKey("shipping_zones.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("free_over", sa.BigInteger),
    sa.Column("min_weight_grams", sa.Integer),
    sa.Column("max_weight_grams", sa.Integer),
    sa.Column("delivery_days", sa.Integer),
    sa.CheckConstraint("price >= 0", name="price_not_negative"),
    sa.CheckConstraint("free_over IS NULL OR free_over >= 0", name="free_over_not_negative"),
    sa.CheckConstraint("min_weight_grams IS NULL OR min_weight_grams >= 0", name="min_weight_not_negative"),
    sa.CheckConstraint("max_weight_grams IS NULL OR max_weight_grams >= 0", name="max_weight_not_negative"),
    sa.CheckConstraint(
        "min_weight_grams IS NULL OR max_weight_grams IS NULL OR min_weight_grams <= max_weight_grams",
        name="weights_in_order",
    ),
    sa.CheckConstraint("delivery_days IS NULL OR delivery_days >= 0", name="delivery_days_not_negative"),
)

# Tax rates by country, and optionally region: `rate_bp` in basis points (1525 is 15.25%);
# `region_key` is the region case-folded ('' for the whole country), unique per country.
tax_rates = sa.Table(
    "tax_rates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("region", sa.String(64)),
    sa.Column("region_key", sa.String(64), nullable=False, server_default=""),
    sa.Column("rate_bp", sa.Integer, nullable=False),
    sa.Column("name", sa.String(50), nullable=False),
    sa.CheckConstraint("rate_bp >= 0 AND rate_bp < 10000", name="rate_in_range"),
    sa.UniqueConstraint("country", "region_key", name="uq_tax_rates_country_region_key"),
)

_MONEY = ("subtotal", "discount_amount", "tax_amount", "shipping_cost", "total_price")

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(32), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("payment_status", sa.String(16), nullable=False),
    sa.Column("payment_method", sa.String(16), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    *(sa.Column(name, sa.BigInteger, nullable=False) for name in _MONEY),
    sa.Column("shipping_address", sa.JSON, nullable=False),
    sa.Column("billing_address", sa.JSON, nullable=False),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("paid_at", DateTimeUTC(timezone=True)),
    sa.Column("delivered_at", DateTimeUTC(timezone=True)),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    # The voucher used (its code as it was, and its part of `discount_amount`); SET NULL: a voucher
    # deleted later leaves its orders as they were.
    sa.Column("voucher_id", sa.Integer, sa.ForeignKey("vouchers.id", ondelete="SET NULL")),
    sa.Column("voucher_code", sa.String(32)),
    sa.Column("voucher_discount", sa.BigInteger, nullable=False, server_default="0"),
    # The shipping method chosen, copied (its name and list price as they were); SET NULL: a method
    # removed later leaves its orders as they were. `shipping_tax` is the shipping's part of
    # `tax_amount`; the tax rate (basis points) and name applied; whether prices included tax.
    sa.Column("shipping_method_id", sa.Integer, sa.ForeignKey("shipping_methods.id", ondelete="SET NULL")),
    sa.Column("shipping_method_name", sa.String(100)),
    sa.Column("shipping_method_price", sa.BigInteger),
    sa.Column("shipping_tax", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("tax_rate_bp", sa.Integer),
    sa.Column("tax_name", sa.String(50)),
    sa.Column("prices_include_tax", sa.Boolean, nullable=False, server_default=sa.false()),
    # How much has shipped (the order's fulfilments): unfulfilled, partial or fulfilled.
    sa.Column("fulfillment_status", sa.String(16), nullable=False, server_default="unfulfilled"),
    *(sa.CheckConstraint(f"{name} >= 0", name=f"{name}_not_negative") for name in _MONEY),
    sa.CheckConstraint(
        "fulfillment_status IN ('unfulfilled', 'partial', 'fulfilled')", name="fulfillment_status_known"
    ),
    sa.CheckConstraint("shipping_tax BETWEEN 0 AND tax_amount", name="shipping_tax_within_tax"),
    sa.CheckConstraint("voucher_discount BETWEEN 0 AND discount_amount", name="voucher_within_discount"),
    sa.CheckConstraint(
        "total_price = subtotal - discount_amount + tax_amount + shipping_cost", name="total_adds_up"
    ),
    sa.Index("ix_orders_user_id_created_at", "user_id", "created_at"),
    sa.Index("ix_orders_status_created_at", "status", "created_at"),
    sa.Index("ix_orders_created_at", "created_at"),
    sa.Index("ix_orders_voucher_code_created_at", "voucher_code", "created_at"),
    # For the foreign keys' SET NULL when a voucher or a method is deleted (no scan of all orders);
    # partial, so an order without a voucher (or without a method) costs its insert nothing here.
    *(
        sa.Index(
            f"ix_orders_{column}",
            column,
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )
        for column in ("voucher_id", "shipping_method_id")
    ),
)

order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    # RESTRICT: a product that orders reference is deactivated, never erased.
    sa.Column(
        "product_id",
        sa.Integer,
        sa.ForeignKey("products.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    # RESTRICT too: a variant that orders reference is deactivated, never erased.
    sa.Column(
        "variant_id", sa.Integer, sa.ForeignKey("product_variants.id", ondelete="RESTRICT"), index=True
    ),
    sa.Column("variant_name", sa.String(320), nullable=False, server_default=""),
    sa.Column("product_name", sa.String(200), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("unit_price", sa.BigInteger, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("line_total", sa.BigInteger, nullable=False),
    sa.Column("discount_amount", sa.BigInteger, nullable=False),
    sa.Column("tax_amount", sa.BigInteger, nullable=False),
    # The line's share of the order's voucher discount (part of its `discount_amount`).
    sa.Column("voucher_discount", sa.BigInteger, nullable=False, server_default="0"),
    # The tax rate (basis points) and its name as applied to the line; NULL on older orders.
    sa.Column("tax_rate_bp", sa.Integer),
    sa.Column("tax_name", sa.String(50)),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    sa.CheckConstraint("voucher_discount BETWEEN 0 AND discount_amount", name="voucher_within_discount"),
)

order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("from_status", sa.String(16), nullable=False, server_default=""),
    sa.Column("to_status", sa.String(16), nullable=False, server_default=""),
    sa.Column("note", sa.String(500), nullable=False, server_default=""),
    sa.Index("ix_order_events_order_id_id", "order_id", "id"),
)

# What left the warehouse: one row per parcel, its lines naming the order lines shipped.
fulfillments = sa.Table(
    "fulfillments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("carrier", sa.String(100)),
    sa.Column("tracking_number", sa.String(100)),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("actor", sa.String(320), nullable=False),
)

fulfillment_lines = sa.Table(
    "fulfillment_lines",
    metadata,
    sa.Column(
        "fulfillment_id",
        sa.Integer,
        sa.ForeignKey("fulfillments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # RESTRICT: an order line that shipped is never erased.
    sa.Column(
        "order_line_id",
        sa.Integer,
        sa.ForeignKey("order_lines.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
)

# Goods of a delivered order a customer sends back, and where that stands (domain/returns.py).
returns = sa.Table(
    "returns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="RESTRICT"), nullable=False, index=True
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(1000), nullable=False),
    sa.Column("note", sa.String(1000), nullable=False, server_default=""),
    # Fixed once, when the refund is worked out (before the gateway is asked); then kept.
    sa.Column("refund_amount", sa.BigInteger),
    sa.Column("restock", sa.Boolean),
    # The refund (its id is the gateway's idempotency key): a retry asks for the same one.
    sa.Column("refund_id", sa.Integer, sa.ForeignKey("refunds.id", ondelete="RESTRICT"), unique=True),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("received_at", DateTimeUTC(timezone=True)),
    sa.Column("refunded_at", DateTimeUTC(timezone=True)),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.CheckConstraint(
        "status IN ('requested', 'approved', 'rejected', 'received', 'refunded')", name="status_known"
    ),
    sa.CheckConstraint("refund_amount >= 0", name="refund_amount_not_negative"),
    sa.Index("ix_returns_status_id", "status", "id"),
)

return_lines = sa.Table(
    "return_lines",
    metadata,
    sa.Column("return_id", sa.Integer, sa.ForeignKey("returns.id", ondelete="CASCADE"), primary_key=True),
    # RESTRICT: an order line that went back is never erased.
    sa.Column(
        "order_line_id",
        sa.Integer,
        sa.ForeignKey("order_lines.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
)

# A customer's review of a product they received (domain/reviews.py); one per customer and product.
reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    # SET NULL: the review outlives its author's account, shown under the `author_name` it kept.
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), index=True),
    sa.Column("rating", sa.SmallInteger, nullable=False),
    sa.Column("title", sa.String(120), nullable=False, server_default=""),
    sa.Column("body", sa.String(5000), nullable=False, server_default=""),
    sa.Column("author_name", sa.String(160), nullable=False),
    sa.Column("verified_purchase", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("is_published", sa.Boolean, nullable=False),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.UniqueConstraint("product_id", "user_id", name="uq_reviews_product_id_user_id"),
    sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_in_range"),
    sa.Index("ix_reviews_product_id_is_published_created_at", "product_id", "is_published", "created_at"),
    sa.Index("ix_reviews_is_published_id", "is_published", "id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="SET NULL")),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False, index=True),
)

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("issued_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("pdf", sa.LargeBinary),  # None until rendered
    sa.UniqueConstraint("year", "sequence", name="uq_invoices_year_sequence"),
)

invoice_counters = sa.Table(
    "invoice_counters",
    metadata,
    sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last", sa.Integer, nullable=False),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id", ondelete="RESTRICT"), nullable=False),
    sa.Column("order_number", sa.String(32), nullable=False, server_default=""),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
    sa.Column("gateway", sa.String(16), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reference", sa.String(255), nullable=False, server_default=""),
    sa.Column("client_secret", sa.String(255), nullable=False, server_default=""),
    sa.Column("redirect_url", sa.String(1000), nullable=False, server_default=""),
    sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("hold_reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("failure", sa.String(500), nullable=False, server_default=""),
    sa.Column("provider_data", sa.String(2000), nullable=False, server_default=""),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("settled_at", DateTimeUTC(timezone=True)),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.UniqueConstraint("order_id", "attempt", name="uq_payments_order_id_attempt"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refunds_within_amount"),
    sa.Index("ix_payments_gateway_reference", "gateway", "reference"),
    sa.Index("ix_payments_status_updated_at", "status", "updated_at"),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("payment_id", sa.Integer, sa.ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("actor", sa.String(320), nullable=False, server_default=""),
    sa.Column("reference", sa.String(255), nullable=False, server_default=""),
    sa.Column("failure", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint("amount > 0", name="refund_amount_positive"),
    sa.Index("ix_refunds_payment_id", "payment_id"),
    sa.Index("ix_refunds_reference", "reference"),
)

payment_events = sa.Table(
    "payment_events",
    metadata,
    sa.Column("gateway", sa.String(16), primary_key=True),
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("type", sa.String(100), nullable=False, server_default=""),
    sa.Column("received_at", DateTimeUTC(timezone=True), nullable=False, index=True),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("round", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("started_at", DateTimeUTC(timezone=True), nullable=True),
    sa.Column("finished_at", DateTimeUTC(timezone=True), nullable=True),
    sa.Index("ix_jobs_status_id", "status", "id"),
)

# Customers' wishlists (domain/wishlist.py): one entry per (customer, product, variant or none).
# Two partial unique indexes, since NULLs never collide in a plain unique one.
wishlist_items = sa.Table(
    "wishlist_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "product_id", sa.Integer, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("variant_id", sa.Integer, sa.ForeignKey("product_variants.id", ondelete="CASCADE"), index=True),
    sa.Column("notify", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("restocks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Index(
        "uq_wishlist_items_product",
        "user_id",
        "product_id",
        unique=True,
        sqlite_where=sa.text("variant_id IS NULL"),
        postgresql_where=sa.text("variant_id IS NULL"),
    ),
    sa.Index(
        "uq_wishlist_items_variant",
        "user_id",
        "product_id",
        "variant_id",
        unique=True,
        sqlite_where=sa.text("variant_id IS NOT NULL"),
        postgresql_where=sa.text("variant_id IS NOT NULL"),
    ),
)

# --- outgoing webhooks (issue 20) ----------------------------------------------------------------------

webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("events", sa.Text, nullable=False),  # a JSON list of event types
    # Signs every delivery, so it is kept; shown once, when the subscription is made.
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    # The first attempt of this one's series (null on a first attempt): its job's payload.
    sa.Column("first_attempt_id", sa.Integer, nullable=True, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=True),
    sa.Column("response_excerpt", sa.String(256), nullable=False, server_default=""),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("next_retry_at", DateTimeUTC(timezone=True), nullable=True),
    sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    sa.Column("finished_at", DateTimeUTC(timezone=True), nullable=True),
    sa.Column("payload", sa.Text, nullable=False),  # the exact bytes sent (UTF-8 JSON)
    sa.CheckConstraint("status IN ('pending', 'succeeded', 'retrying', 'failed')", name="status_known"),
    sa.CheckConstraint("attempt >= 1", name="attempt_positive"),
    sa.UniqueConstraint("subscription_id", "event_id", "attempt"),
    sa.Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
)

_mapped = False


def map_domain() -> None:
    """Map the domain dataclasses onto the tables, once per process."""
    global _mapped  # noqa: PLW0603 - SQLAlchemy's mapping is process-wide by nature
    if _mapped:
        return
    mapper_registry.map_imperatively(User, users)
    mapper_registry.map_imperatively(Category, categories)
    mapper_registry.map_imperatively(Product, products)
    mapper_registry.map_imperatively(Variant, product_variants)
    mapper_registry.map_imperatively(StockMovement, stock_movements)
    _mapped = True
