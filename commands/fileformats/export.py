"""Canonical export columns, so an exported file imports back to the same records."""

from __future__ import annotations

from collections.abc import Sequence

from commands.fileformats.mapping import CUSTOM_PREFIX, FIELDS, Kind
from commands.fileformats.reading import Cell
from commands.fileformats.validation import CustomerRecord, InvoiceRecord, PaymentRecord
from commands.fileformats.writing import ColumnType

FIELD_TYPES: dict[str, ColumnType] = {
    "created_at": "date",
    "payment_terms_days": "integer",
    "issued_on": "date",
    "due_on": "date",
    "total": "money",
    "paid_on": "date",
    "amount": "money",
}


def export_columns(
    kind: Kind, custom_names: Sequence[str] = ()
) -> tuple[list[str], list[ColumnType]]:
    """Headers (canonical field names, then ``custom:NAME``) and their column types."""
    headers = [*FIELDS[kind], *(CUSTOM_PREFIX + n for n in custom_names)]
    return headers, [FIELD_TYPES.get(h, "text") for h in headers]


def record_row(
    record: CustomerRecord | InvoiceRecord | PaymentRecord, custom_names: Sequence[str] = ()
) -> list[Cell]:
    """One export row for ``record`` in :func:`export_columns` order."""
    kind: Kind = (
        "customers"
        if isinstance(record, CustomerRecord)
        else "invoices"
        if isinstance(record, InvoiceRecord)
        else "payments"
    )
    row: list[Cell] = []
    for f in FIELDS[kind]:
        v = getattr(record, f)
        row.append(";".join(v) if isinstance(v, list) else v)
    row.extend(record.custom.get(n) for n in custom_names)
    return row
