"""The whole schema of the application, as SQLAlchemy Core tables.

Money is integer minor units (``*_cents``) plus the database's base
currency; dates are ``Date``; times are naive UTC ``DateTime``.

Every read and write goes through SQLAlchemy Core, so the schema is plain
``Table`` objects: importing it does not load the ORM (about a fifth of
start-up). Each table is reachable under its model name, e.g.
``Customer.__table__`` or ``Customer.id`` for a column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: every table, with a constraint naming convention (for Alembic)
metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TableModel:
    """A table under its model name: ``Model.__table__`` is the table, ``Model.col`` a column.

    It is also accepted wherever SQLAlchemy takes a table (``select_from``, ``join``).
    """

    __slots__ = ("__table__",)

    def __init__(self, table: Table) -> None:
        self.__table__ = table

    def __getattr__(self, name: str) -> Column[Any]:
        try:
            return self.__table__.c[name]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError(f"table {self.__table__.name!r} has no column {name!r}") from None

    def __clause_element__(self) -> Table:
        return self.__table__

    def __repr__(self) -> str:
        return f"TableModel({self.__table__.name!r})"


#: the partial-index condition for customers who may not get reminders (on some day)
UNREMINDABLE = (
    "reminders_opt_out OR reminders_paused_until IS NOT NULL "
    "OR email IS NULL OR email = '' OR status <> 'active'"
)


Customer = TableModel(
    Table(
        "customers",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(300), nullable=False),
        Column("email", String(320), index=True),
        Column("company", String(300)),
        Column("phone", String(60)),
        Column("address", Text),
        Column("status", String(20), default="active", nullable=False),
        Column("created_on", Date, nullable=False),
        Column("payment_terms_days", Integer),
        Column("billing_frequency", String(40)),
        Column("preferred_payment_method", String(60)),
        Column("stripe_customer_id", String(100)),
        Column("reminders_paused_until", Date),
        Column("reminders_opt_out", Boolean, default=False, nullable=False),
        #: casefolded, accent-free "name email company" for substring search
        Column("search_text", Text, default="", nullable=False),
        #: casefolded name for sorting by name
        Column("sort_name", String(300), default="", nullable=False),
        Index("ix_customers_sort_name", "sort_name", "id"),
        # serves "active customers sorted by name" without a sort step
        Index("ix_customers_status_name", "status", "sort_name", "id"),
        # the few customers reminders may skip: finding due reminders reads only these
        Index(
            "ix_customers_unremindable",
            "id",
            sqlite_where=text(UNREMINDABLE),
            postgresql_where=text(UNREMINDABLE),
        ),
    )
)


Tag = TableModel(
    Table(
        "tags",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(100), unique=True, nullable=False),
        Column("created_at", DateTime, nullable=False),
    )
)


CustomerTag = TableModel(
    Table(
        "customer_tags",
        metadata,
        Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
        Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        Index("ix_customer_tags_tag_customer", "tag_id", "customer_id"),
        sqlite_with_rowid=False,  # stored by the key (migration 0007)
    )
)


CustomField = TableModel(
    Table(
        "custom_fields",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(100), unique=True, nullable=False),
        #: text, number, date, yes/no, choice
        Column("type", String(20), nullable=False),
        Column("choices", JSON),
    )
)


CustomFieldValue = TableModel(
    Table(
        "custom_field_values",
        metadata,
        Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
        Column("field_id", ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True),
        Column("text_value", Text),
        Column("number_value", Float),
        Column("date_value", Date),
        Column("bool_value", Boolean),
        Index("ix_cfv_field_text", "field_id", "text_value"),
        Index("ix_cfv_field_number", "field_id", "number_value"),
    )
)


#: the partial-index condition for invoices that may still need a reminder
OPEN_INVOICE = "status = 'sent' AND paid_cents < total_cents"


Invoice = TableModel(
    Table(
        "invoices",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        Column("number", String(60), unique=True, nullable=False),
        Column("issued_on", Date, nullable=False),
        Column("due_on", Date, nullable=False),
        Column("total_cents", BigInteger, nullable=False),
        Column("currency", String(3), nullable=False),
        #: stored status: draft, sent or void (paid/partial are derived from payments)
        Column("status", String(10), default="sent", nullable=False),
        #: cache over all its payments (kept by store.invoice_cache): the sum, the
        #: date of the payment that last brought the balance to zero or below, and
        #: the latest payment date; figures as of a D before ``last_paid_on`` fall
        #: back to the payments themselves
        Column("paid_cents", BigInteger, default=0, nullable=False),
        Column("settled_on", Date),
        Column("last_paid_on", Date),
        Index("ix_invoices_customer", "customer_id", "issued_on"),
        Index("ix_invoices_due", "due_on"),
        # unpaid countable invoices by due date, covering what finding due reminders reads
        Index(
            "ix_invoices_open_due",
            "due_on",
            "customer_id",
            "id",
            "issued_on",
            "status",
            "paid_cents",
            "total_cents",
            sqlite_where=text(OPEN_INVOICE),
            postgresql_where=text(OPEN_INVOICE),
        ),
        Index("ix_invoices_last_paid", "last_paid_on"),
    )
)


Payment = TableModel(
    Table(
        "payments",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("invoice_id", ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False),
        #: denormalised from the invoice so per-customer sums need no join
        Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        Column("paid_on", Date, nullable=False),
        #: negative for refunds
        Column("amount_cents", BigInteger, nullable=False),
        Column("method", String(60)),
        Column("reference", String(120)),
        Index("ix_payments_invoice", "invoice_id", "paid_on"),
        Index("ix_payments_customer", "customer_id", "paid_on"),
        Index("ix_payments_paid_on", "paid_on"),
    )
)


Note = TableModel(
    Table(
        "notes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column(
            "customer_id",
            ForeignKey("customers.id", ondelete="CASCADE"),
            index=True,
            nullable=False,
        ),
        #: "internal" (team only) or "customer" (printed on invoices and statements)
        Column("kind", String(10), nullable=False),
        Column("body", Text, nullable=False),
        Column("author", String(120)),
        Column("created_at", DateTime, nullable=False),
        Column("follow_up_on", Date, index=True),
        Column("follow_up_done", Boolean, default=False, nullable=False),
    )
)


Email = TableModel(
    Table(
        "emails",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("sent_at", DateTime),
        Column("template", String(100), nullable=False),
        Column("subject", Text, nullable=False),
        Column("to_address", String(320), nullable=False),
        #: queued, sent, failed, in_doubt
        Column("status", String(12), nullable=False),
        Column("error", Text),
        Column("message_id", String(250)),
        Column("invoice_numbers", JSON),
        Index("ix_emails_customer", "customer_id", "created_at"),
    )
)


#: The reminder outbox: one row per (invoice, stage), claimed before sending.
Reminder = TableModel(
    Table(
        "reminders",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("invoice_id", ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False),
        Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        Column("stage", String(30), nullable=False),
        Column("send_on", Date, nullable=False),
        #: pending, claimed, sent, failed, in_doubt, skipped
        Column("status", String(12), nullable=False),
        Column("claimed_by", String(120)),
        Column("claimed_at", DateTime),
        Column("sent_at", DateTime),
        Column("attempts", Integer, default=0, nullable=False),
        Column("next_attempt_at", DateTime),
        Column("last_error", Text),
        Column("email_id", ForeignKey("emails.id", ondelete="SET NULL")),
        #: "daemon" or "manual"
        Column("origin", String(10), default="daemon", nullable=False),
        UniqueConstraint("invoice_id", "stage", name="uq_reminders_invoice_stage"),
        Index("ix_reminders_status", "status", "next_attempt_at"),
        Index("ix_reminders_email", "email_id"),
        Index("ix_reminders_customer", "customer_id", "status"),
    )
)


#: One command that changed something, with what it takes to undo it.
AuditEntry = TableModel(
    Table(
        "audit_log",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("at", DateTime, nullable=False),
        Column("actor", String(120)),
        Column("sentence", Text, nullable=False),
        Column("action", String(60), nullable=False),
        Column("affected", Integer, nullable=False),
        #: JSON describing the inverse operation (None: not reversible)
        Column("undo", JSON(none_as_null=True)),
        Column("undone_at", DateTime),
    )
)


#: Per-customer before-images of a bulk change (set-based undo).
AuditItem = TableModel(
    Table(
        "audit_items",
        metadata,
        Column("audit_id", ForeignKey("audit_log.id", ondelete="CASCADE"), primary_key=True),
        Column("customer_id", Integer, primary_key=True),
        Column("before", Text),
    )
)


SavedSegment = TableModel(
    Table(
        "saved_segments",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(100), unique=True, nullable=False),
        Column("definition", Text, nullable=False),
        Column("created_at", DateTime, nullable=False),
    )
)


#: Non-secret settings of this database (base currency, thresholds...).
Setting = TableModel(
    Table(
        "settings",
        metadata,
        Column("key", String(100), primary_key=True),
        Column("value", Text, nullable=False),
    )
)


#: Which reference dates D have a computed ``customer_figures`` snapshot.
FigureSnapshot = TableModel(
    Table(
        "figure_snapshots",
        metadata,
        Column("as_of", Date, primary_key=True),
        Column("computed_at", DateTime, nullable=False),
    )
)


#: Every DOMAIN.md figure and segment flag of one customer as of one D.
#:
#: Kept in step with every write (same transaction) for each snapshot D.
CustomerFigures = TableModel(
    Table(
        "customer_figures",
        metadata,
        Column("as_of", Date, primary_key=True),
        Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
        Column("revenue", BigInteger, default=0, nullable=False),
        Column("invoiced", BigInteger, default=0, nullable=False),
        Column("outstanding", BigInteger, default=0, nullable=False),
        Column("invoice_count", Integer, default=0, nullable=False),
        Column("average_invoice_value", BigInteger, default=0, nullable=False),
        Column("last_invoice_on", Date),
        Column("last_payment_on", Date),
        Column("last_activity_on", Date),
        Column("invoice_frequency_days", Float),
        Column("average_days_to_pay", Float),
        Column("average_days_late", Float),
        Column("on_time_rate", Float),
        Column("paid_count", Integer, default=0, nullable=False),
        Column("overdue_count", Integer, default=0, nullable=False),
        Column("payments_recent", BigInteger, default=0, nullable=False),
        Column("payments_prior", BigInteger, default=0, nullable=False),
        #: "high-value" / "medium-value" / "low-value"
        Column("revenue_segment", String(14), nullable=False),
        #: "new" / "active" / "inactive"
        Column("activity_segment", String(10), nullable=False),
        Column("late_payer", Boolean, default=False, nullable=False),
        Column("partial_payer", Boolean, default=False, nullable=False),
        Column("on_time_payer", Boolean, default=False, nullable=False),
        Column("risk_late", Boolean, default=False, nullable=False),
        Column("risk_low_activity", Boolean, default=False, nullable=False),
        Column("risk_declining", Boolean, default=False, nullable=False),
        Column("risk_no_recent", Boolean, default=False, nullable=False),
        Column("at_risk", Boolean, default=False, nullable=False),
        #: copy of customers.status == "archived", so lists and counts need no join
        Column("archived", Boolean, default=False, server_default=false(), nullable=False),
        Index("ix_figures_revenue", "as_of", "revenue", "customer_id"),
        Index("ix_figures_outstanding", "as_of", "outstanding", "customer_id"),
        Index("ix_figures_invoice_count", "as_of", "invoice_count", "customer_id"),
        Index("ix_figures_activity", "as_of", "last_activity_on", "customer_id"),
        # covering index: every segment count is one index scan
        Index(
            "ix_figures_segments",
            "as_of",
            "archived",
            "revenue_segment",
            "activity_segment",
            "late_payer",
            "partial_payer",
            "on_time_payer",
            "at_risk",
        ),
    )
)
