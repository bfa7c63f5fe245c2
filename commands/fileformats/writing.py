"""Write tables to CSV or typed ``.xlsx`` with formula neutralisation and charts."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from commands.errors import UserError
from commands.fileformats.fastxlsx import write_xlsx_fast
from commands.fileformats.reading import Cell, neutralise
from commands.fileformats.xlsx_charts import ChartPlan

ColumnType = Literal["text", "integer", "number", "money", "date", "datetime", "bool"]
COLUMN_TYPES: tuple[ColumnType, ...] = (
    "text",
    "integer",
    "number",
    "money",
    "date",
    "datetime",
    "bool",
)
_WIDTH_SAMPLE_ROWS = 500
_NEUTRALISE_FIRST = frozenset("=+-@\t\r'")
_MAX_WIDTH = 60
_NONE = type(None)


@dataclass(frozen=True)
class ChartSpec:
    """A chart of ``value_columns`` against ``category_column`` (header names).

    ``kind`` is ``bar`` (horizontal) or ``column``; the chart sits right of the table.
    ``max_points`` keeps charts of long reports readable (the first N data rows).
    """

    title: str
    category_column: str
    value_columns: tuple[str, ...]
    kind: Literal["bar", "column", "line", "pie"] = "column"
    max_points: int = 20


def _money_text(cents: int, exp: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"


def _checked(path: str | Path) -> Path:
    """``path`` as a Path, or a UserError when it is no .csv/.xlsx file in an existing folder."""
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".xlsx"):
        raise UserError(f"Cannot write {p.name}: use a .csv or .xlsx file name")
    if not p.parent.is_dir():
        raise UserError(f"Cannot write {p}: no such folder {p.parent}")
    return p


@contextlib.contextmanager
def _replacing(p: Path) -> Iterator[Path]:
    """A temporary file beside ``p`` that replaces it once the block completes."""
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, p)
    except OSError as exc:
        raise UserError(f"Cannot write {p}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_table(
    path: str | Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell | Decimal]],
    column_types: Sequence[ColumnType] | None = None,
    *,
    sheet_name: str = "Sheet1",
    money_exponent: int = 2,
    charts: Sequence[ChartSpec] = (),
    writer: Literal["auto", "fast", "xlsxwriter", "openpyxl"] = "auto",
) -> int:
    """Write ``headers`` and ``rows`` to a ``.csv`` or ``.xlsx`` file; return the row count.

    ``column_types`` (default all ``text``) decides how non-text values are written:
    ``money`` columns take integer minor units and are written in major units
    (``123450`` -> ``1234.50``). Text starting with ``= + - @``, tab or CR is written
    with a leading ``'``. The file appears only once complete (temp file + rename).
    ``writer``: ``auto`` (or ``fast``) uses the streaming writer of :mod:`fastxlsx`, charts
    included; xlsxwriter (constant_memory) and ``openpyxl`` are kept for comparison.
    """
    types: list[ColumnType] = list(column_types or ["text"] * len(headers))
    if len(types) != len(headers):
        raise ValueError("column_types and headers differ in length")
    plans = [chart_plan(spec, headers) for spec in charts]
    p = _checked(path)
    with _replacing(p) as tmp:
        if p.suffix.lower() == ".csv":
            n = _write_csv(tmp, headers, rows, types, money_exponent)
        elif writer in ("auto", "fast"):
            widths = _Widths(headers, types)
            n = write_xlsx_fast(
                tmp, headers, rows, types, money_exponent, sheet_name, widths, plans
            )
        elif writer == "openpyxl":
            n = _write_xlsx_openpyxl(tmp, headers, rows, types, money_exponent, sheet_name)
        else:
            n = _write_xlsx(tmp, headers, rows, types, money_exponent, sheet_name, plans)
    return n


def write_csv_lines(path: str | Path, headers: Sequence[str], chunks: Iterable[bytes]) -> None:
    """Write a CSV file of ``headers`` and ready-made UTF-8 ``chunks`` of lines.

    For rows formatted elsewhere exactly as :func:`write_table` would (see
    :func:`csv_lines`); same checks, and the file appears only once complete.
    """
    p = _checked(path)
    head = io.StringIO()
    csv.writer(head).writerow([neutralise(h) for h in headers])
    with _replacing(p) as tmp, tmp.open("wb") as fh:
        fh.write(head.getvalue().encode())
        for chunk in chunks:
            fh.write(chunk)


def csv_lines(
    rows: Sequence[Sequence[Cell | Decimal]], types: Sequence[ColumnType], exp: int
) -> list[str]:
    """Each row as the CSV line (ending in CRLF) that :func:`write_table` writes for it."""
    buf = io.StringIO()
    w = csv.writer(buf)
    out = []
    for row in _csv_ready(rows, list(types), exp):
        buf.seek(0)
        buf.truncate()
        w.writerow(row)
        out.append(buf.getvalue())
    return out


#: a value in a column of text starts with a character that needs neutralising
_NEEDS_CHECK = re.compile(r"(?:^|\n)[=+\-@\t\r']")
_CSV_CHUNK = 2000


def _csv_column(col: Sequence[Any], ctype: ColumnType, exp: int) -> Sequence[Any]:
    """One column of a chunk as the csv module should write it (a fast path per type).

    The csv module writes None as "", numbers with repr and dates in ISO form; only
    text (neutralised), money (minor units) and booleans need help.
    """
    kinds = set(map(type, col))
    if kinds <= {str, _NONE}:
        texts = [v for v in col if v]
        if not _NEEDS_CHECK.search("\n".join(texts)):  # type: ignore[arg-type]
            return col
    if ctype == "money" and kinds <= {int, _NONE}:
        if exp == 2:
            return [
                None
                if v is None
                else f"{v // 100}.{v % 100:02d}"
                if v >= 0
                else f"-{-v // 100}.{-v % 100:02d}"
                for v in col
            ]
        return [None if v is None else _money_text(v, exp) for v in col]
    first_chars = _NEUTRALISE_FIRST
    out = [
        (neutralise(v) if v[:1] in first_chars else v)
        if type(v) is str
        else (("true" if v else "false") if type(v) is bool else v)
        for v in col
    ]
    if ctype == "money":
        out = [_money_text(m, exp) if type(m) is int else m for m in out]
    return out


def _csv_ready(
    chunk: Sequence[Sequence[Cell | Decimal]], types: list[ColumnType], exp: int
) -> Iterable[Sequence[Any]]:
    """A chunk of rows with each cell as the csv module should write it."""
    width = len(types)
    if any(len(r) != width for r in chunk):  # ragged rows: cell by cell
        return [
            [_csv_column([v], types[i] if i < width else "text", exp)[0] for i, v in enumerate(r)]
            for r in chunk
        ]
    cols = [
        _csv_column(col, t, exp) for col, t in zip(zip(*chunk, strict=True), types, strict=True)
    ]
    return zip(*cols, strict=True)


def _write_csv(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell | Decimal]],
    types: list[ColumnType],
    exp: int,
) -> int:
    n = 0
    it = iter(rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([neutralise(h) for h in headers])
        while chunk := list(islice(it, _CSV_CHUNK)):
            w.writerows(_csv_ready(chunk, types, exp))
            n += len(chunk)
    return n


def _display_len(value: Cell | Decimal, ctype: ColumnType) -> int:
    if value is None:
        return 0
    if ctype == "date":
        return 10
    if ctype == "datetime":
        return 19
    if ctype == "money":
        return len(f"{value:,}") + 1 if isinstance(value, int) else len(str(value)) + 1
    return max(len(line) for line in str(value).split("\n"))


class _Widths:
    def __init__(self, headers: Sequence[str], types: list[ColumnType]) -> None:
        self.types = types
        self.widths = [len(h) + 3 for h in headers]  # room for the filter button
        self.seen = 0

    def feed(self, row: Sequence[Cell | Decimal]) -> None:
        if self.seen < _WIDTH_SAMPLE_ROWS:
            self.seen += 1
            for i, t in enumerate(self.types):
                w = _display_len(row[i], t) + 1
                if w > self.widths[i]:
                    self.widths[i] = w

    def result(self) -> list[float]:
        return [float(min(max(w, 8), _MAX_WIDTH)) for w in self.widths]


def _write_xlsx(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell | Decimal]],
    types: list[ColumnType],
    exp: int,
    sheet_name: str,
    charts: Sequence[ChartPlan],
) -> int:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "default_date_format": "yyyy-mm-dd",
        },
    )
    ws = wb.add_worksheet(sheet_name[:31])
    bold = wb.add_format({"bold": True})
    money_fmt = wb.add_format({"num_format": "#,##0." + "0" * exp if exp else "#,##0"})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    dt_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for c, h in enumerate(headers):
        ws.write_string(0, c, neutralise(h), bold)
    widths = _Widths(headers, types)
    scale = 10**exp
    write_string = ws.write_string
    write_number = ws.write_number
    write_datetime = ws.write_datetime
    write_boolean = ws.write_boolean
    pairs = list(enumerate(types))
    r = 0
    for r, row in enumerate(rows, start=1):
        widths.feed(row)
        for c, t in pairs:
            v = row[c]
            if v is None:
                continue
            if isinstance(v, str):
                if v:
                    write_string(r, c, neutralise(v))
            elif isinstance(v, bool):
                write_boolean(r, c, v)
            elif isinstance(v, int | float | Decimal):
                if t == "money" and isinstance(v, int):
                    write_number(r, c, v / scale, money_fmt)
                elif t == "money":
                    write_number(r, c, float(v), money_fmt)
                else:
                    write_number(r, c, float(v) if isinstance(v, Decimal) else v)
            elif isinstance(v, datetime):
                write_datetime(r, c, v.replace(tzinfo=None), dt_fmt)
            elif isinstance(v, date):
                write_datetime(r, c, v, date_fmt)
            else:
                write_string(r, c, neutralise(str(v)))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(r, 1), max(len(headers) - 1, 0))
    for c, w in enumerate(widths.result()):
        ws.set_column(c, c, w)
    for i, plan in enumerate(charts):
        _add_chart(wb, ws, plan, r, i, len(headers))
    wb.close()
    return r


def chart_plan(spec: ChartSpec, headers: Sequence[str]) -> ChartPlan:
    """``spec`` with its columns as indexes; ValueError naming a column not in ``headers``."""
    try:
        cat = list(headers).index(spec.category_column)
        vals = tuple(list(headers).index(v) for v in spec.value_columns)
    except ValueError as exc:
        raise ValueError(f"chart {spec.title!r}: {exc}") from None
    return ChartPlan(spec.title, spec.kind, cat, vals, spec.max_points)


def _add_chart(wb: Any, ws: Any, plan: ChartPlan, last_row: int, index: int, ncols: int) -> None:
    chart = wb.add_chart({"type": plan.kind})
    end = min(last_row, plan.max_points)
    if end < 1:
        return
    cat, vals = plan.category, plan.values
    for v in vals:
        chart.add_series(
            {
                "name": [ws.name, 0, v],
                "categories": [ws.name, 1, cat, end, cat],
                "values": [ws.name, 1, v, end, v],
            }
        )
    chart.set_title({"name": plan.title})
    chart.set_legend({"position": "bottom" if len(vals) > 1 else "none"})
    chart.set_size({"width": 640, "height": 360})
    ws.insert_chart(1 + index * 20, ncols + 1, chart)


def add_bar_chart(
    path: str | Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell | Decimal]],
    column_types: Sequence[ColumnType],
    *,
    title: str,
    category_column: str,
    value_columns: Sequence[str],
    max_points: int = 20,
) -> int:
    """Write an ``.xlsx`` report with one bar chart (shortcut for ``charts=``)."""
    spec = ChartSpec(title, category_column, tuple(value_columns), "bar", max_points)
    return write_table(path, headers, rows, column_types, charts=[spec])


def _write_xlsx_openpyxl(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell | Decimal]],
    types: list[ColumnType],
    exp: int,
    sheet_name: str,
) -> int:
    """The openpyxl write-only alternative (kept for the benchmark; slower)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_name[:31])
    widths = _Widths(headers, types)
    scale = 10**exp
    ws.freeze_panes = "A2"
    head = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=neutralise(h))
        cell.font = Font(bold=True)
        head.append(cell)
    # column widths must be set before rows in write-only mode: use the headers
    for c, w in enumerate(widths.result(), start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.append(head)
    money = "#,##0." + "0" * exp if exp else "#,##0"

    def cells(row: Sequence[Cell | Decimal]) -> Iterator[object]:
        for c, t in enumerate(types):
            v = row[c]
            if isinstance(v, str):
                cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", neutralise(v)))
                cell.data_type = "s"
                yield cell
            elif t == "money" and isinstance(v, int) and not isinstance(v, bool):
                cell = WriteOnlyCell(ws, value=v / scale)
                cell.number_format = money
                yield cell
            else:
                yield v

    n = 0
    for row in rows:
        ws.append(list(cells(row)))
        n += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(headers), 1))}{n + 1}"
    wb.save(str(path))
    return n
