"""Screenshots of the full-screen app for the docs (``make screenshots``).

Runs the real app headless at 160x45 on a database (the demo database by
default), with D fixed at 2026-06-30 so the figures do not drift, and saves
the SVGs Textual renders:

- ``main.svg``: the customer browser, the detail of the first customer
- ``detail.svg``: the detail pane's Invoices tab of a customer with history
- ``command-bar.svg``: a query typed, a mistake with its caret, completion open

    python -m tests.bench.screenshots --db sqlite:///demo.sqlite3 --out docs/screenshots
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import date
from pathlib import Path

from textual.pilot import Pilot

from commands.backend import WorkspaceBackend
from commands.config import Config
from commands.workspace import Workspace
from store.engine import make_engine
from tui.app import OpenInvoiceApp

D = date(2026, 6, 30)
SIZE = (160, 45)


async def settle(app: OpenInvoiceApp, pilot: Pilot[None], rounds: int = 4) -> None:
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def sentence(app: OpenInvoiceApp, pilot: Pilot[None], text: str) -> None:
    await pilot.press("colon")
    app.command_bar.set_value(text)
    await pilot.press("enter")
    await settle(app, pilot)


async def shoot(db_url: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:

        def app() -> OpenInvoiceApp:
            ws = Workspace(engine=make_engine(db_url), config=Config({}), as_of_override=D)
            return OpenInvoiceApp(WorkspaceBackend(ws, history_path=Path(tmp) / "history"))

        def save(running: OpenInvoiceApp, name: str) -> None:
            path = out / name
            path.write_text(running.export_screenshot(title="OpenInvoice Customers"))
            saved.append(path)

        main = app()
        async with main.run_test(size=SIZE) as pilot:
            await settle(main, pilot)
            save(main, "main.svg")

        detail = app()
        async with detail.run_test(size=SIZE) as pilot:
            await settle(detail, pilot)
            await sentence(detail, pilot, "top 20 customers by revenue")
            await pilot.press("escape", "j", "enter")
            await settle(detail, pilot)
            detail.detail_pane.show_tab("invoices")
            await settle(detail, pilot)
            save(detail, "detail.svg")

        bar = app()
        async with bar.run_test(size=SIZE) as pilot:
            await settle(bar, pilot)
            await sentence(bar, pilot, "late payers sorted by outstanding desc")
            await pilot.press("escape", "space", "space", "space")
            await sentence(bar, pilot, "tag late payrs with at-risk")
            await pilot.press("escape", "colon", *"customers tagged ")
            await settle(bar, pilot)
            save(bar, "command-bar.svg")
    return saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL, e.g. sqlite:///demo.sqlite3")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    for path in asyncio.run(shoot(args.db, args.out)):
        print(path)


if __name__ == "__main__":
    main()
