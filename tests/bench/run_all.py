"""``make bench``: every benchmark, each in a fresh process, into docs/benchmarks.md.

    python -m tests.bench.run_all [--only NAME ...] [--out docs/benchmarks.md]

Each module prints a markdown section (ours beside the floor measured in the
same run, and the ratio); this runner adds the machine and the command, and
writes the file. A module that fails is reported in the file, not hidden.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

MODULES = [
    ("demo", "Demo data (issue 2)"),
    ("store", "Data core: pages, search, counts, at-risk (issue 2)"),
    ("commands", "Command language and headless run (issue 3)"),
    ("import_export", "Import and export (issue 4)"),
    ("reports", "Reports (issue 4)"),
    ("reminders", "Reminders (issue 5)"),
    ("tui", "Full-screen app (issue 7)"),
]
ROOT = Path(__file__).resolve().parents[2]


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.node() or 'machine'}: {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"load average {load:.2f} at start"
    )


def probe() -> float:
    """Milliseconds for a fixed Python and SQLite workload (median of 3): how fast this
    VM is right now. Its speed drifts by half; a section's footer gives the probe taken
    just before it, so runs can be compared."""

    def once() -> float:
        start = time.perf_counter()
        con = sqlite3.connect(":memory:")
        con.execute("CREATE TABLE t (a INTEGER, b TEXT)")
        con.executemany("INSERT INTO t VALUES (?, ?)", ((i, str(i)) for i in range(100_000)))
        con.execute("SELECT sum(a), count(DISTINCT b) FROM t").fetchone()
        con.close()
        sum(i * i for i in range(300_000))
        return (time.perf_counter() - start) * 1000

    return statistics.median(once() for _ in range(3))


def run_one(name: str) -> tuple[str, float, int]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", f"tests.bench.bench_{name}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    out = proc.stdout.strip()
    if proc.returncode:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        out += f"\n\n**failed (exit {proc.returncode})**:\n\n```\n{tail}\n```"
    return out, seconds, proc.returncode


def merge(old: str, new: str, names: list[str]) -> str:
    """``old`` with the sections of ``names`` replaced by those in ``new``."""
    for name in names:
        pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
        fresh = pattern.search(new)
        if fresh and pattern.search(old):
            old = pattern.sub(lambda _m, f=fresh: f.group(0), old)
        elif fresh:
            old += "\n" + fresh.group(0) + "\n"
    return old


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="*", default=None, help="module names, e.g. store tui")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = ap.parse_args()
    chosen = [(m, t) for m, t in MODULES if not args.only or m in args.only]
    parts = [
        "# Benchmarks",
        "",
        "Made by `make bench` (`python -m tests.bench.run_all`) on "
        f"{datetime.now():%Y-%m-%d %H:%M}; {machine()}.",
        "",
        "Each row times our code beside the floor: the same work done by hand in raw",
        "SQL through `sqlite3`, or by the raw library call, measured in the same run on",
        "the same data. *ratio* = ours / floor. Database: the 100,000-customer demo",
        "(`openinvoice demo --customers 100000 --seed 42`, D = 2026-06-30),",
        "built once into `bench-data/`.",
        "",
        "The machine probe in each footer times a fixed Python and SQLite workload just",
        "before the section (lower is faster): this VM's speed drifts by up to half.",
        "",
    ]
    failures = 0
    for name, title in chosen:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        speed = probe()
        out, seconds, code = run_one(name)
        failures += bool(code)
        parts += [
            f"<!-- bench:{name} -->",
            out or f"## {title}\n\n(no output)",
            "",
            f"_({seconds:.0f} s, {datetime.now():%Y-%m-%d %H:%M}; machine probe before it:"
            f" {speed:.0f} ms)_",
            f"<!-- /bench:{name} -->",
            "",
        ]
        print(out, flush=True)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(parts)
    if args.only and out_path.exists():  # refresh just those sections of the last full run
        text = merge(out_path.read_text(encoding="utf-8"), text, [m for m, _ in chosen])
    out_path.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
