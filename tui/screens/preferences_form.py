"""Edit a customer's preferences: payment terms, billing frequency,
preferred payment method and the reminder pause.

The form only checks the shape of what was typed (a number of days, a
date); the rules live in ``commands/``, which the app reaches with one
sentence per changed field (``set terms of #42 to 45``,
``pause reminders for #42 until 2026-12-31``, ...), so every change goes
through the executor, the audit log and ``undo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

#: what ``set billing frequency of ... to X`` accepts (commands.verbs_customers)
FREQUENCIES = ("weekly", "monthly", "quarterly", "yearly", "per project")

FIELDS = (
    ("terms", "Payment terms", "days, e.g. 30"),
    ("billing_frequency", "Billing frequency", ""),
    ("preferred_payment_method", "Preferred method", "e.g. bank transfer"),
    ("paused_until", "Pause reminders until", "YYYY-MM-DD (empty: not paused)"),
)


@dataclass
class PreferencesValues:
    values: dict[str, str]
    changed: list[str] = field(default_factory=list)
    customer_id: int | None = None


def validate(name: str, value: str) -> str | None:
    value = value.strip()
    if name == "terms" and value:
        days = value.lower().removeprefix("net").removesuffix("days").strip()
        if not days.isdigit() or not 0 <= int(days) <= 365:
            return "A number of days, 0 to 365."
    if name == "paused_until" and value:
        try:
            date.fromisoformat(value)
        except ValueError:
            return "Use a date like 2026-12-31."
    return None


def terms_days(value: str) -> str:
    """``"net 30"`` -> ``"30"``."""
    return value.lower().removeprefix("net").removesuffix("days").strip()


class PreferencesFormScreen(ModalScreen[PreferencesValues | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="preferences_cancel"),
        Binding("ctrl+s", "save", "Save", id="preferences_save"),
    ]

    DEFAULT_CSS = """
    PreferencesFormScreen {
        align: center middle;
    }
    PreferencesFormScreen > Vertical {
        width: 96;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    PreferencesFormScreen .form-title {
        text-style: bold;
        margin-bottom: 1;
    }
    PreferencesFormScreen .row {
        height: auto;
    }
    PreferencesFormScreen .row > Label {
        width: 24;
        padding-top: 1;
    }
    PreferencesFormScreen Input, PreferencesFormScreen Select {
        width: 40;
    }
    PreferencesFormScreen .field-error {
        color: $error;
        padding-top: 1;
        padding-left: 1;
        width: 1fr;
    }
    PreferencesFormScreen .hint {
        color: $text-muted;
    }
    PreferencesFormScreen .buttons {
        height: auto;
        align: right middle;
        margin-top: 1;
    }
    PreferencesFormScreen Button {
        margin-left: 2;
    }
    """

    def __init__(
        self,
        customer_name: str,
        initial: Mapping[str, str | None] | None = None,
        *,
        customer_id: int | None = None,
    ) -> None:
        super().__init__()
        self.customer_name = customer_name
        self.customer_id = customer_id
        self.initial = {name: (initial or {}).get(name) or "" for name, _, _ in FIELDS}
        self.initial["terms"] = terms_days(self.initial["terms"])

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Preferences of {self.customer_name}", classes="form-title")
            for name, label, hint in FIELDS:
                with Horizontal(classes="row"):
                    yield Label(label)
                    if name == "billing_frequency":
                        options = list(FREQUENCIES)
                        current = self.initial[name]
                        if current and current not in options:
                            options.append(current)
                        yield Select(
                            [(o, o) for o in options],
                            value=current or Select.BLANK,
                            prompt="not set",
                            id=f"pref-{name}",
                        )
                    else:
                        yield Input(self.initial[name], placeholder=hint, id=f"pref-{name}")
                    yield Label("", id=f"error-{name}", classes="field-error")
            yield Label("Ctrl+S saves, Esc cancels; each change is undoable", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#pref-terms", Input).focus()

    def values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, _, _ in FIELDS:
            widget = self.query_one(f"#pref-{name}")
            if isinstance(widget, Select):
                value = widget.value
                out[name] = "" if value is Select.BLANK or value is None else str(value)
            else:
                assert isinstance(widget, Input)
                out[name] = widget.value.strip()
        out["terms"] = terms_days(out["terms"])
        return out

    def on_input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("pref-")
        self.query_one(f"#error-{name}", Label).update(validate(name, event.value) or "")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        values = self.values()
        bad = False
        for name, value in values.items():
            message = validate(name, value)
            if name == "terms" and self.initial[name] and not value:
                message = "Terms can be changed, not removed."
            self.query_one(f"#error-{name}", Label).update(message or "")
            bad = bad or message is not None
        if bad:
            return
        changed = [name for name, value in values.items() if value != self.initial[name]]
        self.dismiss(PreferencesValues(values, changed, self.customer_id))

    def action_cancel(self) -> None:
        self.dismiss(None)
