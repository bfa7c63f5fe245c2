"""Raw timings of the file-formats layer (a plain script, not a pytest test).

    python -m tests.bench.bench_fileformats [ROWS]

Reading 100k x 8 (CSV, xlsx via calamine, xlsx via openpyxl read-only) and writing
100k x 20 with each candidate writer (csv module, pyarrow CSV; xlsxwriter
constant_memory, openpyxl write-only, and write_table with each writer: "fast" is the
streaming SpreadsheetML writer in commands/fileformats/fastxlsx.py).
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

from commands.fileformats import auto_map, open_table, validate_rows, write_table
from commands.fileformats.reading import Cell
from commands.fileformats.writing import ColumnType

READ_HEADERS = [
    "Name", "Email", "Company", "Phone", "Tags", "Created", "Terms", "Status",
]  # fmt: skip


def read_rows(n: int) -> Iterator[list[Cell]]:
    d0 = date(2020, 1, 1)
    for i in range(n):
        yield [
            f"Customer {i}", f"c{i}@example.com", f"Company {i % 997}", f"+1 555 {i:07d}",
            "vip;b2b" if i % 3 else "", d0 + timedelta(days=i % 1500), 30, "active",
        ]  # fmt: skip


def wide_rows(n: int) -> Iterator[list[Cell]]:
    d0 = date(2020, 1, 1)
    for i in range(n):
        yield [
            f"Customer {i}", f"c{i}@example.com", f"Company {i % 997}", "+1 555 0100",
            "vip;b2b", d0 + timedelta(days=i % 1500), i * 137, i * 11, i % 40, "active",
            f"Street {i}", "Berlin", "DE", d0, i * 3, i, "=not a formula", "note", i * 7, 1.5,
        ]  # fmt: skip


WIDE_TYPES: list[ColumnType] = [
    "text", "text", "text", "text", "text", "date", "money", "money", "integer", "text",
    "text", "text", "text", "date", "money", "integer", "text", "text", "money", "number",
]  # fmt: skip
WIDE_HEADERS = [f"col{i}" for i in range(20)]


def timed(label: str, fn: Callable[[], object]) -> float:
    tracemalloc.start()
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{label:<52} {dt:7.2f} s   peak {peak / 1e6:7.1f} MB (tracemalloc, slows runs)")
    return dt


def untimed(label: str, fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    print(f"{label:<52} {dt:7.2f} s")
    return dt


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="bench_ff_"))
    csv8, xlsx8 = tmp / "read8.csv", tmp / "read8.xlsx"
    types8: list[ColumnType] = ["text", "text", "text", "text", "text", "date", "integer", "text"]
    write_table(csv8, READ_HEADERS, read_rows(n), types8)
    write_table(xlsx8, READ_HEADERS, read_rows(n), types8)
    print(f"--- reading {n:,} rows x 8 columns")

    def raw_csv() -> None:
        with csv8.open(newline="", encoding="utf-8") as fh:
            for _ in csv.reader(fh):
                pass

    def calamine_raw() -> None:
        from python_calamine import CalamineWorkbook

        for _ in CalamineWorkbook.from_path(str(xlsx8)).get_sheet_by_index(0).iter_rows():
            pass

    def openpyxl_raw() -> None:
        from openpyxl import load_workbook

        wb = load_workbook(xlsx8, read_only=True)
        for _ in wb.worksheets[0].iter_rows(values_only=True):
            pass
        wb.close()

    def ours(path: Path) -> Callable[[], None]:
        def run() -> None:
            for _ in open_table(path):
                pass

        return run

    def ours_validated(path: Path) -> Callable[[], None]:
        def run() -> None:
            r = open_table(path)
            for _ in validate_rows("customers", r, auto_map("customers", r.headers)):
                pass

        return run

    untimed("csv.reader (floor)", raw_csv)
    untimed("open_table CSV (detect + iterate)", ours(csv8))
    untimed("open_table CSV + auto_map + validate_rows", ours_validated(csv8))
    untimed("calamine iter_rows (floor)", calamine_raw)
    untimed("open_table xlsx (calamine)", ours(xlsx8))
    untimed("open_table xlsx + auto_map + validate_rows", ours_validated(xlsx8))
    untimed("openpyxl read-only (for comparison)", openpyxl_raw)

    print(f"--- writing {n:,} rows x 20 columns")

    def csv_module() -> None:
        with (tmp / "w_raw.csv").open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(wide_rows(n))

    def pyarrow_csv() -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        cols = list(zip(*wide_rows(n), strict=True))
        table = pa.table({h: list(c) for h, c in zip(WIDE_HEADERS, cols, strict=True)})
        pacsv.write_csv(table, str(tmp / "w_arrow.csv"))

    def xlsxwriter_raw() -> None:
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(tmp / "w_raw_xw.xlsx"), {"constant_memory": True})
        ws = wb.add_worksheet()
        ws.write_row(0, 0, WIDE_HEADERS)
        for r, row in enumerate(wide_rows(n), start=1):
            ws.write_row(r, 0, row)
        wb.close()

    def openpyxl_raw_write() -> None:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(WIDE_HEADERS)
        for row in wide_rows(n):
            ws.append(row)
        wb.save(str(tmp / "w_raw_op.xlsx"))

    untimed("csv.writer (floor)", csv_module)
    untimed("pyarrow.csv.write_csv (incl. building the table)", pyarrow_csv)
    untimed(
        "write_table CSV",
        lambda: write_table(tmp / "w.csv", WIDE_HEADERS, wide_rows(n), WIDE_TYPES),
    )
    untimed("xlsxwriter constant_memory write_row (raw)", xlsxwriter_raw)
    untimed("openpyxl write-only append (raw)", openpyxl_raw_write)
    for writer in ("fast", "xlsxwriter", "openpyxl"):
        untimed(
            f"write_table xlsx writer={writer!r} (typed, neutralised)",
            lambda w=writer: write_table(  # type: ignore[misc]
                tmp / f"w_{w}.xlsx", WIDE_HEADERS, wide_rows(n), WIDE_TYPES, writer=w
            ),
        )
    print("--- memory while streaming (tracemalloc peak)")
    timed("open_table CSV iterate", ours(csv8))
    print(f"(files in {tmp})")


if __name__ == "__main__":
    main()
