"""Writing CSV and xlsx: typed cells, neutralised formulas, panes, filters, charts, round trip."""

from __future__ import annotations

import csv
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.errors import UserError
from commands.fileformats import (
    ChartSpec,
    CustomerRecord,
    add_bar_chart,
    auto_map,
    export_columns,
    neutralise,
    open_table,
    record_row,
    unneutralise,
    validate_rows,
    write_table,
)
from commands.fileformats.reading import Cell
from commands.fileformats.writing import ColumnType

DANGEROUS = ["=1+2", "+49 30 1234", "-12", "@SUM(A1)", "\tTAB", "\rCR", "'=already", "''-x"]
HEADERS = ["Text", "Amount", "Count", "Day", "When", "Ratio"]
TYPES: list[ColumnType] = ["text", "money", "integer", "date", "datetime", "number"]


def _rows() -> list[list[Cell]]:
    rows: list[list[Cell]] = [[t, -1250, -3, date(2024, 1, 2), None, -0.5] for t in DANGEROUS]
    rows.append(["plain", 123450, 7, None, datetime(2024, 1, 2, 3, 4, 5), 1.25])
    return rows


def test_neutralise_rules() -> None:
    assert [neutralise(t) for t in DANGEROUS] == [
        "'=1+2", "'+49 30 1234", "'-12", "'@SUM(A1)", "'\tTAB", "'\rCR", "''=already", "'''-x",
    ]  # fmt: skip
    assert neutralise("plain") == "plain" and neutralise("'quoted'") == "'quoted'"
    assert neutralise("") == "" and neutralise("'") == "'"
    for t in [*DANGEROUS, "plain", "'", "'x", ""]:
        assert unneutralise(neutralise(t)) == t


def test_csv_neutralised_and_numbers_stay_numbers(tmp_path: Path) -> None:
    p = tmp_path / "o.csv"
    assert write_table(p, HEADERS, _rows(), TYPES) == len(DANGEROUS) + 1
    raw = p.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with p.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == HEADERS
    assert [r[0] for r in rows[1:-1]] == [neutralise(t) for t in DANGEROUS]
    assert rows[1][1:4] == ["-12.50", "-3", "2024-01-02"]  # negative numbers are not text
    assert rows[1][5] == "-0.5"
    assert rows[-1] == ["plain", "1234.50", "7", "", "2024-01-02 03:04:05", "1.25"]
    for cell in (c for r in rows for i, c in enumerate(r) if i == 0):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_xlsx_typed_cells_no_formulas_panes_filter(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    p = tmp_path / "o.xlsx"
    write_table(p, HEADERS, _rows(), TYPES, sheet_name="Customers")
    wb = load_workbook(p)
    ws = wb["Customers"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:F10"
    assert [c.value for c in ws[1]] == HEADERS
    assert all(c.font.b for c in ws[1])
    for row in ws.iter_rows(min_row=2):
        text = row[0]
        assert text.data_type == "s"  # a string, never a formula ("f")
        assert isinstance(text.value, str) and not text.value.startswith(("=", "+", "-", "@"))
    for row in ws.iter_rows():
        assert all(c.data_type != "f" for c in row)
    second = ws[2]
    assert second[0].value == "'=1+2"
    assert second[1].data_type == "n" and second[1].value == -12.5
    assert second[1].number_format == "#,##0.00"
    assert second[2].value == -3 and second[5].value == -0.5
    assert second[3].is_date and second[3].value == datetime(2024, 1, 2)
    assert ws["E10"].is_date and ws["E10"].value == datetime(2024, 1, 2, 3, 4, 5)
    assert ws.column_dimensions["A"].width >= 8
    with zipfile.ZipFile(p) as z:  # belt and braces: no <f> element anywhere
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")


def test_xlsx_openpyxl_writer_alternative(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    p = tmp_path / "op.xlsx"
    write_table(p, HEADERS, _rows(), TYPES, writer="openpyxl")
    ws = load_workbook(p).active
    assert ws is not None
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:F10"
    assert ws["A2"].data_type == "s" and ws["A2"].value == "'=1+2"
    assert ws["B2"].value == -12.5


def test_chart(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    p = tmp_path / "r.xlsx"
    rows: list[list[Cell]] = [[f"Customer {i}", i * 1000] for i in range(30)]
    add_bar_chart(p, ["Customer", "Revenue"], rows, ["text", "money"], title="Revenue",
                  category_column="Customer", value_columns=["Revenue"])  # fmt: skip
    with zipfile.ZipFile(p) as z:
        chart = z.read("xl/charts/chart1.xml").decode()
    assert "<c:barChart>" in chart and "$A$2:$A$21" in chart and "$B$2:$B$21" in chart
    assert load_workbook(p).active is not None
    with pytest.raises(ValueError, match="Nope"):
        write_table(tmp_path / "x.xlsx", ["A"], [["a"]], charts=[ChartSpec("t", "Nope", ("A",))])


@pytest.mark.parametrize("kind", ["bar", "column", "line", "pie"])
def test_the_streaming_writer_draws_charts_from_the_first_rows(tmp_path: Path, kind: str) -> None:
    from openpyxl import load_workbook

    p = tmp_path / "chart.xlsx"
    rows: list[list[Cell]] = [[f"Customer {i}", i * 1000, i] for i in range(100)]
    values = ("Revenue",) if kind == "pie" else ("Revenue", "Invoices")
    specs = [ChartSpec("Top <revenue> & more", "Customer", values, kind),  # type: ignore[arg-type]
             ChartSpec("Second", "Customer", ("Invoices",), "column", max_points=5)]  # fmt: skip
    n = write_table(p, ["Customer", "Revenue", "Invoices"], rows, ["text", "money", "integer"],
                    sheet_name="It's", charts=specs)  # fmt: skip
    assert n == 100
    sheet = load_workbook(p).active
    assert sheet is not None and sheet.max_row == 101 and sheet["B3"].value == 10.0
    first, second = sheet._charts  # type: ignore[attr-defined]
    refs = [(s.cat.strRef.f, s.val.numRef.f, s.tx.strRef.f) for s in first.series]
    assert refs[0] == ("'It''s'!$A$2:$A$21", "'It''s'!$B$2:$B$21", "'It''s'!$B$1")
    assert len(refs) == len(values)
    assert [s.val.numRef.f for s in second.series] == ["'It''s'!$C$2:$C$6"]
    with zipfile.ZipFile(p) as z:
        names = z.namelist()
        types = z.read("[Content_Types].xml").decode()
        chart = z.read("xl/charts/chart1.xml").decode()
    assert names.count("[Content_Types].xml") == 1 and names[0] == "[Content_Types].xml"
    assert "/xl/charts/chart2.xml" in types and "/xl/drawings/drawing1.xml" in types
    assert "Top &lt;revenue&gt; &amp; more" in chart
    # no rows, nothing to draw: no chart parts at all
    empty = tmp_path / "empty.xlsx"
    write_table(empty, ["Customer", "Revenue", "Invoices"], [], ["text", "money", "integer"],
                charts=specs)  # fmt: skip
    with zipfile.ZipFile(empty) as z:
        assert not [name for name in z.namelist() if "chart" in name or "drawing" in name]
    assert load_workbook(empty).active is not None


def test_bad_target(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"o\.pdf"):
        write_table(tmp_path / "o.pdf", ["A"], [])
    with pytest.raises(UserError, match="no such folder"):
        write_table(tmp_path / "missing" / "o.csv", ["A"], [])
    write_table(tmp_path / "empty.xlsx", ["A"], [])
    assert list(tmp_path.glob("*.part")) == []


def _roundtrip(path: Path, records: list[CustomerRecord], custom: list[str]) -> list[Any]:
    headers, types = export_columns("customers", custom)
    write_table(path, headers, (record_row(r, custom) for r in records), types)
    reader = open_table(path)
    mapping = auto_map("customers", reader.headers)
    assert mapping.unknown_columns == []
    return list(validate_rows("customers", reader, mapping))


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_customers_round_trip(tmp_path: Path, ext: str) -> None:
    records = [
        CustomerRecord(2, "=HYPERLINK(\"x\")", "a@x.io", "-Minus Co", "+1 555 0100",
                       "1 Main St\nSpringfield", "archived", ["vip", "b2b"], date(2024, 1, 2),
                       30, {"Region": "@north", "Size": "'-quoted"}),
        CustomerRecord(3, "Zoë Müller", None, custom={}),
        CustomerRecord(4, None, "only@x.io", tags=["x"], payment_terms_days=0, custom={}),
    ]  # fmt: skip
    back = _roundtrip(tmp_path / f"c.{ext}", records, ["Region", "Size"])
    # lines are physical: in CSV the two-line address moves the next record to line 4
    assert [replace(r, line=0) for r in back] == [replace(r, line=0) for r in records]  # type: ignore[type-var]
    assert [r.line for r in back] == ([2, 4, 5] if ext == "csv" else [2, 3, 4])  # type: ignore[attr-defined]


_text = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=";,")
        | st.sampled_from(["=", "+", "-", "@", "'"]),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(_text, min_size=1, max_size=5),
    tags=st.lists(_text, max_size=3, unique=True),
    ext=st.sampled_from(["csv", "xlsx"]),
)
def test_round_trip_property(tmp_path: Path, names: list[str], tags: list[str], ext: str) -> None:
    records = [
        CustomerRecord(i + 2, n, f"u{i}@x.io", company=n, tags=tags or None,
                       custom={"Note": n})
        for i, n in enumerate(names)
    ]  # fmt: skip
    assert _roundtrip(tmp_path / f"p.{ext}", records, ["Note"]) == records


@pytest.mark.parametrize("writer", ["fast", "xlsxwriter", "openpyxl"])
def test_xlsx_writers_agree_on_awkward_text(tmp_path: Path, writer: str) -> None:
    texts = ["a\rb", "\rCR", "_x0041_", "x\x01y", "<&>\"'", " padded ", "line\nbreak", "emoji 🎉"]
    p = tmp_path / f"{writer}.xlsx"
    write_table(p, ["T", "N"], [[t, i] for i, t in enumerate(texts)], ["text", "integer"],
                writer=writer)  # type: ignore[arg-type]  # fmt: skip
    got = [cells for _, cells in open_table(p)]
    expected_controls = {"fast": "x\x01y", "xlsxwriter": "x\x01y", "openpyxl": "xy"}
    for (text, n), t in zip(got, texts, strict=True):
        assert n == texts.index(t)
        if t == "x\x01y":  # openpyxl refuses control characters; the others escape them
            assert text == expected_controls[writer]
            continue
        if writer == "openpyxl" and ("\r" in t or "_x" in t):
            continue  # openpyxl writes CR raw (XML makes it LF) and leaves _xHHHH_ unescaped
        assert text == t, writer


def test_fast_writer_is_valid_for_openpyxl(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    p = tmp_path / "f.xlsx"
    write_table(p, HEADERS, _rows(), TYPES, writer="fast", sheet_name="It's")
    wb = load_workbook(p)
    ws = wb["It's"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:F10"
    assert [c.value for c in ws[10]] == ["plain", 1234.5, 7, None, datetime(2024, 1, 2, 3, 4, 5),
                                         1.25]  # fmt: skip
