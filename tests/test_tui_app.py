"""Pilot tests of the full-screen app on a real SQLite database.

The app runs exactly as ``openinvoice`` opens it: ``OpenInvoiceApp`` over
``commands.backend.WorkspaceBackend`` on a demo database (300 customers,
seed 7, D = 2026-06-30), with thread workers on. Each test asserts on
what the app shows and on the database afterwards (raw SQL, not the
backend, so the two can disagree and fail the test).
"""

from __future__ import annotations

import asyncio
import functools
import io
import shutil
import sqlite3
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, ProgressBar, Select, Static
from textual.worker import WorkerState

from commands.backend import WorkspaceBackend
from commands.config import Config
from commands.results import MessageResult, TableResult
from commands.workspace import Workspace
from store.demo import generate
from store.engine import make_engine
from tui.app import OpenInvoiceApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.customer_form import CustomerFormScreen
from tui.screens.field_picker import FieldPicker
from tui.screens.help import HelpScreen
from tui.screens.import_mapping import ImportMappingScreen
from tui.screens.note_form import NoteFormScreen
from tui.screens.preferences_form import PreferencesFormScreen
from tui.widgets.customer_table import PAGE_SIZE, CustomerTable

D = date(2026, 6, 30)
SEED = 7
CUSTOMERS = 300
SIZE = (160, 45)


def sync(test: Callable[..., Coroutine[object, object, None]]) -> Callable[..., None]:
    """Run an async Pilot test without an asyncio pytest plugin."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


# -- the database -------------------------------------------------------------------


def make_demo_db(path: Path, customers: int = CUSTOMERS, seed: int = SEED) -> Path:
    engine = make_engine(f"sqlite:///{path}")
    try:
        generate(engine, customers=customers, seed=seed, as_of=D)
    finally:
        engine.dispose()
    return path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo database per test session; tests work on copies."""
    return make_demo_db(tmp_path_factory.mktemp("tui-demo") / "demo.sqlite3")


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "demo.sqlite3"
    shutil.copyfile(demo_template, copy)
    return copy


@pytest.fixture
def sql(demo_db: Path) -> Iterator[Callable[..., list[tuple[object, ...]]]]:
    """Raw SQL on the test database (read after the app is done)."""
    conn = sqlite3.connect(demo_db)

    def run(statement: str, *params: object) -> list[tuple[object, ...]]:
        return conn.execute(statement, params).fetchall()

    yield run
    conn.close()


def make_app(db: Path, history: Path, **options: object) -> OpenInvoiceApp:
    ws = Workspace(engine=make_engine(f"sqlite:///{db}"), config=Config({}), as_of_override=D)
    return OpenInvoiceApp(WorkspaceBackend(ws, history_path=history), **options)  # type: ignore[arg-type]


async def workers_idle(app: App[object], timeout: float = 30.0) -> None:
    """Until no worker is pending or running (a cancelled one is fine: it was replaced)."""
    deadline = time.monotonic() + timeout
    while any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
        if time.monotonic() > deadline:
            raise AssertionError(f"workers still busy: {list(app.workers)}")
        await asyncio.sleep(0.01)


async def settle(app: App[object], pilot: Pilot[object], rounds: int = 4) -> None:
    """Let workers, timers (the detail's rest delay) and messages finish."""
    for _ in range(rounds):
        await workers_idle(app)
        await pilot.pause(0.05)
    if isinstance(app, OpenInvoiceApp):
        # the detail follows the cursor after a rest delay: on a busy machine
        # that timer can fire after the rounds above
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            under = app.table.cursor_customer
            if under is None or under.id == app.detail_id:
                break
            await pilot.pause(0.05)
            await workers_idle(app)
    await workers_idle(app)
    await pilot.pause()


def visible_rows(app: OpenInvoiceApp) -> list[str]:
    table = app.table
    return [
        row.name
        for i in range(min(table.total, table.visible_rows))
        if (row := table.row(i)) is not None
    ]


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text (its content rendered by Rich)."""
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(widget.content)
    return console.export_text()


def title(app: OpenInvoiceApp) -> str:
    return str(app.query_one("#browser").border_title)


async def type_sentence(pilot: Pilot[object], app: OpenInvoiceApp, sentence: str) -> None:
    await pilot.press("colon")
    await pilot.pause()
    app.command_bar.set_value(sentence)
    await pilot.press("enter")
    await settle(app, pilot)


def tag_count(sql: Callable[..., list[tuple[object, ...]]], tag: str) -> int:
    rows = sql(
        "select count(*) from customer_tags ct join tags t on t.id = ct.tag_id where t.name = ?",
        tag,
    )
    return int(rows[0][0])  # type: ignore[call-overload]


# -- tests ---------------------------------------------------------------------------


@sync
async def test_opens_on_the_first_page_with_the_count(demo_db: Path, tmp_path: Path, sql) -> None:
    active = sql("select count(*) from customers where status != 'archived'")[0][0]
    everyone = sql("select count(*) from customers")[0][0]
    assert active < everyone  # the demo archives some
    first = sql("select name from customers where status != 'archived' order by sort_name, id")
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert title(app) == f"{active:,} of {active:,} customers"
        rows = visible_rows(app)
        assert rows == [name for (name,) in first[: len(rows)]]
        assert len(rows) == app.table.visible_rows
        # the cursor rests on the first row: its detail is loaded
        assert app.detail_id is not None
        assert str(app.detail_pane.border_title).startswith(rows[0])


@sync
async def test_live_search_filters_as_you_type(demo_db: Path, tmp_path: Path, sql) -> None:
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        all_title = title(app)
        await pilot.press("slash", "a", "c")
        await settle(app, pilot)
        await pilot.press("m", "e")
        await settle(app, pilot)
        assert app.command_bar.value == "find acme"
        total = app.table.total
        assert 0 < total < 50
        assert title(app).endswith("— find acme")
        names = visible_rows(app)
        assert len(names) == total
        expected = sql(
            "select count(*) from customers where status != 'archived' and "
            "(lower(name) like '%acme%' or lower(company) like '%acme%' "
            "or lower(email) like '%acme%')"
        )[0][0]
        assert total == expected
        assert all("acme" in n.lower() for n in names)
        # nothing was echoed while typing; Enter keeps the list and records it
        assert app.transcript.plain == []
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.transcript.plain[0] == "› find acme"
        assert app.table.total == total
        # Esc back to the list, a new search of nothing shows everyone again
        await pilot.press("escape", "slash")
        await settle(app, pilot)
        assert title(app) == all_title


@sync
async def test_filter_and_sort_keys(demo_db: Path, tmp_path: Path, sql) -> None:
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await type_sentence(pilot, app, "customers with revenue over 5k")
        expected = sql(
            "select count(*) from customers c join customer_figures f on f.customer_id = c.id "
            "where c.status != 'archived' and f.revenue > 500000"
        )[0][0]
        assert app.table.total == expected
        assert title(app).startswith(f"{expected:,} of ")
        assert app.transcript.plain[-1].startswith(f"{expected:,} customers")
        await pilot.press("escape", "4")  # sort by revenue, ascending
        await settle(app, pilot)
        assert (app.table.sort_key, app.table.descending) == ("revenue", False)
        revenues = [app.table.row(i).revenue for i in range(5)]  # type: ignore[union-attr]
        assert revenues == sorted(revenues)
        assert min(revenues) > 5000
        await pilot.press("4")  # again: descending
        await settle(app, pilot)
        top = app.table.row(0)
        assert top is not None and app.table.descending
        highest = sql(
            "select max(f.revenue) from customers c join customer_figures f "
            "on f.customer_id = c.id where c.status != 'archived'"
        )[0][0]
        assert int(top.revenue * 100) == highest
        assert "Revenue ▼" in "".join(s.text for s in app.table.render_line(0))


@sync
async def test_select_bulk_tag_confirm_and_undo(demo_db: Path, tmp_path: Path, sql) -> None:
    assert tag_count(sql, "follow-up") == 0
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        # Space marks rows (and moves down)
        await pilot.press("space", "space", "space", "space")
        await settle(app, pilot)
        assert len(app.table.selected) == 4
        assert str(app.query_one("#browser").border_subtitle) == "4 selected"
        chosen = set(app.table.selected)
        await type_sentence(pilot, app, "tag selected with follow-up")
        # over the threshold (3): a preview in a modal, nothing written yet
        assert isinstance(app.screen, ConfirmScreen)
        shown = app.screen.query_one("#confirm-action", Static)
        assert "4 customers" in text_of(shown)
        assert tag_count(sql, "follow-up") == 0
        await pilot.press("y")
        await settle(app, pilot)
        tagged = sql(
            "select ct.customer_id from customer_tags ct join tags t on t.id = ct.tag_id "
            "where t.name = 'follow-up'"
        )
        assert {i for (i,) in tagged} == chosen
        assert any("Tagged 4 customers" in line for line in app.transcript.plain)
        # the list shows the new tag at once
        assert "follow-up" in app.table.row(0).tags  # type: ignore[union-attr]
        # u undoes it
        await pilot.press("escape", "u")
        await settle(app, pilot)
        assert tag_count(sql, "follow-up") == 0
        assert "follow-up" not in app.table.row(0).tags  # type: ignore[union-attr]
        assert app.transcript.plain[-1].startswith("Undid")


@sync
async def test_select_all_matching_then_decline(demo_db: Path, tmp_path: Path, sql) -> None:
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await type_sentence(pilot, app, "late payers")
        late = app.table.total
        assert late > 3
        await pilot.press("escape", "V")
        await settle(app, pilot)
        assert len(app.table.selected) == late
        await type_sentence(pilot, app, "tag selected with at-risk-review")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(app, pilot)
        assert app.transcript.plain[-1] == "Cancelled — nothing changed."
        assert tag_count(sql, "at-risk-review") == 0


@sync
async def test_enter_opens_the_detail_with_real_data(demo_db: Path, tmp_path: Path, sql) -> None:
    # a customer with both kinds of notes, so the Notes tab can tell them apart
    cid = sql("select id from customers where status != 'archived' order by id")[10][0]
    with sqlite3.connect(demo_db) as conn:
        conn.execute(
            "insert into notes (customer_id, kind, body, author, created_at, follow_up_done) "
            "values (?, 'customer', 'Net 30 agreed', 'demo', '2026-06-01 10:00:00', 0), "
            "(?, 'internal', 'Wants a call', 'demo', '2026-06-02 10:00:00', 0)",
            (cid, cid),
        )
    invoices = sql("select count(*) from invoices where customer_id = ?", cid)[0][0]
    payments = sql(
        "select count(*) from payments where customer_id = ? and paid_on <= '2026-06-30'", cid
    )[0][0]
    name = sql("select name from customers where id = ?", cid)[0][0]
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await type_sentence(pilot, app, f"show #{cid}")
        await pilot.press("escape", "enter")
        await settle(app, pilot)
        pane = app.detail_pane
        assert app.detail_id == cid
        assert str(pane.border_title) == f"{name} (#{cid})"
        overview = text_of(pane.query_one("#overview-body", Static))
        assert "Revenue" in overview and "On-time rate" in overview
        # (a tab gets its widgets when it is first shown)
        pane.show_tab("invoices")
        await pilot.pause()
        assert pane.query_one("#invoices-table", DataTable).row_count == invoices
        pane.show_tab("payments")
        await pilot.pause()
        assert pane.query_one("#payments-table", DataTable).row_count == payments
        pane.show_tab("overview")
        await pilot.pause()
        # the tab keys move through every tab
        seen = []
        for _ in range(7):
            seen.append(pane.active_tab)
            await pilot.press("right")
            await settle(app, pilot)
        assert seen == [
            "overview",
            "invoices",
            "payments",
            "emails",
            "notes",
            "payment-methods",
            "preferences",
        ]
        pane.show_tab("notes")
        await pilot.pause()
        notes = text_of(pane.query_one("#notes-body", Static))
        assert "INTERNAL" in notes and "CUSTOMER" in notes
        assert notes.index("INTERNAL") < notes.index("CUSTOMER")  # newest first
        prefs = text_of(pane.query_one("#preferences-body", Static))
        assert "Payment terms" in prefs and "net " in prefs
        assert prefs.count("Payment terms") == 1


@sync
async def test_add_a_note_through_the_form(demo_db: Path, tmp_path: Path, sql) -> None:
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        customer = app.table.cursor_customer
        assert customer is not None
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NoteFormScreen)
        await pilot.press(*"Promised to pay by Friday")
        app.screen.query_one("#note-follow-up").value = "2026-07-03"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        rows = sql(
            "select kind, body, follow_up_on from notes where customer_id = ? "
            "and body like 'Promised%'",
            customer.id,
        )
        # the sentence keeps the follow-up clause in the body (as typed on the command line)
        assert rows == [
            ("internal", "Promised to pay by Friday, follow up on 2026-07-03", "2026-07-03")
        ]
        app.detail_pane.show_tab("notes")
        await pilot.pause()
        notes = text_of(app.detail_pane.query_one("#notes-body", Static))
        assert "Promised to pay by Friday" in notes and "follow up 2026-07-03" in notes


@sync
async def test_add_and_edit_a_customer_through_the_form(demo_db: Path, tmp_path: Path, sql) -> None:
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, CustomerFormScreen)
        await pilot.press(*"Zeta Works GmbH", "tab", *"not-an-email")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CustomerFormScreen)  # refused, message beside it
        error = app.screen.query_one("#error-email", Static)
        assert "Not an email" in text_of(error)
        email = app.screen.query_one("#field-email")
        email.value = "ops@zeta.test"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert sql("select email from customers where name = 'Zeta Works GmbH'") == [
            ("ops@zeta.test",)
        ]
        # edit the customer under the cursor
        await type_sentence(pilot, app, "find zeta")
        await pilot.press("escape", "e")
        await pilot.pause()
        assert isinstance(app.screen, CustomerFormScreen)
        company = app.screen.query_one("#field-company")
        company.value = "Zeta"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert sql("select company from customers where name = 'Zeta Works GmbH'") == [("Zeta",)]
        assert app.table.row(0).company == "Zeta"  # type: ignore[union-attr]


@sync
async def test_errors_show_the_caret_and_suggestions(demo_db: Path, tmp_path: Path) -> None:
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await type_sentence(pilot, app, "tag late payrs with vip")
        lines = app.transcript.plain
        sentence_line = next(i for i, line in enumerate(lines) if line.strip() == lines[0][2:])
        caret = lines[sentence_line + 1]
        assert caret.strip() == "^"
        assert caret.index("^") == lines[sentence_line].index("payrs")
        assert any(line.startswith("✗ ") and "payrs" in line for line in lines)
        assert any("Did you mean" in line and "payers" in line for line in lines)
        assert sum(line.strip() == "^" for line in lines) == 1  # one caret, not two


@sync
async def test_completion_as_you_type(demo_db: Path, tmp_path: Path, sql) -> None:
    tags = {t for (t,) in sql("select name from tags")}
    # the most used tag, so accepting it lists someone
    tag, used = sql(
        "select t.name, count(*) from customer_tags ct join tags t on t.id = ct.tag_id "
        "join customers c on c.id = ct.customer_id where c.status != 'archived' "
        "group by t.name order by count(*) desc, t.name limit 1"
    )[0]
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("colon", *"customers tagged ")
        await settle(app, pilot)
        bar = app.command_bar
        assert bar.completing
        offered = {text for text, kind, _ in bar.completions if kind == "tag"}
        assert offered == tags  # every tag (beside keywords such as "with")
        # typing on narrows the list to the tags that start with the letters
        await pilot.press(*tag[:2])
        await settle(app, pilot)
        assert bar.completions, "no completion for a tag prefix"
        assert all(text.startswith(tag[:2]) for text, _, _ in bar.completions)
        while bar.completions[bar.dropdown.highlighted or 0][0] != tag:
            await pilot.press("down")
        await pilot.press("tab")
        await settle(app, pilot)
        assert bar.value == f"customers tagged {tag} "
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.table.total == used
        assert title(app).endswith(f"— customers tagged {tag}")


@sync
async def test_history_is_kept_across_runs(demo_db: Path, tmp_path: Path) -> None:
    history = tmp_path / "history"
    app = make_app(demo_db, history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await type_sentence(pilot, app, "late payers sorted by revenue")
        await type_sentence(pilot, app, "find acme")
    assert history.read_text().splitlines() == ["late payers sorted by revenue", "find acme"]
    again = make_app(demo_db, history)
    async with again.run_test(size=SIZE) as pilot:
        await settle(again, pilot)
        await pilot.press("colon", "up")
        assert again.command_bar.value == "find acme"
        await pilot.press("up")
        assert again.command_bar.value == "late payers sorted by revenue"


@sync
async def test_help_palette_and_remapped_keys(demo_db: Path, tmp_path: Path) -> None:
    app = make_app(demo_db, tmp_path / "history", keys={"search": "ctrl+f", "help": "f2"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = text_of(app.screen.query_one("#help-table", Static))
        assert "Ctrl+F" in table and "Space" in table
        await pilot.press("escape")
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert app.command_bar.value == "find "
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"select all")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert len(app.table.selected) == app.table.total


@sync
async def test_a_big_list_pages_instead_of_loading_everything(tmp_path: Path) -> None:
    db = make_demo_db(tmp_path / "big.sqlite3", customers=3000, seed=3)
    app = make_app(db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table: CustomerTable = app.table
        assert table.total > 2500
        assert set(table._pages) == {0}
        await pilot.press("G")
        await settle(app, pilot)
        assert table.cursor_customer is not None
        assert len(table._pages) == 2  # the first and the last window, nothing between


@sync
async def test_a_search_with_many_matches_paints_once_then_counts(tmp_path: Path) -> None:
    db = make_demo_db(tmp_path / "big.sqlite3", customers=3000, seed=3)
    app = make_app(db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table: CustomerTable = app.table
        loads: list[int] = []
        load = table.load
        table.load = lambda total, *a, **k: (loads.append(total), load(total, *a, **k))[1]  # type: ignore[method-assign]
        await pilot.press("slash", "a")
        await settle(app, pilot)
        exact = app.backend.count("find a")
        assert exact > PAGE_SIZE
        # the first window is shown with a provisional "100+"; the count only updates the total
        assert loads == [PAGE_SIZE]
        assert table.total == app.total == exact and app.total_exact
        assert title(app).startswith(f"{exact:,} of ")
        assert set(table._pages) == {0}
        await pilot.press("escape", "G")
        await settle(app, pilot)
        assert title(app).endswith("— find a")
        assert table.cursor_row == exact - 1 and table.cursor_customer is not None


async def open_import(
    pilot: Pilot[object], app: OpenInvoiceApp, source: Path
) -> ImportMappingScreen:
    """Type ``import customers from SOURCE``: the mapping screen it opens."""
    await settle(app, pilot)
    await type_sentence(pilot, app, f"import customers from {source}")
    await settle(app, pilot)
    assert isinstance(app.screen, ImportMappingScreen)
    return app.screen


def mapping_of(screen: ImportMappingScreen) -> dict[str, str]:
    """File column -> the field the mapping table shows for it."""
    table = screen.query_one("#import-mapping", DataTable)
    return {
        str(table.get_row_at(i)[0]): str(table.get_row_at(i)[2]) for i in range(table.row_count)
    }


@sync
async def test_import_shows_the_mapping_screen_then_imports(
    demo_db: Path, tmp_path: Path, sql
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text(
        "Name,E-Mail,Company,Shoe size\n"
        + "".join(f"Imported {i},imp{i}@example.test,Imp Co,{40 + i}\n" for i in range(6)),
        encoding="utf-8",
    )
    before = sql("select count(*) from customers")[0][0]
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, app, source)
        assert mapping_of(screen) == {
            "Name": "name", "E-Mail": "email", "Company": "company", "Shoe size": "not imported",
        }  # fmt: skip
        preview = screen.query_one("#import-preview", DataTable)
        assert preview.row_count == 6
        assert sql("select count(*) from customers")[0][0] == before  # nothing yet
        await pilot.press("y")
        await settle(app, pilot)
        assert sql("select count(*) from customers")[0][0] == before + 6
        assert sql("select company from customers where email = 'imp3@example.test'") == [
            ("Imp Co",)
        ]
        # the list counts the new customers at once; undo takes them out again
        await pilot.press("escape", "u")
        await settle(app, pilot)
        assert sql("select count(*) from customers")[0][0] == before


@sync
async def test_the_mapping_screen_maps_columns_then_imports_as_mapped(
    demo_db: Path, tmp_path: Path, sql
) -> None:
    """Three rows (under the bulk threshold) still go through the mapping screen; no
    column is recognised, so nothing can be imported until the user maps them."""
    source = tmp_path / "kunden.csv"
    source.write_text(
        "Wer,Erreichbar unter,Segment code,Shoe size\n"
        + "".join(f"Kunde {i},k{i}@example.test,S{i},{40 + i}\n" for i in range(3)),
        encoding="utf-8",
    )
    before = sql("select count(*) from customers")[0][0]
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, app, source)
        assert set(mapping_of(screen).values()) == {"not imported"}
        examples = screen.query_one("#import-mapping", DataTable)
        assert [str(examples.get_row_at(i)[3]) for i in range(4)] == [
            "Kunde 0", "k0@example.test", "S0", "40",
        ]  # fmt: skip
        assert "No column for name or email" in str(screen.query_one("#import-missing").render())
        assert screen.query_one("#yes").disabled
        await pilot.press("y")  # refused: nothing could be imported
        await settle(app, pilot)
        assert app.screen is screen

        # "Wer" (row 0) -> name: Enter opens the picker, the first field is name
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, FieldPicker)
        await pilot.press("home", "enter")
        await settle(app, pilot)
        assert app.screen is screen and mapping_of(screen)["Wer"] == "name"
        assert screen.sentence == f'import customers from "{source}" mapping "Wer" as name'
        # "Erreichbar unter" (row 1) -> email, with m
        await pilot.press("down", "m")
        await settle(app, pilot)
        await pilot.press("home", "down", "enter")
        await settle(app, pilot)
        # "Segment code" (row 2: the cursor stays on the row just mapped) -> a custom
        # field typed into the picker
        await pilot.press("down", "enter")
        await settle(app, pilot)
        await pilot.press("tab")
        await pilot.press(*"segment", "enter")
        await settle(app, pilot)
        assert mapping_of(screen) == {
            "Wer": "name", "Erreichbar unter": "email",
            "Segment code": "segment (custom field)", "Shoe size": "not imported",
        }  # fmt: skip
        assert not screen.query_one("#yes").disabled
        preview = screen.query_one("#import-preview", DataTable)
        assert preview.row_count == 3
        assert sql("select count(*) from customers")[0][0] == before  # still nothing

        await pilot.press("y")
        await settle(app, pilot)
        mapped = (
            f'import customers from "{source}" mapping "Wer" as name, '
            '"Erreichbar unter" as email, "Segment code" as custom:"segment"'
        )
        assert app.transcript.plain[-2:] == [  # the transcript shows what ran
            f"› {mapped}",
            "Imported kunden.csv: 3 new customers, 0 updated (not imported: Shoe size)"
            f" ({source}) — undo with `undo`",
        ]
        assert app.transcript.plain[1] == (
            f"Import customers from {source}? Check the mapping first."
        )
        assert app.command_bar.history.back("") == mapped  # Up: the import as mapped
        assert sql("select count(*) from customers")[0][0] == before + 3
        assert sql(
            "select c.name, v.text_value from customers c"
            " join custom_field_values v on v.customer_id = c.id"
            " join custom_fields f on f.id = v.field_id"
            " where c.email = 'k1@example.test' and f.name = 'segment'"
        ) == [("Kunde 1", "S1")]


@sync
async def test_an_import_with_problems_cannot_be_confirmed(
    demo_db: Path, tmp_path: Path, sql
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("name,email\nGood,good@example.test\nBad,not-an-email\n", encoding="utf-8")
    before = sql("select count(*) from customers")[0][0]
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_import(pilot, app, source)
        errors = text_of(screen.query_one("#import-errors", Static))
        assert "row 3, column email: bad email 'not-an-email'" in errors
        assert "nothing is imported" in str(screen.query_one("#import-blocked").render())
        assert screen.query_one("#yes").disabled
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is screen
        await pilot.press("n")
        await settle(app, pilot)
        assert not isinstance(app.screen, ImportMappingScreen)
        assert "Cancelled — nothing changed." in app.transcript.plain
    assert sql("select count(*) from customers")[0][0] == before


@sync
async def test_long_work_reports_progress_in_a_bar(demo_db: Path, tmp_path: Path) -> None:
    reports: list[object] = []
    shown: list[bool] = []

    class Watched(OpenInvoiceApp):
        def on_open_invoice_app_progress_reported(
            self, message: OpenInvoiceApp.ProgressReported
        ) -> None:
            super().on_open_invoice_app_progress_reported(message)
            reports.append(message.progress)
            shown.append(self.query_one("#progress", ProgressBar).has_class("-busy"))

    ws = Workspace(engine=make_engine(f"sqlite:///{demo_db}"), config=Config({}), as_of_override=D)
    app = Watched(WorkspaceBackend(ws, history_path=tmp_path / "history"))
    target = tmp_path / "everyone.csv"
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await type_sentence(pilot, app, f"export customers to {target}")
        await settle(app, pilot)
        progress = [p for p in reports if p is not None]
        assert progress, "the export reported no progress"
        assert progress[-1].done == progress[-1].total == app.table.total  # type: ignore[attr-defined]
        assert True in shown  # the bar was on screen while the worker ran
        assert reports[-1] is None and not shown[-1]  # and hidden when it finished
        assert target.exists()
        assert any(line.startswith("Exported") for line in app.transcript.plain)


@sync
async def test_preferences_tab_is_editable(demo_db: Path, tmp_path: Path, sql) -> None:
    app = make_app(demo_db, tmp_path / "history")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        customer = app.table.cursor_customer
        assert customer is not None and app.detail_id == customer.id
        app.detail_pane.show_tab("preferences")
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PreferencesFormScreen)
        terms = app.screen.query_one("#pref-terms", Input)
        terms.value = "net 45x"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PreferencesFormScreen)  # refused, message beside it
        assert "number of days" in text_of(app.screen.query_one("#error-terms", Static))
        terms.value = "45"
        app.screen.query_one("#pref-billing_frequency", Select).value = "quarterly"
        app.screen.query_one("#pref-paused_until", Input).value = "2026-12-31"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        row = sql(
            "select payment_terms_days, billing_frequency, reminders_paused_until "
            "from customers where id = ?",
            customer.id,
        )
        assert row == [(45, "quarterly", "2026-12-31")]
        prefs = text_of(app.detail_pane.query_one("#preferences-body", Static))
        assert "net 45" in prefs and "quarterly" in prefs and "2026-12-31" in prefs
        # each field was its own command: undo takes back the last one (the pause)
        await pilot.press("u")
        await settle(app, pilot)
        assert sql("select reminders_paused_until from customers where id = ?", customer.id) == [
            (None,)
        ]


class StripeLessBackend(WorkspaceBackend):
    """The real backend, with the Stripe side answered here (no network in this test)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sent: list[str] = []
        self.default = "pm_card_b"

    def payment_methods(self, customer_id: int) -> TableResult:
        rows = [
            [pm, brand, last4, "12/2030", "default" if pm == self.default else "", None, "DE", None]
            for pm, brand, last4 in (("pm_card_a", "visa", "4242"), ("pm_card_b", "amex", "0005"))
        ]
        return TableResult(
            title="Payment methods",
            columns=["id", "brand", "last4", "expires", "default", "name", "country", "added"],
            rows=rows,
            kind="payment-methods",
            footer="2 payment methods on Stripe customer cus_test",
        )

    def run(self, sentence: str, **options: object):  # type: ignore[no-untyped-def]
        if "payment method" in sentence:
            self.sent.append(sentence)
            pm = sentence.split()[-1]
            if sentence.startswith("set default"):
                self.default = pm
            return MessageResult(f"done: {sentence}")
        return super().run(sentence, **options)  # type: ignore[arg-type]


@sync
async def test_payment_methods_tab_makes_default_and_removes(tmp_path: Path, demo_db: Path) -> None:
    ws = Workspace(engine=make_engine(f"sqlite:///{demo_db}"), config=Config({}), as_of_override=D)
    backend = StripeLessBackend(ws, history_path=tmp_path / "history")
    app = OpenInvoiceApp(backend)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        cid = app.detail_id
        await pilot.press("enter")  # into the detail pane
        app.detail_pane.show_tab("payment-methods")
        await settle(app, pilot)
        table = app.detail_pane.query_one("#pm-table", DataTable)
        assert table.row_count == 2
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("m")
        await settle(app, pilot)
        assert backend.sent == [f"set default payment method of #{cid} to pm_card_a"]
        cells = [str(c) for c in table.get_row_at(0)]
        assert "default" in cells  # shown again after the change
        table.move_cursor(row=1)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "amex" in text_of(app.screen.query_one("#confirm-message", Static))
        await pilot.press("y")
        await settle(app, pilot)
        assert backend.sent[-1] == f"remove payment method pm_card_b from #{cid}"
