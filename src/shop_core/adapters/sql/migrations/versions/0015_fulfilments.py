"""fulfilments: what shipped of each order, in parcels with carrier and tracking number

Fulfilments (one row per parcel) and their lines (which order line, how many); orders gain
`fulfillment_status` (unfulfilled, partial, fulfilled), every existing order starting unfulfilled.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "fulfillment_status", sa.String(length=16), server_default="unfulfilled", nullable=False
            )
        )
        batch_op.create_check_constraint(
            "fulfillment_status_known", "fulfillment_status IN ('unfulfilled', 'partial', 'fulfilled')"
        )
    op.create_table(
        "fulfillments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_fulfillments_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfillments")),
    )
    with op.batch_alter_table("fulfillments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fulfillments_order_id"), ["order_id"], unique=False)
    op.create_table(
        "fulfillment_lines",
        sa.Column("fulfillment_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_fulfillment_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["fulfillment_id"],
            ["fulfillments.id"],
            name=op.f("fk_fulfillment_lines_fulfillment_id_fulfillments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_fulfillment_lines_order_line_id_order_lines"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("fulfillment_id", "order_line_id", name=op.f("pk_fulfillment_lines")),
    )
    with op.batch_alter_table("fulfillment_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fulfillment_lines_order_line_id"), ["order_line_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("fulfillment_lines")
    op.drop_table("fulfillments")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_fulfillment_status_known"), type_="check")
        batch_op.drop_column("fulfillment_status")
