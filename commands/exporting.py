"""Customer exports: every customer column, tags, custom fields and all DOMAIN.md figures.

Rows come in the list's order straight from SQL and stream into the writer, so
memory stays flat. Notes are never exported, so internal notes never leave the
application in a file a customer could receive. The canonical customer columns
come first under their import names, so an export imports back without loss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, select

from commands.custom_values import custom_text
from commands.export_csv_sql import clean_chunk, line_select, unclean_lines
from commands.export_split import CsvLines, SplitReader
from commands.export_worker import LineMaker
from commands.fileformats import write_table
from commands.fileformats.mapping import CUSTOM_PREFIX, FIELDS
from commands.fileformats.writing import ColumnType, csv_lines, write_csv_lines
from commands.gc_pause import gc_paused
from commands.money import exponent
from commands.results import Progress
from commands.rows import PAYMENT_FLAGS, RISK_REASONS
from commands.workspace import Workspace
from store import bulk
from store import query as q
from store.models import Customer, CustomField, CustomFieldValue

c: Any = Customer.__table__
cf: Any = CustomField.__table__
cfv: Any = CustomFieldValue.__table__

#: rows fetched and converted together
EXPORT_CHUNK = 2000
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


class ExportRows:
    """Raw export rows (:func:`store.bulk.export_select`) as rows of the export headers."""

    def __init__(
        self, conn: Connection, custom_names: Sequence[str], typed_dates: bool, tags: bool = True
    ) -> None:
        self.conn = conn
        self.custom_names = custom_names
        self.typed_dates = typed_dates
        #: False: the tags cells stay empty (for a report that shows none)
        self.tags = tags

    def tags_of(self, ids: list[int]) -> dict[int, str]:
        """customer id -> ``a;b`` (tag names in order) for one chunk of rows."""
        if not self.tags:
            return {}
        return {cid: ";".join(names) for cid, names in q.tags_for(self.conn, ids).items() if names}

    def custom_of(self, ids: list[int]) -> dict[int, dict[str, str | None]]:
        out: dict[int, dict[str, str | None]] = {}
        for cid, name, text, number, day, flag in self.conn.execute(
            select(
                cfv.c.customer_id,
                cf.c.name,
                cfv.c.text_value,
                cfv.c.number_value,
                cfv.c.date_value,
                cfv.c.bool_value,
            )
            .join(cf, cf.c.id == cfv.c.field_id)
            .where(cfv.c.customer_id.in_(ids))
        ):
            out.setdefault(cid, {})[name] = custom_text(text, number, day, flag)
        return out

    def as_dates(self, col: Sequence[Any]) -> Sequence[Any]:
        """ISO text (what SQLite hands back) as dates, for typed spreadsheet cells."""
        if not self.typed_dates or not any(type(v) is str for v in col):
            return col
        return [date.fromisoformat(v[:10]) if type(v) is str else v for v in col]

    def rows(
        self, stmt: Select[Any], progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """The converted rows of ``stmt``; ``progress`` gets the count done before each chunk."""
        # straight from the driver by position, a chunk at a time, built column-wise:
        # row objects and per-cell conversion are what made exports slow
        pos = {name: i for i, name in enumerate(stmt.selected_columns.keys())}
        head = [pos[x] for x in ("name", "email", "company", "phone", "address", "status")]
        created, terms, ident = pos["created_on"], pos["payment_terms_days"], pos["id"]
        figures = [(pos[attr], attr in FLOAT_FIGURES, ctype) for _, attr, ctype in FIGURE_EXPORT]
        revenue_seg, activity_seg = pos["revenue_segment"], pos["activity_segment"]
        flags = [(label, pos[col]) for label, col in PAYMENT_FLAGS]
        reasons = [(label, pos[col]) for label, col in RISK_REASONS]
        done = 0
        for batch in bulk.fetch_batches(self.conn, stmt, EXPORT_CHUNK):
            cols = list(zip(*batch, strict=True))
            ids = list(cols[ident])
            tags = self.tags_of(ids)
            out: list[Sequence[Any]] = [cols[i] for i in head]
            out.append([tags.get(cid, "") for cid in ids])
            out.append(self.as_dates(cols[created]))
            out.append(cols[terms])
            if self.custom_names:
                extra = self.custom_of(ids)
                for n in self.custom_names:
                    out.append([extra.get(cid, {}).get(n) for cid in ids])
            out.append(ids)
            for at, is_float, ctype in figures:
                col: Sequence[Any] = cols[at]
                if is_float:
                    col = [None if v is None else round(float(v), 4) for v in col]
                elif ctype == "date":
                    col = self.as_dates(col)
                out.append(col)
            segs = [f"{a};{b}" for a, b in zip(cols[revenue_seg], cols[activity_seg], strict=True)]
            for label, at in flags:
                if any(cols[at]):
                    segs = [f"{s};{label}" if f else s for s, f in zip(segs, cols[at], strict=True)]
            out.append(segs)
            why = [""] * len(batch)
            for label, at in reasons:
                if any(cols[at]):
                    why = [
                        (f"{w};{label}" if w else label) if f else w
                        for w, f in zip(why, cols[at], strict=True)
                    ]
            out.append(why)
            if progress is not None:
                progress(done)
            done += len(batch)
            yield from zip(*out, strict=True)


@gc_paused()
def export_customers(
    ws: Workspace,
    conn: Connection,
    spec: q.ListSpec,
    path: Path,
    progress: Callable[[Progress], None] | None = None,
    *,
    fast_csv: bool = True,
) -> int:
    """Write the customers of ``spec`` (in its order) with every figure; returns the count.

    CSV on SQLite takes the fast path of :mod:`commands.export_csv_sql`, whose
    output is byte-for-byte the generic writer's (``fast_csv=False`` forces the
    generic writer, so tests can compare the two); a big list is read in two
    processes (:mod:`commands.export_split`).
    """
    if fast_csv and path.suffix.lower() == ".csv" and bulk.is_sqlite(conn):
        with SplitReader(ws, conn) as reader:
            return _export_csv_sql(ws, reader, spec, path, progress)
    fields = conn.execute(select(cf.c.id, cf.c.name).order_by(cf.c.name)).all()
    custom_names = [name for _, name in fields]
    headers, types = export_headers(custom_names)
    total = q.count_customers(conn, ws.today, spec) if progress is not None else None
    converter = ExportRows(conn, custom_names, typed_dates=path.suffix.lower() == ".xlsx")
    n = write_table(
        path,
        headers,
        converter.rows(bulk.export_select(ws.today, spec), _reporter(progress, total)),
        types,
        sheet_name="Customers",
        money_exponent=exponent(ws.currency),
    )
    _reporter(progress, total)(n)
    return n


def _reporter(
    progress: Callable[[Progress], None] | None, total: int | None
) -> Callable[[int], None]:
    def report(done: int) -> None:
        if progress is not None:
            progress(Progress(done, total, "export"))

    return report


def _export_csv_sql(
    ws: Workspace,
    reader: SplitReader,
    spec: q.ListSpec,
    path: Path,
    progress: Callable[[Progress], None] | None,
) -> int:
    """The CSV export with lines formatted by SQLite, read through ``reader``."""
    conn = reader.conn
    fields = conn.execute(select(cf.c.id, cf.c.name).order_by(cf.c.name)).all()
    custom_names = [name for _, name in fields]
    headers, _ = export_headers(custom_names)
    converter = ExportRows(conn, custom_names, typed_dates=False)
    total: int | None = None

    def count() -> int:
        nonlocal total
        if total is None:
            total = q.count_customers(conn, ws.today, spec)
        return total

    if progress is not None:
        count()
    n = 0

    def chunks() -> Iterator[bytes]:
        nonlocal n
        field_ids = [i for i, _ in fields]
        for rows, data in _sql_csv_chunks(ws, spec, converter, reader, field_ids, count):
            _reporter(progress, total)(n)
            n += rows
            yield data

    write_csv_lines(path, headers, chunks())
    _reporter(progress, total)(n)
    return n


def _sql_csv_chunks(
    ws: Workspace,
    spec: q.ListSpec,
    converter: ExportRows,
    reader: SplitReader,
    field_ids: list[int],
    count: Callable[[], int],
) -> Iterator[tuple[int, bytes]]:
    """(row count, CSV lines) chunks formatted by SQLite; lines it could not format, by Python."""
    figures = [(col, "number" if col in FLOAT_FIGURES else kind) for _, col, kind in FIGURE_EXPORT]
    exp = exponent(ws.currency)
    stmt, cells = line_select(ws.today, spec, field_ids, figures, exp)
    make_lines = LineMaker()
    whole = spec.limit is None and not spec.offset
    for batch in reader.batches(stmt, EXPORT_CHUNK, count, whole=whole, cells=cells):
        if isinstance(batch, CsvLines):  # the worker made them
            yield batch.rows, batch.data
            continue
        lines = make_lines(batch)
        data = b"".join(lines)
        if not clean_chunk(data, len(batch), cells):
            ids = [row[0] for row in batch]
            data = b"".join(_repaired(ids, lines, cells, converter, exp, ws.today))
        yield len(batch), data


def _repaired(
    ids: Sequence[int],
    lines: Sequence[bytes],
    cells: int,
    converter: ExportRows,
    exp: int,
    today: date,
) -> list[bytes]:
    """``lines`` (of customers ``ids``), those SQLite could not format made by the generic path."""
    bad = [ids[i] for i in unclean_lines(lines, cells)]
    headers, types = export_headers(converter.custom_names)
    ident = headers.index("customer_id")
    stmt = bulk.export_select(today, q.ListSpec(where=c.c.id.in_(bad), include_archived=True))
    rows = list(converter.rows(stmt))
    fixed = {row[ident]: line for row, line in zip(rows, csv_lines(rows, types, exp), strict=True)}
    pairs = zip(ids, lines, strict=True)
    return [fixed[cid].encode() if cid in fixed else line for cid, line in pairs]


__all__ = ["FIGURE_EXPORT", "ExportRows", "export_customers", "export_headers"]
