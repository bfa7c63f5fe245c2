"""Issue 3 benchmarks: parsing, `openinvoice run` as a whole process, bulk tag and undo.

``python -m tests.bench.bench_commands``. Floors: the bare LALR parse of the
same grammar (no transformer); a Python process that runs the same query in
raw SQL through sqlite3 and prints JSON; ``INSERT ... SELECT`` and ``DELETE``
of the same 20,000 tag rows.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lark import Lark

from commands import executor
from commands.workspace import Workspace
from grammar import parser as grammar_parser
from grammar.complete import Vocabulary, complete
from tests.bench.common import AS_OF, HEADER, bench_db, row, settle_disk, timeit

SENTENCES = [
    "late payers",
    "tag late payers with at-risk",
    "export high-value customers to vip.xlsx",
    "customers tagged vip and not late payers sorted by revenue desc",
    "note acme: call back about the discount, follow up on 2026-12-01",
    "top 20 customers by revenue with outstanding over 1,000",
]
OPENINVOICE = Path(sys.executable).with_name("openinvoice")


def _process(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def _best_of(args: list[str], runs: int = 5) -> float:
    _process(args)  # warm the OS cache and lark's table cache
    return min(_process(args) for _ in range(runs))


RAW_SEGMENT = """
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
rows = con.execute(
    "SELECT c.id, c.name, c.email, c.company, f.* FROM customer_figures f JOIN customers c "
    "ON c.id = f.customer_id WHERE f.as_of = ? AND f.archived = 0 AND f.revenue_segment = "
    "'high-value' ORDER BY f.revenue DESC, f.customer_id DESC", (sys.argv[2],)).fetchall()
json.dump({"total": len(rows), "customers": [list(map(str, r)) for r in rows]}, sys.stdout)
"""
RAW_SEARCH = """
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
rows = con.execute(
    "SELECT c.id, c.name, c.email, c.company, f.* FROM customers c CROSS JOIN customer_figures f "
    "WHERE f.customer_id = c.id AND f.as_of = ? AND c.status = 'active' AND c.id IN (SELECT rowid "
    "FROM customer_search WHERE customer_search MATCH '\\"muller\\"') ORDER BY c.sort_name, c.id",
    (sys.argv[2],)).fetchall()
json.dump({"total": len(rows), "customers": [list(map(str, r)) for r in rows]}, sys.stdout)
"""


def main() -> None:
    path, _ = bench_db()
    print("## Command language and headless run (issue 3)")
    print(HEADER)

    bare = Lark(
        grammar_parser._grammar_text(),
        parser="lalr",
        lexer=grammar_parser._Lexer,
        maybe_placeholders=False,
        cache=True,
    )
    build = grammar_parser._parse_cached.__wrapped__  # the uncached parse + transform
    for text in SENTENCES:
        print(
            row(
                f"parse `{text}`",
                timeit(lambda text=text: build(text), repeat=200),
                timeit(lambda text=text: bare.parse(text), repeat=200),
                "< 0.2 ms",
            )
        )

    vocab = Vocabulary(
        tags=tuple(f"tag-{i}" for i in range(200)),
        segments=("whales", "big fish"),
        fields=("industry", "plan", "seats"),
        customers=tuple(f"Customer {i}" for i in range(5000)),
    )
    lark_parser = grammar_parser.interactive_parser()

    def lark_accepts(text: str) -> Any:
        """The raw library call: lark's terminals acceptable after the prefix."""
        state = lark_parser.parse_interactive(text.rsplit(" ", 1)[0] + " ")
        state.exhaust_lexer()
        return state.accepts()

    for partial in ["tag late payers w", "customers with rev", "show high", "tag acme with tag-1"]:
        print(
            row(
                f"complete `{partial}` (200 tags, 5,000 customer names)",
                timeit(lambda partial=partial: complete(partial, vocab), repeat=200),
                timeit(lambda partial=partial: lark_accepts(partial), repeat=200),
                "< 1 ms",
            )
        )

    url = f"sqlite:///{path}"
    as_of = AS_OF.isoformat()
    base = [str(OPENINVOICE), "--db", url, "--as-of", as_of, "run", "--json"]
    raw = [sys.executable, "-c"]
    print(
        row(
            "`openinvoice run --json 'high-value customers'` (whole process)",
            _best_of([*base, "high-value customers"]),
            _best_of([*raw, RAW_SEGMENT, str(path), as_of]),
            "< 1 s",
        )
    )
    print(
        row(
            "`openinvoice run --json 'customers matching müller'` (whole process)",
            _best_of([*base, "customers matching müller"]),
            _best_of([*raw, RAW_SEARCH, str(path), as_of]),
            "< 1 s",
        )
    )
    _bulk_tag(path)


def _bulk_tag(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bulk.db"
        shutil.copy(path, copy)
        settle_disk()
        ws = Workspace.open(f"sqlite:///{copy}", AS_OF.isoformat())
        ws.ensure_figures()
        sentence = "tag top 20000 customers by revenue with bench"
        executor.run(ws, sentence, confirmed=True)  # warm up: the tag now exists
        executor.run(ws, "undo")
        tag_times, undo_times = [], []
        for _ in range(5):
            start = time.perf_counter()
            result: Any = executor.run(ws, sentence, confirmed=True)
            tag_times.append(time.perf_counter() - start)
            assert result.affected == 20_000, result
            start = time.perf_counter()
            executor.run(ws, "undo")
            undo_times.append(time.perf_counter() - start)
        ws.engine.dispose()

        raw = sqlite3.connect(str(copy), isolation_level=None)
        raw.execute("PRAGMA synchronous=NORMAL")  # as the app does (WAL: no fsync per commit)
        raw.execute("INSERT INTO tags (name, created_at) VALUES ('bench', '2026-06-30 09:00:00')")
        tag_id = raw.execute("SELECT id FROM tags WHERE name = 'bench'").fetchone()[0]
        insert = (
            "INSERT INTO customer_tags (customer_id, tag_id) SELECT f.customer_id, ? FROM "
            "customer_figures f WHERE f.as_of = ? AND f.archived = 0 "
            "ORDER BY f.revenue DESC, f.customer_id DESC LIMIT 20000"
        )
        raw_tag, raw_undo = [], []
        for _ in range(5):
            raw.execute("BEGIN IMMEDIATE")
            start = time.perf_counter()
            raw.execute(insert, (tag_id, AS_OF.isoformat()))
            raw.execute("COMMIT")
            raw_tag.append(time.perf_counter() - start)
            raw.execute("BEGIN IMMEDIATE")
            start = time.perf_counter()
            raw.execute("DELETE FROM customer_tags WHERE tag_id = ?", (tag_id,))
            raw.execute("COMMIT")
            raw_undo.append(time.perf_counter() - start)
        raw.close()
    print(row("bulk tag of 20,000 customers (audited)", min(tag_times), min(raw_tag), "< 150 ms"))
    print(row("undo of that tag", min(undo_times), min(raw_undo), "< 150 ms"))


if __name__ == "__main__":
    main()
