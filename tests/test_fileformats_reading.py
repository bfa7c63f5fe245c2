"""Reading CSV (encodings, dialects, BOMs) and xlsx (typed cells) with line numbers."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from commands.errors import UserError
from commands.fileformats import open_table
from commands.fileformats.reading import CsvReader, Row, TableReader

ROWS = [
    ["Name", "Email", "City"],
    ["Zoë Müller", "zoe@example.com", "Köln"],
    ["Bob", "b@x.io", "Paris"],
]


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _csv(delim: str) -> str:
    return "\n".join(delim.join(r) for r in ROWS) + "\n"


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),  # with BOM, native order
        ("cp1252", "cp1252"),
        ("latin-1", "cp1252"),
    ],
)
def test_csv_encodings(tmp_path: Path, encoding: str, detected: str) -> None:
    p = _write(tmp_path / "c.csv", _csv(","), encoding)
    r = open_table(p)
    assert isinstance(r, CsvReader)
    assert r.encoding == detected
    assert r.headers == ["Name", "Email", "City"]
    assert list(r) == [(2, ROWS[1]), (3, ROWS[2])]


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
def test_csv_utf16_le_be_with_bom(tmp_path: Path, bom: bytes) -> None:
    codec = "utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"
    p = tmp_path / "u16.csv"
    p.write_bytes(bom + _csv(";").encode(codec))
    r = open_table(p)
    assert r.headers == ["Name", "Email", "City"]
    assert [cells for _, cells in r] == ROWS[1:]


def test_csv_utf16_without_bom(tmp_path: Path) -> None:
    p = tmp_path / "u16.csv"
    p.write_bytes(_csv(",").encode("utf-16-le"))
    assert [cells for _, cells in open_table(p)] == ROWS[1:]


def test_latin1_after_a_long_utf8_looking_prefix(tmp_path: Path) -> None:
    # the first non-ASCII byte comes after the sniffing sample: the whole file is checked
    body = "Name,Email\n" + "".join(f"n{i},n{i}@x.io\n" for i in range(20000))
    p = _write(tmp_path / "l.csv", body + "Zoë,z@x.io\n", "latin-1")
    r = open_table(p)
    assert isinstance(r, CsvReader)
    assert r.encoding == "cp1252"
    assert list(r)[-1] == (20002, ["Zoë", "z@x.io"])


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_csv_delimiters(tmp_path: Path, delim: str) -> None:
    p = _write(tmp_path / "d.csv", _csv(delim), "utf-8")
    r = open_table(p)
    assert r.delimiter == delim  # type: ignore[attr-defined]
    assert [c for _, c in r] == ROWS[1:]


def test_csv_quotes_and_physical_line_numbers(tmp_path: Path) -> None:
    text = (
        "Name;Address;Amount\r\n"
        '"Smith; John";"1 Main St\r\nSpringfield";"1.234,50"\r\n'
        "\r\n"
        '"Say ""hi""";x;3\r\n'
    )
    p = _write(tmp_path / "q.csv", text, "utf-8")
    rows = list(open_table(p))
    assert rows == [
        (2, ["Smith; John", "1 Main St\r\nSpringfield", "1.234,50"]),
        (5, ['Say "hi"', "x", "3"]),
    ]


def test_csv_blank_lines_before_header_and_duplicate_headers(tmp_path: Path) -> None:
    p = _write(tmp_path / "b.csv", "\n\nEmail,Email,\nA,B,\n", "utf-8")
    r = open_table(p)
    assert r.headers == ["Email", "Email (2)"]
    assert list(r) == [(4, ["A", "B", ""])]


def test_csv_single_column(tmp_path: Path) -> None:
    p = _write(tmp_path / "s.csv", "Email\na@b.co\n", "utf-8")
    assert list(open_table(p)) == [(2, ["a@b.co"])]


def test_reader_is_reiterable(tmp_path: Path) -> None:
    r = open_table(_write(tmp_path / "c.csv", _csv(","), "utf-8"))
    assert list(r) == list(r)


def test_unsupported_extension(tmp_path: Path) -> None:
    p = tmp_path / "x.pdf"
    p.write_bytes(b"%PDF")
    with pytest.raises(UserError, match=r"x\.pdf.*unsupported"):
        open_table(p)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.csv"):
        open_table(tmp_path / "nope.csv")
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(UserError, match=r"e\.csv.*empty"):
        open_table(tmp_path / "e.csv")


def test_unreadable_xlsx_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.xlsx"
    p.write_bytes(b"this is not a zip file")
    with pytest.raises(UserError, match=r"broken\.xlsx"):
        open_table(p)


def test_xlsx_typed_cells_and_row_numbers(tmp_path: Path) -> None:
    import xlsxwriter

    p = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet("Customers")
    ws.write_row(2, 1, ["Name", "Created", "Amount", "Terms", "Active"])  # starts at B3
    ws.write_string(3, 1, "Ann")
    ws.write_datetime(3, 2, datetime(2024, 1, 15), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_number(3, 3, 1234.5)
    ws.write_number(3, 4, 30)
    ws.write_boolean(3, 5, True)
    ws.write_string(5, 1, "Bea")  # row 6, after an empty row 5
    wb.add_worksheet("Other").write(0, 0, "x")
    wb.close()
    r = open_table(p)
    assert r.format == "xlsx"
    assert r.headers == ["Column 1", "Name", "Created", "Amount", "Terms", "Active"]
    rows = list(r)
    assert [line for line, _ in rows] == [4, 6]
    cells = rows[0][1]
    assert cells[1] == "Ann"
    assert cells[2] in (date(2024, 1, 15), datetime(2024, 1, 15))
    assert cells[3] == 1234.5 and cells[4] == 30 and cells[5] is True
    assert open_table(p, sheet="Other").headers == ["x"]
    with pytest.raises(UserError, match="no sheet"):
        open_table(p, sheet="Missing")


def _batched(reader: TableReader, size: int, raw: bool, first: int | None = None) -> list[Row]:
    out: list[Row] = []
    for n, (lines, cells) in enumerate(reader.batches(size, raw=raw, first=first)):
        limit = first if n == 0 and first is not None else size
        assert len(lines) == len(cells) and 0 < len(lines) <= limit
        out += zip(lines, cells, strict=True)
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 100])
@pytest.mark.parametrize("raw", [True, False])
def test_csv_batches_are_the_rows_with_their_lines(tmp_path: Path, size: int, raw: bool) -> None:
    text = (
        "\r\n"
        "Name,Address,Amount\r\n"
        '"Smith, John","1 Main St\r\nSpringfield","1234.50"\r\n'
        "\r\n"
        ",,\r\n"
        '"a\rb\nc\r\n\nd",\'=1+2,x\r\n'
        '"Say ""hi""",x,3\r\n'
        "\r\n"
    )
    r = open_table(_write(tmp_path / "q.csv", text, "utf-8"))
    assert _batched(r, size, raw) == list(r.rows(raw=raw))
    assert _batched(r, size, raw, first=1) == list(r.rows(raw=raw))
    assert [line for line, _ in _batched(r, size, raw)] == [3, 7, 12]
    assert _batched(r, size, raw)[1][1][1] == ("'=1+2" if raw else "=1+2")


def test_csv_batches_stay_exact_if_line_breaks_were_miscounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line numbers come from counting line breaks in quoted cells; were that count
    ever off, the rest of the file is read record by record, exactly."""
    from commands.fileformats import reading

    text = 'a,b\r\n1,2\r\n"x\r\ny",3\r\n4,5\r\n"p\nq",6\r\n'
    r = open_table(_write(tmp_path / "m.csv", text, "utf-8"))
    expected = list(r.rows(raw=True))
    monkeypatch.setattr(reading, "_breaks", lambda rec: 0)  # wrong for the quoted cells
    assert _batched(r, 2, True) == expected
    assert [line for line, _ in expected] == [2, 3, 5, 6]


@pytest.mark.parametrize("size", [1, 2, 100])
@pytest.mark.parametrize("raw", [True, False])
def test_xlsx_batches_are_the_rows_with_their_lines(tmp_path: Path, size: int, raw: bool) -> None:
    import xlsxwriter

    p = tmp_path / "a.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet()
    ws.write_row(1, 0, ["Name", "Email", "Terms"])  # the header on line 2, from column A
    ws.write_row(2, 0, ["Ann", "", 30])
    ws.write_row(3, 0, ["", "", ""])  # empty cells only: skipped
    ws.write_row(5, 0, ["'=1+2", "b@example.com"])  # after an empty line 5
    wb.close()
    r = open_table(p)
    assert r.headers == ["Name", "Email", "Terms"]
    assert _batched(r, size, raw) == list(r.rows(raw=raw))
    assert _batched(r, size, raw, first=1) == list(r.rows(raw=raw))
    assert _batched(r, size, raw) == [
        (3, ["Ann", None, 30]),
        (6, ["'=1+2" if raw else "=1+2", "b@example.com", None]),
    ]


def _big_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Name,Email,Company,Phone,Tags,Created,Terms,Status\n")
        for i in range(n):
            fh.write(f"Customer {i},c{i}@example.com,Co {i},+1 555 {i},vip,2024-01-02,30,active\n")


def _consume(it: Iterator[object]) -> int:
    n = 0
    for _ in it:
        n += 1
    return n


def test_streaming_200k_rows_keeps_memory_flat(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    _big_csv(p, 200_000)
    assert p.stat().st_size > 15_000_000
    r = open_table(p)
    tracemalloc.start()
    try:
        count = _consume(iter(r))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 2_000_000, f"peak {peak} bytes: rows were accumulated"
