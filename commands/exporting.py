"""Customer exports: every customer column, tags, custom fields and all DOMAIN.md figures.

Rows come in the list's order straight from SQL and stream into the writer, so
memory stays flat. Notes are never exported, so internal notes never leave the
application in a file a customer could receive. The canonical customer columns
come first under their import names, so an export imports back without loss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from commands.custom_values import custom_text
from commands.fileformats import write_table
from commands.fileformats.mapping import CUSTOM_PREFIX, FIELDS
from commands.fileformats.writing import ColumnType
from commands.money import exponent
from commands.results import Progress
from commands.rows import PAYMENT_FLAGS, RISK_REASONS
from commands.workspace import Workspace
from store import bulk
from store import query as q
from store.models import CustomerTag, CustomField, CustomFieldValue, Tag

tags_t: Any = Tag.__table__
ct: Any = CustomerTag.__table__
cf: Any = CustomField.__table__
cfv: Any = CustomFieldValue.__table__

FIGURE_EXPORT: tuple[tuple[str, str, ColumnType], ...] = (
    ("revenue", "revenue", "money"),
    ("invoiced", "invoiced", "money"),
    ("outstanding", "outstanding", "money"),
    ("invoice_count", "invoice_count", "integer"),
    ("average_invoice_value", "average_invoice_value", "money"),
    ("last_invoice_date", "last_invoice_on", "date"),
    ("last_payment_date", "last_payment_on", "date"),
    ("invoice_frequency_days", "invoice_frequency_days", "number"),
    ("average_days_to_pay", "average_days_to_pay", "number"),
    ("average_days_late", "average_days_late", "number"),
    ("on_time_rate", "on_time_rate", "number"),
)

#: figures written as numbers rounded to 4 places (the rest are cents, counts or dates)
FLOAT_FIGURES = frozenset(
    {"invoice_frequency_days", "average_days_to_pay", "average_days_late", "on_time_rate"}
)


def export_headers(custom_names: Sequence[str]) -> tuple[list[str], list[ColumnType]]:
    """Canonical customer columns (they import back), custom fields, id, then the figures."""
    headers: list[str] = [*FIELDS["customers"], *(CUSTOM_PREFIX + n for n in custom_names)]
    types: list[ColumnType] = []
    for h in headers:
        types.append(
            "date" if h == "created_at" else "integer" if h == "payment_terms_days" else "text"
        )
    headers.append("customer_id")
    types.append("integer")
    for label, _, ctype in FIGURE_EXPORT:
        headers.append(label)
        types.append(ctype)
    headers += ["segments", "at_risk_reasons"]
    types += ["text", "text"]
    return headers, types


def export_customers(
    ws: Workspace,
    conn: Connection,
    spec: q.ListSpec,
    path: Path,
    progress: Callable[[Progress], None] | None = None,
) -> int:
    """Write the customers of ``spec`` (in its order) with every figure; returns the count."""
    ids_sub = q.ids_select(ws.today, q.ListSpec(spec.where, include_archived=spec.include_archived))
    id_col = ids_sub.subquery().c.customer_id
    tags: dict[int, list[str]] = {}
    for cid, name in conn.execute(
        select(ct.c.customer_id, tags_t.c.name)
        .join(tags_t, tags_t.c.id == ct.c.tag_id)
        .where(ct.c.customer_id.in_(select(id_col)))
        .order_by(tags_t.c.name)
    ):
        tags.setdefault(cid, []).append(name)
    custom_names = list(conn.execute(select(cf.c.name).order_by(cf.c.name)).scalars())
    custom: dict[int, dict[str, str | None]] = {}
    if custom_names:
        for cid, name, text, number, day, flag in conn.execute(
            select(
                cfv.c.customer_id,
                cf.c.name,
                cfv.c.text_value,
                cfv.c.number_value,
                cfv.c.date_value,
                cfv.c.bool_value,
            )
            .join(cf, cf.c.id == cfv.c.field_id)
            .where(cfv.c.customer_id.in_(select(id_col)))
        ):
            custom.setdefault(cid, {})[name] = custom_text(text, number, day, flag)
    headers, types = export_headers(custom_names)
    total = q.count_customers(conn, ws.today, spec) if progress is not None else None
    empty: dict[str, str | None] = {}

    def rows() -> Iterator[list[Any]]:
        result = conn.execute(bulk.export_select(ws.today, spec))
        # unpack by position: attribute access per cell is what made exports slow
        pos = {name: i for i, name in enumerate(result.keys())}
        head = itemgetter(
            *(pos[x] for x in ("name", "email", "company", "phone", "address", "status"))
        )
        created, terms, ident = pos["created_on"], pos["payment_terms_days"], pos["id"]
        figures = [(pos[attr], attr in FLOAT_FIGURES) for _, attr, _ in FIGURE_EXPORT]
        segments = itemgetter(pos["revenue_segment"], pos["activity_segment"])
        flags = [(label, pos[col]) for label, col in PAYMENT_FLAGS]
        reasons = [(label, pos[col]) for label, col in RISK_REASONS]
        for i, r in enumerate(result):
            cid = r[ident]
            extra = custom.get(cid, empty)
            out: list[Any] = [
                *head(r),
                ";".join(tags.get(cid, ())),
                r[created],
                r[terms],
                *[extra.get(n) for n in custom_names],
                cid,
            ]
            for at, is_float in figures:
                v = r[at]
                out.append(round(float(v), 4) if is_float and v is not None else v)
            out.append(";".join([*segments(r), *[label for label, at in flags if r[at]]]))
            out.append(";".join([label for label, at in reasons if r[at]]))
            if progress is not None and i % 5000 == 0:
                progress(Progress(i, total, "export"))
            yield out

    n = write_table(
        path, headers, rows(), types, sheet_name="Customers", money_exponent=exponent(ws.currency)
    )
    if progress is not None:
        progress(Progress(n, total, "export"))
    return n


__all__ = ["FIGURE_EXPORT", "export_customers", "export_headers"]
