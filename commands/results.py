"""What a command returns: plain data that the TUI, the CLI and the daemon render.

Amounts are ``Decimal`` in major units of the base currency; dates are
``datetime.date``; absent figures are ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

#: the figure keys of DOMAIN.md, in display order (also the JSON keys)
FIGURE_KEYS = (
    "revenue",
    "invoiced",
    "outstanding",
    "invoice_count",
    "average_invoice_value",
    "last_invoice_date",
    "last_payment_date",
    "invoice_frequency_days",
    "average_days_to_pay",
    "average_days_late",
    "on_time_rate",
)


@dataclass(slots=True)
class CustomerRow:
    """One customer with every figure of DOMAIN.md as of D."""

    id: int
    name: str
    email: str | None
    company: str | None
    status: str
    tags: list[str]
    revenue: Decimal
    invoiced: Decimal
    outstanding: Decimal
    invoice_count: int
    average_invoice_value: Decimal
    last_invoice_date: date | None
    last_payment_date: date | None
    invoice_frequency_days: float | None
    average_days_to_pay: float | None
    average_days_late: float | None
    on_time_rate: float | None
    segments: list[str] = field(default_factory=list)
    at_risk_reasons: list[str] = field(default_factory=list)
    created_on: date | None = None
    phone: str | None = None

    @property
    def last_activity(self) -> date | None:
        """The later of the last invoice and last payment dates."""
        dates = [d for d in (self.last_invoice_date, self.last_payment_date) if d]
        return max(dates) if dates else None


@dataclass
class QueryResult:
    """Customers matching a query, in the query's order."""

    total: int
    rows: list[CustomerRow]
    description: str = ""
    kind: str = "customers"


@dataclass
class TableResult:
    """Any other listing (invoices, payments, emails, notes, reports, help)."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    kind: str = "table"
    footer: str = ""
    #: how many rows there are when ``rows`` holds only the first ones (see Call.rows_shown)
    total_rows: int | None = None
    #: the file the whole table was written to
    path: str | None = None

    @property
    def row_count(self) -> int:
        """Every row's count, shown or not."""
        return len(self.rows) if self.total_rows is None else self.total_rows


@dataclass
class MutationResult:
    """A change that was made (or, with ``dry_run``, would be made)."""

    action: str
    affected: int
    message: str
    audit_id: int | None = None
    dry_run: bool = False
    sample: list[str] = field(default_factory=list)
    undoable: bool = True
    path: str | None = None


@dataclass
class ConfirmationNeeded:
    """A bulk change over the threshold: show this preview and ask first.

    Re-run the same sentence with ``confirmed=True`` to carry it out.
    """

    action: str
    affected: int
    message: str
    sample: list[str] = field(default_factory=list)


@dataclass
class MessageResult:
    """Plain text (help, explain, a single sentence of information)."""

    text: str
    kind: str = "message"


@dataclass
class Progress:
    """A progress report from long work (imports, exports, bulk sends)."""

    done: int
    total: int | None
    label: str = ""


@dataclass
class NoteView:
    id: int
    kind: str  # "internal" or "customer"
    body: str
    author: str | None
    created_at: datetime
    follow_up_on: date | None = None


@dataclass
class InvoiceView:
    id: int
    number: str
    issued_on: date
    due_on: date
    total: Decimal
    paid: Decimal
    balance: Decimal
    status: str  # stored status: draft, sent, void
    state: str  # derived: draft, void, open, partial, paid
    days_overdue: int | None
    paid_on: date | None


@dataclass
class PaymentView:
    id: int
    invoice_number: str
    paid_on: date
    amount: Decimal
    method: str | None


@dataclass
class EmailView:
    id: int
    created_at: datetime
    template: str
    subject: str
    status: str
    invoices: list[str]
    error: str | None = None
    message_id: str | None = None


@dataclass
class CustomerDetail:
    """Everything the detail pane shows for one customer."""

    customer: CustomerRow
    address: str | None
    preferences: dict[str, Any]
    custom_fields: dict[str, Any]
    invoices: list[InvoiceView]
    payments: list[PaymentView]
    emails: list[EmailView]
    engagement: dict[str, Any]
    notes: list[NoteView]
    monthly_revenue: list[tuple[str, Decimal]]
    stripe_customer_id: str | None = None
    reminders: dict[str, Any] = field(default_factory=dict)


Result = QueryResult | TableResult | MutationResult | ConfirmationNeeded | MessageResult
