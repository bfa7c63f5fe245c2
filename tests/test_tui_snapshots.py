"""Snapshot tests (pytest-textual-snapshot) of the screens.

The modal screens are given their content directly; the main screen, each
detail tab and the command bar at work run the real app on a demo
database (300 customers, seed 7, D = 2026-06-30, 160x45), so a change in
what the app shows fails here. Update with ``pytest --snapshot-update``
and review the SVGs in ``tests/__snapshots__``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from commands.results import ConfirmationNeeded
from commands.verbs_files import ImportPreview
from tui.screens.confirm import ConfirmScreen
from tui.screens.customer_form import CustomerFormScreen
from tui.screens.help import HelpScreen
from tui.screens.import_mapping import ImportMappingScreen
from tui.screens.note_form import NoteFormScreen
from tui.screens.preferences_form import PreferencesFormScreen
from tui.widgets.detail_pane import TABS

from .test_tui_app import SIZE, make_app, make_demo_db, settle


class Host(App[None]):
    CSS_PATH = "../tui/app.tcss"

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.modal = screen

    def on_mount(self) -> None:
        self.push_screen(self.modal)


def test_confirm_modal(snap_compare) -> None:
    confirmation = ConfirmationNeeded(
        "tag",
        212,
        "Tag 212 customers with at-risk",
        ["Acme GmbH", "Globex Ltd", "Initech"],
    )
    app = Host(ConfirmScreen(confirmation, sentence="tag late payers with at-risk"))
    assert snap_compare(app, terminal_size=(100, 30))


def test_help_screen(snap_compare) -> None:
    assert snap_compare(Host(HelpScreen("list")), terminal_size=(100, 45))


def test_import_mapping_screen(snap_compare) -> None:
    # the shape commands.verbs_files.import_preview returns: rows are field -> value
    preview = ImportPreview(
        path="/data/contacts.xlsx",
        kind="customers",
        mapping={
            "Name": "name",
            "E-Mail": "email",
            "Company": "company",
            "Plan": "custom:plan",
            "Shoe size": None,
        },
        columns=["Name", "E-Mail", "Company", "Plan", "Shoe size"],
        rows=[
            {"line": 2, "name": "Acme GmbH", "email": "ops@acme.test", "company": "Acme"},
            {"line": 3, "name": "Globex Ltd", "email": "billing@globex.test", "company": None},
        ],
        errors=["row 7, column E-Mail: 'x@' is not a well-formed email address"],
        total_rows=120,
        unknown_columns=["Shoe size"],
        inserted=118,
        updated=1,
        skipped=0,
        samples={
            "Name": "Acme GmbH",
            "E-Mail": "ops@acme.test",
            "Company": "Acme",
            "Plan": "Gold",
            "Shoe size": "44",
        },
    )
    preview.rows[0]["custom:plan"] = "Gold"
    screen = ImportMappingScreen(preview, "import customers from /data/contacts.xlsx")
    assert snap_compare(Host(screen), terminal_size=(110, 35))


def test_customer_form_with_errors(snap_compare) -> None:
    app = Host(CustomerFormScreen({"name": "", "email": "not-an-email"}))
    assert snap_compare(app, terminal_size=(100, 30), press=["ctrl+s"])


def test_note_form(snap_compare) -> None:
    assert snap_compare(Host(NoteFormScreen("Acme GmbH", customer_id=1)), terminal_size=(100, 30))


def test_preferences_form(snap_compare) -> None:
    initial = {"terms": "net 30", "billing_frequency": "monthly", "paused_until": "2026-13-01"}
    app = Host(PreferencesFormScreen("Acme GmbH", initial, customer_id=1))
    assert snap_compare(app, terminal_size=(100, 30), press=["ctrl+s"])


# -- the real app on a demo database -------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_db(tmp_path_factory.mktemp("tui-snap") / "demo.sqlite3")


def real_app(db: Path, tmp_path: Path) -> App[None]:
    return make_app(db, tmp_path / "history")  # type: ignore[return-value]


async def _settled(pilot: Pilot[None]) -> None:
    await settle(pilot.app, pilot)


def test_main_screen(snap_compare, snapshot_db: Path, tmp_path: Path) -> None:
    assert snap_compare(real_app(snapshot_db, tmp_path), terminal_size=SIZE, run_before=_settled)


@pytest.mark.parametrize("tab", [tab_id for tab_id, _ in TABS])
def test_detail_tab(snap_compare, snapshot_db: Path, tmp_path: Path, tab: str) -> None:
    async def open_tab(pilot: Pilot[None]) -> None:
        await settle(pilot.app, pilot)
        await pilot.press("j", "j", "enter")  # the third customer: has notes and emails
        await settle(pilot.app, pilot)
        pilot.app.detail_pane.show_tab(tab)  # type: ignore[attr-defined]
        await settle(pilot.app, pilot)

    app = real_app(snapshot_db, tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_tab)


def test_command_bar_at_work(snap_compare, snapshot_db: Path, tmp_path: Path) -> None:
    async def type_and_complete(pilot: Pilot[None]) -> None:
        await settle(pilot.app, pilot)
        await pilot.press("colon")
        pilot.app.command_bar.set_value("late payers sorted by revenue desc")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot.app, pilot)
        await pilot.press("colon")
        pilot.app.command_bar.set_value("tag late payrs with at-risk")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot.app, pilot)
        await pilot.press("escape", "colon", *"customers tagged ")
        await settle(pilot.app, pilot)
        # a steady cursor: with blinking, the picture depends on when it is taken
        pilot.app.command_bar.input.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause()

    app = real_app(snapshot_db, tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=type_and_complete)
