"""SQLAlchemy 2.0 typed models: the whole schema of the application.

Money is integer minor units (``*_cents``) plus the database's base
currency; dates are ``Date``; times are naive UTC ``DateTime``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (for Alembic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: the partial-index condition for customers who may not get reminders (on some day)
UNREMINDABLE = (
    "reminders_opt_out OR reminders_paused_until IS NOT NULL "
    "OR email IS NULL OR email = '' OR status <> 'active'"
)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    company: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_on: Mapped[date] = mapped_column(Date)
    payment_terms_days: Mapped[int | None] = mapped_column(Integer)
    billing_frequency: Mapped[str | None] = mapped_column(String(40))
    preferred_payment_method: Mapped[str | None] = mapped_column(String(60))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100))
    reminders_paused_until: Mapped[date | None] = mapped_column(Date)
    reminders_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    #: casefolded, accent-free "name email company" for substring search
    search_text: Mapped[str] = mapped_column(Text, default="")
    #: casefolded name for sorting by name
    sort_name: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
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


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CustomerTag(Base):
    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_customer_tags_tag_customer", "tag_id", "customer_id"),)


class CustomField(Base):
    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: text, number, date, yes/no, choice
    type: Mapped[str] = mapped_column(String(20))
    choices: Mapped[list[str] | None] = mapped_column(JSON)


class CustomFieldValue(Base):
    __tablename__ = "custom_field_values"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    field_id: Mapped[int] = mapped_column(
        ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True
    )
    text_value: Mapped[str | None] = mapped_column(Text)
    number_value: Mapped[float | None] = mapped_column(Float)
    date_value: Mapped[date | None] = mapped_column(Date)
    bool_value: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_cfv_field_text", "field_id", "text_value"),
        Index("ix_cfv_field_number", "field_id", "number_value"),
    )


#: the partial-index condition for invoices that may still need a reminder
OPEN_INVOICE = "status = 'sent' AND paid_cents < total_cents"


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(60), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: stored status: draft, sent or void (paid/partial are derived from payments)
    status: Mapped[str] = mapped_column(String(10), default="sent")
    #: cache over all its payments (kept by store.invoice_cache): the sum, the
    #: date of the payment that last brought the balance to zero or below, and
    #: the latest payment date; figures as of a D before ``last_paid_on`` fall
    #: back to the payments themselves
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    settled_on: Mapped[date | None] = mapped_column(Date)
    last_paid_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
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


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    #: denormalised from the invoice so per-customer sums need no join
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    paid_on: Mapped[date] = mapped_column(Date)
    #: negative for refunds
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str | None] = mapped_column(String(60))
    reference: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (
        Index("ix_payments_invoice", "invoice_id", "paid_on"),
        Index("ix_payments_customer", "customer_id", "paid_on"),
        Index("ix_payments_paid_on", "paid_on"),
    )


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    #: "internal" (team only) or "customer" (printed on invoices and statements)
    kind: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    follow_up_on: Mapped[date | None] = mapped_column(Date, index=True)
    follow_up_done: Mapped[bool] = mapped_column(Boolean, default=False)


class Email(Base):
    __tablename__ = "emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    template: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(Text)
    to_address: Mapped[str] = mapped_column(String(320))
    #: queued, sent, failed, in_doubt
    status: Mapped[str] = mapped_column(String(12))
    error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(250))
    invoice_numbers: Mapped[list[str] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_emails_customer", "customer_id", "created_at"),)


class Reminder(Base):
    """The reminder outbox: one row per (invoice, stage), claimed before sending."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(30))
    send_on: Mapped[date] = mapped_column(Date)
    #: pending, claimed, sent, failed, in_doubt, skipped
    status: Mapped[str] = mapped_column(String(12))
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    email_id: Mapped[int | None] = mapped_column(ForeignKey("emails.id", ondelete="SET NULL"))
    #: "daemon" or "manual"
    origin: Mapped[str] = mapped_column(String(10), default="daemon")

    __table_args__ = (
        UniqueConstraint("invoice_id", "stage", name="uq_reminders_invoice_stage"),
        Index("ix_reminders_status", "status", "next_attempt_at"),
        Index("ix_reminders_email", "email_id"),
        Index("ix_reminders_customer", "customer_id", "status"),
    )


class AuditEntry(Base):
    """One command that changed something, with what it takes to undo it."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str | None] = mapped_column(String(120))
    sentence: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(60))
    affected: Mapped[int] = mapped_column(Integer)
    #: JSON describing the inverse operation (None: not reversible)
    undo: Mapped[dict[str, object] | None] = mapped_column(JSON(none_as_null=True))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditItem(Base):
    """Per-customer before-images of a bulk change (set-based undo)."""

    __tablename__ = "audit_items"

    audit_id: Mapped[int] = mapped_column(
        ForeignKey("audit_log.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    before: Mapped[str | None] = mapped_column(Text)


class SavedSegment(Base):
    __tablename__ = "saved_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    definition: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Setting(Base):
    """Non-secret settings of this database (base currency, thresholds...)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class FigureSnapshot(Base):
    """Which reference dates D have a computed ``customer_figures`` snapshot."""

    __tablename__ = "figure_snapshots"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class CustomerFigures(Base):
    """Every DOMAIN.md figure and segment flag of one customer as of one D.

    Kept in step with every write (same transaction) for each snapshot D.
    """

    __tablename__ = "customer_figures"

    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    invoiced: Mapped[int] = mapped_column(BigInteger, default=0)
    outstanding: Mapped[int] = mapped_column(BigInteger, default=0)
    invoice_count: Mapped[int] = mapped_column(Integer, default=0)
    average_invoice_value: Mapped[int] = mapped_column(BigInteger, default=0)
    last_invoice_on: Mapped[date | None] = mapped_column(Date)
    last_payment_on: Mapped[date | None] = mapped_column(Date)
    last_activity_on: Mapped[date | None] = mapped_column(Date)
    invoice_frequency_days: Mapped[float | None] = mapped_column(Float)
    average_days_to_pay: Mapped[float | None] = mapped_column(Float)
    average_days_late: Mapped[float | None] = mapped_column(Float)
    on_time_rate: Mapped[float | None] = mapped_column(Float)
    paid_count: Mapped[int] = mapped_column(Integer, default=0)
    overdue_count: Mapped[int] = mapped_column(Integer, default=0)
    payments_recent: Mapped[int] = mapped_column(BigInteger, default=0)
    payments_prior: Mapped[int] = mapped_column(BigInteger, default=0)
    #: "high-value" / "medium-value" / "low-value"
    revenue_segment: Mapped[str] = mapped_column(String(14))
    #: "new" / "active" / "inactive"
    activity_segment: Mapped[str] = mapped_column(String(10))
    late_payer: Mapped[bool] = mapped_column(Boolean, default=False)
    partial_payer: Mapped[bool] = mapped_column(Boolean, default=False)
    on_time_payer: Mapped[bool] = mapped_column(Boolean, default=False)
    risk_late: Mapped[bool] = mapped_column(Boolean, default=False)
    risk_low_activity: Mapped[bool] = mapped_column(Boolean, default=False)
    risk_declining: Mapped[bool] = mapped_column(Boolean, default=False)
    risk_no_recent: Mapped[bool] = mapped_column(Boolean, default=False)
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    #: copy of customers.status == "archived", so lists and counts need no join
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
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
