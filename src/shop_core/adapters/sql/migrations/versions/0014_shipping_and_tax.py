"""shipping zones and methods, tax rates by country, and what orders keep of them

Shipping zones (a country in one zone at most: the country is its row's key) with their methods;
tax rates by country and region. Orders keep the method chosen (its name and list price, copied),
the shipping's part of the tax, the rate and name applied (also per line) and whether prices
included tax. Addresses gain a region (state or division). Orders' `voucher_id` gets the index its
foreign key's SET NULL wants.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shipping_zones",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_zones")),
        sa.UniqueConstraint("name", name=op.f("uq_shipping_zones_name")),
    )
    op.create_table(
        "shipping_zone_countries",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["shipping_zones.id"],
            name=op.f("fk_shipping_zone_countries_zone_id_shipping_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_shipping_zone_countries")),
    )
    with op.batch_alter_table("shipping_zone_countries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipping_zone_countries_zone_id"), ["zone_id"], unique=False)
    op.create_table(
        "shipping_methods",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("free_over", sa.BigInteger(), nullable=True),
        sa.Column("min_weight_grams", sa.Integer(), nullable=True),
        sa.Column("max_weight_grams", sa.Integer(), nullable=True),
        sa.Column("delivery_days", sa.Integer(), nullable=True),
        sa.CheckConstraint("price >= 0", name=op.f("ck_shipping_methods_price_not_negative")),
        sa.CheckConstraint(
            "free_over IS NULL OR free_over >= 0", name=op.f("ck_shipping_methods_free_over_not_negative")
        ),
        sa.CheckConstraint(
            "min_weight_grams IS NULL OR min_weight_grams >= 0",
            name=op.f("ck_shipping_methods_min_weight_not_negative"),
        ),
        sa.CheckConstraint(
            "max_weight_grams IS NULL OR max_weight_grams >= 0",
            name=op.f("ck_shipping_methods_max_weight_not_negative"),
        ),
        sa.CheckConstraint(
            "min_weight_grams IS NULL OR max_weight_grams IS NULL OR min_weight_grams <= max_weight_grams",
            name=op.f("ck_shipping_methods_weights_in_order"),
        ),
        sa.CheckConstraint(
            "delivery_days IS NULL OR delivery_days >= 0",
            name=op.f("ck_shipping_methods_delivery_days_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["shipping_zones.id"],
            name=op.f("fk_shipping_methods_zone_id_shipping_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_methods")),
    )
    with op.batch_alter_table("shipping_methods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipping_methods_zone_id"), ["zone_id"], unique=False)
    op.create_table(
        "tax_rates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("region_key", sa.String(length=64), server_default="", nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.CheckConstraint("rate_bp >= 0 AND rate_bp < 10000", name=op.f("ck_tax_rates_rate_in_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
        sa.UniqueConstraint("country", "region_key", name="uq_tax_rates_country_region_key"),
    )
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region", sa.String(length=64), server_default="", nullable=False))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipping_method_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("shipping_method_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("shipping_method_price", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("shipping_tax", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("tax_rate_bp", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tax_name", sa.String(length=50), nullable=True))
        batch_op.add_column(
            sa.Column("prices_include_tax", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_shipping_method_id_shipping_methods"),
            "shipping_methods",
            ["shipping_method_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_check_constraint("shipping_tax_within_tax", "shipping_tax BETWEEN 0 AND tax_amount")
        for column in ("voucher_id", "shipping_method_id"):  # partial: orders without one cost nothing
            batch_op.create_index(
                f"ix_orders_{column}",
                [column],
                unique=False,
                postgresql_where=sa.text(f"{column} IS NOT NULL"),
                sqlite_where=sa.text(f"{column} IS NOT NULL"),
            )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tax_rate_bp", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tax_name", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("tax_name")
        batch_op.drop_column("tax_rate_bp")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_shipping_method_id")
        batch_op.drop_index("ix_orders_voucher_id")
        batch_op.drop_constraint(op.f("ck_orders_shipping_tax_within_tax"), type_="check")
        batch_op.drop_constraint(op.f("fk_orders_shipping_method_id_shipping_methods"), type_="foreignkey")
        for column in (
            "prices_include_tax",
            "tax_name",
            "tax_rate_bp",
            "shipping_tax",
            "shipping_method_price",
            "shipping_method_name",
            "shipping_method_id",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.drop_column("region")
    op.drop_table("tax_rates")
    op.drop_table("shipping_methods")
    op.drop_table("shipping_zone_countries")
    op.drop_table("shipping_zones")
