"""Pick the field one file column is imported into (from the import mapping screen).

Dismisses with the field, ``custom:NAME``, ``""`` (not imported), ``None`` for
"as detected" or :data:`CANCELLED` when nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.screens.import_mapping import CUSTOM_PREFIX

NOT_IMPORTED = ""
#: option ids that are no field name
_NONE, DETECTED = "\x00none", "\x00detected"
CANCELLED = "\x00cancelled"


class FieldPicker(ModalScreen[str | None]):
    """A list of the import's fields, "not imported", "as detected" and a custom name."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker_cancel")]

    DEFAULT_CSS = """
    FieldPicker {
        align: center middle;
    }
    FieldPicker > Vertical {
        width: 60;
        height: auto;
        max-height: 90%;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    FieldPicker OptionList {
        height: auto;
        max-height: 16;
    }
    FieldPicker .hint {
        color: $text-muted;
        margin-top: 1;
    }
    """

    def __init__(self, column: str, fields: Sequence[str], current: str | None) -> None:
        super().__init__()
        self.column = column
        self.fields = list(fields)
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(f, id=f) for f in self.fields]
        options.append(Option("not imported", id=_NONE))
        options.append(Option("as detected (undo my choice)", id=DETECTED))
        with Vertical():
            yield Label(f"Import the column “{self.column}” as:")
            yield OptionList(*options, id="picker-fields")
            yield Label("or a custom field (Enter):", classes="hint")
            custom = (self.current or "").removeprefix(CUSTOM_PREFIX)
            is_custom = (self.current or "").startswith(CUSTOM_PREFIX)
            yield Input(
                value=custom if is_custom else "",
                placeholder="custom field name, e.g. industry",
                id="picker-custom",
            )

    def on_mount(self) -> None:
        options = self.query_one("#picker-fields", OptionList)
        if self.current in self.fields:
            options.highlighted = self.fields.index(self.current)
        elif self.current == NOT_IMPORTED:
            options.highlighted = len(self.fields)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = event.option.id or ""
        if chosen == DETECTED:
            self.dismiss(None)
        else:
            self.dismiss(NOT_IMPORTED if chosen == _NONE else chosen)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        if not name:
            self.app.bell()
            return
        self.dismiss(CUSTOM_PREFIX + name)

    def action_cancel(self) -> None:
        self.dismiss(CANCELLED)
