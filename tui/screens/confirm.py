"""Ask before a bulk change: what it will do, to how many, a few examples."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from commands.results import ConfirmationNeeded


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with ``True`` (y / Enter on Yes) or ``False`` (n / Esc)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm_no"),
    ]

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
    }
    ConfirmScreen > Vertical {
        width: 72;
        height: auto;
        max-height: 80%;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    ConfirmScreen #confirm-action {
        text-style: bold;
        color: $warning;
    }
    ConfirmScreen #confirm-sample {
        color: $text-muted;
        margin: 1 0;
    }
    ConfirmScreen Horizontal {
        height: auto;
        align: right middle;
    }
    ConfirmScreen Button {
        margin-left: 2;
    }
    """

    def __init__(
        self,
        confirmation: ConfirmationNeeded,
        *,
        sentence: str | None = None,
        heading: str | None = None,
    ) -> None:
        super().__init__()
        self.confirmation = confirmation
        self.sentence = sentence
        #: replaces "Tag 212 customers? ..." (e.g. for a change to one payment method)
        self.heading = heading

    def compose(self) -> ComposeResult:
        c = self.confirmation
        noun = "customer" if c.affected == 1 else "customers"
        with Vertical():
            heading = self.heading or f"{c.action.capitalize()} {c.affected:,} {noun}?"
            yield Label(f"{heading} This needs your OK.", id="confirm-action")
            if self.sentence:
                yield Label(Text("› " + self.sentence, style="bold"))
            message = Text("If you agree: ", style="dim") + Text(c.message)
            yield Static(message, id="confirm-message")
            sample = Text()
            for line in c.sample:
                sample.append(f"· {line}\n")
            if c.affected > len(c.sample) and c.sample:
                sample.append(f"… and {c.affected - len(c.sample):,} more")
            yield Static(sample, id="confirm-sample")
            yield Label("Go ahead? [b]y[/b] / [b]n[/b]")
            with Horizontal():
                yield Button("No", id="no")
                yield Button("Yes", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
