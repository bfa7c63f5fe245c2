"""The second process of a split CSV export (see :mod:`commands.export_split`).

Run as a script (``python -I -S export_worker.py``), so it starts in a few
milliseconds: standard library only. It reads one job from stdin (a pickled
dict: ``path``, ``sql``, ``batch``, ``out`` and optionally ``cells``), opens the
database, starts a read transaction and writes ``P`` to stdout once its snapshot
is taken, then writes the rows of ``sql`` to the file ``out``, ``batch`` at a
time, each pickled: as a list of rows, or, with ``cells``, where the rows are
the parts of CSV lines (:func:`commands.export_csv_sql.line_select`), as a tuple
``(rows, lines)`` of the finished lines (a list of the rows still, when some line
needs the caller's help: see :func:`clean_chunk`).

The line helpers live here so that both processes use the same code.
"""

from __future__ import annotations

import pickle
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any

#: written to stdout once the read transaction holds its snapshot
PINNED = b"P"
#: in a line: SQLite could not format some value of this row exactly
FALLBACK_MARK = b"\x01"
#: leading characters that make a spreadsheet run a cell as a formula (as
#: ``commands.fileformats.reading.FORMULA_TRIGGERS``: a test keeps them equal)
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: distinct tag combinations whose cells are remembered (memory stays bounded)
TAG_CELLS_KEPT = 10_000


def tag_cell(raw: str | None) -> bytes:
    """The tags cell (UTF-8) from tag names joined by ``;`` in any order: the names
    in order, neutralised as ``commands.fileformats.reading.neutralise`` does."""
    if not raw:
        return b""
    text = ";".join(sorted(raw.split(";")))
    rest = text.lstrip("'")
    if rest and rest.startswith(FORMULA_TRIGGERS):
        text = "'" + text
    return text.encode()


class TagCells(dict[str | None, bytes]):
    """Tag text from SQL -> the tags cell, each distinct combination made once."""

    def __missing__(self, raw: str | None) -> bytes:
        cell = self[raw] = tag_cell(raw)
        return cell


class LineMaker:
    """CSV lines from rows of (customer id, head, tag names, tail)."""

    def __init__(self) -> None:
        self.tag_cells = TagCells()

    def __call__(self, batch: Sequence[Sequence[Any]]) -> list[bytes]:
        if len(self.tag_cells) > TAG_CELLS_KEPT:
            self.tag_cells = TagCells()
        cells = self.tag_cells
        return [head + cells[raw] + tail for _, head, raw, tail in batch]


def clean_chunk(data: bytes, lines: int, cells: int) -> bool:
    """True when ``data`` (``lines`` lines) needs no CSV quoting and no fallback."""
    return (
        data.count(b",") == lines * (cells - 1)
        and data.count(b"\n") == lines
        and data.count(b"\r") == lines
        and b'"' not in data
        and FALLBACK_MARK not in data
    )


def main() -> None:
    job = pickle.load(sys.stdin.buffer)
    con = sqlite3.connect(job["path"], isolation_level=None, timeout=30)
    con.execute("PRAGMA cache_size=-65536")
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("BEGIN")
    con.execute("SELECT 1 FROM customers LIMIT 1").fetchall()  # the snapshot is taken here
    sys.stdout.buffer.write(PINNED)
    sys.stdout.buffer.flush()
    cursor = con.execute(job["sql"])
    cells: int | None = job.get("cells")
    lines = LineMaker()
    with open(job["out"], "wb") as fh:
        while batch := cursor.fetchmany(job["batch"]):
            out: object = batch
            if cells is not None:
                data = b"".join(lines(batch))
                if clean_chunk(data, len(batch), cells):
                    out = (len(batch), data)
            pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)
    con.execute("ROLLBACK")
    con.close()


if __name__ == "__main__":
    main()
