"""Import and export of customers beside their floors, measured in the same run.

    python -m tests.bench.bench_import_export [ROWS]

Ours: ``import customers from FILE`` through the executor (validation, upsert
checks, batched raw inserts, search index, audit trail) into a fresh SQLite
database, and ``export customers to FILE`` (every figure, list order). Floors:
csv.reader / calamine + sqlite3 executemany into the same table (search index
rebuilt after), and a SELECT of the same columns straight into csv.writer or the
fastest raw xlsx writer found (xlsxwriter constant_memory, the streaming writer).
Peak memory (tracemalloc) of the CSV import at half and full size shows whether
it stays flat. Everything runs on temporary databases; bench-data is not touched.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.bench.common import AS_OF, HEADER, row

HEADERS = ["name", "email", "company", "phone", "status", "tags", "created_at",
           "payment_terms_days"]  # fmt: skip
TYPES: list[Any] = ["text", "text", "text", "text", "text", "text", "date", "integer"]
EXPORT_SQL = (
    "SELECT c.id, c.name, c.email, c.company, c.phone, c.address, c.status, c.created_on,"
    " c.payment_terms_days, f.* FROM customers c JOIN customer_figures f"
    " ON f.customer_id = c.id AND f.as_of = ? WHERE c.status = 'active' ORDER BY c.sort_name, c.id"
)


def customer_rows(n: int) -> Iterator[list[Any]]:
    d0 = date(2020, 1, 1)
    for i in range(n):
        yield [
            f"Customer {i}", f"c{i}@example.com", f"Company {i % 997}", f"+1 555 {i:07d}",
            "active", "vip;b2b" if i % 3 else "", d0 + timedelta(days=i % 1500), 30,
        ]  # fmt: skip


def fresh_workspace(path: Path) -> Any:
    from commands.config import Config
    from commands.workspace import Workspace
    from store.engine import make_engine

    engine = make_engine(f"sqlite:///{path}")
    ws = Workspace(engine=engine, config=Config({}), as_of_override=AS_OF)
    ws.ensure_figures()
    return ws


def import_ours(ws: Any, path: Path) -> int:
    from commands.executor import Call, load_verbs
    from commands.verbs_files import import_file

    load_verbs()
    from commands.results import MutationResult

    result = import_file(ws, "customers", str(path), Call("import", confirmed=True))
    assert isinstance(result, MutationResult), result
    return result.affected


def floor_insert(db: Path, rows: Iterator[Any]) -> None:
    """Raw sqlite3 executemany into the same customers table, search index rebuilt after."""
    from store.search import SQLITE_TRIGGER_DDL, SQLITE_TRIGGERS

    con = sqlite3.connect(db)
    for name in SQLITE_TRIGGERS:
        con.execute(f"DROP TRIGGER IF EXISTS {name}")
    con.executemany(
        "INSERT INTO customers (name, email, company, phone, status, created_on,"
        " payment_terms_days, reminders_opt_out, search_text, sort_name)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        ((r[0], r[1], r[2], r[3], r[4], r[6], r[7], r[0], r[0]) for r in rows),
    )
    for ddl in SQLITE_TRIGGER_DDL:
        con.execute(ddl)
    con.execute("INSERT INTO customer_search(customer_search) VALUES ('rebuild')")
    con.commit()
    con.close()


def csv_floor_rows(path: Path) -> Iterator[Any]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        yield from reader


def xlsx_floor_rows(path: Path) -> Iterator[Any]:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()
    next(rows)
    for r in rows:
        yield [*r[:6], str(r[6])[:10], r[7]]


def timed(fn: Callable[..., Any], *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


#: runs of each measurement, ours and its floor in turn; the best of each is kept
REPEATS = 3


def excel_style_xlsx(path: Path, n: int) -> None:
    """The customers as Excel stores them: text in the shared strings table (our own
    exports write inline strings, faster to write but bigger to read)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    sheet = wb.add_worksheet()
    sheet.write_row(0, 0, HEADERS)
    dates = wb.add_format({"num_format": "yyyy-mm-dd"})
    for i, r in enumerate(customer_rows(n), start=1):
        sheet.write_row(i, 0, r[:6])
        sheet.write_datetime(i, 6, r[6], dates)
        sheet.write_number(i, 7, r[7])
    wb.close()


def main() -> None:
    from commands.fileformats import write_table
    from commands.fileformats.fastxlsx import write_xlsx_fast
    from commands.fileformats.writing import _Widths

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="bench_ie_"))
    try:
        src_csv, src_xlsx = tmp / "customers.csv", tmp / "customers.xlsx"
        src_excel = tmp / "excel-style.xlsx"
        write_table(src_csv, HEADERS, customer_rows(n), TYPES)
        write_table(src_xlsx, HEADERS, customer_rows(n), TYPES)
        excel_style_xlsx(src_excel, n)
        from commands.executor import load_verbs, parse_sentence

        load_verbs()  # module loading and the parser tables are not what is measured
        parse_sentence("export customers to warm-up.csv")
        empty = tmp / "empty.db"
        fresh_workspace(empty).engine.dispose()  # migrated once, copied for each run

        def db(name: str) -> Path:
            shutil.copy(empty, tmp / name)
            return tmp / name

        def drop(path: Path) -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        sources = {"CSV": (src_csv, csv_floor_rows), "xlsx": (src_xlsx, xlsx_floor_rows),
                   "excel": (src_excel, xlsx_floor_rows)}  # fmt: skip
        imports: dict[str, list[float]] = {}
        floors: dict[str, list[float]] = {}
        kept: Any = None  # the first CSV import's workspace: the exports read it
        for i in range(REPEATS):
            for kind, (src, floor_rows) in sources.items():
                ws = fresh_workspace(db(f"ours_{kind}_{i}.db"))
                imports.setdefault(kind, []).append(timed(import_ours, ws, src))
                if kept is None:
                    kept = ws
                else:
                    ws.engine.dispose()
                    drop(tmp / f"ours_{kind}_{i}.db")
                path = db(f"floor_{kind}_{i}.db")
                floors.setdefault(kind, []).append(timed(floor_insert, path, floor_rows(src)))
                drop(path)
        ws = kept

        # exports of the customers just imported, figures computed first (not timed)
        from commands.executor import run

        ws.ensure_figures()
        exp_csv, exp_xlsx = tmp / "out.csv", tmp / "out.xlsx"
        con = sqlite3.connect(ws.engine.url.database)
        width = len(con.execute(EXPORT_SQL + " LIMIT 1", (AS_OF.isoformat(),)).description)

        def select_rows() -> Iterator[Any]:
            yield from con.execute(EXPORT_SQL, (AS_OF.isoformat(),))

        def raw_csv() -> None:
            with (tmp / "raw.csv").open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(range(width))
                w.writerows(select_rows())

        def raw_xlsxwriter() -> None:
            import xlsxwriter

            wb = xlsxwriter.Workbook(str(tmp / "raw1.xlsx"), {"constant_memory": True})
            sheet = wb.add_worksheet()
            for i, r in enumerate(select_rows()):
                sheet.write_row(i, 0, r)
            wb.close()

        def raw_fast() -> None:
            headers = [f"c{i}" for i in range(width)]
            types: list[Any] = ["text"] * width
            write_xlsx_fast(tmp / "raw2.xlsx", headers, select_rows(), types, 2, "S",
                            _Widths(headers, types))  # fmt: skip

        out_csv, floor_out_csv, out_xlsx, fast_writer = [], [], [], []
        for _ in range(REPEATS):
            out_csv.append(timed(lambda: run(ws, f"export customers to {exp_csv}")))
            floor_out_csv.append(timed(raw_csv))
            out_xlsx.append(timed(lambda: run(ws, f"export customers to {exp_xlsx}")))
            fast_writer.append(timed(raw_fast))
        writers = {"xlsxwriter": timed(raw_xlsxwriter), "streaming writer": min(fast_writer)}
        best = min(writers, key=lambda k: writers[k])
        con.close()
        ws.engine.dispose()

        # memory: the same CSV import at half and full size
        half_csv = tmp / "half.csv"
        write_table(half_csv, HEADERS, customer_rows(n // 2), TYPES)
        ws_h = fresh_workspace(db("mem_half.db"))
        mem_half = peak_mb(lambda: import_ours(ws_h, half_csv))
        ws_f = fresh_workspace(db("mem_full.db"))
        mem_full = peak_mb(lambda: import_ours(ws_f, src_csv))
        ws_h.engine.dispose()
        ws_f.engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def runs(values: list[float]) -> str:
        return " / ".join(f"{v * 1000:,.0f}" for v in values)

    print("## Import and export\n")
    print(f"{n:,} customers (8 columns, tags on two thirds), fresh SQLite database; "
          f"best of {REPEATS} runs, ours and its floor taken in turn.\n")  # fmt: skip
    print(HEADER)
    print(row(f"import {n:,} customers from CSV", min(imports["CSV"]), min(floors["CSV"]),
              "< 2 s"))  # fmt: skip
    print(row(f"import {n:,} customers from xlsx (as Excel writes it)", min(imports["excel"]),
              min(floors["excel"]), "< 2.5 s"))  # fmt: skip
    print(row(f"import {n:,} customers from xlsx (as our export writes it)",
              min(imports["xlsx"]), min(floors["xlsx"]), "< 2.5 s"))  # fmt: skip
    print(row(f"export {n:,} customers to CSV", min(out_csv), min(floor_out_csv), "< 0.5 s"))
    print(row(f"export {n:,} customers to xlsx", min(out_xlsx), writers[best], "< 1.2x floor"))
    print()
    print("Every run, ms (ours | floor):")
    for kind, label in (("CSV", "CSV import"), ("excel", "xlsx import, Excel's"),
                        ("xlsx", "xlsx import, ours")):  # fmt: skip
        print(f"- {label}: {runs(imports[kind])} | {runs(floors[kind])}")
    print(f"- CSV export: {runs(out_csv)} | {runs(floor_out_csv)}")
    print(f"- xlsx export: {runs(out_xlsx)} | {runs(fast_writer)}")
    print()
    print("Floors: csv.reader / calamine + sqlite3 executemany into `customers` with the")
    print("search index rebuilt; SELECT of the same columns into csv.writer; raw xlsx")
    print(", ".join(f"{k} {v:.2f} s" for k, v in writers.items()) + f" (floor: {best}).")
    print("Excel keeps text in a shared strings table; our export writes inline strings")
    print("(faster to write, about a quarter slower for calamine to read).")
    print("Our CSV export reads the second half of the list in a worker process")
    print("(commands/export_split.py); the floor reads in one. Our xlsx import parses a")
    print("big sheet as two halves at once (commands/fileformats/sheet_halves.py); the")
    print("floor's calamine call parses it whole.")
    print()
    print(f"Peak traced memory of the CSV import: {mem_half:.1f} MB at {n // 2:,} rows, "
          f"{mem_full:.1f} MB at {n:,} rows.")  # fmt: skip


if __name__ == "__main__":
    main()
