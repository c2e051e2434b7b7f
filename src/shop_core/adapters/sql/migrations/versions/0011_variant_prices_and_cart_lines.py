"""variant prices in the catalog, and cart lines per variant

Products gain `min_price`, the lowest price of their active variants: what the catalog shows as the
product's price, and filters and orders by (indexed in place of `price`). Until a product has
variants of its own price it is the product's price.

Cart lines gain `variant_id`, part of their key, so a cart can hold two sizes of one shirt. 0 means
the product's default variant: the lines already in carts are such lines, as are the lines of carts
kept in Redis from before variants (their hash fields are product ids).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_price", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.drop_index("ix_products_price")
    op.execute("UPDATE products SET min_price = price")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_min_price", ["min_price"], unique=False)
    with op.batch_alter_table("cart_lines", schema=None, recreate="always") as batch_op:
        batch_op.add_column(sa.Column("variant_id", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_constraint("pk_cart_lines", type_="primary")
        batch_op.create_primary_key("pk_cart_lines", ["owner", "product_id", "variant_id"])


def downgrade() -> None:
    # A cart that holds several variants of a product keeps one line of it (its largest).
    op.execute(
        "DELETE FROM cart_lines WHERE EXISTS (SELECT 1 FROM cart_lines other"
        " WHERE other.owner = cart_lines.owner AND other.product_id = cart_lines.product_id"
        " AND (other.quantity > cart_lines.quantity OR (other.quantity = cart_lines.quantity"
        " AND other.variant_id < cart_lines.variant_id)))"
    )
    with op.batch_alter_table("cart_lines", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint("pk_cart_lines", type_="primary")
        batch_op.drop_column("variant_id")
        batch_op.create_primary_key("pk_cart_lines", ["owner", "product_id"])
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_min_price")
        batch_op.create_index("ix_products_price", ["price"], unique=False)
        batch_op.drop_column("min_price")
