"""A big SQLite CSV export read by two processes over one snapshot of the database.

SQLite formats the lines (:mod:`commands.export_csv_sql`) on one core; threads do
not help (its allocator takes a process-wide lock), so a second process,
:mod:`commands.export_worker`, reads the second part of the list (and makes its
CSV lines) while this one reads the first. Both parts must come from the same
committed state: a third connection holds the write lock (``BEGIN IMMEDIATE``)
while this process and the worker take their snapshots, so nothing can be
committed in between, and lets go as soon as both have. If the lock is not free
at once, the database is not a file, or the worker fails, the rows are read here
alone: the file is the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sqlalchemy import Connection, Select
from sqlalchemy.exc import SQLAlchemyError

from commands import export_worker
from commands.workspace import Workspace
from store import bulk

log = logging.getLogger(__name__)

#: below this many rows a second process costs more than it saves
SPLIT_ROWS = 20_000
#: how long to wait for the write lock that freezes the database (seconds)
LOCK_WAIT = 0.5


#: the share of the rows the worker reads: a little under half, as it also steps over
#: the rows before its own and makes its lines while this process waits for them
WORKER_SHARE = 0.47


def split_point(n: int) -> int:
    """How many of ``n`` rows this process reads before the worker's (the rest)."""
    return n - int(n * WORKER_SHARE)


def _database_file(ws: Workspace) -> str | None:
    url = ws.engine.url
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:") or not Path(name).is_file():
        return None
    return name


class SplitReader:
    """Batches of a statement's rows, the second half read by another process.

    Use as a context manager: inside it, :attr:`conn` is a connection whose
    snapshot the worker shares (or the caller's own connection when splitting is
    not possible); read everything the export needs through it.
    """

    def __init__(self, ws: Workspace, conn: Connection) -> None:
        self._ws = ws
        self._path = _database_file(ws)
        self._caller = conn
        self.conn = conn
        self._lock: sqlite3.Connection | None = None
        self._own: Connection | None = None
        self._worker: subprocess.Popen[bytes] | None = None
        self._out: Path | None = None
        self._errors: IO[bytes] | None = None
        self._cells: int | None = None
        #: whether the worker took its snapshot while the lock was held
        self._pinned = False

    def __enter__(self) -> SplitReader:
        path = self._path
        if path is None or sys.platform == "win32":
            return self
        try:
            lock = sqlite3.connect(path, timeout=LOCK_WAIT, isolation_level=None)
        except sqlite3.Error:
            return self
        try:
            lock.execute("BEGIN IMMEDIATE")  # no commit can happen until we let go
        except sqlite3.Error:
            lock.close()
            return self
        self._lock = lock
        try:
            own = self._ws.engine.connect()
            self._own = own
            own.exec_driver_sql("SELECT 1 FROM customers LIMIT 1").all()  # our snapshot
        except SQLAlchemyError:
            self._release()
            self._close_own()
            return self
        self.conn = own
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release()
        self._stop_worker()
        self._close_own()
        self.conn = self._caller

    def batches(
        self,
        stmt: Select[Any],
        size: int,
        count: Callable[[], int],
        *,
        whole: bool,
        cells: int | None = None,
    ) -> Iterator[Sequence[Any] | CsvLines]:
        """The rows of ``stmt`` in order, ``size`` at a time; ``count()`` counts them.

        Only a ``whole`` list (``stmt`` has no LIMIT or OFFSET of its own) is split.
        With ``cells``, the rows are the parts of CSV lines of that many cells
        (:func:`commands.export_csv_sql.line_select`), and the worker's batches may
        come as :class:`CsvLines`, the lines made.
        """
        self._cells = cells
        half = self._split(stmt, size, count) if self._lock is not None and whole else None
        if half is None:
            self._release()
            yield from bulk.fetch_batches(self.conn, stmt, size)
            return
        # this process reads its part while the worker starts; the lock goes once the
        # worker holds its snapshot (looked for between batches)
        for batch in bulk.fetch_batches(self.conn, stmt.limit(half), size):
            self._release_once_pinned(wait=False)
            yield batch
        rest = self._worker_batches() if self._release_once_pinned(wait=True) else None
        if rest is None:  # the worker failed: read its part here, on the same snapshot
            yield from bulk.fetch_batches(self.conn, stmt.offset(half), size)
        else:
            yield from rest

    def _release_once_pinned(self, *, wait: bool) -> bool:
        """Let the lock go once the worker has its snapshot (or has failed before);
        whether it has it. Without ``wait``, only if the worker has answered already."""
        if self._lock is not None:
            worker = self._worker
            assert worker is not None and worker.stdout is not None
            if not wait and not select.select([worker.stdout], [], [], 0)[0]:
                return False
            try:
                self._pinned = worker.stdout.read(1) == export_worker.PINNED
            except OSError:
                self._pinned = False
            self._release()
        return self._pinned

    def _split(self, stmt: Select[Any], size: int, count: Callable[[], int]) -> int | None:
        """Where the worker, now started, starts reading (:func:`split_point`); None: no
        worker."""
        n = count()
        half = split_point(n)
        # LIMIT -1: SQLite's "no limit", which SQLAlchemy writes as a literal (not as a bind)
        if n < SPLIT_ROWS or not self._start_worker(stmt.limit(-1).offset(half), size):
            return None
        return half

    def _start_worker(self, stmt: Select[Any], size: int) -> bool:
        """Start the worker on ``stmt``; True once it has its job (it then takes its
        snapshot and says so: see :meth:`_release_once_pinned`)."""
        try:
            compiled = stmt.compile(
                dialect=self.conn.dialect, compile_kwargs={"literal_binds": True}
            )
        except Exception:
            return False
        if compiled.positiontup:  # a parameter left unwritten: the worker could not run it
            return False
        sql = str(compiled)
        fd, out = tempfile.mkstemp(prefix="openinvoice-export-", suffix=".part")
        os.close(fd)
        self._out = Path(out)
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - read and closed in _stop_worker
        job = {"path": self._path, "sql": sql, "batch": size, "out": out, "cells": self._cells}
        worker = subprocess.Popen(
            [sys.executable, "-I", "-S", export_worker.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
        )
        self._worker = worker
        assert worker.stdin is not None and worker.stdout is not None
        try:
            worker.stdin.write(pickle.dumps(job))
            worker.stdin.close()
        except OSError:
            return False
        return True

    def _worker_batches(self) -> Iterator[Sequence[Any] | CsvLines] | None:
        worker, out = self._worker, self._out
        assert worker is not None and out is not None
        code = worker.wait()
        if code != 0:
            errors = self._errors
            said = b""
            if errors is not None:
                errors.seek(0)
                said = errors.read()[-2000:]
            log.warning("export worker failed (exit %s): %s", code, said.decode(errors="replace"))
            return None
        return _unpickled(out)

    def _release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(sqlite3.Error):
                self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None

    def _stop_worker(self) -> None:
        worker = self._worker
        if worker is not None:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
            for pipe in (worker.stdin, worker.stdout):
                if pipe is not None:
                    pipe.close()
            self._worker = None
        if self._errors is not None:
            self._errors.close()
            self._errors = None
        if self._out is not None:
            self._out.unlink(missing_ok=True)
            self._out = None

    def _close_own(self) -> None:
        if self._own is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._own.rollback()
            self._own.close()
            self._own = None


@dataclass(frozen=True, slots=True)
class CsvLines:
    """A batch of the worker's rows as the CSV lines it made of them."""

    rows: int
    data: bytes


def _unpickled(path: Path) -> Iterator[Sequence[Any] | CsvLines]:
    with path.open("rb") as fh:
        while True:
            try:
                batch = pickle.load(fh)
            except EOFError:
                return
            yield CsvLines(*batch) if type(batch) is tuple else batch


__all__ = ["SPLIT_ROWS", "CsvLines", "SplitReader", "split_point"]
