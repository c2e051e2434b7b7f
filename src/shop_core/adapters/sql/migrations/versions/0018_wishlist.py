"""wishlist: customers' wishlist entries, with the back-in-stock email flag

`wishlist_items`: one row per (customer, product, variant or none), with `notify` (email the
customer when it comes back in stock) and `restocks` (how many restocks the entry was told about:
each names one email). The uniqueness of an entry without a variant is a partial unique index
`(user_id, product_id) WHERE variant_id IS NULL`, beside `(user_id, product_id, variant_id) WHERE
variant_id IS NOT NULL` (a plain unique index lets NULLs repeat), on SQLite and PostgreSQL alike.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wishlist_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("notify", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("restocks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_wishlist_items_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_wishlist_items_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["product_variants.id"],
            name=op.f("fk_wishlist_items_variant_id_product_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wishlist_items")),
    )
    with op.batch_alter_table("wishlist_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wishlist_items_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wishlist_items_variant_id"), ["variant_id"], unique=False)
        batch_op.create_index(
            "uq_wishlist_items_product",
            ["user_id", "product_id"],
            unique=True,
            sqlite_where=sa.text("variant_id IS NULL"),
            postgresql_where=sa.text("variant_id IS NULL"),
        )
        batch_op.create_index(
            "uq_wishlist_items_variant",
            ["user_id", "product_id", "variant_id"],
            unique=True,
            sqlite_where=sa.text("variant_id IS NOT NULL"),
            postgresql_where=sa.text("variant_id IS NOT NULL"),
        )


def downgrade() -> None:
    op.drop_table("wishlist_items")
