"""Import and export through the executor, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from commands.errors import UserError
from commands.executor import Call, parse_sentence, run
from commands.importing import remapped_sentence
from commands.results import ConfirmationNeeded, MutationResult, Progress, QueryResult
from commands.verbs_files import export_headers, import_file, import_preview
from commands.workspace import Workspace
from grammar import ast as A
from store.models import (
    Customer,
    CustomerTag,
    CustomField,
    CustomFieldValue,
    Invoice,
    Note,
    Payment,
    Tag,
)

c: Any = Customer.__table__
inv: Any = Invoice.__table__
pay: Any = Payment.__table__


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def count(ws: Workspace, table: Any) -> int:
    with ws.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def customers(ws: Workspace) -> dict[str, Any]:
    with ws.read() as conn:
        return {r.email: r for r in conn.execute(select(c))}


def tags_of(ws: Workspace, email: str) -> list[str]:
    t: Any = Tag.__table__
    ct: Any = CustomerTag.__table__
    with ws.read() as conn:
        return sorted(
            conn.execute(
                select(t.c.name)
                .join(ct, ct.c.tag_id == t.c.id)
                .join(c, c.c.id == ct.c.customer_id)
                .where(c.c.email == email)
            ).scalars()
        )


def custom_of(ws: Workspace, email: str) -> dict[str, Any]:
    cf: Any = CustomField.__table__
    cfv: Any = CustomFieldValue.__table__
    with ws.read() as conn:
        rows = conn.execute(
            select(cf.c.name, cfv.c.text_value, cfv.c.number_value)
            .join(cfv, cfv.c.field_id == cf.c.id)
            .join(c, c.c.id == cfv.c.customer_id)
            .where(c.c.email == email)
        )
        return {n: t if t is not None else v for n, t, v in rows}


CUSTOMERS = [
    ["Full Name", "E-mail Address", "Organisation", "Tags", "custom:industry", "Terms"],
    ["Ann Lee", "ann@example.com", "Acme", "vip;b2b", "retail", "net 14"],
    ["Bob Ray", "bob@example.com", "Ray & Co", "", "tech", "30"],
    ["Cy Dee", "cy@example.com", "", "b2b", "", ""],
    ["Di Eve", "di@example.com", "Eve GmbH", "", "", ""],
]


@pytest.fixture
def people(ws: Workspace, tmp_path: Path) -> Workspace:
    path = write_csv(tmp_path / "people.csv", CUSTOMERS)
    result = run(ws, f"import customers from {path}", confirmed=True)
    assert isinstance(result, MutationResult) and result.affected == 4
    return ws


def test_import_customers_with_tags_custom_fields_and_terms(people: Workspace) -> None:
    rows = customers(people)
    assert set(rows) == {"ann@example.com", "bob@example.com", "cy@example.com", "di@example.com"}
    ann = rows["ann@example.com"]
    assert (ann.name, ann.company, ann.payment_terms_days, ann.status) == (
        "Ann Lee",
        "Acme",
        14,
        "active",
    )
    assert ann.created_on == date(2026, 6, 30)  # D when the file has no date
    assert "ann lee" in ann.search_text
    assert tags_of(people, "ann@example.com") == ["b2b", "vip"]
    assert custom_of(people, "ann@example.com") == {"industry": "retail"}
    assert custom_of(people, "di@example.com") == {}
    # new customers are in lists and search straight away
    found = run(people, "customers matching ann")
    assert isinstance(found, QueryResult) and [r.email for r in found.rows] == ["ann@example.com"]
    listed = run(people, "customers tagged vip")
    assert isinstance(listed, QueryResult) and listed.total == 1


def test_upsert_by_email_and_conflict_modes(people: Workspace, tmp_path: Path) -> None:
    before = customers(people)
    path = write_csv(
        tmp_path / "update.csv",
        [
            ["email", "name", "phone", "tags"],
            ["ANN@example.com", "Ann Lee-Smith", "+1 555 0100", "gold"],
            ["new@example.com", "Newcomer", "", ""],
        ],
    )
    result = run(people, f"import customers from {path}", confirmed=True)
    assert isinstance(result, MutationResult)
    assert "1 new customer, 1 updated" in result.message
    after = customers(people)
    ann = after["ann@example.com"]
    assert ann.id == before["ann@example.com"].id
    assert (ann.name, ann.phone, ann.company) == ("Ann Lee-Smith", "+1 555 0100", "Acme")
    assert tags_of(people, "ann@example.com") == ["gold"]
    assert custom_of(people, "ann@example.com") == {"industry": "retail"}  # not in the file
    assert len(after) == 5

    skip = run(people, f"import customers from {path}", confirmed=True)
    assert isinstance(skip, MutationResult) and skip.affected == 0 and "2 skipped" in skip.message
    with pytest.raises(UserError) as err:
        import_file(
            people, "customers", str(path), Call("import", confirmed=True), on_conflict="error"
        )
    assert "row 2, column email: customer ANN@example.com already exists" in err.value.message


def test_mapping_overrides(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "odd.csv",
        [
            ["Who", "Reach", "Notes", "Segment code"],
            ["Ann", "ann@example.com", "likes tea", "A1"],
        ],
    )
    preview = import_preview(ws, str(path))
    assert preview.missing_required == ["name or email"]
    assert preview.unknown_columns == ["Who", "Reach", "Notes", "Segment code"]
    overrides = ["Who=name", "Reach=email", "Notes=", "Segment code=custom:segment code"]
    call = Call("import customers", confirmed=True, extra={"overrides": overrides})
    result = import_file(ws, "customers", str(path), call, overrides=overrides)
    assert isinstance(result, MutationResult) and result.affected == 1
    assert customers(ws)["ann@example.com"].name == "Ann"
    assert custom_of(ws, "ann@example.com") == {"segment code": "A1"}
    with pytest.raises(UserError, match="is not a customers field"):
        import_file(ws, "customers", str(path), call, overrides=["Who=nmae"])
    with pytest.raises(UserError, match="no column"):
        import_file(ws, "customers", str(path), call, overrides=["Nope=name"])


def test_a_sentence_maps_columns_like_map_options(ws: Workspace, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "odd file.csv",
        [["Who", "Reach", "Notes", "Segment code"], ["Ann", "ann@example.com", "tea", "A1"]],
    )
    sentence = (
        f'import customers from "{path}" mapping Who as name, Reach as email, '
        'Notes as nothing, "Segment code" as custom:"segment code"'
    )
    result = run(ws, sentence, confirmed=True)
    assert isinstance(result, MutationResult) and result.affected == 1
    assert "not imported" not in result.message  # Notes was left out on purpose
    assert customers(ws)["ann@example.com"].name == "Ann"
    assert custom_of(ws, "ann@example.com") == {"segment code": "A1"}
    preview = import_preview(ws, sentence)
    assert preview.mapping == {
        "Who": "name", "Reach": "email", "Notes": None, "Segment code": "custom:segment code",
    }  # fmt: skip
    assert preview.samples == {"Who": "Ann", "Reach": "ann@example.com", "Notes": "tea",
                               "Segment code": "A1"}  # fmt: skip
    assert preview.fields[:2] == ["name", "email"] and preview.error_count == 0
    # the word at fault, and a suggestion; nothing is written
    with pytest.raises(UserError, match="mapping 'Reach as emial': 'emial' is not a cust") as bad:
        run(ws, f'import customers from "{path}" mapping Who as name, Reach as emial')
    assert bad.value.suggestions == ["email"]
    with pytest.raises(UserError, match="mapping 'Rech as email': the file has no column 'Rech'"):
        run(ws, f'import customers from "{path}" mapping Rech as email')
    # without a name or email column the message says how to map one
    with pytest.raises(UserError, match='add `mapping "Column" as name` to the sentence'):
        run(ws, f'import customers from "{path}"')


def test_remapped_sentences_run_as_mapped() -> None:
    s = "import customers from ~/x.csv"
    s = remapped_sentence(s, "Firma", "company")
    assert s == 'import customers from "~/x.csv" mapping "Firma" as company'
    s = remapped_sentence(s, 'Tel "Nr"', "phone")
    s = remapped_sentence(s, "Branche", "custom:Plan Name")
    s = remapped_sentence(s, "Notes", "")
    s = remapped_sentence(s, "Firma", None)  # back to the detected mapping
    assert parse_sentence(s) == A.Import(
        "customers",
        "~/x.csv",
        (('Tel "Nr"', "phone"), ("Branche", "custom:Plan Name"), ("Notes", "")),
    )
    with pytest.raises(UserError, match="'compny' is not a customers field"):
        remapped_sentence(s, "Firma", "compny")
    with pytest.raises(UserError, match="both kinds of quote"):
        remapped_sentence(s, """it's "odd\"""", "name")


def test_every_validation_error_has_line_and_column_and_nothing_is_written(
    people: Workspace, tmp_path: Path
) -> None:
    people_before = count(people, c)
    path = write_csv(
        tmp_path / "bad.csv",
        [
            ["name", "email", "created_at", "payment_terms_days", "tags"],
            ["Ok One", "ok1@example.com", "2026-01-02", "30", ""],
            ["Bad Mail", "not-an-email", "2026-01-02", "30", ""],
            ["Bad Date", "d@example.com", "31/31/2026", "30", ""],
            ["Dup", "ok1@example.com", "", "", ""],
            ["Bad Terms", "t@example.com", "", "soon", ""],
            ["", "", "", "", ""],
            ["Bad Tag", "tag@example.com", "", "", "!!!"],
        ],
    )
    with pytest.raises(UserError) as err:
        run(people, f"import customers from {path}", confirmed=True)
    msg = err.value.message
    assert "nothing was imported" in msg
    assert "row 3, column email: bad email 'not-an-email'" in msg
    assert "row 4, column created_at:" in msg
    assert "row 5, column email: duplicate email ok1@example.com (also on row 2)" in msg
    assert "row 6, column payment_terms_days:" in msg
    assert "row 8, column tags: bad tag name '!!!'" in msg
    assert count(people, c) == people_before  # all or nothing: Ok One is not there

    invoices = write_csv(
        tmp_path / "bad_inv.csv",
        [
            ["number", "customer_email", "issued_on", "total", "currency"],
            ["I-1", "ann@example.com", "2026-01-01", "100.00", "USD"],
            ["I-2", "ghost@example.com", "2026-01-01", "100.00", "USD"],
            ["I-3", "ann@example.com", "2026-01-01", "12,34,5.x", "USD"],
            ["I-4", "ann@example.com", "2026-01-01", "100.00", "EUR"],
            ["I-1", "ann@example.com", "2026-01-01", "100.00", "USD"],
        ],
    )
    with pytest.raises(UserError) as err:
        run(people, f"import invoices from {invoices}", confirmed=True)
    msg = err.value.message
    assert "row 3, column customer_email: unknown customer ghost@example.com" in msg
    assert "row 4, column total:" in msg
    assert "row 5, column currency: EUR differs from the base currency USD" in msg
    assert "row 6, column number: duplicate invoice number I-1 (also on row 2)" in msg
    assert count(people, inv) == 0

    payments = write_csv(
        tmp_path / "bad_pay.csv",
        [["invoice_number", "paid_on", "amount"], ["NOPE-1", "2026-01-01", "5"]],
    )
    with pytest.raises(UserError, match="row 2, column invoice_number: unknown invoice NOPE-1"):
        run(people, f"import payments from {payments}", confirmed=True)


def test_typed_custom_field_errors_are_listed_in_line_order(
    people: Workspace, tmp_path: Path
) -> None:
    cf: Any = CustomField.__table__
    with people.write() as conn:
        conn.execute(
            insert(cf),
            [
                {"name": "tier", "type": "choice", "choices": ["gold", "silver"]},
                {"name": "seats", "type": "number", "choices": None},
            ],
        )
    people_before = count(people, c)
    path = write_csv(
        tmp_path / "typed.csv",
        [
            ["Name", "E-Mail", "Tier", "Seats"],
            ["Ann", "ann@example.com", "platinum", "3"],  # known customer: checked on update
            ["Cy", "not-an-email", "gold", "2"],
            ["New One", "new1@example.com", "Silver", "many"],
            ["New Two", "new2@example.com", "gold", "4"],
        ],
    )
    overrides = ["Tier=custom:tier", "Seats=custom:seats"]
    call = Call("import customers", confirmed=True, extra={"overrides": overrides})
    with pytest.raises(UserError) as err:
        import_file(people, "customers", str(path), call, overrides=overrides)
    lines = err.value.message.splitlines()
    assert lines[0] == "3 errors in typed.csv; nothing was imported:"
    assert lines[1:] == [
        "  row 2, column Tier: tier is a choice field; 'platinum' is not one of gold, silver",
        "  row 3, column E-Mail: bad email 'not-an-email'",
        "  row 4, column Seats: seats is a number field; 'many' is not a number",
    ]
    assert count(people, c) == people_before
    assert custom_of(people, "ann@example.com") == {"industry": "retail"}


def test_error_list_is_capped_with_a_count(ws: Workspace, tmp_path: Path) -> None:
    rows = [["name", "email"]] + [[f"P{i}", f"bad{i}"] for i in range(30)]
    path = write_csv(tmp_path / "many.csv", rows)
    with pytest.raises(UserError) as err:
        run(ws, f"import customers from {path}", confirmed=True)
    assert err.value.message.startswith("30 errors in many.csv")
    assert "... and 10 more" in err.value.message
    assert err.value.message.count("column email") == 20


def test_invoices_and_payments_import_feed_the_figures(people: Workspace, tmp_path: Path) -> None:
    invoices = write_csv(
        tmp_path / "inv.csv",
        [
            ["Invoice Number", "Customer Email", "Invoice Date", "Due Date", "Amount", "Status"],
            ["I-1", "ann@example.com", "2026-05-01", "2026-05-31", "1,000.00", "sent"],
            ["I-2", "ann@example.com", "2026-06-01", "", "250.00", "authorised"],
            ["I-3", "bob@example.com", "2026-06-01", "2026-07-01", "80.00", "draft"],
        ],
    )
    result = run(people, f"import invoices from {invoices}", confirmed=True)
    assert isinstance(result, MutationResult) and result.affected == 3
    with people.read() as conn:
        rows = {r.number: r for r in conn.execute(select(inv))}
    assert rows["I-1"].total_cents == 100000 and rows["I-1"].currency == "USD"
    assert rows["I-2"].due_on == date(2026, 6, 15)  # Ann's terms are net 14
    assert rows["I-2"].status == "sent" and rows["I-3"].status == "draft"
    payments = write_csv(
        tmp_path / "pay.csv",
        [
            ["invoice_number", "paid_on", "amount", "method"],
            ["I-1", "2026-06-05", "1000.00", "card"],
            ["I-2", "2026-06-20", "100.00", "bank"],
        ],
    )
    run(people, f"import payments from {payments}", confirmed=True)
    with people.read() as conn:
        i1 = conn.execute(select(inv).where(inv.c.number == "I-1")).one()
    assert (i1.paid_cents, i1.settled_on) == (100000, date(2026, 6, 5))
    ann = run(people, "customers matching ann@example.com")
    assert isinstance(ann, QueryResult)
    row = ann.rows[0]
    assert str(row.revenue) == "1100.00" and str(row.outstanding) == "150.00"
    # the same payments again are recognised, not doubled
    again = run(people, f"import payments from {payments}", confirmed=True)
    assert isinstance(again, MutationResult) and again.affected == 0
    assert count(people, pay) == 2
    # invoices upsert by number
    update = write_csv(
        tmp_path / "inv2.csv",
        [
            ["number", "customer_email", "issued_on", "total"],
            ["I-2", "ann@example.com", "2026-06-01", "100.00"],
        ],
    )
    run(people, f"import invoices from {update}", confirmed=True)
    ann = run(people, "customers matching ann@example.com")
    assert isinstance(ann, QueryResult) and str(ann.rows[0].outstanding) == "0.00"


def test_dry_run_and_confirmation_change_nothing(people: Workspace, tmp_path: Path) -> None:
    rows = [["name", "email"]] + [[f"P{i}", f"p{i}@example.com"] for i in range(10)]
    path = write_csv(tmp_path / "ten.csv", rows)
    dry = run(people, f"import customers from {path}", dry_run=True)
    assert isinstance(dry, MutationResult) and dry.dry_run and dry.affected == 10
    assert "would import" in dry.message
    assert count(people, c) == 4
    ask = run(people, f"import customers from {path}")
    assert isinstance(ask, ConfirmationNeeded) and ask.action == "import" and ask.affected == 10
    assert count(people, c) == 4
    seen: list[Progress] = []
    done = run(people, f"import customers from {path}", confirmed=True, progress=seen.append)
    assert isinstance(done, MutationResult) and done.affected == 10
    assert count(people, c) == 14
    assert seen and seen[-1].done == 10


def test_undo_of_customer_import_deletes_inserts_and_restores_updates(
    people: Workspace, tmp_path: Path
) -> None:
    before = customers(people)
    path = write_csv(
        tmp_path / "u.csv",
        [
            ["email", "name", "tags", "custom:industry", "custom:tier"],
            ["ann@example.com", "Changed", "newtag", "finance", "gold"],
            ["zed@example.com", "Zed", "newtag", "", "silver"],
        ],
    )
    run(people, f"import customers from {path}", confirmed=True)
    assert customers(people)["ann@example.com"].name == "Changed"
    undone = run(people, "undo")
    assert isinstance(undone, MutationResult) and undone.action == "undo"
    after = customers(people)
    assert set(after) == set(before)
    assert after["ann@example.com"].name == "Ann Lee"
    assert "ann lee" in after["ann@example.com"].search_text
    assert tags_of(people, "ann@example.com") == ["b2b", "vip"]
    assert custom_of(people, "ann@example.com") == {"industry": "retail"}
    with people.read() as conn:
        assert conn.execute(select(Tag.name).where(Tag.name == "newtag")).first() is None
        assert (
            conn.execute(select(CustomField.name).where(CustomField.name == "tier")).first() is None
        )
    found = run(people, "customers matching changed")
    assert isinstance(found, QueryResult) and found.total == 0


def test_undo_of_invoice_and_payment_imports(people: Workspace, tmp_path: Path) -> None:
    invoices = write_csv(
        tmp_path / "inv.csv",
        [
            ["number", "customer_email", "issued_on", "total"],
            ["I-1", "ann@example.com", "2026-05-01", "100"],
        ],
    )
    payments = write_csv(
        tmp_path / "pay.csv",
        [["invoice_number", "paid_on", "amount"], ["I-1", "2026-06-01", "100"]],
    )
    run(people, f"import invoices from {invoices}", confirmed=True)
    run(people, f"import payments from {payments}", confirmed=True)
    run(people, "undo")
    assert count(people, pay) == 0
    with people.read() as conn:
        assert conn.execute(select(inv.c.paid_cents)).scalar_one() == 0
    ann = run(people, "customers matching ann@example.com")
    assert isinstance(ann, QueryResult) and str(ann.rows[0].revenue) == "0.00"
    run(people, "undo")
    assert count(people, inv) == 0


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


CANONICAL = ["name", "email", "company", "phone", "address", "status", "tags", "created_at",
             "payment_terms_days"]  # fmt: skip


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_the_demo_exports_and_imports_back_unchanged(
    demo_ws: Workspace, tmp_path: Path, ext: str
) -> None:
    """Every demo customer (accented names, UTF-8 emails such as łukasz.…@, tags, custom
    fields, archived ones) goes out and comes back: into the same database as unchanged
    rows, into a fresh one as the same customers."""
    from commands.config import Config
    from store.engine import make_engine

    out = tmp_path / f"demo.{ext}"
    exported = run(demo_ws, f"export customers including archived to {out}")
    assert isinstance(exported, MutationResult) and exported.affected == 300
    emails = [r.email or "" for r in customers(demo_ws).values()]
    assert any(not e.isascii() for e in emails)  # the data this test is about
    again = run(demo_ws, f"import customers from {out}", confirmed=True)
    assert isinstance(again, MutationResult)
    assert "0 new customers, 0 updated, 300 skipped" in again.message

    fresh = Workspace(
        engine=make_engine(f"sqlite:///{tmp_path / 'fresh.db'}"),
        config=Config({}),
        as_of_override=date(2026, 6, 30),
    )
    imported = run(fresh, f"import customers from {out}", confirmed=True)
    assert isinstance(imported, MutationResult) and imported.affected == 300
    original, copy = tmp_path / "original.csv", tmp_path / "copy.csv"
    run(demo_ws, f"export customers including archived to {original}")
    run(fresh, f"export customers including archived to {copy}")
    # a custom field with no value anywhere (contract_end in this demo) is not created
    filled = _csv_rows(original)
    custom = [h for h in filled[0] if h.startswith("custom:") and any(r[h] for r in filled)]
    assert "custom:seats" in custom and "custom:priority_support" in custom

    def canon(path: Path) -> list[dict[str, str]]:
        rows = ({k: row[k] for k in [*CANONICAL, *custom]} for row in _csv_rows(path))
        return sorted(rows, key=lambda r: (r["email"], r["name"]))

    assert canon(copy) == canon(original)


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_round_trip_export_then_import_without_loss(
    people: Workspace, tmp_path: Path, ext: str
) -> None:
    from commands.config import Config
    from store.engine import make_engine

    tricky = write_csv(
        tmp_path / "tricky.csv",
        [
            ["name", "email", "company", "phone", "address", "status", "created_at", "tags"],
            ["=SUM(A1:A3)", "f@example.com", "+Plus Ltd", "+49 30 1234", "Line 1\nLine 2",
             "archived", "2024-02-29", "x"],
            ["'quoted", "q@example.com", "@at", "-5", "Ümlaut straße", "active", "2025-01-01", ""],
        ],
    )  # fmt: skip
    run(people, f"import customers from {tricky}", confirmed=True)
    first = tmp_path / f"first.{ext}"
    result = run(people, f"export customers including archived to {first}")
    assert isinstance(result, MutationResult) and result.affected == 6 and result.path == str(first)

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")  # not the people database
    fresh = Workspace(engine=engine, config=Config({}), as_of_override=date(2026, 6, 30))
    imported = run(fresh, f"import customers from {first}", confirmed=True)
    assert isinstance(imported, MutationResult) and imported.affected == 6
    assert "not imported: customer_id, revenue" in imported.message  # listed, never dropped
    second = tmp_path / "second.csv"
    run(fresh, f"export customers including archived to {second}")
    original = tmp_path / "original.csv"
    run(people, f"export customers including archived to {original}")

    def canon(path: Path) -> list[dict[str, str]]:
        keep = [*CANONICAL, "custom:industry"]
        return sorted(
            ({k: row[k] for k in keep} for row in _csv_rows(path)), key=lambda r: r["email"]
        )

    assert canon(second) == canon(original)
    by_email = {r.email: r for r in customers(fresh).values()}
    assert by_email["f@example.com"].name == "=SUM(A1:A3)"
    assert by_email["f@example.com"].address == "Line 1\nLine 2"
    assert by_email["f@example.com"].status == "archived"
    assert by_email["q@example.com"].name == "'quoted"
    assert by_email["q@example.com"].phone == "-5"
    assert tags_of(fresh, "ann@example.com") == ["b2b", "vip"]
    engine.dispose()


def test_formula_cells_are_neutralised_in_exports(people: Workspace, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "f.csv",
        [["name", "email", "company"], ['=HYPERLINK("http://x","y")', "h@example.com", "@SUM(1)"]],
    )
    run(people, f"import customers from {path}", confirmed=True)
    out_csv = tmp_path / "out.csv"
    run(people, f"export customers matching h@example.com to {out_csv}")
    row = _csv_rows(out_csv)[0]
    assert row["name"] == '\'=HYPERLINK("http://x","y")' and row["company"] == "'@SUM(1)"
    out_xlsx = tmp_path / "out.xlsx"
    run(people, f"export customers matching h@example.com to {out_xlsx}")
    sheet = openpyxl.load_workbook(out_xlsx).active
    assert sheet is not None
    headers = [cell.value for cell in sheet[1]]
    values = dict(zip(headers, [cell.value for cell in sheet[2]], strict=True))
    assert values["name"] == '\'=HYPERLINK("http://x","y")'
    assert sheet["A2"].data_type == "s"  # text, not a formula
    with zipfile.ZipFile(out_xlsx) as z:
        assert all("<f>" not in z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))


def test_internal_notes_never_exported(people: Workspace, tmp_path: Path) -> None:
    notes: Any = Note.__table__
    with people.write() as conn:
        ann = conn.execute(select(c.c.id).where(c.c.email == "ann@example.com")).scalar_one()
        conn.execute(
            insert(notes),
            [
                {"customer_id": ann, "kind": "internal", "body": "SECRET-INTERNAL-42",
                 "author": "me", "created_at": datetime(2026, 6, 1)},
                {"customer_id": ann, "kind": "customer", "body": "Net 14, PO required",
                 "author": "me", "created_at": datetime(2026, 6, 1)},
            ],
        )  # fmt: skip
    for ext in ("csv", "xlsx"):
        out = tmp_path / f"n.{ext}"
        run(people, f"export customers to {out}")
        if ext == "csv":
            text = out.read_text(encoding="utf-8")
        else:
            with zipfile.ZipFile(out) as z:
                text = "".join(z.read(n).decode() for n in z.namelist())
        assert "SECRET-INTERNAL-42" not in text
        assert "ann@example.com" in text


def test_export_keeps_the_list_order_typed_cells_and_all_figures(
    demo_ws: Workspace, tmp_path: Path
) -> None:
    listed = run(demo_ws, "late payers sorted by revenue desc")
    assert isinstance(listed, QueryResult)
    out = tmp_path / "late.xlsx"
    result = run(demo_ws, f"export late payers sorted by revenue desc to {out}")
    assert isinstance(result, MutationResult) and result.affected == listed.total
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    headers = [cell.value for cell in sheet[1]]
    for figure in ("revenue", "invoiced", "outstanding", "invoice_count", "average_invoice_value",
                   "last_invoice_date", "last_payment_date", "invoice_frequency_days",
                   "average_days_to_pay", "average_days_late", "on_time_rate", "segments",
                   "at_risk_reasons"):  # fmt: skip
        assert figure in headers
    data = list(sheet.iter_rows(min_row=2, values_only=True))
    emails = [r[headers.index("email")] for r in data]
    assert emails == [r.email for r in listed.rows]
    first = dict(zip(headers, data[0], strict=True))
    assert isinstance(first["revenue"], float)
    assert abs(first["revenue"] - float(listed.rows[0].revenue)) < 0.001
    assert isinstance(first["created_at"], datetime)  # a real date cell
    assert "late-payer" in first["segments"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    csv_out = tmp_path / "late.csv"
    run(demo_ws, f"export late payers sorted by revenue desc to {csv_out}")
    assert [r["email"] for r in _csv_rows(csv_out)] == emails


def test_import_preview_for_the_mapping_screen(people: Workspace, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        [
            ["Email", "Name", "Favourite colour"],
            ["ann@example.com", "Ann L", "red"],
            ["x@example.com", "X", "blue"],
            ["broken", "B", "green"],
        ],
    )
    p = import_preview(people, f"import customers from {path}")
    assert p.mapping == {"Email": "email", "Name": "name", "Favourite colour": None}
    assert p.unknown_columns == ["Favourite colour"]
    assert p.rows[0] == {"line": 2, "email": "ann@example.com", "name": "Ann L"}
    assert p.errors == ["row 4, column Email: bad email 'broken'"]
    assert p.total_rows == 3 and (p.inserted, p.updated) == (1, 1)
    assert count(people, c) == 4


def test_paths_expand_home_and_resolve_relative_to_cwd(
    people: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    result = run(people, "export customers to ~/home.csv")
    assert isinstance(result, MutationResult) and result.path == str(tmp_path / "home.csv")
    result = (
        run(people, "export vip customers to rel.xlsx")
        if False
        else run(people, "export customers tagged vip to rel.xlsx")
    )
    assert (tmp_path / "rel.xlsx").is_file() and result.affected == 1
    with pytest.raises(UserError, match=r"csv or \.xlsx"):
        run(people, "export customers to out.pdf")


def test_excel_import_with_typed_cells(ws: Workspace, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.append(["Name", "Email", "Created", "Terms"])
    sheet.append(["Ann", "ann@example.com", datetime(2024, 3, 1), 14])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    result = run(ws, f"import customers from {path}", confirmed=True)
    assert isinstance(result, MutationResult) and result.affected == 1
    ann = customers(ws)["ann@example.com"]
    assert (ann.created_on, ann.payment_terms_days) == (date(2024, 3, 1), 14)


def test_export_headers_import_back_as_canonical_fields() -> None:
    from commands.fileformats import auto_map

    headers, types = export_headers(["industry"])
    mapping = auto_map("customers", headers)
    assert mapping.columns == {h: h for h in [*CANONICAL, "custom:industry"]}
    assert len(types) == len(headers)


def test_cli_import_and_export(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from commands.cli import app

    monkeypatch.setenv("OPENINVOICE_AS_OF", "2026-06-30")
    path = write_csv(tmp_path / "c.csv", [["Who", "Reach"], ["Ann", "ann@example.com"],
                                          ["Bob", "bob@example.com"], ["Cy", "cy@example.com"],
                                          ["Di", "di@example.com"]])  # fmt: skip
    runner = CliRunner()
    base = ["--db", sqlite_url]
    res = runner.invoke(app, [*base, "import", "customers", str(path), "--dry-run"])
    assert res.exit_code == 2 and "no column for name or email" in res.output
    maps = ["--map", "Who=name", "--map", "Reach=email"]
    res = runner.invoke(app, [*base, "import", "customers", str(path), *maps, "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "would import" in res.output
    res = runner.invoke(app, [*base, "import", "customers", str(path), *maps])
    assert res.exit_code == 3  # over the threshold, not a terminal: asks for --yes
    res = runner.invoke(app, [*base, "import", "customers", str(path), *maps, "--yes"])
    assert res.exit_code == 0, res.output
    assert "4 new customers" in res.output
    res = runner.invoke(
        app, [*base, "import", "customers", str(path), *maps, "--yes", "--on-conflict", "error"]
    )
    assert res.exit_code == 2 and "already exists" in res.output
    out = tmp_path / "out.csv"
    res = runner.invoke(app, [*base, "export", "all", str(out)])
    assert res.exit_code == 0, res.output
    assert len(_csv_rows(out)) == 4


def test_cli_progress_bar_follows_progress_reports() -> None:
    from rich.console import Console

    from commands.cli_files import progress_bar

    with progress_bar("import customers", False) as report:
        assert report is None  # not a terminal, or --json: no bar
    console = Console(record=True, force_terminal=True, width=80)
    with progress_bar("import customers", True, console=console) as report:
        assert report is not None
        report(Progress(500, 1000, "customers"))
        report(Progress(1000, 1000, "customers"))
    assert "1000/1000" in console.export_text()


def test_rows_without_email_are_new_customers_but_repeated_emails_are_errors(
    ws: Workspace, tmp_path: Path
) -> None:
    blank = write_csv(
        tmp_path / "no-email.csv",
        [["name", "email"], ["Walk-in One", ""], ["Walk-in Two", ""], ["Walk-in Three", ""]],
    )
    result = run(ws, f"import customers from {blank}", confirmed=True)
    assert isinstance(result, MutationResult) and result.affected == 3
    twice = write_csv(
        tmp_path / "twice.csv",
        [["name", "email"], ["A", "same@example.com"], ["B", "Same@Example.com"]],
    )
    with pytest.raises(UserError) as err:
        run(ws, f"import customers from {twice}", confirmed=True)
    assert "row 3, column email" in err.value.message
    assert count(ws, Customer.__table__) == 3  # all or nothing: neither A nor B was written
