"""carts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_carts")),
    )
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carts_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "cart_lines",
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["owner"], ["carts.owner"], name=op.f("fk_cart_lines_owner_carts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner", "product_id", name=op.f("pk_cart_lines")),
    )


def downgrade() -> None:
    op.drop_table("cart_lines")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carts_updated_at"))

    op.drop_table("carts")
