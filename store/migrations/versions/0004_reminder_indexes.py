"""reminder indexes: open invoices by due date, invoices by last payment date

Finding the invoices that may need a reminder scans only unpaid countable
invoices in a window of due dates: a partial index holds exactly those
(``status = 'sent' AND paid_cents < total_cents``), so the daemon's query
reads a few thousand index entries instead of every invoice due in the
window. ``ix_invoices_last_paid`` finds invoices paid after a past D (the
``--as-of`` case, where the payment cache is ahead of D).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_invoices_open_due",
        "invoices",
        ["due_on"],
        unique=False,
        sqlite_where=text("status = 'sent' AND paid_cents < total_cents"),
        postgresql_where=text("status = 'sent' AND paid_cents < total_cents"),
    )
    op.create_index("ix_invoices_last_paid", "invoices", ["last_paid_on"], unique=False)
    op.create_index("ix_reminders_email", "reminders", ["email_id"], unique=False)
    op.create_index("ix_reminders_customer", "reminders", ["customer_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reminders_customer", table_name="reminders")
    op.drop_index("ix_reminders_email", table_name="reminders")
    op.drop_index("ix_invoices_last_paid", table_name="invoices")
    op.drop_index("ix_invoices_open_due", table_name="invoices")
