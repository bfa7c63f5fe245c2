"""Snapshot tests (pytest-textual-snapshot) of the modal screens.

Only screens whose content is given to them directly live here; the main
screen and the detail tabs are snapshotted against the real demo database
by the end-to-end tests. Update with ``pytest --snapshot-update`` and
review the SVGs in ``tests/__snapshots__``.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App
from textual.screen import Screen

from commands.results import ConfirmationNeeded
from tui.screens.confirm import ConfirmScreen
from tui.screens.customer_form import CustomerFormScreen
from tui.screens.help import HelpScreen
from tui.screens.import_mapping import ImportMappingScreen
from tui.screens.note_form import NoteFormScreen


@dataclass
class Preview:
    path: str
    mapping: dict[str, str | None]
    columns: list[str]
    rows: list[list[object]]
    errors: list[str]
    total_rows: int


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
    preview = Preview(
        path="contacts.xlsx",
        mapping={"Name": "name", "E-Mail": "email", "Firma": "company", "Notes": None},
        columns=["name", "email", "company"],
        rows=[
            ["Acme GmbH", "ops@acme.test", "Acme"],
            ["Globex Ltd", "billing@globex.test", "Globex"],
        ],
        errors=["row 7: email 'x@' is not valid"],
        total_rows=120,
    )
    assert snap_compare(Host(ImportMappingScreen(preview)), terminal_size=(110, 35))


def test_customer_form_with_errors(snap_compare) -> None:
    app = Host(CustomerFormScreen({"name": "", "email": "not-an-email"}))
    assert snap_compare(app, terminal_size=(100, 30), press=["ctrl+s"])


def test_note_form(snap_compare) -> None:
    assert snap_compare(Host(NoteFormScreen("Acme GmbH", customer_id=1)), terminal_size=(100, 30))
