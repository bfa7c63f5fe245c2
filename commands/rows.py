"""Store rows -> the CustomerRow every front end shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from commands.money import to_major
from commands.results import CustomerRow
from store import query as q

RISK_REASONS = (
    ("late payments", "risk_late"),
    ("low activity", "risk_low_activity"),
    ("declining revenue", "risk_declining"),
    ("no recent invoices", "risk_no_recent"),
)
PAYMENT_FLAGS = (
    ("late-payer", "late_payer"),
    ("partial-payer", "partial_payer"),
    ("on-time-payer", "on_time_payer"),
    ("at-risk", "at_risk"),
)


def segments_of(row: Any) -> list[str]:
    """Built-in segment names a snapshot row belongs to."""
    names = [row.revenue_segment, row.activity_segment]
    names += [name for name, col in PAYMENT_FLAGS if getattr(row, col)]
    return names


def reasons_of(row: Any) -> list[str]:
    """At-risk reasons that hold for a snapshot row."""
    return [label for label, col in RISK_REASONS if getattr(row, col)]


def to_customer_row(row: Any, tags: list[str], currency: str) -> CustomerRow:
    """One store row (customer + snapshot columns) as a CustomerRow."""
    return CustomerRow(
        id=row.id,
        name=row.name,
        email=row.email,
        company=row.company,
        status=row.status,
        tags=tags,
        revenue=to_major(row.revenue, currency),
        invoiced=to_major(row.invoiced, currency),
        outstanding=to_major(row.outstanding, currency),
        invoice_count=int(row.invoice_count),
        average_invoice_value=to_major(row.average_invoice_value, currency),
        last_invoice_date=row.last_invoice_on,
        last_payment_date=row.last_payment_on,
        invoice_frequency_days=_float(row.invoice_frequency_days),
        average_days_to_pay=_float(row.average_days_to_pay),
        average_days_late=_float(row.average_days_late),
        on_time_rate=_float(row.on_time_rate),
        segments=segments_of(row),
        at_risk_reasons=reasons_of(row),
        created_on=row.created_on,
        phone=row.phone,
    )


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def customer_rows(conn: Connection, rows: Sequence[Any], currency: str) -> list[CustomerRow]:
    """Rows with their tags (one extra query for the whole page)."""
    tags = q.tags_for(conn, [r.id for r in rows])
    return [to_customer_row(r, tags[r.id], currency) for r in rows]
