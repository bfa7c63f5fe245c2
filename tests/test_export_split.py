"""The CSV export split between this process and a worker (commands.export_split).

With the split threshold at zero every export of the tricky fixture takes the
two-process path; the file must still be exactly the generic writer's, both
halves must come from one snapshot, and anything that stops the worker or the
split must leave the result unchanged.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import commands.export_split as split
from commands import export_worker
from commands.workspace import Workspace
from store import query as q
from tests.test_export_fast_csv import SPECS, _both, tricky  # noqa: F401 - the fixture

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the split runs on POSIX only")


@pytest.fixture
def worker_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every export splits; the list collects how many rows each worker handed back."""
    seen: list[int] = []
    original = split._unpickled

    def counting(path: Path) -> Iterator[Sequence[Any] | split.CsvLines]:
        for batch in original(path):
            seen.append(batch.rows if isinstance(batch, split.CsvLines) else len(batch))
            yield batch

    monkeypatch.setattr(split, "SPLIT_ROWS", 0)
    monkeypatch.setattr(split, "_unpickled", counting)
    return seen


def _db_path(ws: Workspace) -> str:
    name = ws.engine.url.database
    assert name
    return name


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_split_export_is_the_generic_output(
    tricky: Workspace,  # noqa: F811
    spec: q.ListSpec,
    tmp_path: Path,
    worker_rows: list[int],
) -> None:
    fast, generic = _both(tricky, spec, tmp_path)
    assert fast == generic
    lines = len(list(csv.reader(io.StringIO(fast.decode(), newline="")))) - 1
    whole = spec.limit is None and not spec.offset
    if whole and lines > 1:
        assert sum(worker_rows) == lines - split.split_point(lines)  # the worker's part
    else:
        assert worker_rows == []


def test_lines_the_worker_makes_are_the_generic_output(
    tricky: Workspace,  # noqa: F811
    tmp_path: Path,
    worker_rows: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Batches of one row: the worker makes the lines of its clean ones itself and hands the
    rows of the others back to be mended; the file is the same either way."""
    import commands.exporting as exporting

    made: list[int] = []
    original = split._unpickled

    def noting(path: Path) -> Iterator[Sequence[Any] | split.CsvLines]:
        for batch in original(path):
            made.append(isinstance(batch, split.CsvLines))
            yield batch

    monkeypatch.setattr(exporting, "EXPORT_CHUNK", 1)
    monkeypatch.setattr(split, "_unpickled", noting)
    fast, generic = _both(tricky, q.ListSpec(include_archived=True), tmp_path)
    assert fast == generic
    assert any(made) and not all(made)  # lines made there, rows mended here


def test_both_halves_read_one_snapshot(
    tricky: Workspace,  # noqa: F811
    tmp_path: Path,
    worker_rows: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A change committed once the lock is let go reaches neither half of the file."""
    before, _ = _both(tricky, q.ListSpec(), tmp_path)
    original = split.SplitReader._release
    committed: list[bool] = []

    def release_then_write(self: split.SplitReader) -> None:
        held = self._lock is not None
        original(self)
        if held and not committed:
            con = sqlite3.connect(_db_path(tricky), timeout=5)
            con.execute("UPDATE customers SET name = 'Changed', company = 'Changed'")
            con.commit()
            con.close()
            committed.append(True)

    monkeypatch.setattr(split.SplitReader, "_release", release_then_write)
    out = tmp_path / "during.csv"
    with tricky.read() as conn:
        from commands.exporting import export_customers

        export_customers(tricky, conn, q.ListSpec(), out)
    assert committed and worker_rows
    assert out.read_bytes() == before
    after, generic = _both(tricky, q.ListSpec(), tmp_path)
    assert b"Changed" in after and after == generic


def test_nothing_is_committed_while_the_halves_take_their_snapshots(
    tricky: Workspace,  # noqa: F811
    tmp_path: Path,
    worker_rows: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = split.SplitReader._start_worker
    refused: list[str] = []

    def start_and_try_to_write(self: split.SplitReader, *args: Any) -> bool:
        con = sqlite3.connect(_db_path(tricky), timeout=0)
        try:
            con.execute("UPDATE customers SET name = 'Too soon'")
        except sqlite3.OperationalError as exc:
            refused.append(str(exc))
        finally:
            con.close()
        return original(self, *args)

    monkeypatch.setattr(split.SplitReader, "_start_worker", start_and_try_to_write)
    fast, generic = _both(tricky, q.ListSpec(), tmp_path)
    assert refused == ["database is locked"]
    assert fast == generic and b"Too soon" not in fast


def test_a_failed_worker_leaves_the_file_whole(
    tricky: Workspace,  # noqa: F811
    tmp_path: Path,
    worker_rows: list[int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The worker takes its snapshot, then dies: its half is read here instead."""
    broken = tmp_path / "broken_worker.py"
    broken.write_text(
        "import sys\nsys.stdin.buffer.read()\n"
        f"sys.stdout.buffer.write({export_worker.PINNED!r})\nsys.stdout.flush()\n"
        "sys.exit('worker broke')\n"
    )
    monkeypatch.setattr(export_worker, "__file__", str(broken))
    fast, generic = _both(tricky, q.ListSpec(), tmp_path)
    assert fast == generic and worker_rows == []
    assert "export worker failed (exit 1): worker broke" in caplog.text


def test_a_worker_that_dies_before_its_snapshot_leaves_the_file_whole(
    tricky: Workspace,  # noqa: F811
    tmp_path: Path,
    worker_rows: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """This process reads its part while the worker starts; a worker that never takes
    its snapshot lets the lock go all the same, and its part is read here."""
    broken = tmp_path / "no_snapshot.py"
    broken.write_text("import sys\nsys.exit('no snapshot')\n")
    monkeypatch.setattr(export_worker, "__file__", str(broken))
    fast, generic = _both(tricky, q.ListSpec(), tmp_path)
    assert fast == generic and worker_rows == []
    writer = sqlite3.connect(_db_path(tricky), timeout=0)  # the lock is gone
    writer.execute("UPDATE customers SET name = name")
    writer.commit()
    writer.close()


def test_a_busy_database_is_exported_without_the_split(
    tricky: Workspace,  # noqa: F811
    tmp_path: Path,
    worker_rows: list[int],
) -> None:
    """Another writer holds the lock: the export reads on its own, on the caller's snapshot."""
    writer = sqlite3.connect(_db_path(tricky), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        fast, generic = _both(tricky, q.ListSpec(), tmp_path)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert fast == generic and worker_rows == []


def test_the_worker_reads_in_its_own_process(tmp_path: Path) -> None:
    """The worker script runs with the standard library only and reports its snapshot."""
    import pickle
    import subprocess

    db = tmp_path / "w.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO customers (name) VALUES (?)", [(f"n{i}",) for i in range(7)])
    con.commit()
    con.close()
    out = tmp_path / "rows.part"
    job = {"path": str(db), "sql": "SELECT id, name FROM customers ORDER BY id", "batch": 3}
    job["out"] = str(out)
    done = subprocess.run(
        [sys.executable, "-I", "-S", export_worker.__file__],
        input=pickle.dumps(job),
        capture_output=True,
        check=True,
    )
    assert done.stdout == export_worker.PINNED
    assert [len(b) for b in split._unpickled(out)] == [3, 3, 1]
