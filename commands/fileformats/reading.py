"""Streaming readers for CSV (any common encoding and dialect) and spreadsheets.

``open_table(path)`` returns a :class:`TableReader`: ``.headers`` and an iterator of
``(line_number, cells)``. Iterating twice reads the file twice (a preview, then the
import), and memory stays flat for CSV however long the file is.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, cast

from commands.errors import UserError
from commands.fileformats.sheet_halves import Halves, load_halves

Cell = str | int | float | bool | date | datetime | time | timedelta | None
Row = tuple[int, list[Cell]]
#: rows of a file in one piece: their line numbers and their cells
Batch = tuple[list[int], list[list[Cell]]]

CSV_EXTENSIONS = frozenset({".csv", ".tsv", ".txt"})
SPREADSHEET_EXTENSIONS = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
#: workbooks whose big sheets load as two halves at once (zip packages of XML)
HALVES_EXTENSIONS = frozenset({".xlsx", ".xlsm"})
_SAMPLE_BYTES = 64 * 1024
_SCAN_CHUNK = 1024 * 1024
#: lines csv.Sniffer looks at (its quote regexes grow fast with the sample)
_SNIFF_LINES = 50
#: leading characters that make a spreadsheet run a cell as a formula
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def needs_neutralising(text: str) -> bool:
    """True when ``text`` is written with a leading ``'`` (see :func:`neutralise`).

    Text starting with a formula trigger is prefixed; so is text that already starts
    with quotes followed by a trigger, so that reading strips exactly one quote back.
    """
    rest = text.lstrip("'")
    return bool(rest) and rest.startswith(FORMULA_TRIGGERS)


def neutralise(text: str) -> str:
    """``=1+2`` -> ``'=1+2``; other text unchanged."""
    return "'" + text if needs_neutralising(text) else text


_TRIGGER_CHARS = frozenset(FORMULA_TRIGGERS)


def unneutralise_column(col: Sequence[Cell]) -> Sequence[Cell]:
    """:func:`unneutralise` every text cell of a column (the column itself when none is)."""
    try:
        text = "\n".join(col)  # type: ignore[arg-type]
    except TypeError:
        text = "\n".join([v for v in col if type(v) is str])  # type: ignore[misc]
    if "\n'" not in text and text[:1] != "'":
        return col
    trig = _TRIGGER_CHARS
    return [
        (v[1:] if v[1:2] in trig else unneutralise(v) if v[1:2] == "'" else v)
        if type(v) is str and v[:1] == "'"
        else v
        for v in col
    ]


def unneutralise(text: str) -> str:
    """Inverse of :func:`neutralise`: strip one ``'`` only where writing added one."""
    if text.startswith("'") and needs_neutralising(text[1:]):
        return text[1:]
    return text


class TableReader:
    """A header row and a stream of ``(line_number, cells)`` rows."""

    format: Literal["csv", "xlsx"]

    def __init__(self, path: Path, headers: list[str]) -> None:
        self.path = path
        self.headers = headers

    #: whether :meth:`rows` can give the cells as stored (``raw=True``)
    has_raw_rows = False

    def __iter__(self) -> Iterator[Row]:  # pragma: no cover - abstract
        raise NotImplementedError

    def rows(self, *, raw: bool = False) -> Iterator[Row]:
        """``(line, cells)``; with ``raw`` (when :attr:`has_raw_rows`), neutralised text
        (``'=1``) is left as stored for the caller to :func:`unneutralise`."""
        if raw:
            raise NotImplementedError("this reader has no raw rows")
        return iter(self)

    def batches(self, size: int, *, raw: bool = False, first: int | None = None) -> Iterator[Batch]:
        """The rows of :meth:`rows`, ``size`` at a time (the first block ``first`` rows,
        when given), as (lines, cells of each row)."""
        return row_blocks(self.rows(raw=raw), size, first)

    def close(self) -> None:
        """Release the file (readers are also context managers)."""

    def __enter__(self) -> TableReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def block_sizes(size: int, first: int | None = None) -> Iterator[int]:
    """``first`` (when given), then ``size`` for ever: how many rows each block holds."""
    if first is not None:
        yield first
    while True:
        yield size


def row_blocks(rows: Iterator[Row], size: int, first: int | None = None) -> Iterator[Batch]:
    """``rows`` in blocks of ``size`` (the first ``first`` rows, when given)."""
    for want in block_sizes(size, first):
        block = list(islice(rows, want))
        if not block:
            return
        yield [r[0] for r in block], [r[1] for r in block]


def _clean_headers(raw: list[Cell]) -> list[str]:
    names = [_header_text(c) for c in raw]
    while names and not names[-1]:
        names.pop()
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, name in enumerate(names):
        name = name or f"Column {i + 1}"
        key = name.casefold()
        if key in seen:
            seen[key] += 1
            name = f"{name} ({seen[key]})"
        else:
            seen[key] = 1
        out.append(name)
    return out


def _header_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip().lstrip("\ufeff").strip()


# ---------------------------------------------------------------- CSV


def detect_encoding(path: Path) -> str:
    """The encoding of a text file: BOMs first, then UTF-8, else cp1252/Latin-1."""
    with path.open("rb") as fh:
        head = fh.read(_SAMPLE_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            return "utf-32"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if head and head.count(b"\x00") > len(head) // 4:
            # UTF-16 without a BOM: ASCII text leaves every other byte zero
            odd_zeros = head[1::2].count(b"\x00")
            return "utf-16-le" if odd_zeros > len(head) // 4 else "utf-16-be"
        decoder = codecs.getincrementaldecoder("utf-8")()
        chunk = head
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = fh.read(_SCAN_CHUNK)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    # cp1252 is what "Latin-1" files from Windows tools really are; it leaves five
    # bytes undefined, so fall back to true Latin-1 when one of them occurs.
    with path.open("rb") as fh:
        try:
            dec = codecs.getincrementaldecoder("cp1252")()
            while chunk := fh.read(_SCAN_CHUNK):
                dec.decode(chunk)
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


class _Dialect(csv.Dialect):
    delimiter = ","
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL
    strict = False


def detect_delimiter(sample: str) -> str:
    """Comma, semicolon, tab or pipe: csv.Sniffer, checked against the header line."""
    lines = sample.splitlines()
    if len(sample) >= _SAMPLE_BYTES // 2 and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    header = lines[0] if lines else ""
    candidates = ",;\t|"
    try:
        sniffed = (
            csv.Sniffer().sniff("\n".join(lines[:_SNIFF_LINES]), delimiters=candidates).delimiter
        )
    except csv.Error:
        sniffed = ""
    if sniffed and sniffed in header:
        return sniffed
    counts = {d: header.count(d) for d in candidates}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class CsvReader(TableReader):
    format: Literal["csv", "xlsx"] = "csv"
    has_raw_rows = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.encoding = detect_encoding(path)
        with path.open(encoding=self.encoding, newline="") as fh:
            sample = fh.read(_SAMPLE_BYTES // 2)
        self.delimiter = detect_delimiter(sample)
        self.dialect = type("_Detected", (_Dialect,), {"delimiter": self.delimiter})
        headers: list[str] = []
        self._header_line = 0
        with self._open() as fh:
            reader = csv.reader(fh, self.dialect)
            prev = 0
            for rec in reader:
                if any(c.strip() for c in rec):
                    headers = _clean_headers(list(rec))
                    self._header_line = prev + 1
                    break
                prev = reader.line_num
        super().__init__(path, headers)

    def _open(self) -> IO[str]:
        return self.path.open(encoding=self.encoding, newline="")

    def __iter__(self) -> Iterator[Row]:
        return self.rows()

    def rows(self, *, raw: bool = False) -> Iterator[Row]:
        """``(line, cells)``; ``raw`` keeps neutralised text as stored (``'=1``)."""
        try:
            with self._open() as fh:
                reader = csv.reader(fh, self.dialect)
                prev = 0
                for rec in reader:
                    start, prev = prev + 1, reader.line_num
                    if start <= self._header_line:
                        continue
                    joined = "".join(rec)
                    if not joined:
                        continue
                    if not raw and "'" in joined:  # only then look for neutralised cells
                        rec = [unneutralise(c) if c[:1] == "'" else c for c in rec]
                    yield start, rec  # type: ignore[misc]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UserError(f"Cannot read {self.path.name}: {exc}") from exc

    def batches(self, size: int, *, raw: bool = False, first: int | None = None) -> Iterator[Batch]:
        """:meth:`rows` in blocks, without a generator step and a tuple per row."""
        try:
            with self._open() as fh:
                reader = csv.reader(fh, self.dialect)
                prev = 0  # the line the previous record ended on
                if self._header_line:
                    for _ in reader:
                        start, prev = prev + 1, reader.line_num
                        if start >= self._header_line:
                            break
                given = 0  # rows yielded so far
                for want in block_sizes(size, first):
                    recs: list[list[str]] = list(islice(reader, want))
                    if not recs:
                        break
                    end = reader.line_num
                    if end - prev == len(recs):  # one line each: the common case
                        lines = list(range(prev + 1, end + 1))
                    else:
                        lines = _record_lines(recs, prev)
                        if lines[-1] + _breaks(recs[-1]) != end:  # not expected; stay exact
                            yield from self._batches_after(given, size, raw)
                            return
                    prev = end
                    if not all(map(any, recs)):  # blank lines, rows of empty cells: skipped
                        keep = [j for j, rec in enumerate(recs) if any(rec)]
                        lines, recs = [lines[j] for j in keep], [recs[j] for j in keep]
                        if not recs:
                            continue
                    given += len(recs)
                    if not raw:
                        recs = [
                            [unneutralise(c) if c[:1] == "'" else c for c in rec]
                            if "'" in "".join(rec)
                            else rec
                            for rec in recs
                        ]
                    yield lines, recs  # type: ignore[misc]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UserError(f"Cannot read {self.path.name}: {exc}") from exc

    def _batches_after(self, given: int, size: int, raw: bool) -> Iterator[Batch]:
        """:meth:`rows` from the one after the first ``given``, in blocks of ``size``."""
        it = self.rows(raw=raw)
        for _ in islice(it, given):
            pass
        return row_blocks(it, size)


def _breaks(rec: list[str]) -> int:
    """Line breaks inside a record's (quoted) cells: the lines it spans, less one."""
    return sum(c.count("\n") + c.count("\r") - c.count("\r\n") for c in rec)


def _record_lines(recs: list[list[str]], prev: int) -> list[int]:
    """The line each record starts on, the first just after line ``prev``."""
    lines: list[int] = []
    for rec in recs:
        lines.append(prev + 1)
        prev += 1 + _breaks(rec)
    return lines


# ---------------------------------------------------------------- spreadsheets


class SpreadsheetReader(TableReader):
    """Rows of a worksheet; a big .xlsx sheet loads as two halves on two cores
    (:mod:`.sheet_halves`), anything else whole."""

    format: Literal["csv", "xlsx"] = "xlsx"
    has_raw_rows = True

    def __init__(self, path: Path, sheet: str | None = None) -> None:
        from python_calamine import CalamineError, CalamineWorkbook

        self._book: CalamineWorkbook | None = None
        self._halves: Halves | None = None
        if path.suffix.lower() in HALVES_EXTENSIONS:
            self._halves = load_halves(str(path), sheet)
        if self._halves is not None:
            self.sheet_name = self._halves.name
        else:
            try:
                self._book = CalamineWorkbook.from_path(str(path))
                if sheet is None:
                    self._sheet = self._book.get_sheet_by_index(0)
                else:
                    if sheet not in self._book.sheet_names:
                        raise UserError(
                            f"{path.name} has no sheet named {sheet!r}",
                            suggestions=self._book.sheet_names,
                        )
                    self._sheet = self._book.get_sheet_by_name(sheet)
            except (CalamineError, OSError, ValueError) as exc:
                raise UserError(
                    f"Cannot read {path.name}: not a readable spreadsheet ({exc})"
                ) from exc
            self.sheet_name = self._sheet.name
        headers: list[str] = []
        self._header_line = 0
        for line, cells in self._raw_rows():
            if any(c not in ("", None) for c in cells):
                headers = _clean_headers(cells)
                self._header_line = line
                break
        super().__init__(path, headers)

    def estimated_rows(self) -> int:
        """About how many data rows the sheet has (for progress and the bulk-load choice)."""
        if self._halves is not None:
            return max(self._halves.height() - 1, 0)
        return max(int(self._sheet.height) - 1, 0)

    def _pieces(self) -> Iterator[tuple[int, list[Cell], list[Cell], Iterable[list[Cell]]]]:
        """The sheet's rows in pieces: the line of a piece's first row, the cells to add
        before and after each of its rows (calamine starts a row at the first used column
        and ends it at the last, and two halves may use different columns) and the rows,
        "" for an empty cell. With them, every row has the sheet's columns from A."""
        if self._halves is None:
            # iter_rows() starts at row 1 but at the first used column
            rows = cast(Iterator[list[Cell]], self._sheet.iter_rows())
            yield 1, [None] * (self._sheet.start or (0, 0))[1], [], rows
            return
        halves = self._halves.halves
        width = max(h.col + h.width for h in halves)
        for half in halves:
            yield (
                half.line,
                [None] * half.col,
                [None] * (width - half.col - half.width),
                half.rows(),
            )

    def _raw_rows(self) -> Iterator[Row]:
        for first, before, after, rows in self._pieces():
            for i, cells in enumerate(rows, start=first):
                yield i, [*before, *cells, *after] if before or after else cells

    def __iter__(self) -> Iterator[Row]:
        return self.rows()

    def rows(self, *, raw: bool = False) -> Iterator[Row]:
        """``(line, cells)``, empty cells None; ``raw`` keeps neutralised text as stored."""
        header_line = self._header_line
        for line, cells in self._raw_rows():
            if line <= header_line:
                continue
            if "" in cells:
                cells = [None if c == "" else c for c in cells]
            if cells.count(None) == len(cells):
                continue
            # rare: a text cell with a quote (only then look for neutralised cells)
            if not raw and "'" in "".join([c for c in cells if type(c) is str]):
                cells = [unneutralise(c) if isinstance(c, str) else c for c in cells]
            yield line, cells

    def batches(self, size: int, *, raw: bool = False, first: int | None = None) -> Iterator[Batch]:
        """:meth:`rows` in blocks, without a generator step and a tuple per row."""
        if not raw:
            yield from super().batches(size, raw=raw, first=first)
            return
        sizes = block_sizes(size, first)
        want = next(sizes)
        lines: list[int] = []
        rows: list[list[Cell]] = []
        for start, before, after, piece in self._pieces():
            it = iter(piece)
            line = start - 1
            for _ in islice(it, max(self._header_line - line, 0)):
                line += 1
            while block := list(islice(it, want - len(rows))):
                for cells in block:
                    line += 1
                    if before or after:
                        cells = [*before, *cells, *after]
                    if "" in cells:
                        cells = [None if c == "" else c for c in cells]
                    if cells.count(None) == len(cells):
                        continue
                    lines.append(line)
                    rows.append(cells)
                if len(rows) >= want:
                    yield lines, rows
                    lines, rows = [], []
                    want = next(sizes)
        if rows:
            yield lines, rows

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already closed
            if self._book is not None:
                self._book.close()


def open_table(path: str | Path, *, sheet: str | None = None) -> TableReader:
    """Open a CSV or spreadsheet file for reading; :class:`UserError` when it can't be."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in CSV_EXTENSIONS and ext not in SPREADSHEET_EXTENSIONS:
        raise UserError(
            f"Cannot read {p.name}: unsupported file type {ext or '(no extension)'!r}; "
            "use .csv, .tsv or .xlsx",
        )
    if not p.is_file():
        raise UserError(f"Cannot read {p}: no such file")
    if ext in SPREADSHEET_EXTENSIONS:
        reader: TableReader = SpreadsheetReader(p, sheet)
    else:
        try:
            reader = CsvReader(p)
        except (OSError, UnicodeError, csv.Error) as exc:
            raise UserError(f"Cannot read {p.name}: {exc}") from exc
    if not reader.headers:
        reader.close()
        raise UserError(f"Cannot read {p.name}: the file is empty (no header row)")
    return reader


__all__ = [
    "FORMULA_TRIGGERS",
    "Batch",
    "Cell",
    "CsvReader",
    "Row",
    "SpreadsheetReader",
    "TableReader",
    "block_sizes",
    "detect_delimiter",
    "detect_encoding",
    "needs_neutralising",
    "neutralise",
    "open_table",
    "row_blocks",
    "unneutralise",
    "unneutralise_column",
]
