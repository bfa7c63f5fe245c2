"""Customer reports on hand-worked data (DOMAIN.md, D = 2026-06-30), SQLite and PostgreSQL.

Customers (created 2025-01-01, so none is "new"):
- Ann: A-1 1000.00 issued 2026-01-10 due 2026-02-09, paid 2026-02-20 (11 days late);
  A-2 500.00 issued 2026-05-01 due 2026-05-31, 200.00 paid 2026-06-10 (partial,
  30 days overdue at D); A-3 200.00 draft (not countable).
- Bob: B-1 300.00 issued 2025-11-01 due 2025-12-01, paid 2025-11-20 (on time).
- Cy: no invoices.
"""

from __future__ import annotations

import csv
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from commands.errors import UserError
from commands.executor import run
from commands.fileformats import write_table
from commands.fileformats.writing import ColumnType
from commands.results import MutationResult, TableResult
from commands.verbs_reports import CLV_COLUMNS, FILE_RESULT_ROWS, PAYMENT_COLUMNS
from commands.workspace import Workspace


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture
def book(ws: Workspace, tmp_path: Path) -> Workspace:
    files = {
        "customers": [
            ["name", "email", "company", "created_at"],
            ["Ann", "ann@example.com", "Acme", "2025-01-01"],
            ["Bob", "bob@example.com", "", "2025-01-01"],
            ["Cy", "cy@example.com", "", "2025-01-01"],
        ],
        "invoices": [
            ["number", "customer_email", "issued_on", "due_on", "total", "status"],
            ["A-1", "ann@example.com", "2026-01-10", "2026-02-09", "1000.00", "sent"],
            ["A-2", "ann@example.com", "2026-05-01", "2026-05-31", "500.00", "sent"],
            ["A-3", "ann@example.com", "2026-06-20", "2026-07-20", "200.00", "draft"],
            ["B-1", "bob@example.com", "2025-11-01", "2025-12-01", "300.00", "sent"],
        ],
        "payments": [
            ["invoice_number", "paid_on", "amount", "method"],
            ["A-1", "2026-02-20", "1000.00", "card"],
            ["A-2", "2026-06-10", "200.00", "bank"],
            ["B-1", "2025-11-20", "300.00", "card"],
        ],
    }
    for kind, rows in files.items():
        path = write_csv(tmp_path / f"{kind}.csv", rows)
        result = run(ws, f"import {kind} from {path}", confirmed=True)
        assert isinstance(result, MutationResult) and result.affected == len(rows) - 1
    return ws


def table(ws: Workspace, sentence: str) -> TableResult:
    result = run(ws, sentence)
    assert isinstance(result, TableResult)
    return result


def as_dicts(result: TableResult) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, r, strict=True)) for r in result.rows]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def sheet_rows(path: Path) -> tuple[Any, list[dict[str, Any]]]:
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    headers = [cell.value for cell in sheet[1]]
    rows = [
        dict(zip(headers, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)
    ]
    return sheet, rows


def chart_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        return "".join(z.read(n).decode() for n in charts)


def test_revenue_report_for_a_period(book: Workspace, tmp_path: Path) -> None:
    year = table(book, "revenue report for 2026")
    # 2026: Ann 1000 + 200; Bob's only payment is from 2025
    assert [(r["customer"], r["revenue"], r["payments"]) for r in as_dicts(year)] == [
        ("Ann", Decimal("1200.00"), 2)
    ]
    assert "2026-01-01 to 2026-06-30" in year.footer and "total 1200.00 USD" in year.footer
    # default period: the last 365 days, (2025-06-30, 2026-06-30]
    default = table(book, "revenue report")
    assert [(r["customer"], r["revenue"]) for r in as_dicts(default)] == [
        ("Ann", Decimal("1200.00")),
        ("Bob", Decimal("300.00")),
    ]
    spring = table(book, "revenue report since 2026-03-01")
    assert [(r["customer"], r["revenue"]) for r in as_dicts(spring)] == [("Ann", Decimal("200.00"))]
    only_bob = table(book, "revenue report for bob")
    assert [r["customer"] for r in as_dicts(only_bob)] == ["Bob"]


def test_revenue_report_exports_csv_and_excel_with_a_chart(book: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "revenue.xlsx"
    result = table(book, f"revenue report to {out}")
    assert f"written to {out}" in result.footer
    sheet, rows = sheet_rows(out)
    assert [(r["customer"], r["revenue"], r["payments"]) for r in rows] == [
        ("Ann", 1200.0, 2),
        ("Bob", 300.0, 1),
    ]
    assert isinstance(rows[0]["revenue"], int | float)  # a number cell, not text
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    xml = chart_xml(out)
    assert "barChart" in xml and "Revenue by customer" in xml
    csv_out = tmp_path / "revenue.csv"
    table(book, f"revenue report to {csv_out}")
    assert [(r["customer"], r["revenue"]) for r in csv_rows(csv_out)] == [
        ("Ann", "1200.00"),
        ("Bob", "300.00"),
    ]


def test_invoice_report_of_a_customer(book: Workspace, tmp_path: Path) -> None:
    result = table(book, "invoice report for ann")
    rows = {r["number"]: r for r in as_dicts(result)}
    assert list(rows) == ["A-1", "A-2", "A-3"]  # oldest first
    a1, a2, a3 = rows["A-1"], rows["A-2"], rows["A-3"]
    assert (a1["state"], a1["paid"], a1["balance"], a1["days_late"], a1["paid_on"]) == (
        "paid",
        Decimal("1000.00"),
        Decimal("0.00"),
        11,
        date(2026, 2, 20),
    )
    assert (a2["state"], a2["paid"], a2["balance"], a2["days_late"], a2["paid_on"]) == (
        "partial",
        Decimal("200.00"),
        Decimal("300.00"),
        30,
        None,
    )
    assert (a3["state"], a3["days_late"]) == ("draft", None)
    assert "outstanding 300.00 USD" in result.footer
    out = tmp_path / "ann.xlsx"
    table(book, f"invoice report for ann to {out}")
    _, sheet = sheet_rows(out)
    assert [r["number"] for r in sheet] == ["A-1", "A-2", "A-3"]
    assert sheet[0]["issued_on"].date() == date(2026, 1, 10)  # a real date cell
    with pytest.raises(UserError, match="which customer"):
        run(book, "invoice report")


def test_payment_report(book: Workspace, tmp_path: Path) -> None:
    everyone = table(book, "payment report")
    assert [
        (r["paid_on"], r["customer"], r["invoice"], r["amount"]) for r in as_dicts(everyone)
    ] == [
        (date(2025, 11, 20), "Bob", "B-1", Decimal("300.00")),
        (date(2026, 2, 20), "Ann", "A-1", Decimal("1000.00")),
        (date(2026, 6, 10), "Ann", "A-2", Decimal("200.00")),
    ]
    assert "3 payments, total 1500.00 USD" in everyone.footer
    since = table(book, "payment report for ann since 2026-03-01")
    assert [(r["invoice"], r["method"]) for r in as_dicts(since)] == [("A-2", "bank")]
    out = tmp_path / "payments.csv"
    table(book, f"payment report for ann to {out}")
    assert [(r["paid_on"], r["amount"]) for r in csv_rows(out)] == [
        ("2026-02-20", "1000.00"),
        ("2026-06-10", "200.00"),
    ]


def test_clv_report_has_every_figure_segments_and_reasons(book: Workspace, tmp_path: Path) -> None:
    result = table(book, "clv report")
    rows = as_dicts(result)
    assert [r["customer"] for r in rows] == ["Ann", "Bob", "Cy"]  # by revenue
    ann, bob, cy = rows
    assert (ann["revenue"], ann["invoiced"], ann["outstanding"], ann["invoice_count"]) == (
        Decimal("1200.00"),
        Decimal("1500.00"),
        Decimal("300.00"),
        2,
    )
    assert ann["average_invoice_value"] == Decimal("750.00")
    assert (ann["last_invoice_date"], ann["last_payment_date"]) == (
        date(2026, 5, 1),
        date(2026, 6, 10),
    )
    assert ann["invoice_frequency_days"] == 111  # 2026-01-10 -> 2026-05-01
    assert ann["average_days_to_pay"] == 41  # A-1 only: 2026-01-10 -> 2026-02-20
    assert ann["average_days_late"] == 11
    assert ann["on_time_rate"] == 0
    assert set(ann["segments"].split(";")) >= {
        "medium-value",
        "active",
        "late-payer",
        "partial-payer",
    }
    # payments in the last 90 days (200) < half of the 90 days before (1000)
    assert set(ann["at_risk_reasons"].split(";")) == {"late payments", "declining revenue"}
    assert bob["revenue"] == Decimal("300.00") and bob["on_time_rate"] == 1
    assert set(bob["segments"].split(";")) >= {"low-value", "inactive", "on-time-payer"}
    assert bob["at_risk_reasons"] == "low activity"
    assert (cy["invoice_count"], cy["at_risk_reasons"]) == (0, "")
    assert "3 customers, revenue to date 1500.00 USD" in result.footer

    at_risk = table(book, "clv report for at-risk customers")
    assert [r["customer"] for r in as_dicts(at_risk)] == ["Ann", "Bob"]

    out = tmp_path / "clv.xlsx"
    table(book, f"clv report to {out}")
    _, sheet = sheet_rows(out)
    assert [(r["customer"], r["revenue"], r["invoice_count"]) for r in sheet] == [
        ("Ann", 1200.0, 2),
        ("Bob", 300.0, 1),
        ("Cy", 0.0, 0),
    ]
    xml = chart_xml(out)
    assert "barChart" in xml and "Customer lifetime value" in xml
    csv_out = tmp_path / "clv.csv"
    table(book, f"clv report to {csv_out}")
    assert [r["at_risk_reasons"] for r in csv_rows(csv_out)][2] == ""
    assert list(csv_rows(csv_out)[0])[:4] == ["customer_id", "customer", "email", "revenue"]


@pytest.mark.parametrize(
    "sentence",
    [
        "revenue report",
        "payment report",
        "payment report since 2025-12-01",
        "clv report",
        "clv report for customers with revenue over 100",
        "clv report for top 2 customers by revenue",
    ],
)
def test_a_report_for_the_screen_holds_its_first_rows_and_counts_them_all(
    book: Workspace, tmp_path: Path, sentence: str
) -> None:
    every = table(book, sentence)
    assert every.total_rows in (None, len(every.rows))
    for shown in (1, 2, 50):
        first = run(book, sentence, rows_shown=shown)
        assert isinstance(first, TableResult)
        assert first.rows == every.rows[:shown]  # the same rows, in the same order
        assert first.row_count == len(every.rows)
        assert first.footer == every.footer  # counts and totals of every row
    # a file always gets every row
    out = tmp_path / "all.csv"
    written = run(book, f"{sentence} to {out}", rows_shown=1)
    assert isinstance(written, TableResult) and len(written.rows) == len(every.rows)
    assert len(csv_rows(out)) == len(every.rows)


CLV_SENTENCES = ("clv report", "clv report for late payers", "clv report for top 7 customers")
PAYMENT_SENTENCES = ("payment report", "payment report for late payers since 2026-01-01")
PAYMENT_TYPES = [t for _, t in PAYMENT_COLUMNS]


def test_clv_and_payment_files_stream_the_same_rows_as_the_reports(
    book: Workspace, tmp_path: Path
) -> None:
    """CLV and payment files are written a chunk at a time straight from SQL; their cells
    are those of the report's own rows (as the app and --json give them) as a table."""
    same_rows_in_files(book, tmp_path, CLV_SENTENCES, [t for _, t in CLV_COLUMNS])
    same_rows_in_files(book, tmp_path, PAYMENT_SENTENCES[:1], PAYMENT_TYPES)


def test_the_demos_report_files_stream_the_same_rows(demo_ws: Workspace, tmp_path: Path) -> None:
    same_rows_in_files(demo_ws, tmp_path, CLV_SENTENCES, [t for _, t in CLV_COLUMNS])
    same_rows_in_files(demo_ws, tmp_path, PAYMENT_SENTENCES, PAYMENT_TYPES)


def same_rows_in_files(
    ws: Workspace, tmp_path: Path, sentences: tuple[str, ...], types: list[ColumnType]
) -> None:
    for sentence in sentences:
        every = table(ws, sentence)
        assert every.rows
        for suffix in ("csv", "xlsx"):
            expected, streamed = tmp_path / f"expected.{suffix}", tmp_path / f"streamed.{suffix}"
            write_table(expected, every.columns, every.rows, types)
            result = table(ws, f"{sentence} to {streamed}")
            assert result.footer == f"{every.footer}; written to {streamed}"
            assert (result.path, result.row_count) == (str(streamed), len(every.rows))
            assert result.rows == every.rows[:FILE_RESULT_ROWS]
            if suffix == "csv":
                assert streamed.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")
            else:
                assert sheet_rows(streamed)[1] == sheet_rows(expected)[1]


def test_report_file_errors_change_nothing(book: Workspace, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"use a \.csv or \.xlsx"):
        run(book, f"revenue report to {tmp_path / 'r.pdf'}")
    with pytest.raises(UserError, match="does not exist"):
        run(book, f"revenue report to {tmp_path / 'nope' / 'r.csv'}")
    assert not list(tmp_path.glob("r.*"))


def test_reports_print_as_tables_on_the_command_line(
    book: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if book.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is exercised once")
    from commands.cli import app

    monkeypatch.setenv("OPENINVOICE_AS_OF", "2026-06-30")
    runner = CliRunner()
    base = ["--db", str(book.engine.url)]
    res = runner.invoke(app, [*base, "run", "revenue report for 2026"])
    assert res.exit_code == 0, res.output
    assert "Revenue by customer" in res.output and "1200.00" in res.output
    out = tmp_path / "clv-cli.xlsx"
    res = runner.invoke(app, [*base, "run", f"clv report to {out}"])
    assert res.exit_code == 0, res.output
    assert out.is_file() and "written to" in res.output
