"""Before an import: the detected column mapping, preview rows, problems.

Shows a :class:`tui.backend.ImportPreview` (from ``Backend.import_preview``),
lets the user change the field of any column, and dismisses with the import
sentence to run (its mapping included) or None to cancel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from commands.errors import UserError
from tui.backend import Backend, ImportPreview

CUSTOM_PREFIX = "custom:"


def field_label(name: str) -> str:
    """``custom:plan`` -> ``plan (custom field)``; ``line`` -> ``Line``."""
    if name.startswith(CUSTOM_PREFIX):
        return f"{name.removeprefix(CUSTOM_PREFIX)} (custom field)"
    return "Line" if name == "line" else name


def mapping_rows(preview: ImportPreview) -> list[tuple[str, str, Text, Text]]:
    """(file column, arrow, field, an example value) of each column, in file order."""
    rows = []
    for source, target in preview.mapping.items():
        example = Text(preview.samples.get(source, ""), style="dim")
        if target:
            rows.append((source, "→", Text(field_label(target), style="green"), example))
        else:
            rows.append((source, "", Text("not imported", style="dim italic"), example))
    return rows


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


class ImportMappingScreen(ModalScreen[str | None]):
    """The mapping, the first rows and every problem of an import; the user may
    change the field of any column (Enter or ``m`` on it), after which the file is
    checked again with the new mapping.

    Dismisses with the import sentence to run (``... mapping "Firma" as company``
    when the mapping was changed), or None to cancel. Without a ``backend`` the
    mapping is shown but cannot be changed.
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Import", id="import_yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="import_no"),
        Binding("m", "remap", "Change mapping", id="import_remap"),
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
    ImportMappingScreen #import-mapping {
        height: auto;
        max-height: 14;
    }
    ImportMappingScreen #import-preview {
        height: auto;
        max-height: 12;
    }
    ImportMappingScreen #import-errors, ImportMappingScreen #import-missing,
    ImportMappingScreen #import-blocked {
        color: $error;
    }
    ImportMappingScreen #import-summary {
        color: $success;
    }
    ImportMappingScreen #import-sentence {
        color: $text-muted;
        margin-top: 1;
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

    def __init__(
        self, preview: ImportPreview, sentence: str, backend: Backend | None = None
    ) -> None:
        super().__init__()
        self.preview = preview
        self.sentence = sentence
        self.backend = backend
        #: a check of the file with a changed mapping is running
        self.checking = False

    @property
    def blocked(self) -> bool:
        """Nothing could be imported: a required field has no column, or rows have
        problems (an import is all or nothing)."""
        return bool(self.preview.missing_required or self.preview.errors)

    def compose(self) -> ComposeResult:
        p = self.preview
        missing = p.missing_required
        problems = p.error_count or len(p.errors)
        with Vertical():
            yield Label(f"Import {p.total_rows:,} {p.kind} rows from {p.path}", classes="title")
            summary = summary_line(p)
            if summary and not self.blocked:
                yield Label(summary, id="import-summary")
            if missing:
                yield Label(
                    f"No column for {', '.join(missing)}: map one to import this file.",
                    id="import-missing",
                )
            elif p.errors:
                yield Label(
                    f"{problems:,} problem{'s' if problems != 1 else ''}: with any problem "
                    "nothing is imported; fix the file or the mapping.",
                    id="import-blocked",
                )
            with VerticalScroll():
                how = " (Enter or m on a column to change its field)" if self.backend else ""
                yield Label(f"Mapping{how}", classes="section")
                yield DataTable(id="import-mapping", cursor_type="row", zebra_stripes=True)
                yield Label(f"Preview (first {len(p.rows)} rows)", classes="section")
                yield DataTable(id="import-preview", cursor_type="row", zebra_stripes=True)
                label = f"Problems ({problems:,})" if p.errors else "No problems found"
                yield Label(label, classes="section")
                errors = Text("\n".join(f"· {e}" for e in p.errors[:200]))
                if len(p.errors) > 200:
                    errors.append(f"\n… and {len(p.errors) - 200:,} more")
                yield Static(errors, id="import-errors")
            yield Label(Text(f"runs: {self.sentence}"), id="import-sentence")
            with Horizontal(classes="buttons"):
                yield Label("Import? [b]y[/b] / [b]n[/b]  ")
                yield Button("Cancel", id="no")
                yield Button("Import", id="yes", variant="primary", disabled=self.blocked)

    def on_mount(self) -> None:
        self._fill()

    def _fill(self, cursor_row: int = 0) -> None:
        mapping = self.query_one("#import-mapping", DataTable)
        mapping.add_columns("File column", "", "Field", "Example")
        for row in mapping_rows(self.preview):
            mapping.add_row(*row)
        mapping.move_cursor(row=min(cursor_row, max(mapping.row_count - 1, 0)))
        table = self.query_one("#import-preview", DataTable)
        header, cells = preview_grid(self.preview)
        table.add_columns(*header)
        for row in cells:
            table.add_row(*row)
        mapping.focus()

    # -- changing the mapping ---------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "import-mapping":
            event.stop()
            self.action_remap()

    def action_remap(self) -> None:
        if self.backend is None or self.checking:
            self.app.bell()
            return
        from tui.screens.field_picker import NOT_IMPORTED, FieldPicker

        row = self.query_one("#import-mapping", DataTable).cursor_row
        columns = list(self.preview.mapping)
        if not 0 <= row < len(columns):
            return
        column = columns[row]
        current = self.preview.mapping[column]
        self.app.push_screen(
            FieldPicker(column, self.preview.fields, current if current else NOT_IMPORTED),
            partial(self._picked, column, row),
        )

    def _picked(self, column: str, row: int, target: str | None) -> None:
        from tui.screens.field_picker import CANCELLED

        if target == CANCELLED or self.backend is None:
            return
        try:
            sentence = self.backend.remap_import(self.sentence, column, target)
        except UserError as error:
            self.notify(error.message, severity="error")
            return
        self.checking = True
        self.query_one("#yes", Button).disabled = True
        self.query_one("#import-sentence", Label).update(
            Text(f"checking the file with the new mapping … runs: {sentence}")
        )
        self._check(sentence, row)

    @work(thread=True, exclusive=True, group="import-check")
    def _check(self, sentence: str, row: int) -> None:
        assert self.backend is not None
        try:
            preview = self.backend.import_preview(sentence)
        except Exception as error:
            self.app.call_from_thread(self._check_failed, error)
            return
        self.app.call_from_thread(self._show, sentence, preview, row)

    async def _show(self, sentence: str, preview: ImportPreview, row: int) -> None:
        self.sentence, self.preview, self.checking = sentence, preview, False
        await self.recompose()
        self._fill(cursor_row=row)

    def _check_failed(self, error: Exception) -> None:
        self.checking = False
        message = error.message if isinstance(error, UserError) else str(error)
        self.notify(message, severity="error")
        self.query_one("#yes", Button).disabled = self.blocked
        self.query_one("#import-sentence", Label).update(Text(f"runs: {self.sentence}"))

    # -- answering --------------------------------------------------------------------

    def action_answer(self, answer: bool) -> None:
        if not answer:
            self.dismiss(None)
            return
        if self.checking or self.query_one("#yes", Button).disabled:
            self.app.bell()
            return
        self.dismiss(self.sentence)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer(event.button.id == "yes")
