"""Validation: typed records, and every error with its line and column."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from commands.fileformats import (
    CustomerRecord,
    InvoiceRecord,
    PaymentRecord,
    RowError,
    auto_map,
    open_table,
    parse_amount,
    parse_date,
    validate_rows,
)
from commands.fileformats.reading import Cell
from commands.fileformats.validation import CleanChunk, validate_clean_chunks
from commands.fileformats.values import parse_email, parse_terms


def run(kind: str, path: Path, text: str, **kw: str) -> list[object]:
    path.write_text(text, encoding="utf-8")
    r = open_table(path)
    return list(validate_rows(kind, r, auto_map(kind, r.headers), **kw))


def errors(items: list[object]) -> list[str]:
    return [str(e) for e in items if isinstance(e, RowError)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024-03-05T10:30:00Z", date(2024, 3, 5)),
        ("2024-03-05 23:59", date(2024, 3, 5)),
        ("2024/3/5", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("25/12/2024", date(2024, 12, 25)),
        ("12/25/2024", date(2024, 12, 25)),
        ("05.03.2024", date(2024, 3, 5)),
        ("07/07/2024", date(2024, 7, 7)),
        ("25/12/24", date(2024, 12, 25)),
        ("5 Mar 2024", date(2024, 3, 5)),
        ("Mar 5, 2024", date(2024, 3, 5)),
        ("05-Mar-2024", date(2024, 3, 5)),
        ("45356", date(2024, 3, 5)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_parse_date_typed_and_ambiguous() -> None:
    assert parse_date(datetime(2024, 3, 5, 10)) == date(2024, 3, 5)
    assert parse_date(45356.0) == date(2024, 3, 5)  # Excel serial
    with pytest.raises(ValueError, match="ambiguous date"):
        parse_date("03/04/2024")
    assert parse_date("03/04/2024", "dmy") == date(2024, 4, 3)
    assert parse_date("03/04/2024", "mdy") == date(2024, 3, 4)
    for bad in ("2024-13-01", "31/31/2024", "yesterday", "12"):
        with pytest.raises(ValueError):
            parse_date(bad)


@pytest.mark.parametrize(
    ("cell", "cents"),
    [
        ("1234.50", 123450),
        ("1,234.50", 123450),
        ("1.234,50", 123450),
        ("1 234,50", 123450),
        ("1234,5", 123450),
        ("$1,234.50", 123450),
        ("USD 12", 1200),
        ("12.00 USD", 1200),
        ("1,234", 123400),
        ("1.234.567", 123456700),
        ("-12.50", -1250),
        ("(12.50)", -1250),
        ("0.5", 50),
        (1234.5, 123450),
        (0.1 + 0.2, 30),
        (12, 1200),
    ],
)
def test_parse_amount(cell: Cell, cents: int) -> None:
    assert parse_amount(cell) == cents


def test_parse_amount_errors_and_currencies() -> None:
    assert parse_amount("€1.234,50", "EUR") == 123450
    assert parse_amount("1234", "JPY") == 1234
    with pytest.raises(ValueError, match="EUR, differs from the base currency USD"):
        parse_amount("€12")
    with pytest.raises(ValueError, match="ambiguous amount"):
        parse_amount("1.234")
    for bad in ("12.345", "abc", "1,2,3", "", "1.2.3,4,5"):
        with pytest.raises(ValueError):
            parse_amount(bad)


def test_parse_terms() -> None:
    assert [parse_terms(x) for x in ("30", "Net 30", "net30", "14 days", 45.0, "Due on receipt")] \
        == [30, 30, 30, 14, 45, 0]  # fmt: skip
    with pytest.raises(ValueError, match="bad payment terms"):
        parse_terms("monthly")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("ann+billing@example.com", True),
        ("łukasz.silva.58490@example.test", True),  # UTF-8 local parts (RFC 6531)
        ("søren@exämple.test", True),
        ("用户@例子.广告", True),
        ("o'brien@example.ie", True),
        ("not-an-email", False),
        ("a..b@example.com", False),
        ("a b@example.com", False),
        ('"quoted"@example.com', False),
        ("x@localhost", False),
        ("x@example.c", False),
    ],
)
def test_parse_email(text: str, ok: bool) -> None:
    if ok:
        assert parse_email(text) == text
    else:
        with pytest.raises(ValueError, match="bad email"):
            parse_email(text)


def test_unicode_emails_pass_the_column_check_and_the_row_check(tmp_path: Path) -> None:
    out = run(
        "customers",
        tmp_path / "u.csv",
        "name,email\nŁukasz,łukasz.nowak@example.test\nSøren,søren@example.test\nX,x..y@z.io\n",
    )
    assert [r.email for r in out if isinstance(r, CustomerRecord)] == [
        "łukasz.nowak@example.test", "søren@example.test",
    ]  # fmt: skip
    assert errors(out) == ["row 4, column email: bad email 'x..y@z.io'"]


def test_customers_records(tmp_path: Path) -> None:
    out = run(
        "customers",
        tmp_path / "c.csv",
        "First Name,Last Name,Email,Tags,Created,Terms,Status,custom:Region\n"
        "Ann,Lee,ann@x.io,vip; b2b;vip,15/01/2024,Net 30,Archived,North\n"
        ",,bob@x.io,,,,,\n",
    )
    assert out == [
        CustomerRecord(2, "Ann Lee", "ann@x.io", tags=["vip", "b2b"], status="archived",
                       created_at=date(2024, 1, 15), payment_terms_days=30,
                       custom={"Region": "North"}),
        CustomerRecord(3, None, "bob@x.io", custom={}),
    ]  # fmt: skip


def test_every_customer_error_with_line_and_column(tmp_path: Path) -> None:
    out = run(
        "customers",
        tmp_path / "c.csv",
        "Name,Email,Phone,Status,Tags,Created,Terms\n"
        "A,not-an-email,,,,,\n"  # 2
        'B,b@x.io,call me,gone,"a, b",someday,monthly\n'  # 3
        ",,,,,,\n"  # 4 is empty: skipped
        ",,123,,,,\n"  # 5
        "C,c@x.io,,,,,,extra\n",  # 6
    )
    assert errors(out) == [
        "row 2, column Email: bad email 'not-an-email'",
        "row 3, column Phone: bad phone number 'call me'",
        "row 3, column Status: bad status 'gone' (expected active, archived)",
        "row 3, column Tags: bad tag 'a, b': tags are separated by ';' and hold no commas or "
        "control characters",
        "row 3, column Created: unparseable date 'someday'",
        "row 3, column Terms: bad payment terms 'monthly' (expected days, e.g. 30)",
        "row 5: missing name and email (one of them is required)",
        "row 6: 8 cells but only 7 columns in the header",
    ]


def test_duplicate_emails_name_both_lines(tmp_path: Path) -> None:
    out = run("customers", tmp_path / "d.csv", "Name,Email\nA,a@x.io\nB,b@x.io\nC,A@X.io\n")
    dup = [e for e in out if isinstance(e, RowError)]
    assert [str(e) for e in dup] == ["row 4, column Email: duplicate email A@X.io (also on row 2)"]
    assert dup[0].line == 4 and dup[0].related_lines == (2,)
    assert len([r for r in out if isinstance(r, CustomerRecord)]) == 2


def test_invoices(tmp_path: Path) -> None:
    out = run(
        "invoices",
        tmp_path / "i.csv",
        "Invoice Number;Customer Email;Invoice Date;Due Date;Total;Currency;Status\n"
        "INV-1;a@x.io;2024-01-05;2024-02-04;1.234,50;USD;sent\n"  # 2 ok
        "INV-2;a@x.io;2024-01-05;;$99;;Authorised\n"  # 3 ok
        "INV-3;a@x.io;2024-01-05;;10;EUR;paid\n"  # 4
        "INV-1;a@x.io;2024-01-06;;5;;\n"  # 5 duplicate
        ";bad;;2024-01-01;ten;usd;draft\n"  # 6
        "INV-4;a@x.io;2024-02-05;2024-01-01;-5;;\n",  # 7
    )
    assert out[:2] == [
        InvoiceRecord(2, "INV-1", "a@x.io", date(2024, 1, 5), 123450, "USD", date(2024, 2, 4),
                      "sent"),
        InvoiceRecord(3, "INV-2", "a@x.io", date(2024, 1, 5), 9900, "USD", None, "sent"),
    ]  # fmt: skip
    assert errors(out) == [
        "row 4, column Currency: EUR differs from the base currency USD",
        "row 4, column Status: bad status 'paid' (expected draft, sent, void); paid and partial "
        "come from payments (import those)",
        "row 5, column Invoice Number: duplicate invoice number INV-1 (also on row 2)",
        "row 6, column Customer Email: bad email 'bad'",
        "row 6, column Total: unparseable amount 'ten'",
        "row 6, column Invoice Number: missing number",
        "row 6, column Invoice Date: missing issued_on",
        "row 7, column Total: negative total -5",
        "row 7, column Due Date: due date 2024-01-01 is before the issue date 2024-02-05",
    ]


def test_other_currency_as_in_the_requirement(tmp_path: Path) -> None:
    text = "number,customer_email,issued_on,total,Currency\n" + "".join(
        f"N{i},a@x.io,2024-01-01,1,{'EUR' if i == 6 else 'USD'}\n" for i in range(1, 8)
    )
    assert errors(run("invoices", tmp_path / "i.csv", text)) == [
        "row 7, column Currency: EUR differs from the base currency USD"
    ]
    assert errors(run("invoices", tmp_path / "i.csv", text, base_currency="EUR")) != []


def test_payments(tmp_path: Path) -> None:
    out = run(
        "payments",
        tmp_path / "p.csv",
        "Invoice,Payment Date,Amount,Method\n"
        "INV-1,2024-02-01,100.00,card\n"
        "INV-1,2024-02-02,-20,refund\n"
        "INV-2,,,\n",
    )
    assert out[:2] == [
        PaymentRecord(2, "INV-1", date(2024, 2, 1), 10000, "card"),
        PaymentRecord(3, "INV-1", date(2024, 2, 2), -2000, "refund"),
    ]
    assert errors(out) == [
        "row 4, column Payment Date: missing paid_on",
        "row 4, column Amount: missing amount",
    ]


def test_unmapped_required_field_has_no_column(tmp_path: Path) -> None:
    out = run("payments", tmp_path / "p.csv", "Invoice,Amount\nINV-1,5\n")
    assert errors(out) == ["row 2: missing paid_on"]


def test_xlsx_typed_cells_validate(tmp_path: Path) -> None:
    import xlsxwriter

    p = tmp_path / "i.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["Number", "Email", "Date", "Due", "Total"])
    fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write_number(1, 0, 1001)  # a numeric invoice number
    ws.write_string(1, 1, "a@x.io")
    ws.write_datetime(1, 2, datetime(2024, 3, 5), fmt)
    ws.write_number(1, 3, 45387)  # an Excel serial without a date format
    ws.write_number(1, 4, 1234.56)
    wb.close()
    r = open_table(p)
    assert list(validate_rows("invoices", r, auto_map("invoices", r.headers))) == [
        InvoiceRecord(2, "1001", "a@x.io", date(2024, 3, 5), 123456, "USD", date(2024, 4, 5))
    ]


def test_clean_chunks_come_as_columns_and_the_rest_as_records(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text(
        "name,email,tags,custom:tier\n"
        "Ann,ann@example.com,vip,\n"  # chunk 1 (lines 2-3): clean
        "Bo,,,\n"
        "Cy,cy@example.com,,\n"  # chunk 2: repeats Ann's email, differently cased
        "Ann Two,ANN@example.com,,\n"
        "Di,di@example.com,,\n"  # chunk 3: a custom value
        "Ed,ed@example.com,,gold\n"
        "Fa,fa@example.com,,\n"  # chunk 4: a bad email
        "Gu,not-an-email,,\n"
        "Ha,ha@example.com,a;b,\n",  # chunk 5: clean
        encoding="utf-8",
    )
    r = open_table(p)
    mapping = auto_map("customers", r.headers)
    taken: list[CleanChunk] = []

    def take(chunk: CleanChunk) -> tuple[str, list[int]]:
        taken.append(chunk)
        return ("columns", chunk.lines)

    out = list(validate_clean_chunks(r, mapping, "USD", take, size=2))
    assert out[0] == ("columns", [2, 3]) and out[4] == ("columns", [10])
    assert taken[0].values["email"] == ["ann@example.com", None]
    assert taken[0].values["tags"] == [["vip"], None]
    assert taken[0].emails == {"ann@example.com": 2}
    records = [x for x in out if isinstance(x, list)]
    assert len(records) == 3
    assert errors(records[0]) == [
        "row 5, column email: duplicate email ANN@example.com (also on row 2)"
    ]
    assert [type(x) for x in records[1]] == [CustomerRecord, CustomerRecord]
    assert errors(records[2]) == ["row 9, column email: bad email 'not-an-email'"]
    # a chunk ``take`` declines comes as records; the records are what validate_rows gives
    declined = list(validate_clean_chunks(r, mapping, "USD", lambda chunk: None, size=2))
    assert [x for chunk in declined for x in chunk] == list(validate_rows("customers", r, mapping))
