"""Issue 2: generating the 100,000-customer demo database (goal < 30 s).

``python -m tests.bench.bench_demo``. Builds into a temporary file and prints
the time of each phase; the floor is sqlite3 ``executemany`` of the same
customer, invoice and payment rows into the same (empty, unindexed) tables,
i.e. the load alone without generating data, indexes or figures.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from store.demo import generate
from store.engine import make_engine
from tests.bench.common import AS_OF


def main() -> None:
    print("## Demo data (issue 2)")
    phases: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.db"
        engine = make_engine(f"sqlite:///{path}")
        start = time.perf_counter()
        stats = generate(engine, customers=100_000, seed=42, as_of=AS_OF, progress=phases.append)
        total = time.perf_counter() - start
        engine.dispose()
        floor = _raw_copy(path, Path(tmp) / "raw.db")
    print(
        f"100,000 customers, {stats.invoices:,} invoices, {stats.payments:,} payments: "
        f"**{total:.1f} s** (goal < 30 s); raw executemany of the same rows into bare "
        f"tables: {floor:.1f} s ({total / floor:.1f}x)."
    )
    print()
    print("Phases (cumulative): " + "; ".join(phases))


def _raw_copy(source: Path, dest: Path) -> float:
    """Seconds to executemany the three big tables' rows into bare copies of them."""
    src = sqlite3.connect(str(source))
    rows = {
        t: src.execute(f"SELECT * FROM {t}").fetchall()
        for t in ("customers", "invoices", "payments")
    }
    ddl = {
        t: src.execute("SELECT sql FROM sqlite_master WHERE name = ?", (t,)).fetchone()[0]
        for t in rows
    }
    src.close()
    out = sqlite3.connect(str(dest), isolation_level=None)
    out.execute("PRAGMA journal_mode=WAL")
    for t in rows:
        out.execute(ddl[t])
    start = time.perf_counter()
    out.execute("BEGIN")
    for t, data in rows.items():
        marks = ",".join("?" * len(data[0]))
        out.executemany(f"INSERT INTO {t} VALUES ({marks})", data)
    out.execute("COMMIT")
    seconds = time.perf_counter() - start
    out.close()
    return seconds


if __name__ == "__main__":
    main()
