"""Benchmark of the full-screen app on the 100k-customer demo database.

- launch to the first screen with data: a fresh ``python`` process opens the
  app headless (160x45) and stops when the first window of rows is painted;
  floor: the same process start with a bare Textual app (one Static);
- keystroke in the search to the updated list: ``/`` then ``acme`` typed one
  key at a time, each timed from the key to the first repaint of the list
  with that query's rows (the exact count may follow: "200+ of ..."); floor:
  one raw SQL page fetch (200 customers with their figures) on sqlite3;
- peak memory (max RSS) of the app process after the first screen, a jump to
  the last row and a sort by revenue; floor: the bare Textual app.

The database is copied first (the app may write figure snapshots).

    python -m tests.bench.bench_tui
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import AS_OF, HEADER, bench_db, row, settle_disk

SIZE = (160, 45)
SEARCH = "acme"
RUNS = 5


# -- probes (run in their own process) ------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def probe_app(db: str, start: float) -> None:
    """Open the app on ``db``; print seconds to the first painted data and peak MB.

    The collector is handled as ``commands.cli.main`` handles it: off while
    starting, frozen and back on when the session begins.
    """
    import gc

    gc.disable()
    from commands.backend import WorkspaceBackend
    from commands.cli import long_running
    from commands.config import Config
    from commands.workspace import Workspace
    from store.engine import make_engine
    from tui.app import OpenInvoiceApp

    result: dict[str, float] = {}

    class Probe(OpenInvoiceApp):
        def on_open_invoice_app_query_loaded(self, message: OpenInvoiceApp.QueryLoaded) -> None:
            super().on_open_invoice_app_query_loaded(message)
            if "first_screen" not in result:
                self.call_after_refresh(self._painted)

        def _painted(self) -> None:
            if self.table.row(0) is None:  # the first window is not there yet
                self.set_timer(0.005, self._painted)
                return
            result["first_screen"] = time.time() - start
            self.table.action_last_row()
            self.set_timer(0.3, self._sorted)

        def _sorted(self) -> None:
            self.table.action_sort("revenue")
            self.set_timer(0.5, self._done)

        def _done(self) -> None:
            result["rss_mb"] = _rss_mb()
            self.exit()

    ws = Workspace(engine=make_engine(db), config=Config({}), as_of_override=AS_OF)
    history = Path(tempfile.mkdtemp()) / "history"
    app = Probe(WorkspaceBackend(ws, history_path=history))
    long_running()
    app.run(headless=True, size=SIZE)
    print(json.dumps(result))


def probe_bare(start: float) -> None:
    """A bare Textual app: seconds to its first paint, peak MB."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    result: dict[str, float] = {}

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("hello")

        def on_mount(self) -> None:
            self.call_after_refresh(self._painted)

        def _painted(self) -> None:
            result["first_screen"] = time.time() - start
            result["rss_mb"] = _rss_mb()
            self.exit()

    Bare().run(headless=True, size=SIZE)
    print(json.dumps(result))


def _run_probe(*args: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    start = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_tui", "--probe", *args, repr(start)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- in-process: keystrokes -----------------------------------------------------------------


async def _keystrokes(db: str) -> list[float]:
    from commands.backend import WorkspaceBackend
    from commands.config import Config
    from commands.workspace import Workspace
    from store.engine import make_engine
    from tui.app import OpenInvoiceApp

    painted: dict[str, float] = {}

    class Timed(OpenInvoiceApp):
        """Notes when each query's rows are first painted."""

        def on_open_invoice_app_query_loaded(self, message: OpenInvoiceApp.QueryLoaded) -> None:
            super().on_open_invoice_app_query_loaded(message)
            query = message.query
            self.call_after_refresh(lambda: painted.setdefault(query, time.perf_counter()))

    ws = Workspace(engine=make_engine(db), config=Config({}), as_of_override=AS_OF)
    history = Path(tempfile.mkdtemp()) / "history"
    app = Timed(WorkspaceBackend(ws, history_path=history))
    times: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)
        for _ in range(RUNS):
            await pilot.press("escape", "slash")
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
            typed = "find "
            for key in SEARCH:
                typed += key
                painted.clear()
                start = time.perf_counter()
                # (Pilot.press returns only when every worker is idle, count included)
                await pilot.press(key)
                while typed not in painted:
                    await asyncio.sleep(0.001)
                times.append(painted[typed] - start)
                await app.workers.wait_for_complete()
    return times


def _raw_sql_page(path: Path) -> float:
    """The floor of a repaint: one 200-row window of customers with figures, raw sqlite3."""
    conn = sqlite3.connect(path)

    def fetch() -> None:
        conn.execute(
            "select c.*, f.* from customers c join customer_figures f on f.customer_id = c.id "
            "where c.status != 'archived' order by c.sort_name, c.id limit 200"
        ).fetchall()

    fetch()
    times = []
    for _ in range(15):
        start = time.perf_counter()
        fetch()
        times.append(time.perf_counter() - start)
    conn.close()
    return statistics.median(times)


def main() -> None:
    source, built = bench_db()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench100k.db"
        shutil.copyfile(source, path)
        settle_disk()
        url = f"sqlite:///{path}"
        _run_probe("app", url)  # warm the OS file cache and the parser table cache
        apps = [_run_probe("app", url) for _ in range(3)]
        bares = [_run_probe("bare") for _ in range(3)]
        first = statistics.median(a["first_screen"] for a in apps)
        bare_first = statistics.median(b["first_screen"] for b in bares)
        rss = max(a["rss_mb"] for a in apps)
        bare_rss = max(b["rss_mb"] for b in bares)
        keys = asyncio.run(_keystrokes(url))
        key = statistics.median(keys)
        floor_key = _raw_sql_page(path)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"
    print("## Full-screen app\n")
    print(
        f"100k-customer demo database{'' if built is None else f' (built in {built:.0f} s)'}, "
        f"headless at {SIZE[0]}x{SIZE[1]}; launch = a fresh process to the first painted "
        f"rows (median of 3); keystroke = `/` then `{SEARCH}` typed key by key "
        f"(median of {len(keys)}, worst {max(keys) * 1000:.0f} ms).\n"
    )
    print(HEADER)
    print(row("launch to first screen with data", first, bare_first, "< 1 s"))
    print(row("keystroke in search to updated list", key, floor_key, "< 50 ms"))
    print(
        f"| peak memory (max RSS) | {rss:.0f} MB | {bare_rss:.0f} MB | "
        f"{rss / bare_rss:.1f}x | < 150 MB |"
    )
    print(
        "\nFloors: launch and memory against a bare Textual app (one Static) started the "
        "same way; keystroke against one raw SQL page fetch (200 customers with figures, "
        "sqlite3). The app is opened as `openinvoice` opens it, without the command-line "
        f"parsing. Load average while measuring: {load}."
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        if sys.argv[2] == "app":
            probe_app(sys.argv[3], float(sys.argv[4]))
        else:
            probe_bare(float(sys.argv[3]))
    else:
        main()
