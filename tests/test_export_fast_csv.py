"""The SQLite-formatted CSV export is byte-for-byte the generic writer's output.

The fast path (:mod:`commands.export_csv_sql`) only runs on SQLite, so these
tests use SQLite; the generic path they compare against is the one PostgreSQL
uses (covered on both backends by tests/test_import_export.py).
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select, update

from commands.export_csv_sql import _figure, _money, _text, clean_chunk, tag_cell, unclean_lines
from commands.exporting import export_customers
from commands.fileformats import neutralise
from commands.fileformats.writing import _money_text
from commands.results import Progress
from commands.workspace import Workspace
from store import query as q
from store.models import (
    Customer,
    CustomerFigures,
    CustomerTag,
    CustomField,
    CustomFieldValue,
    Tag,
)
from store.settings import set_setting
from tests.commands_fixtures import D, make_ws

c: Any = Customer.__table__
f: Any = CustomerFigures.__table__
tags_t: Any = Tag.__table__
ct: Any = CustomerTag.__table__
cf: Any = CustomField.__table__
cfv: Any = CustomFieldValue.__table__

TRICKY = [
    "plain",
    'say "hi"',
    "a, b",
    "two\nlines",
    "cr\rhere",
    "crlf\r\nend",
    "=1+2",
    "+49 30 1234",
    "-12",
    "@SUM(A1)",
    "\ttab",
    "\rlead",
    "'=quoted",
    "''-twice",
    "'",
    "''",
    "",
    "ünïcødé ✓ 日本",
    "emoji 🎉",
    "nul\x00inside",
    "mark\x01inside",
    " lead space",
    ";semi",
    "0zero",
    "<=>?",
    "Zed",
]
FLOATS = [
    None, 0.0, 1.0, 12.0, 0.5, 0.03125, 19.03125, 0.00625, 0.12345, -0.00004, -3.25,
    0.0001, 0.00004, 1 / 3, 2 / 3, 47.16666666666667, 1234567.891, 0.1 + 0.2, 99.99995,
    -0.03125, 1e-9, 5e15,
]  # fmt: skip
NOW = datetime(2026, 6, 1, 12, 0)
MONEY = [0, 1, -1, 99, -99, 100, -150, 123456, -987654321, 10**15, -(10**16), 7]


def _tagged(conn: Any, cid: int, names: list[str]) -> None:
    for name in names:
        tid = conn.execute(select(tags_t.c.id).where(tags_t.c.name == name)).scalar()
        if tid is None:
            tid = conn.execute(
                insert(tags_t).values(name=name, created_at=NOW).returning(tags_t.c.id)
            ).scalar()
        conn.execute(insert(ct).values(customer_id=cid, tag_id=tid))


def _fill(ws: Workspace) -> None:
    """Customers with every kind of awkward value, their figures overwritten after."""
    with ws.write() as conn:
        fields = {}
        for name, kind in [("notes, text", "text"), ("seats", "number"), ("ends", "date"),
                           ("vip?", "yes/no"), ("=formula", "text")]:  # fmt: skip
            fields[name] = conn.execute(
                insert(cf).values(name=name, type=kind).returning(cf.c.id)
            ).scalar()
        tag_sets = [[], ["zeta"], ["zeta", "alpha"], ["mid", "zeta", "alpha", "beta"],
                    ["-minus"], ["=eq", "b"], ["'q", "a"], ["x,y", "Zcap"], ["ü", "u"]]  # fmt: skip
        numbers = [None, 3.0, -5.0, 2.5, 1e20, 0.1 + 0.2, -0.0]
        for i in range(60):
            text = TRICKY[i % len(TRICKY)]
            cid = conn.execute(
                insert(c)
                .values(
                    name=text if i % 7 else f"Name {i}",
                    email=None if i % 5 == 0 else f"{text}{i}@example.com",
                    company=None if i % 4 == 0 else TRICKY[(i * 3) % len(TRICKY)],
                    phone=None if i % 6 == 0 else TRICKY[(i * 5) % len(TRICKY)],
                    address=None if i % 3 == 0 else TRICKY[(i * 7) % len(TRICKY)],
                    status="archived" if i % 9 == 4 else "active",
                    created_on=date(2024, 1, 1 + i % 28),
                    payment_terms_days=None if i % 8 == 0 else i,
                    search_text=text,
                    sort_name=text.casefold(),
                )
                .returning(c.c.id)
            ).scalar()
            _tagged(conn, cid, tag_sets[i % len(tag_sets)])
            values: dict[str, dict[str, Any]] = {
                "notes, text": {"text_value": TRICKY[(i * 11) % len(TRICKY)]},
                "=formula": {"text_value": "=x" if i % 2 else None},
                "seats": {"number_value": numbers[i % len(numbers)]},
                "ends": {"date_value": date(2027, 1, 1 + i % 28)},
                "vip?": {"bool_value": bool(i % 2)},
            }
            for name, value in values.items():
                if (i + len(name)) % 4:
                    conn.execute(
                        insert(cfv).values(customer_id=cid, field_id=fields[name], **value)
                    )
    ws.ensure_figures()
    with ws.write() as conn:
        ids = list(conn.execute(select(c.c.id).order_by(c.c.id)).scalars())
        for i, cid in enumerate(ids):
            floats = [FLOATS[(i + k) % len(FLOATS)] for k in range(4)]
            conn.execute(
                update(f)
                .where(f.c.customer_id == cid, f.c.as_of == D)
                .values(
                    revenue=MONEY[i % len(MONEY)],
                    invoiced=MONEY[(i + 3) % len(MONEY)],
                    outstanding=MONEY[(i + 5) % len(MONEY)],
                    invoice_count=i,
                    average_invoice_value=MONEY[(i + 7) % len(MONEY)],
                    last_invoice_on=None if i % 3 else date(2026, 5, 1 + i % 28),
                    last_payment_on=None if i % 4 else date(2026, 6, 1 + i % 28),
                    invoice_frequency_days=floats[0],
                    average_days_to_pay=floats[1],
                    average_days_late=floats[2],
                    on_time_rate=floats[3],
                    late_payer=bool(i & 1),
                    partial_payer=bool(i & 2),
                    on_time_payer=bool(i & 4),
                    at_risk=bool(i & 8),
                    risk_late=bool(i & 16),
                    risk_low_activity=bool(i & 1),
                    risk_declining=bool(i & 32),
                    risk_no_recent=bool(i & 4),
                )
            )


@pytest.fixture
def tricky(sqlite_engine: Engine) -> Iterator[Workspace]:
    ws = make_ws(sqlite_engine)
    _fill(ws)
    yield ws


def _both(ws: Workspace, spec: q.ListSpec, tmp_path: Path) -> tuple[bytes, bytes]:
    fast, generic = tmp_path / "fast.csv", tmp_path / "generic.csv"
    with ws.read() as conn:
        n_fast = export_customers(ws, conn, spec, fast)
        n_generic = export_customers(ws, conn, spec, generic, fast_csv=False)
    assert n_fast == n_generic
    return fast.read_bytes(), generic.read_bytes()


SPECS = {
    "list": q.ListSpec(),
    "archived too": q.ListSpec(include_archived=True),
    "by revenue": q.ListSpec(sort=(("revenue", True),), include_archived=True),
    "filtered": q.ListSpec(where=c.c.payment_terms_days > 20),
    "window": q.ListSpec(limit=17, offset=5, include_archived=True),
    "nobody": q.ListSpec(where=c.c.id < 0),
}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
def test_fast_csv_is_the_generic_output(
    tricky: Workspace, spec: q.ListSpec, currency: str, tmp_path: Path
) -> None:
    with tricky.write() as conn:
        set_setting(conn, "base_currency", currency)
    tricky.reload_settings()
    fast, generic = _both(tricky, spec, tmp_path)
    assert fast == generic
    rows = list(csv.reader(fast.decode().splitlines(keepends=True)))
    assert rows and all(len(r) == len(rows[0]) for r in rows)


def test_fast_csv_lines_of_ordinary_rows_come_from_sql(
    tricky: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows without awkward values are not rewritten by the generic path."""
    import commands.exporting as exporting

    repaired: list[int] = []
    original = exporting._repaired

    def counting(ids: Any, lines: Any, *args: Any) -> list[bytes]:
        out = original(ids, lines, *args)
        repaired.extend(i for i, line in enumerate(lines) if line != out[i])
        return out

    monkeypatch.setattr(exporting, "_repaired", counting)
    with tricky.write() as conn:
        conn.execute(update(c).where(c.c.id % 2 == 0).values(name="Plain", company=None))
    fast, generic = _both(tricky, q.ListSpec(include_archived=True), tmp_path)
    assert fast == generic
    assert 0 < len(repaired) < fast.count(b"\r\n") - 1


ALONE: dict[str, tuple[Any, dict[str, Any]]] = {
    "NUL in a name": (c, {"name": "a\x00b"}),
    "NUL in an address": (c, {"address": "x\x00"}),
    "comma in a company": (c, {"company": "Acme, Inc."}),
    "quote in a phone": (c, {"phone": '5"5'}),
    "newline in an email": (c, {"email": "a\nb@example.com"}),
    "formula in a name": (c, {"name": "=HYPERLINK()"}),
    "quotes before a formula": (c, {"name": "''+x"}),
    "tie in a rate": (f, {"on_time_rate": 0.03125}),
    "tie near 19": (f, {"invoice_frequency_days": 19.03125}),
    "tiny negative figure": (f, {"average_days_late": -0.00004}),
    "huge figure": (f, {"average_days_to_pay": 5e15}),
    "huge amount": (f, {"revenue": 12345678901234567}),
    "huge negative amount": (f, {"invoiced": -(10**18) + 1}),
    "negative amount": (f, {"outstanding": -5}),
    "every flag": (
        f,
        {
            k: True
            for k in (
                "late_payer",
                "partial_payer",
                "on_time_payer",
                "at_risk",
                "risk_late",
                "risk_low_activity",
                "risk_declining",
                "risk_no_recent",
            )
        },
    ),
    "fraction in a custom number": (cfv, {"number_value": 2.5}),
    "float noise in a custom number": (cfv, {"number_value": 0.1 + 0.2}),
    "huge custom number": (cfv, {"number_value": 1e20}),
    "custom number at 2**63": (cfv, {"number_value": 2.0**63}),
    "negative custom number": (cfv, {"number_value": -5.0}),
    "NUL in a custom text": (cfv, {"text_value": "a\x00"}),
    "custom date": (cfv, {"date_value": date(2027, 2, 3)}),
    "custom yes/no": (cfv, {"bool_value": False}),
}


@pytest.mark.parametrize("table, values", ALONE.values(), ids=ALONE.keys())
def test_each_awkward_value_alone(
    sqlite_engine: Engine, table: Any, values: dict[str, Any], tmp_path: Path
) -> None:
    """One awkward value among plain rows: only the SQL's own handling can make it match."""
    ws = make_ws(sqlite_engine)
    with ws.write() as conn:
        field = conn.execute(insert(cf).values(name="extra", type="text").returning(cf.c.id))
        field_id = field.scalar()
        for i in range(5):
            cid = conn.execute(
                insert(c)
                .values(
                    name=f"Plain {i}",
                    status="active",
                    created_on=date(2024, 1, 2),
                    search_text="",
                    sort_name=f"plain {i}",
                )
                .returning(c.c.id)
            ).scalar()
            _tagged(conn, cid, ["zeta", "alpha", "mid"] if i == 2 else ["b", "a"])
    ws.ensure_figures()
    with ws.write() as conn:
        if table is cfv:
            conn.execute(insert(cfv).values(customer_id=3, field_id=field_id, **values))
        else:
            key = c.c.id if table is c else f.c.customer_id
            conn.execute(update(table).where(key == 3).values(**values))
    fast, generic = _both(ws, q.ListSpec(), tmp_path)
    assert fast == generic


def test_fast_csv_reports_progress(tricky: Workspace, tmp_path: Path) -> None:
    seen: list[Progress] = []
    with tricky.read() as conn:
        n = export_customers(tricky, conn, q.ListSpec(), tmp_path / "p.csv", seen.append)
    assert seen[0].done == 0 and seen[-1].done == n == seen[-1].total
    assert all(p.label == "export" for p in seen)


def test_clean_chunk_spots_separators_and_marks() -> None:
    assert clean_chunk(b"a,b\r\nc,d\r\n", 2, 2)
    assert not clean_chunk(b"a,b,c\r\n", 1, 2)  # a comma inside a cell
    assert not clean_chunk(b'a,"b\r\n', 1, 2)
    assert not clean_chunk(b"a,b\nx\r\n", 1, 2)
    assert not clean_chunk(b"a,b\rx\r\n", 1, 2)
    assert not clean_chunk(b"a,b\x01\r\n", 1, 2)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from([b"a,b\r\n", b"a,b,c\r\n", b'"a,b\r\n', b"a,\x01\r\n", b"a\n,b\r\n"]))
)
def test_unclean_lines_finds_exactly_the_lines_that_fail(lines: list[bytes]) -> None:
    expected = [i for i, line in enumerate(lines) if not clean_chunk(line, 1, 2)]
    assert unclean_lines(lines, 2) == expected


_sql = sqlite3.connect(":memory:")
_sql.execute("CREATE TABLE figure (x REAL)")


def _eval(expr: str, value: Any) -> Any:
    return _sql.execute(f"SELECT {expr.replace('X', '?')}", [value] * expr.count("X")).fetchone()[0]


def _stored(x: float) -> float:
    """``x`` as a REAL column gives it back: SQLite keeps -0.0 as the integer 0, read as 0.0."""
    _sql.execute("DELETE FROM figure")
    _sql.execute("INSERT INTO figure VALUES (?)", [x])
    value: float = _sql.execute("SELECT x FROM figure").fetchone()[0]
    return value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="'=+-@\t\r ,a0Z<>?:;A", max_size=6))
def test_sql_neutralise_matches_python(text: str) -> None:
    assert _eval(_text("X"), text) == neutralise(text)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e7, max_value=1e7),
        st.integers(-(10**6), 10**6).map(lambda k: k / 32),
        st.integers(-(10**9), 10**9).map(lambda k: k / 10**5),
    )
)
@example(-0.0)
@example(-0.00001)
def test_sql_figure_matches_python_or_falls_back(x: float) -> None:
    # Figures reach the export from customer_figures' REAL columns, as stored.
    x = _stored(x)
    arg, odd = _figure("X")
    if _eval(odd, x):
        return
    assert _eval(arg, x) == repr(round(x, 4))


@settings(max_examples=300, deadline=None)
@given(st.integers(-(10**14), 10**14), st.sampled_from([0, 2, 3]))
def test_sql_money_matches_python(cents: int, exp: int) -> None:
    fmt, arg, odd = _money("X", exp)
    assert not _eval(odd, cents)
    assert _eval(f"printf('{fmt}', {arg})", cents) == _money_text(cents, exp)


def test_fast_csv_forgets_tag_combinations_beyond_its_limit(
    tricky: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remembered tag cells are dropped between chunks and the file stays the same."""
    import commands.export_worker as export_worker
    import commands.exporting as exporting

    made: list[str | None] = []
    monkeypatch.setattr(exporting, "EXPORT_CHUNK", 7)
    monkeypatch.setattr(export_worker, "TAG_CELLS_KEPT", 2)
    monkeypatch.setattr(export_worker, "tag_cell", lambda raw: made.append(raw) or tag_cell(raw))
    fast, generic = _both(tricky, q.ListSpec(include_archived=True), tmp_path)
    assert fast == generic
    assert len(made) > len(set(made)) > 2  # made again after being forgotten


@given(st.lists(st.text(alphabet="'=+-@\t\rab;", max_size=5), min_size=1, max_size=3))
def test_the_workers_tag_cells_are_neutralised_as_the_reader_expects(names: list[str]) -> None:
    from commands import export_worker
    from commands.fileformats import reading

    assert export_worker.FORMULA_TRIGGERS == reading.FORMULA_TRIGGERS
    raw = ";".join(names)
    expected = reading.neutralise(";".join(sorted(raw.split(";")))).encode() if raw else b""
    assert tag_cell(raw) == expected
