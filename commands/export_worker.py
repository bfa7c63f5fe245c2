"""The second process of a split CSV export (see :mod:`commands.export_split`).

Run as a script (``python -I -S export_worker.py``), so it starts in a few
milliseconds: standard library only. It reads one job from stdin (a pickled
dict: ``path``, ``sql``, ``batch``, ``out``), opens the database, starts a read
transaction and writes ``P`` to stdout once its snapshot is taken, then writes
the rows of ``sql`` to the file ``out`` as pickled lists of ``batch`` rows.
"""

from __future__ import annotations

import pickle
import sqlite3
import sys

#: written to stdout once the read transaction holds its snapshot
PINNED = b"P"


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
    with open(job["out"], "wb") as fh:
        while batch := cursor.fetchmany(job["batch"]):
            pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
    con.execute("ROLLBACK")
    con.close()


if __name__ == "__main__":
    main()
