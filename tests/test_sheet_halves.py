"""A big .xlsx sheet loaded as two halves gives exactly the rows of the whole load."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

from commands.errors import UserError
from commands.fileformats import open_table, reading, sheet_halves
from commands.fileformats.reading import Row, SpreadsheetReader
from commands.fileformats.writing import write_table


@pytest.fixture
def cut_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sheet is big enough to cut (the real threshold is a few megabytes)."""
    monkeypatch.setattr(sheet_halves, "SPLIT_BYTES", 0)
    monkeypatch.setattr(sheet_halves, "READ_BYTES", 64)


def _whole(p: Path, sheet: str | None = None) -> SpreadsheetReader:
    saved = reading.HALVES_EXTENSIONS
    reading.HALVES_EXTENSIONS = frozenset()
    try:
        reader = SpreadsheetReader(p, sheet)
    finally:
        reading.HALVES_EXTENSIONS = saved
    assert reader._halves is None
    return reader


def _batched(reader: SpreadsheetReader, size: int, raw: bool) -> list[Row]:
    batches = reader.batches(size, raw=raw, first=1)
    return [r for lines, cells in batches for r in zip(lines, cells, strict=True)]


def _same_as_whole(p: Path, sheet: str | None = None) -> list[Row]:
    halves = SpreadsheetReader(p, sheet)
    assert halves._halves is not None, "the sheet was not cut"
    whole = _whole(p, sheet)
    assert halves.headers == whole.headers
    assert halves.sheet_name == whole.sheet_name
    assert halves.estimated_rows() == whole.estimated_rows()
    for raw in (True, False):
        expected = list(whole.rows(raw=raw))
        assert list(halves.rows(raw=raw)) == expected
        for size in (1, 7, 1000):
            assert _batched(halves, size, raw) == expected
    return list(halves.rows(raw=True))


def test_shared_strings_typed_cells_and_gaps(tmp_path: Path, cut_all: None) -> None:
    import xlsxwriter

    p = tmp_path / "excel.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet("Customers")
    dates = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(2, 1, ["Name", "Email", "Created", "Terms", "Active"])  # from B3
    for i in range(40):
        row = 3 + i + (i // 10) * 2  # empty rows between blocks
        ws.write_row(row, 1, [f"Customer {i}", f"c{i}@example.com"])
        ws.write_datetime(row, 3, datetime(2024, 1, 1 + i % 28), dates)
        ws.write_number(row, 4, 30 + i)
        ws.write_boolean(row, 5, i % 2 == 0)
    ws.write_row(60, 1, ["'=1+2", "f@example.com"])  # neutralised, shorter row
    wb.close()
    rows = _same_as_whole(p)
    assert rows[0] == (4, [None, "Customer 0", "c0@example.com", date(2024, 1, 1), 30, True])
    assert rows[-1] == (61, [None, "'=1+2", "f@example.com", None, None, None])


def test_inline_strings_as_our_export_writes_them(tmp_path: Path, cut_all: None) -> None:
    p = tmp_path / "ours.xlsx"
    rows = ([f"N{i}", f"n{i}@example.com", i * 1.5] for i in range(50))
    write_table(p, ["name", "email", "amount"], rows, ["text", "text", "number"], writer="fast")
    assert _same_as_whole(p)[-1] == (51, ["N49", "n49@example.com", 73.5])


def test_halves_using_different_columns_keep_their_places(tmp_path: Path, cut_all: None) -> None:
    """calamine starts each half's rows at its first used column and ends them at its
    last: the second half here has nothing in column A, nor in column D."""
    import xlsxwriter

    p = tmp_path / "cols.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["A", "B", "C", "D"])
    for i in range(1, 20):
        ws.write_row(i, 0, [f"a{i}", f"b{i}", f"c{i}", f"d{i}"])
    for i in range(20, 60):
        ws.write_row(i, 1, [f"b{i}", f"c{i}"])
    wb.close()
    rows = _same_as_whole(p)
    assert rows[-1] == (60, [None, "b59", "c59", None])


def test_a_sheet_chosen_by_name(tmp_path: Path, cut_all: None) -> None:
    import xlsxwriter

    p = tmp_path / "two.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    wb.add_worksheet("First").write(0, 0, "only")
    second = wb.add_worksheet("Second")
    for i in range(30):
        second.write_row(i, 0, [f"s{i}", i])
    wb.close()
    assert _same_as_whole(p, "Second")[0] == (2, ["s1", 1])
    assert open_table(p).headers == ["only"]
    with pytest.raises(UserError, match="no sheet"):
        open_table(p, sheet="Missing")


def _rewrite_sheet(p: Path, change: dict[bytes, bytes]) -> None:
    """Rewrite the first sheet's XML of ``p`` with ``change`` applied."""
    with zipfile.ZipFile(p) as zf:
        items = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    xml = items["xl/worksheets/sheet1.xml"]
    for old, new in change.items():
        xml = xml.replace(old, new)
    items["xl/worksheets/sheet1.xml"] = xml
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in items.items():
            zf.writestr(name, data)


def _plain(p: Path, n: int = 40) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["Name", "Terms"])
    for i in range(1, n):
        ws.write_row(i, 0, [f"N{i}", i])
    wb.close()


def test_prefixed_sheet_xml(tmp_path: Path, cut_all: None) -> None:
    """Some tools write the sheet with a namespace prefix (``<x:row>``)."""
    p = tmp_path / "prefixed.xlsx"
    _plain(p)
    _rewrite_sheet(
        p,
        {
            b'<worksheet xmlns="': b'<x:worksheet xmlns:x="',
            b"</worksheet>": b"</x:worksheet>",
            b"<sheetData>": b"<x:sheetData>",
            b"</sheetData>": b"</x:sheetData>",
            b"<row ": b"<x:row ",
            b"</row>": b"</x:row>",
            b"<c ": b"<x:c ",
            b"</c>": b"</x:c>",
            b"<v>": b"<x:v>",
            b"</v>": b"</x:v>",
            b"<dimension ": b"<x:dimension ",
            b"<sheetViews>": b"<x:sheetViews>",
            b"</sheetViews>": b"</x:sheetViews>",
            b"<sheetView ": b"<x:sheetView ",
            b"<sheetFormatPr ": b"<x:sheetFormatPr ",
            b"<pageMargins ": b"<x:pageMargins ",
        },
    )
    assert _same_as_whole(p)[-1] == (40, ["N39", 39])


def test_rows_without_numbers_are_not_cut(tmp_path: Path, cut_all: None) -> None:
    """A row without its ``r`` attribute takes its number from the one before it, so
    the sheet is read whole (a half could not know where it starts)."""
    import re

    p = tmp_path / "unnumbered.xlsx"
    _plain(p)
    with zipfile.ZipFile(p) as zf:
        items = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    xml = items["xl/worksheets/sheet1.xml"]
    xml = re.sub(rb'<row r="\d+"', b"<row", xml)
    xml = re.sub(rb'<c r="[A-Z]+\d+"', b"<c", xml)
    items["xl/worksheets/sheet1.xml"] = xml
    with zipfile.ZipFile(p, "w") as zf:
        for name, data in items.items():
            zf.writestr(name, data)
    r = open_table(p)
    assert isinstance(r, SpreadsheetReader) and r._halves is None
    assert list(r)[-1] == (40, ["N39", 39])


def test_small_sheets_load_whole(tmp_path: Path) -> None:
    p = tmp_path / "small.xlsx"
    _plain(p)
    r = open_table(p)
    assert isinstance(r, SpreadsheetReader) and r._halves is None


def test_a_broken_second_half_is_reported_by_the_whole_load(tmp_path: Path, cut_all: None) -> None:
    p = tmp_path / "broken.xlsx"
    _plain(p)
    _rewrite_sheet(p, {b'<row r="30"': b'<row r="30"><c r="A30"><v>1<v></c>'})
    with pytest.raises(UserError, match=r"broken\.xlsx"):
        open_table(p)


def test_an_import_through_the_halves(tmp_path: Path, cut_all: None) -> None:
    """The importer sees the same rows, errors and line numbers either way."""
    from commands.fileformats import RowError, auto_map
    from commands.fileformats.validation import validate_rows

    p = tmp_path / "import.xlsx"
    rows = [[f"N{i}", f"n{i}@example.com" if i != 33 else "not-an-email"] for i in range(60)]
    write_table(p, ["name", "email"], rows, ["text", "text"])
    results = []
    for reader in (SpreadsheetReader(p), _whole(p)):
        mapping = auto_map("customers", reader.headers)
        results.append(list(validate_rows("customers", reader, mapping, "USD")))
    assert results[0] == results[1]
    errors = [e for e in results[0] if isinstance(e, RowError)]
    assert [(e.line, e.column) for e in errors] == [(35, "email")]
