"""Big customer imports through the producer process (commands.import_pipeline): the same
rows, ids, tags, custom values and errors as the one-process import, nothing written
after an error on either side, and no producer left behind."""

from __future__ import annotations

import csv
import multiprocessing
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from commands import import_pipeline, importing
from commands.errors import UserError
from commands.executor import run
from commands.fileformats import CustomerRecord
from commands.fileformats.validation import CleanChunk
from commands.import_customers import CustomerImporter, NewCustomerRows
from commands.results import MutationResult, Progress
from commands.workspace import Workspace
from store.models import Customer, CustomerTag, CustomField, CustomFieldValue, Tag
from store.search import SEPARATOR, fold

c: Any = Customer.__table__
ct: Any = CustomerTag.__table__
t: Any = Tag.__table__
cf: Any = CustomField.__table__
cfv: Any = CustomFieldValue.__table__
HEADER = ["name", "email", "company", "tags", "custom:tier"]


@pytest.fixture(autouse=True)
def bulk_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every import of more than two rows is a bulk load, pipelined unless a test says so."""
    monkeypatch.setattr(importing, "BULK_LOAD_ROWS", 2)
    assert import_pipeline.available()


@pytest.fixture(autouse=True)
def no_producer_left() -> Iterator[None]:
    yield
    assert multiprocessing.active_children() == []


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def plain(n: int, start: int = 0) -> list[list[str]]:
    return [[f"P{i}", f"p{i}@example.com", "Acme", "vip;b2b", ""] for i in range(start, start + n)]


def load(ws: Workspace, path: Path, **kw: Any) -> Any:
    return run(ws, f"import customers from {path}", confirmed=True, **kw)


def snapshot(ws: Workspace) -> dict[str, Any]:
    """Everything an import writes, customers keyed by email (ids compared separately)."""
    with ws.read() as conn:
        email_of = {i: e for i, e in conn.execute(select(c.c.id, c.c.email))}
        cols = [c.c[x] for x in ("email", "name", "company", "status", "created_on")]
        rows = {r.email: tuple(r) for r in conn.execute(select(*cols, c.c.search_text))}
        tags = sorted(
            (email_of[cid], name)
            for cid, name in conn.execute(
                select(ct.c.customer_id, t.c.name).join(t, t.c.id == ct.c.tag_id)
            )
        )
        custom = sorted(
            (email_of[cid], name, text)
            for cid, name, text in conn.execute(
                select(cfv.c.customer_id, cf.c.name, cfv.c.text_value).join(
                    cf, cf.c.id == cfv.c.field_id
                )
            )
        )
        new_order = [e for _, e in sorted(email_of.items())]
    return {"rows": rows, "tags": tags, "custom": custom, "id_order": new_order}


def mixed_file(tmp_path: Path) -> Path:
    """Plain new rows between rows that need the database: custom values, known emails,
    a new tag name, an empty tag list."""
    rows = [
        *plain(9),
        ["Known One", "known1@example.com", "Changed Ltd", "gold", ""],
        *plain(6, start=9),
        ["Tiered", "tier@example.com", "", "", "silver"],
        *plain(5, start=15),
        ["New Tag", "newtag@example.com", "", "brand new", ""],
        ["Untagged", "untagged@example.com", "", "", ""],
        *plain(11, start=20),
    ]
    return write_csv(tmp_path / "mixed.csv", rows)


def test_pipelined_import_writes_what_the_one_process_import_writes(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_pipeline, "PIPE_ROWS", 4)  # many chunks, fast and usual
    load(ws, write_csv(tmp_path / "known.csv", [["Known One", "known1@example.com", "", "", ""]]))
    path = mixed_file(tmp_path)
    seen: list[Progress] = []
    piped = load(ws, path, progress=seen.append)
    assert isinstance(piped, MutationResult)
    assert "34 new customers, 1 updated" in piped.message
    assert seen and seen[-1].done == 35
    after_pipe = snapshot(ws)
    run(ws, "undo")
    monkeypatch.setattr(importing, "pipeline_available", lambda: False)
    single = load(ws, path)
    assert isinstance(single, MutationResult) and single.message == piped.message
    after_single = snapshot(ws)
    # the same rows, tags and custom values; new customers' ids follow the file's order
    assert after_pipe == after_single
    file_order = [r[1] for r in csv.reader(path.open()) if r[1] != "known1@example.com"][1:]
    assert after_pipe["id_order"] == ["known1@example.com", *file_order]
    assert ("tier@example.com", "tier", "silver") in after_pipe["custom"]
    assert ("newtag@example.com", "brand new") in after_pipe["tags"]
    assert len(after_pipe["rows"]) == 35


def test_every_error_of_a_big_file_is_reported_and_nothing_is_written(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_pipeline, "PIPE_ROWS", 5)
    rows = plain(40)
    rows[3][1] = "not an email"  # line 5
    rows[22][3] = "bad/tag!"  # line 24
    rows[38][1] = "p7@example.com"  # line 40, duplicate of line 9
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(UserError) as piped:
        load(ws, path)
    monkeypatch.setattr(importing, "pipeline_available", lambda: False)
    with pytest.raises(UserError) as single:
        load(ws, path)
    # the same errors (the order follows when each batch meets the database)
    assert sorted(str(piped.value).splitlines()) == sorted(str(single.value).splitlines())
    for where in ("row 5, column email", "row 24, column tags", "row 40, column email"):
        assert where in str(piped.value)
    assert snapshot(ws)["rows"] == {}


def test_bad_row_near_the_end_of_a_big_file_writes_nothing(ws: Workspace, tmp_path: Path) -> None:
    n = 20_000  # four chunks written before the bad one
    rows = plain(n)
    rows[19_988][1] = "p5@example"  # line 19,990 (the header is line 1)
    with pytest.raises(UserError, match=r"row 19990, column email") as err:
        load(ws, write_csv(tmp_path / "big.csv", rows))
    assert "row 19990" in str(err.value) and str(err.value).count("row ") == 1
    assert snapshot(ws)["rows"] == {}
    with ws.read() as conn:
        assert conn.execute(select(t.c.id)).first() is None  # tags created on the way: gone


def test_a_read_error_in_the_producer_rolls_the_import_back(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_pipeline, "PIPE_ROWS", 3)
    rows = plain(20)
    rows[17][2] = "x" * (csv.field_size_limit() + 1)  # csv.Error past the written chunks
    with pytest.raises(UserError, match=r"Cannot read big\.csv"):
        load(ws, write_csv(tmp_path / "big.csv", rows))
    assert snapshot(ws)["rows"] == {}


def test_a_producer_that_dies_stops_the_import(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = import_pipeline.validate_clean_chunks

    def first_chunk_then_exit(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield next(real(*args, **kwargs))
        os._exit(7)

    monkeypatch.setattr(import_pipeline, "PIPE_ROWS", 3)
    monkeypatch.setattr(import_pipeline, "validate_clean_chunks", first_chunk_then_exit)
    with pytest.raises(RuntimeError, match="exit code 7"):
        load(ws, write_csv(tmp_path / "a.csv", plain(12)))
    assert snapshot(ws)["rows"] == {}


@dataclass
class Writes:
    """The size of each chunk of new customers the writer was given."""

    sizes: list[int] = field(default_factory=list)
    #: the chunk (counted from 1) whose write fails with "disk full"
    fail_at: int | None = None


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Writes:
    real = CustomerImporter.feed_new
    seen = Writes()

    def noting(self: CustomerImporter, chunk: Any) -> None:
        seen.sizes.append(len(chunk))
        if len(seen.sizes) == seen.fail_at:
            raise RuntimeError("disk full")
        real(self, chunk)

    monkeypatch.setattr(CustomerImporter, "feed_new", noting)
    return seen


def test_the_first_chunk_is_small_so_writing_starts_sooner(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writes: Writes
) -> None:
    monkeypatch.setattr(import_pipeline, "PIPE_ROWS", 4)
    monkeypatch.setattr(import_pipeline, "FIRST_ROWS", 2)
    load(ws, write_csv(tmp_path / "a.csv", plain(11)))
    assert writes.sizes == [2, 4, 4, 1]
    assert len(snapshot(ws)["rows"]) == 11


def test_a_writer_failure_ends_the_producer(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writes: Writes
) -> None:
    monkeypatch.setattr(import_pipeline, "PIPE_ROWS", 3)
    writes.fail_at = 2
    with pytest.raises(RuntimeError, match="disk full"):
        load(ws, write_csv(tmp_path / "a.csv", plain(30)))
    assert writes.sizes == [3, 3]  # stopped reading; the fixture checks the producer is gone
    assert snapshot(ws)["rows"] == {}


def row_of(make: NewCustomerRows, r: CustomerRecord) -> tuple[Any, ...]:
    """A new customer's row as the rule says, one record at a time (the reference)."""
    name = r.name or r.email or ""
    parts = [p for p in (name, r.email, r.company) if p]
    return (
        name, r.email, r.company, r.phone, r.address, r.status or "active",
        make.day(r.created_at), r.payment_terms_days, False,
        SEPARATOR.join(fold(p) for p in parts), fold(name),
    )  # fmt: skip


def clean_chunk(rows: list[tuple[str, str | None, list[str] | None]]) -> CleanChunk:
    """Validated customers (name, email, tags) as the producer sees them, lines 2 on."""
    lines = list(range(2, len(rows) + 2))
    values: dict[str, list[Any]] = {
        "name": [r[0] for r in rows],
        "email": [r[1] for r in rows],
        "tags": [r[2] for r in rows],
    }
    emails = {e.casefold(): n for n, (_, e, _) in zip(lines, rows, strict=True) if e}
    return CleanChunk(lines, values, emails)


def test_only_plain_new_customers_skip_the_usual_path() -> None:
    make = NewCustomerRows(date(2026, 6, 30), sqlite=True)
    known = frozenset({"old@example.com"})
    good: set[str] = set()
    rows: list[Any] = [
        ("A", "a@example.com", ["vip"]),
        ("B", "b@example.com", None),
        ("C", "c@example.com", ["vip"]),
        ("Dé", "d@example.com", ["b2b", "vip"]),
    ]
    new = import_pipeline.new_customers(clean_chunk(rows), known, make, good)
    assert new is not None and len(new) == 4
    # each distinct tag list once, with the positions of its rows
    assert new.tags == {("vip",): "[0, 2]", ("b2b", "vip"): "[3]"}
    one_by_one = [
        row_of(make, CustomerRecord(line, name, email, tags=tags))
        for line, (name, email, tags) in enumerate(rows, start=2)
    ]
    assert [list(col) for col in zip(*one_by_one, strict=True)] == new.columns
    assert new.columns[6][0] == "2026-06-30"  # created today, as ISO text for SQLite
    assert new.columns[9][3] == "de\nd@example.com"  # folded, accents removed
    for odd in (("Old", "OLD@example.com", None), ("E", "e@example.com", ["bad/tag!"])):
        assert import_pipeline.new_customers(clean_chunk([*rows, odd]), known, make, good) is None


@pytest.mark.parametrize(
    "names",
    [
        ["Plain", "Ünïcode Name", "x\x1fy"],  # non-ASCII and the separator: row by row
        ["Plain", "Other"],
    ],
)
def test_rows_built_by_column_match_rows_built_one_by_one(names: list[str]) -> None:
    make = NewCustomerRows(date(2026, 6, 30), sqlite=False)
    values: dict[str, list[Any]] = {
        "name": [*names, None],
        "email": [None, *[f"e{i}@example.com" for i in range(len(names))]],
        "company": ["Ünï Ltd", *[None] * len(names)],
        "created_at": [date(2024, 1, 2), *[None] * len(names)],
        "status": ["archived", *[None] * len(names)],
    }
    n = len(names) + 1
    records = [
        CustomerRecord(
            2 + j,
            values["name"][j],
            values["email"][j],
            company=values["company"][j],
            created_at=values["created_at"][j],
            status=values["status"][j],
        )
        for j in range(n)
    ]
    expected = [list(col) for col in zip(*(row_of(make, r) for r in records), strict=True)]
    assert make.columns(values, n) == expected


TEXT = st.one_of(st.none(), st.text(alphabet="aZ é\x1f\nß|İ", max_size=6))


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            TEXT,
            TEXT,
            TEXT,
            st.one_of(st.none(), st.dates()),
            st.sampled_from([None, "active", "archived"]),
        ),
        max_size=8,
    ),
    sqlite=st.booleans(),
)
def test_rows_by_column_are_rows_one_by_one_for_any_text(
    rows: list[tuple[Any, ...]], sqlite: bool
) -> None:
    make = NewCustomerRows(date(2026, 6, 30), sqlite=sqlite)
    fields = ("name", "email", "company", "created_at", "status")
    values = {f: [r[i] for r in rows] for i, f in enumerate(fields)}
    records = [
        CustomerRecord(2 + j, *r[:3], created_at=r[3], status=r[4]) for j, r in enumerate(rows)
    ]
    one_by_one = [row_of(make, r) for r in records]
    expected = [list(col) for col in zip(*one_by_one, strict=True)] or [[]] * 11
    assert make.columns(values, len(rows)) == expected


def test_a_big_import_from_a_worker_thread(ws: Workspace, tmp_path: Path) -> None:
    """The TUI runs commands in worker threads: the producer is forked from one."""
    path = write_csv(tmp_path / "a.csv", plain(12))
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(load(ws, path)))
    worker.start()
    worker.join(timeout=60)
    assert isinstance(results[0], MutationResult) and results[0].affected == 12
    assert len(snapshot(ws)["rows"]) == 12
