"""Before an import: the detected column mapping, preview rows, problems.

Shows a :class:`tui.backend.ImportPreview` (from ``Backend.import_preview``)
and dismisses with ``True`` to import, ``False`` to cancel.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from tui.backend import ImportPreview


def mapping_table(preview: ImportPreview) -> Table:
    table = Table(show_edge=False, expand=False)
    table.add_column("File column")
    table.add_column("→")
    table.add_column("Customer field")
    for source, target in preview.mapping.items():
        if target:
            table.add_row(source, "→", Text(target, style="green"))
        else:
            table.add_row(source, "", Text("ignored", style="dim italic"))
    return table


class ImportMappingScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Import", id="import_yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="import_no"),
    ]

    DEFAULT_CSS = """
    ImportMappingScreen {
        align: center middle;
    }
    ImportMappingScreen > Vertical {
        width: 90%;
        height: 90%;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    ImportMappingScreen .title {
        text-style: bold;
    }
    ImportMappingScreen .section {
        text-style: bold;
        margin-top: 1;
    }
    ImportMappingScreen #import-preview {
        height: auto;
        max-height: 12;
    }
    ImportMappingScreen #import-errors {
        color: $error;
    }
    ImportMappingScreen .buttons {
        height: auto;
        align: right middle;
        dock: bottom;
    }
    ImportMappingScreen Button {
        margin-left: 2;
    }
    """

    def __init__(self, preview: ImportPreview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        p = self.preview
        with Vertical():
            yield Label(f"Import {p.total_rows:,} rows from {p.path}", classes="title")
            with VerticalScroll():
                yield Label("Detected mapping", classes="section")
                yield Static(mapping_table(p), id="import-mapping")
                yield Label(f"Preview (first {len(p.rows)} rows)", classes="section")
                yield DataTable(id="import-preview", cursor_type="row", zebra_stripes=True)
                label = f"Problems ({len(p.errors)})" if p.errors else "No problems found"
                yield Label(label, classes="section")
                errors = Text("\n".join(f"· {e}" for e in p.errors[:200]))
                if len(p.errors) > 200:
                    errors.append(f"\n… and {len(p.errors) - 200:,} more")
                yield Static(errors, id="import-errors")
            with Horizontal(classes="buttons"):
                yield Label("Import? [b]y[/b] / [b]n[/b]  ")
                yield Button("Cancel", id="no")
                yield Button("Import", id="yes", variant="primary")

    def on_mount(self) -> None:
        table = self.query_one("#import-preview", DataTable)
        table.add_columns(*self.preview.columns)
        for row in self.preview.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
