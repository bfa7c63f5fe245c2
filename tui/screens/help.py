"""The bindings of the focused pane (and the ones that work everywhere)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keymap import PANES, help_rows


def help_table(panes: Sequence[str], keymap: Mapping[str, str] | None = None) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2), expand=False)
    table.add_column(style="bold cyan", no_wrap=True, justify="right")
    table.add_column()
    table.add_column(style="dim")
    current = None
    for pane_title, keys, description, binding_id in help_rows(panes, keymap):
        if pane_title != current:
            if current is not None:
                table.add_row("", "", "")
            table.add_row("", Text(pane_title, style="bold underline"), "")
            current = pane_title
        table.add_row(keys, description, binding_id)
    return table


class HelpScreen(ModalScreen[None]):
    """Shows ``pane``'s bindings first, then the global ones; any of Esc/q/?/F1 closes."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help_close")]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 76;
        height: auto;
        max-height: 85%;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    HelpScreen #help-title {
        text-style: bold;
        margin-bottom: 1;
    }
    """

    def __init__(self, pane: str, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.pane = pane if pane in PANES else "global"
        self.keymap = dict(keymap or {})

    def compose(self) -> ComposeResult:
        panes = [self.pane] + (["global"] if self.pane != "global" else [])
        with VerticalScroll():
            yield Static(f"Keys — {PANES[self.pane]}", id="help-title")
            yield Static(help_table(panes, self.keymap), id="help-table")
            yield Static(
                Text(
                    "Remap any key in the config file's [keys] section by its id, "
                    'e.g. focus_command = "ctrl+k".',
                    style="dim",
                )
            )
