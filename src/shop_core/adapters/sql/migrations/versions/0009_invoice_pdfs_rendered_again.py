"""kept invoice PDFs are dropped, to be rendered again on their next request

Before this revision an invoice requested before the payment kept saying "Payment status:
unpaid" after it, and Bengali text was left out of the PDF. The numbers stay; each PDF is
rendered again, showing the order's payment status now, the next time it is asked for.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE invoices SET pdf = NULL")


def downgrade() -> None:
    pass  # nothing to undo: a PDF is rendered again whenever it is missing
