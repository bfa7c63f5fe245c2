"""Before an import: the detected column mapping, preview rows, problems.

Shows a :class:`tui.backend.ImportPreview` (from ``Backend.import_preview``)
and dismisses with ``True`` to import, ``False`` to cancel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from tui.backend import ImportPreview

CUSTOM_PREFIX = "custom:"


def field_label(name: str) -> str:
    """``custom:plan`` -> ``plan (custom field)``; ``line`` -> ``Line``."""
    if name.startswith(CUSTOM_PREFIX):
        return f"{name.removeprefix(CUSTOM_PREFIX)} (custom field)"
    return "Line" if name == "line" else name


def mapping_table(preview: ImportPreview) -> Table:
    table = Table(show_edge=False, expand=False)
    table.add_column("File column")
    table.add_column("→")
    table.add_column("Field")
    for source, target in preview.mapping.items():
        if target:
            table.add_row(source, "→", Text(field_label(target), style="green"))
        else:
            table.add_row(source, "", Text("not imported", style="dim italic"))
    return table


def preview_grid(preview: ImportPreview) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the preview rows.

    Rows are either mappings (field -> value, as ``commands.verbs_files``
    gives them) or sequences in the order of ``preview.columns``.
    """
    rows: Sequence[Any] = preview.rows
    if rows and isinstance(rows[0], Mapping):
        keys: list[str] = []
        for row in rows:
            keys.extend(k for k in row if k not in keys)
        cells = [["" if row.get(k) is None else str(row.get(k)) for k in keys] for row in rows]
        return [field_label(k) for k in keys], cells
    return list(preview.columns), [["" if v is None else str(v) for v in row] for row in rows]


def summary_line(preview: ImportPreview) -> str:
    """``"would add 118, update 2, skip 0"`` when the preview counted."""
    counts = [
        (word, getattr(preview, attr, None))
        for word, attr in (("add", "inserted"), ("update", "updated"), ("skip", "skipped"))
    ]
    if all(n is None for _, n in counts) or not any(n for _, n in counts):
        return ""
    return "Would " + ", ".join(f"{word} {n:,}" for word, n in counts if n is not None)


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
    ImportMappingScreen #import-errors, ImportMappingScreen #import-missing {
        color: $error;
    }
    ImportMappingScreen #import-summary {
        color: $success;
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
        kind = getattr(p, "kind", "customers") or "customers"
        missing: Sequence[str] = getattr(p, "missing_required", ()) or ()
        with Vertical():
            yield Label(f"Import {p.total_rows:,} {kind} rows from {p.path}", classes="title")
            summary = summary_line(p)
            if summary:
                yield Label(summary, id="import-summary")
            if missing:
                yield Label(
                    f"No column for {', '.join(missing)}: this file cannot be imported as is.",
                    id="import-missing",
                )
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
                yield Button("Import", id="yes", variant="primary", disabled=bool(missing))

    def on_mount(self) -> None:
        table = self.query_one("#import-preview", DataTable)
        header, cells = preview_grid(self.preview)
        table.add_columns(*header)
        for row in cells:
            table.add_row(*row)
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        if answer and self.query_one("#yes", Button).disabled:
            self.app.bell()
            return
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
