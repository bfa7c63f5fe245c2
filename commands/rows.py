"""Store rows -> the CustomerRow every front end shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from commands.money import exponent
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


#: the store columns a CustomerRow is made of, in the order unpacked below
_COLUMNS = (
    "id", "name", "email", "company", "status", "revenue", "invoiced", "outstanding",
    "invoice_count", "average_invoice_value", "last_invoice_on", "last_payment_on",
    "invoice_frequency_days", "average_days_to_pay", "average_days_late", "on_time_rate",
    "created_on", "phone", "revenue_segment", "activity_segment",
    *(col for _, col in PAYMENT_FLAGS), *(col for _, col in RISK_REASONS),
)  # fmt: skip


def to_customer_row(row: Any, tags: list[str], currency: str) -> CustomerRow:
    """One store row (customer + snapshot columns) as a CustomerRow."""
    return customer_rows_with(lambda _ids: {row.id: tags}, [row], currency)[0]


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def customer_rows(conn: Connection, rows: Sequence[Any], currency: str) -> list[CustomerRow]:
    """Rows with their tags (one extra query for the whole page)."""
    return customer_rows_with(lambda ids: q.tags_for(conn, ids), rows, currency)


def customer_rows_with(
    tags_of: Callable[[list[int]], dict[int, list[str]]], rows: Sequence[Any], currency: str
) -> list[CustomerRow]:
    """CustomerRows from store rows; unpacks by position (attribute access is slow)."""
    if not rows:
        return []
    position = {name: i for i, name in enumerate(rows[0]._fields)}
    pick = itemgetter(*(position[name] for name in _COLUMNS))
    tags = tags_of([r[position["id"]] for r in rows])
    shift = -exponent(currency)
    flags = [name for name, _ in PAYMENT_FLAGS]
    reasons = [label for label, _ in RISK_REASONS]
    out = []
    for r in rows:
        (
            cid, name, email, company, status, revenue, invoiced, outstanding,
            invoice_count, average, last_invoice, last_payment,
            frequency, days_to_pay, days_late, on_time, created, phone, rseg, aseg,
            *bits,
        ) = pick(r)  # fmt: skip
        out.append(
            CustomerRow(
                id=cid,
                name=name,
                email=email,
                company=company,
                status=status,
                tags=tags[cid],
                revenue=Decimal(revenue or 0).scaleb(shift),
                invoiced=Decimal(invoiced or 0).scaleb(shift),
                outstanding=Decimal(outstanding or 0).scaleb(shift),
                invoice_count=int(invoice_count),
                average_invoice_value=Decimal(int(average or 0)).scaleb(shift),
                last_invoice_date=last_invoice,
                last_payment_date=last_payment,
                invoice_frequency_days=_float(frequency),
                average_days_to_pay=_float(days_to_pay),
                average_days_late=_float(days_late),
                on_time_rate=_float(on_time),
                segments=[rseg, aseg, *(n for n, b in zip(flags, bits[:4], strict=True) if b)],
                at_risk_reasons=[n for n, b in zip(reasons, bits[4:], strict=True) if b],
                created_on=created,
                phone=phone,
            )
        )
    return out
