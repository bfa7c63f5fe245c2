"""Write a note: a text area, internal or customer, an optional follow-up date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, TextArea


@dataclass
class NoteDraft:
    body: str
    kind: str  # "internal" or "customer"
    follow_up_on: date | None
    customer_id: int | None = None


def parse_follow_up(text: str) -> tuple[date | None, str | None]:
    """``(date, None)`` or ``(None, message)``; empty text is no date."""
    text = text.strip()
    if not text:
        return None, None
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return None, "Use a date like 2026-12-01."


class NoteFormScreen(ModalScreen[NoteDraft | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="note_cancel"),
        Binding("ctrl+s", "save", "Save", id="note_save"),
    ]

    DEFAULT_CSS = """
    NoteFormScreen {
        align: center middle;
    }
    NoteFormScreen > Vertical {
        width: 80;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    NoteFormScreen .form-title {
        text-style: bold;
        margin-bottom: 1;
    }
    NoteFormScreen TextArea {
        height: 8;
    }
    NoteFormScreen RadioSet {
        height: auto;
        width: 1fr;
    }
    NoteFormScreen .row {
        height: auto;
        margin-top: 1;
    }
    NoteFormScreen .row Label {
        padding-top: 1;
        padding-right: 1;
    }
    NoteFormScreen #note-follow-up {
        width: 16;
    }
    NoteFormScreen .field-error {
        color: $error;
        padding-top: 1;
        padding-left: 1;
    }
    NoteFormScreen .hint {
        color: $text-muted;
    }
    NoteFormScreen .buttons {
        height: auto;
        align: right middle;
        margin-top: 1;
    }
    NoteFormScreen Button {
        margin-left: 2;
    }
    """

    def __init__(self, customer_name: str, *, customer_id: int | None = None) -> None:
        super().__init__()
        self.customer_name = customer_name
        self.customer_id = customer_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Note on {self.customer_name}", classes="form-title")
            yield TextArea(id="note-body")
            yield Label("", id="error-body", classes="field-error")
            with RadioSet(id="note-kind"):
                yield RadioButton("Internal (only the team sees it)", value=True, id="internal")
                yield RadioButton("Customer note (terms agreed with them)", id="customer")
            with Horizontal(classes="row"):
                yield Label("Follow up on")
                yield Input(placeholder="YYYY-MM-DD", id="note-follow-up")
                yield Label("", id="error-follow-up", classes="field-error")
            yield Label("Ctrl+S saves, Esc cancels", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#note-body", TextArea).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def on_input_changed(self, event: Input.Changed) -> None:
        _, message = parse_follow_up(event.value)
        self.query_one("#error-follow-up", Label).update(message or "")

    def action_save(self) -> None:
        body = self.query_one("#note-body", TextArea).text.strip()
        self.query_one("#error-body", Label).update("" if body else "Write something first.")
        follow_up, message = parse_follow_up(self.query_one("#note-follow-up", Input).value)
        self.query_one("#error-follow-up", Label).update(message or "")
        if not body or message:
            return
        pressed = self.query_one("#note-kind", RadioSet).pressed_button
        kind = "customer" if pressed is not None and pressed.id == "customer" else "internal"
        self.dismiss(NoteDraft(body, kind, follow_up, self.customer_id))

    def action_cancel(self) -> None:
        self.dismiss(None)
