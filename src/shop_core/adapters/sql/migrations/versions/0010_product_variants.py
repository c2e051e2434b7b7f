"""product variants: the unit that is stocked and sold; every product gets its default variant

Every product gets one default variant carrying its sku and stock; stock movements and order lines
point to their product's default variant. Products gain `options` ([] for none).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_variants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("options", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("stock_quantity", sa.Integer(), server_default="0", nullable=False),
        sa.Column("weight_grams", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("stock_quantity >= 0", name=op.f("ck_product_variants_stock_not_negative")),
        sa.CheckConstraint(
            "price IS NULL OR price >= 0", name=op.f("ck_product_variants_price_not_negative")
        ),
        sa.CheckConstraint(
            "weight_grams IS NULL OR weight_grams >= 0", name=op.f("ck_product_variants_weight_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_variants_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_variants")),
        sa.UniqueConstraint("sku", name=op.f("uq_product_variants_sku")),
    )
    with op.batch_alter_table("product_variants", schema=None) as batch_op:
        batch_op.create_index("ix_product_variants_product_id", ["product_id"], unique=False)
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("options", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("variant_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_stock_movements_variant_id_product_variants"),
            "product_variants",
            ["variant_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("variant_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("variant_name", sa.String(length=320), server_default="", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_order_lines_variant_id"), ["variant_id"], unique=False)
        batch_op.create_foreign_key(
            op.f("fk_order_lines_variant_id_product_variants"),
            "product_variants",
            ["variant_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    # Every product's default variant: its sku and stock, active (the product's own flag governs).
    op.execute(
        "INSERT INTO product_variants (product_id, sku, is_default, options, price, stock_quantity,"
        " is_active, created_at, updated_at)"
        " SELECT id, sku, TRUE, '{}', NULL, stock_quantity, TRUE, created_at, updated_at FROM products"
    )
    for table in ("stock_movements", "order_lines"):
        op.execute(
            f"UPDATE {table} SET variant_id = (SELECT v.id FROM product_variants v"  # noqa: S608
            f" WHERE v.product_id = {table}.product_id AND v.is_default)"
        )


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_order_lines_variant_id_product_variants"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_order_lines_variant_id"))
        batch_op.drop_column("variant_name")
        batch_op.drop_column("variant_id")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_stock_movements_variant_id_product_variants"), type_="foreignkey")
        batch_op.drop_column("variant_id")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("options")
    op.drop_table("product_variants")
