"""Text output of results: data is printed as written, never read as rich markup."""

from __future__ import annotations

import io
from decimal import Decimal

from rich.console import Console

from commands.render import render_text, result_json
from commands.results import (
    ConfirmationNeeded,
    CustomerRow,
    MutationResult,
    QueryResult,
    TableResult,
)

TRICKY = "[bold]Evil[/bold] [red]Corp"


def printed(result: object) -> str:
    out = io.StringIO()
    render_text(result, Console(file=out, width=200, color_system=None))  # type: ignore[arg-type]
    return out.getvalue()


def customer(name: str) -> CustomerRow:
    zero = Decimal("0.00")
    return CustomerRow(
        id=7, name=name, email="a@b.test", company="[i]co", status="active", tags=["[x]"],
        revenue=zero, invoiced=zero, outstanding=zero, invoice_count=0,
        average_invoice_value=zero, last_invoice_date=None, last_payment_date=None,
        invoice_frequency_days=None, average_days_to_pay=None, average_days_late=None,
        on_time_rate=None,
    )  # fmt: skip


def test_a_dry_run_says_so_and_names_print_as_written() -> None:
    text = printed(MutationResult("tag", 1, "Tagged 1 customer with vip", dry_run=True,
                                  sample=[f"#7 {TRICKY}"]))  # fmt: skip
    assert "[dry run] Tagged 1 customer with vip" in text
    assert f"#7 {TRICKY}" in text
    asked = printed(ConfirmationNeeded("tag", 9, f"Tag {TRICKY}?", sample=[TRICKY]))
    assert asked.count(TRICKY) == 2


def test_tables_print_cells_as_written() -> None:
    text = printed(QueryResult(total=1, rows=[customer(TRICKY)]))
    assert TRICKY in text and "[i]co" in text and "[x]" in text
    listing = printed(TableResult("[b]Notes", ["[c]ol"], [[TRICKY]], footer="[f]oot"))
    assert "[b]Notes" in listing and "[c]ol" in listing and TRICKY in listing
    assert "[f]oot" in listing


def test_a_long_table_prints_its_first_rows_and_says_where_the_rest_are() -> None:
    rows = [[f"row-{i:04d}", Decimal(i)] for i in range(1, 251)]
    text = printed(TableResult("Payment history", ["name", "amount"], rows, footer="250 rows"))
    assert "row-0001" in text and "row-0100" in text
    assert "row-0101" not in text and "row-0250" not in text
    assert "(the first 100 of 250 rows; `... to FILE.csv` or FILE.xlsx writes them all" in text
    assert "250 rows" in text  # the footer still counts every row
    short = printed(TableResult("Notes", ["text"], [["one"], ["two"]]))
    assert "the first" not in short and "two" in short
    # a report written to a file: the file has every row
    written = TableResult("CLV", ["name"], [[f"r{i}"] for i in range(100)], total_rows=97_974,
                          path="/tmp/clv.xlsx")  # fmt: skip
    assert "(the first 100 of 97,974 rows; /tmp/clv.xlsx has them all)" in printed(written)
    as_json = result_json(written)
    assert (as_json["total_rows"], as_json["path"], len(as_json["rows"])) == (
        97_974, "/tmp/clv.xlsx", 100,
    )  # fmt: skip


def test_a_long_customer_list_prints_its_first_rows() -> None:
    many = QueryResult(total=5000, rows=[customer(f"name-{i:04d}") for i in range(150)])
    text = printed(many)
    assert "5,000 customers" in text and "name-0099" in text and "name-0100" not in text
    assert "(the first 100 of 5,000; `export ... to FILE.csv` writes them all" in text
    assert "the first" not in printed(QueryResult(total=1, rows=[customer("Ann")]))
