"""Add or edit a customer: a form with a message beside each bad field.

The form only checks what it can see (required name, the shape of an
email or phone); the application checks everything again when the app
turns the values into commands. It dismisses with the entered values
(``CustomerFormValues``), or ``None`` when cancelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,}$")

#: (field, label, placeholder)
FIELDS = (
    ("name", "Name", "Acme GmbH"),
    ("email", "Email", "billing@acme.test"),
    ("company", "Company", "Acme"),
    ("phone", "Phone", "+49 30 1234567"),
)


@dataclass
class CustomerFormValues:
    """What the user entered; ``changed`` lists fields that differ from the start."""

    values: dict[str, str]
    changed: list[str]
    customer_id: int | None = None


def validate(field: str, value: str) -> str | None:
    """The message for a bad value, or ``None`` when it looks fine."""
    value = value.strip()
    if field == "name" and not value:
        return "A name is required."
    if field == "name" and len(value) > 200:
        return "At most 200 characters."
    if field == "email" and value and not EMAIL_RE.match(value):
        return "Not an email (name@example.com)."
    if field == "phone" and value and not PHONE_RE.match(value):
        return "Digits, spaces and + ( ) - only."
    return None


class CustomerFormScreen(ModalScreen[CustomerFormValues | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form_cancel"),
        Binding("ctrl+s", "save", "Save", id="form_save"),
    ]

    DEFAULT_CSS = """
    CustomerFormScreen {
        align: center middle;
    }
    CustomerFormScreen > Vertical {
        width: 96;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    CustomerFormScreen .form-title {
        text-style: bold;
        margin-bottom: 1;
    }
    CustomerFormScreen .field {
        height: auto;
    }
    CustomerFormScreen .field Label.field-label {
        width: 10;
        padding-top: 1;
    }
    CustomerFormScreen .field Input {
        width: 44;
    }
    CustomerFormScreen .field Label.field-error {
        width: 1fr;
        padding-top: 1;
        padding-left: 1;
        color: $error;
    }
    CustomerFormScreen .buttons {
        height: auto;
        align: right middle;
        margin-top: 1;
    }
    CustomerFormScreen Button {
        margin-left: 2;
    }
    """

    def __init__(
        self,
        initial: Mapping[str, str | None] | None = None,
        *,
        customer_id: int | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__()
        self.initial = {k: (v or "") for k, v in (initial or {}).items()}
        self.customer_id = customer_id
        self.title_text = title or ("Edit customer" if customer_id else "Add customer")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="form-title")
            for field, label, placeholder in FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label")
                    yield Input(
                        self.initial.get(field, ""),
                        placeholder=placeholder,
                        id=f"field-{field}",
                    )
                    yield Label("", id=f"error-{field}", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#field-name", Input).focus()

    def _check(self, field: str) -> str | None:
        value = self.query_one(f"#field-{field}", Input).value
        message = validate(field, value)
        self.query_one(f"#error-{field}", Label).update(message or "")
        return message

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("field-"):
            self._check(event.input.id.removeprefix("field-"))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        errors = [field for field, _, _ in FIELDS if self._check(field)]
        if errors:
            self.query_one(f"#field-{errors[0]}", Input).focus()
            return
        values = {
            field: self.query_one(f"#field-{field}", Input).value.strip() for field, _, _ in FIELDS
        }
        changed = [f for f, v in values.items() if v != self.initial.get(f, "").strip()]
        self.dismiss(CustomerFormValues(values, changed, self.customer_id))

    def action_cancel(self) -> None:
        self.dismiss(None)
