"""covering reminder indexes: open invoices with what finding due reminders reads

``ix_invoices_open_due`` (the partial index of unpaid countable invoices)
now carries the customer, id, issue date, status and amounts after the due
date, so finding due reminders reads the index alone, never the invoice
rows, in (due date, customer, invoice) order without a sort.
``ix_customers_unremindable`` holds the few customers a reminder may skip
(opted out, ever paused, no email address, not active), so the customers
need not be looked up per invoice.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_INVOICE = "status = 'sent' AND paid_cents < total_cents"
UNREMINDABLE = (
    "reminders_opt_out OR reminders_paused_until IS NOT NULL "
    "OR email IS NULL OR email = '' OR status <> 'active'"
)


def _open_due(columns: list[str]) -> None:
    op.create_index(
        "ix_invoices_open_due",
        "invoices",
        columns,
        unique=False,
        sqlite_where=text(OPEN_INVOICE),
        postgresql_where=text(OPEN_INVOICE),
    )


def upgrade() -> None:
    op.drop_index("ix_invoices_open_due", table_name="invoices")
    _open_due(["due_on", "customer_id", "id", "issued_on", "status", "paid_cents", "total_cents"])
    op.create_index(
        "ix_customers_unremindable",
        "customers",
        ["id"],
        unique=False,
        sqlite_where=text(UNREMINDABLE),
        postgresql_where=text(UNREMINDABLE),
    )


def downgrade() -> None:
    op.drop_index("ix_customers_unremindable", table_name="customers")
    op.drop_index("ix_invoices_open_due", table_name="invoices")
    _open_due(["due_on"])
