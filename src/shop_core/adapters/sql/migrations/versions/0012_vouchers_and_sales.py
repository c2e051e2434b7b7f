"""vouchers (discount codes) and timed sales

Vouchers, with the products and categories they are restricted to and each customer's uses of them;
sales, with their products and categories. Carts keep the code of their voucher; orders keep the
voucher they used (its code, and its part of `discount_amount`), and each line its share of it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _link(
    table: str,
    owner: str,
    owner_table: str,
    target: str,
    target_table: str,
    *,
    target_delete: str = "CASCADE",
) -> None:
    """A two-column link table: the owner's side a cascading foreign key, the target's
    `target_delete`."""
    op.create_table(
        table,
        sa.Column(owner, sa.Integer(), nullable=False),
        sa.Column(target, sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            [owner], [f"{owner_table}.id"], name=op.f(f"fk_{table}_{owner}_{owner_table}"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            [target],
            [f"{target_table}.id"],
            name=op.f(f"fk_{table}_{target}_{target_table}"),
            ondelete=target_delete,
        ),
        sa.PrimaryKeyConstraint(owner, target, name=op.f(f"pk_{table}")),
    )


def upgrade() -> None:
    op.create_table(
        "vouchers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("percentage", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("min_subtotal", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("ends_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("used_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("used_count >= 0", name=op.f("ck_vouchers_used_count_not_negative")),
        sa.CheckConstraint(
            "percentage IS NULL OR percentage BETWEEN 1 AND 10000",
            name=op.f("ck_vouchers_percentage_in_range"),
        ),
        sa.CheckConstraint("amount IS NULL OR amount > 0", name=op.f("ck_vouchers_amount_positive")),
        sa.CheckConstraint(
            "min_subtotal IS NULL OR min_subtotal >= 0", name=op.f("ck_vouchers_min_subtotal_not_negative")
        ),
        sa.CheckConstraint(
            "ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at",
            name=op.f("ck_vouchers_ends_after_start"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("code", name=op.f("uq_vouchers_code")),
    )
    # RESTRICT: erasing the last product or category a voucher is restricted to would make it apply
    # to everything (the catalog deactivates such a product, and refuses to delete such a category).
    _link("voucher_products", "voucher_id", "vouchers", "product_id", "products", target_delete="RESTRICT")
    _link(
        "voucher_categories", "voucher_id", "vouchers", "category_id", "categories", target_delete="RESTRICT"
    )
    with op.batch_alter_table("voucher_products", schema=None) as batch_op:
        batch_op.create_index("ix_voucher_products_product_id", ["product_id"], unique=False)
    with op.batch_alter_table("voucher_categories", schema=None) as batch_op:
        batch_op.create_index("ix_voucher_categories_category_id", ["category_id"], unique=False)
    op.create_table(
        "voucher_uses",
        sa.Column("voucher_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_voucher_uses_count_not_negative")),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["vouchers.id"],
            name=op.f("fk_voucher_uses_voucher_id_vouchers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_voucher_uses_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("voucher_id", "user_id", name=op.f("pk_voucher_uses")),
    )
    op.create_table(
        "sales",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("percentage", sa.Integer(), nullable=False),
        sa.Column("starts_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ends_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("percentage BETWEEN 1 AND 10000", name=op.f("ck_sales_percentage_in_range")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_sales_ends_after_start")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales")),
    )
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.create_index("ix_sales_ends_at", ["ends_at"], unique=False)
    _link("sale_products", "sale_id", "sales", "product_id", "products")
    _link("sale_categories", "sale_id", "sales", "category_id", "categories")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voucher_code", sa.String(length=32), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voucher_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("voucher_code", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("voucher_discount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_foreign_key(
            op.f("fk_orders_voucher_id_vouchers"), "vouchers", ["voucher_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_check_constraint(
            "voucher_within_discount", "voucher_discount BETWEEN 0 AND discount_amount"
        )
        batch_op.create_index(
            "ix_orders_voucher_code_created_at", ["voucher_code", "created_at"], unique=False
        )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("voucher_discount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            "voucher_within_discount", "voucher_discount BETWEEN 0 AND discount_amount"
        )


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_order_lines_voucher_within_discount"), type_="check")
        batch_op.drop_column("voucher_discount")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_voucher_code_created_at")
        batch_op.drop_constraint(op.f("ck_orders_voucher_within_discount"), type_="check")
        batch_op.drop_constraint(op.f("fk_orders_voucher_id_vouchers"), type_="foreignkey")
        batch_op.drop_column("voucher_discount")
        batch_op.drop_column("voucher_code")
        batch_op.drop_column("voucher_id")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_column("voucher_code")
    for table in ("sale_categories", "sale_products", "sales", "voucher_uses", "voucher_categories"):
        op.drop_table(table)
    op.drop_table("voucher_products")
    op.drop_table("vouchers")
