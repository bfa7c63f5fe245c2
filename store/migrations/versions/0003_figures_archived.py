"""figures carry the archived flag; covering index for segment counts

Lists and counts of active customers read ``customer_figures`` alone: the
archived flag is copied there (kept in step by every status change), and
``ix_figures_segments`` answers every segment count with one index scan.
``ix_customers_status_name`` serves "active customers by name" without a
sort step.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEGMENT_COLUMNS = [
    "as_of",
    "archived",
    "revenue_segment",
    "activity_segment",
    "late_payer",
    "partial_payer",
    "on_time_payer",
    "at_risk",
]


def upgrade() -> None:
    with op.batch_alter_table("customer_figures") as batch_op:
        batch_op.add_column(
            sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE customer_figures SET archived = TRUE WHERE customer_id IN "
        "(SELECT id FROM customers WHERE status = 'archived')"
    )
    op.create_index("ix_figures_segments", "customer_figures", SEGMENT_COLUMNS)
    op.drop_index("ix_customers_status", table_name="customers")
    op.create_index("ix_customers_status_name", "customers", ["status", "sort_name", "id"])


def downgrade() -> None:
    op.drop_index("ix_customers_status_name", table_name="customers")
    op.create_index("ix_customers_status", "customers", ["status"])
    op.drop_index("ix_figures_segments", table_name="customer_figures")
    with op.batch_alter_table("customer_figures") as batch_op:
        batch_op.drop_column("archived")
