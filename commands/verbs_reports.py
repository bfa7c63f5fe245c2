"""Customer reports: revenue, invoices, payments and customer lifetime value.

Each report is a :class:`TableResult`; with ``to FILE.csv|FILE.xlsx`` it is also
written to that file (typed cells; the Excel revenue and CLV reports carry a chart).
Every number follows DOMAIN.md, as of D.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select

from commands.detail import invoice_views
from commands.errors import UserError
from commands.executor import Call, handles
from commands.exporting import ExportRows, export_headers
from commands.fileformats import ChartSpec, write_table
from commands.fileformats.writing import ColumnType
from commands.files_common import output_path
from commands.gc_pause import gc_paused
from commands.money import exponent, to_major
from commands.results import TableResult
from commands.rows import customer_rows_with
from commands.targets import one_customer, plural, translate
from commands.translate import date_window
from commands.workspace import Workspace
from grammar import ast as A
from store import bulk
from store import query as q
from store.models import Customer, Invoice, Payment

c: Any = Customer.__table__
inv: Any = Invoice.__table__
pay: Any = Payment.__table__

CLV_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("customer_id", "integer"),
    ("customer", "text"),
    ("email", "text"),
    ("revenue", "money"),
    ("invoiced", "money"),
    ("outstanding", "money"),
    ("invoice_count", "integer"),
    ("average_invoice_value", "money"),
    ("last_invoice_date", "date"),
    ("last_payment_date", "date"),
    ("invoice_frequency_days", "number"),
    ("average_days_to_pay", "number"),
    ("average_days_late", "number"),
    ("on_time_rate", "number"),
    ("segments", "text"),
    ("at_risk_reasons", "text"),
)


#: rows a report written to a file returns (the file has them all)
FILE_RESULT_ROWS = 100


def _shown(cmd: A.Report, call: Call) -> int | None:
    """How many rows the report needs: all for a file, else what the front end shows."""
    return None if cmd.path is not None else call.rows_shown


def _query(target: A.Query | None) -> A.Query:
    return target if target is not None else A.Query(filter=None)


def _write(
    ws: Workspace,
    result: TableResult,
    types: list[ColumnType],
    path: str | None,
    chart: ChartSpec | None = None,
) -> TableResult:
    """Write the report to ``path`` (when given); the footer says where."""
    if path is None:
        return result
    p: Path = output_path(path)
    _write_rows(ws, p, result.columns, types, result.rows, result.title, chart)
    return _written(result, p)


def _write_rows(
    ws: Workspace,
    path: Path,
    columns: Sequence[str],
    types: Sequence[ColumnType],
    rows: Iterable[Sequence[Any]],
    title: str,
    chart: ChartSpec | None = None,
) -> None:
    """``rows`` into ``path`` as a typed table (the chart only in Excel files)."""
    charts = [chart] if chart is not None and path.suffix.lower() == ".xlsx" else []
    write_table(
        path,
        columns,
        rows,
        types,
        sheet_name=title[:31],
        money_exponent=exponent(ws.currency),
        charts=charts,
    )


def _written(result: TableResult, path: Path | None) -> TableResult:
    """``result``, whose every row is in the file ``path`` (when there is one)."""
    if path is not None:
        result.footer = (result.footer + "; " if result.footer else "") + f"written to {path}"
        result.path = str(path)
    return result


# ---------------------------------------------------------------- revenue


def revenue_rows(
    conn: Connection, d: date, start: date, end: date, spec: q.ListSpec
) -> list[tuple[int, str, str | None, int, int]]:
    """(id, name, email, revenue cents, payment count) per customer, largest first.

    Revenue: payments dated within [start, end] (and on or before D) on countable
    invoices (neither draft nor void, issued on or before D).
    """
    hi = min(end, d)
    ids = q.ids_select(d, spec).subquery()
    amount = func.sum(pay.c.amount_cents)
    stmt = (
        select(c.c.id, c.c.name, c.c.email, amount.label("revenue"), func.count(pay.c.id))
        .select_from(
            pay.join(inv, inv.c.id == pay.c.invoice_id).join(c, c.c.id == pay.c.customer_id)
        )
        .where(
            and_(
                inv.c.status.notin_(("draft", "void")),
                inv.c.issued_on <= d,
                pay.c.paid_on >= start,
                pay.c.paid_on <= hi,
                c.c.id.in_(select(ids.c.customer_id)),
            )
        )
        .group_by(c.c.id, c.c.name, c.c.email)
        .order_by(amount.desc(), c.c.id)
    )
    return [(int(i), n, e, int(r or 0), int(k)) for i, n, e, r, k in conn.execute(stmt)]


def revenue_report(ws: Workspace, cmd: A.Report, call: Call) -> TableResult:
    start, end = date_window(cmd.start, cmd.end, ws.today)
    if cmd.start is None:
        start += timedelta(days=1)  # the last 365 days: (D - 365, D], half-open
    with ws.read() as conn:
        spec = translate(ws, conn, _query(cmd.target), call).spec
        data = revenue_rows(conn, ws.today, start, end, spec)
    cur = ws.currency
    total = to_major(sum(r[3] for r in data), cur)
    rows: list[list[Any]] = [
        [cid, name, email, to_major(cents, cur), count]
        for cid, name, email, cents, count in data[: _shown(cmd, call)]
    ]
    result = TableResult(
        title="Revenue by customer",
        columns=["customer_id", "customer", "email", "revenue", "payments"],
        rows=rows,
        kind="report",
        footer=f"{start} to {min(end, ws.today)}: {plural(len(data), 'customer')}, "
        f"total {total} {cur}",
        total_rows=len(data),
    )
    chart = ChartSpec("Revenue by customer", "customer", ("revenue",), "bar")
    return _write(ws, result, ["integer", "text", "text", "money", "integer"], cmd.path, chart)


# ---------------------------------------------------------------- invoices


def invoice_report(ws: Workspace, cmd: A.Report, call: Call) -> TableResult:
    if cmd.target is None:
        raise UserError("which customer? e.g. 'invoice report for acme'")
    with ws.read() as conn:
        who = one_customer(ws, conn, cmd.target, call)
        views = invoice_views(conn, who.id, ws.today, ws.currency)
    views.sort(key=lambda v: (v.issued_on, v.id))
    rows: list[list[Any]] = []
    for v in views:
        if v.days_overdue is not None:
            late: int | None = v.days_overdue
        elif v.state == "paid" and v.paid_on is not None:
            late = max(0, (v.paid_on - v.due_on).days)
        else:
            late = None
        rows.append(
            [v.number, v.issued_on, v.due_on, v.total, v.paid, v.balance, v.state, late, v.paid_on]
        )
    cur = ws.currency
    balance = sum(
        (v.balance for v in views if v.state in ("open", "partial")), to_major(0, ws.currency)
    )
    result = TableResult(
        title=f"Invoices of {who.name}"[:31],
        columns=[
            "number",
            "issued_on",
            "due_on",
            "total",
            "paid",
            "balance",
            "state",
            "days_late",
            "paid_on",
        ],
        rows=rows,
        kind="report",
        footer=f"{plural(len(rows), 'invoice')}, outstanding {balance} {cur}",
    )
    types: list[ColumnType] = [
        "text",
        "date",
        "date",
        "money",
        "money",
        "money",
        "text",
        "integer",
        "date",
    ]
    return _write(ws, result, types, cmd.path)


# ---------------------------------------------------------------- payments

PAYMENT_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("paid_on", "date"),
    ("customer", "text"),
    ("invoice", "text"),
    ("amount", "money"),
    ("method", "text"),
)


def payment_report(ws: Workspace, cmd: A.Report, call: Call) -> TableResult:
    """Payment history (on or before D) of the target customers, oldest first."""
    shown = _shown(cmd, call)
    with ws.read() as conn:
        spec = translate(ws, conn, _query(cmd.target), call).spec
        ids = q.ids_select(ws.today, spec).subquery()
        stmt = (
            select(
                pay.c.paid_on,
                c.c.name,
                inv.c.number,
                pay.c.amount_cents,
                pay.c.method,
            )
            .select_from(
                pay.join(inv, inv.c.id == pay.c.invoice_id).join(c, c.c.id == pay.c.customer_id)
            )
            .where(pay.c.paid_on <= ws.today, c.c.id.in_(select(ids.c.customer_id)))
        )
        if cmd.start is not None:
            stmt = stmt.where(pay.c.paid_on >= A.resolve_date(cmd.start, ws.today)[0])
        if cmd.end is not None:
            stmt = stmt.where(pay.c.paid_on <= A.resolve_date(cmd.end, ws.today)[1])
        ordered = stmt.order_by(pay.c.paid_on, pay.c.id)
        written: Path | None = None
        if cmd.path is not None:  # every row streams into the file; the result has the first
            written, count, cents_total, data = _write_payments(ws, conn, ordered, cmd.path)
        elif shown is None:
            data = conn.execute(ordered).all()
            count, cents_total = len(data), sum(int(r[3]) for r in data)
        else:  # the first rows, and the count and total of all of them in SQL
            data = conn.execute(ordered.limit(shown)).all()
            every = stmt.subquery()
            count, cents_total = conn.execute(
                select(func.count(), func.coalesce(func.sum(every.c.amount_cents), 0))
            ).one()
    cur = ws.currency
    rows: list[list[Any]] = [
        [on, name, number, to_major(cents, cur), method] for on, name, number, cents, method in data
    ]
    total = to_major(int(cents_total), cur)
    result = TableResult(
        title="Payment history",
        columns=[name for name, _ in PAYMENT_COLUMNS],
        rows=rows,
        kind="report",
        footer=f"{plural(count, 'payment')}, total {total} {cur}",
        total_rows=count,
    )
    return _written(result, written)


@gc_paused()
def _write_payments(
    ws: Workspace, conn: Connection, stmt: Select[Any], path: str
) -> tuple[Path, int, int, list[Any]]:
    """Stream the payment rows of ``stmt`` into ``path`` a chunk at a time; the written
    path, row count, total in cents and the first rows."""
    p = output_path(path)
    count = cents = 0
    first: list[Any] = []

    def rows() -> Iterator[tuple[Any, ...]]:
        nonlocal count, cents
        for batch in bulk.fetch_batches(conn, stmt, 5000):
            for on, name, number, amount, method in batch:
                if type(on) is str:  # SQLite's driver gives ISO text
                    on = date.fromisoformat(on)
                row = (on, name, number, amount, method)
                if count < FILE_RESULT_ROWS:
                    first.append(row)
                count += 1
                cents += amount
                yield row

    names, types = zip(*PAYMENT_COLUMNS, strict=True)
    _write_rows(ws, p, names, types, rows(), "Payment history")
    return p, count, cents, first


# ---------------------------------------------------------------- CLV


def _no_tags(ids: list[int]) -> dict[int, list[str]]:
    """The CLV report shows no tags: none are read."""
    return defaultdict(list)


def _first(spec: q.ListSpec, rows: int) -> q.ListSpec:
    """The first ``rows`` rows of ``spec`` (within its own limit)."""
    return replace(spec, limit=rows if spec.limit is None else min(rows, spec.limit))


#: CLV columns under another name in the export's rows
_CLV_FROM_EXPORT = {"customer": "name"}


@gc_paused()
def _write_clv(
    ws: Workspace, conn: Connection, spec: q.ListSpec, path: str
) -> tuple[Path, int, int]:
    """Stream the CLV report of ``spec`` into ``path`` from the export's rows (chunks
    straight from SQL, flat memory); the written path, row count and revenue in cents."""
    p = output_path(path)
    headers, _ = export_headers([])
    pick = itemgetter(*(headers.index(_CLV_FROM_EXPORT.get(n, n)) for n, _ in CLV_COLUMNS))
    revenue = headers.index("revenue")
    converter = ExportRows(conn, [], typed_dates=p.suffix.lower() == ".xlsx", tags=False)
    count = cents = 0

    def rows() -> Iterator[tuple[Any, ...]]:
        nonlocal count, cents
        for row in converter.rows(bulk.export_select(ws.today, spec)):
            count += 1
            cents += row[revenue]
            yield pick(row)

    chart = ChartSpec("Customer lifetime value (revenue to date)", "customer", ("revenue",), "bar")
    names, types = zip(*CLV_COLUMNS, strict=True)
    _write_rows(ws, p, names, types, rows(), "Customer lifetime value", chart)
    return p, count, cents


def clv_report(ws: Workspace, cmd: A.Report, call: Call) -> TableResult:
    """Every DOMAIN.md figure per customer with segments and at-risk reasons."""
    shown, cur = _shown(cmd, call), ws.currency
    written: Path | None = None
    count: int | None = None
    with ws.read() as conn:
        spec = translate(ws, conn, _query(cmd.target), call, (("revenue", True),)).spec
        whole = spec.limit is None and not spec.offset and spec.after is None
        if cmd.path is not None:  # every row streams into the file; the result has the first
            written, count, cents = _write_clv(ws, conn, spec, cmd.path)
            first = q.list_customers(conn, ws.today, _first(spec, FILE_RESULT_ROWS))
        elif shown is not None and whole:  # the first rows; the count and revenue in SQL
            count, cents = q.count_and_revenue(conn, ws.today, spec)
            first = q.list_customers(conn, ws.today, _first(spec, shown))
        else:
            first = q.list_customers(conn, ws.today, spec)
        rows_in = customer_rows_with(_no_tags, first, cur)
    if count is None:
        count, total = len(rows_in), sum((r.revenue for r in rows_in), to_major(0, cur))
        rows_in = rows_in[:shown]
    else:
        total = to_major(cents, cur)
    rows: list[list[Any]] = [
        [
            r.id,
            r.name,
            r.email,
            r.revenue,
            r.invoiced,
            r.outstanding,
            r.invoice_count,
            r.average_invoice_value,
            r.last_invoice_date,
            r.last_payment_date,
            r.invoice_frequency_days,
            r.average_days_to_pay,
            r.average_days_late,
            r.on_time_rate,
            ";".join(r.segments),
            ";".join(r.at_risk_reasons),
        ]
        for r in rows_in
    ]
    result = TableResult(
        title="Customer lifetime value",
        columns=[name for name, _ in CLV_COLUMNS],
        rows=rows,
        kind="report",
        footer=f"{plural(count, 'customer')}, revenue to date {total} {ws.currency}",
        total_rows=count,
    )
    return _written(result, written)


REPORTS = {
    "revenue": revenue_report,
    "invoice": invoice_report,
    "payment": payment_report,
    "clv": clv_report,
}


@handles(A.Report)
def report(ws: Workspace, cmd: A.Report, call: Call) -> TableResult:
    """``revenue|invoice|payment|clv report [for TARGET] [PERIOD] [to FILE]``."""
    return REPORTS[cmd.kind](ws, cmd, call)


__all__ = ["clv_report", "invoice_report", "payment_report", "report", "revenue_report"]
