"""The detail pane: everything about the customer under the cursor, in tabs.

It only renders a :class:`commands.results.CustomerDetail` (and, for the
Payment methods tab, whatever result the backend gives); the app fetches
both in workers and calls :meth:`DetailPane.show` /
:meth:`DetailPane.show_payment_methods`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Label, Sparkline, Static, TabbedContent, TabPane

from commands.results import (
    FIGURE_KEYS,
    CustomerDetail,
    MessageResult,
    NoteView,
    TableResult,
)
from tui.keymap import bindings_for

FIGURE_LABELS = {
    "revenue": "Revenue",
    "invoiced": "Invoiced",
    "outstanding": "Outstanding",
    "invoice_count": "Invoices",
    "average_invoice_value": "Average invoice",
    "last_invoice_date": "Last invoice",
    "last_payment_date": "Last payment",
    "invoice_frequency_days": "Invoice frequency",
    "average_days_to_pay": "Average days to pay",
    "average_days_late": "Average days late",
    "on_time_rate": "On-time rate",
}

TABS = (
    ("overview", "Overview"),
    ("invoices", "Invoices"),
    ("payments", "Payments"),
    ("emails", "Emails"),
    ("notes", "Notes"),
    ("payment-methods", "Methods"),  # payment methods (Stripe); short so all tabs fit
    ("preferences", "Prefs"),
)


def fmt(value: Any, key: str = "") -> str:
    """One figure as the pane shows it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if key == "on_time_rate" or key.endswith("_rate"):
            return f"{value:.0%}"
        return f"{value:,.1f}" + (" days" if key.endswith("_days") or "days" in key else "")
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def _pairs_table(pairs: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, value in pairs:
        table.add_row(label, value)
    return table


def overview_renderable(detail: CustomerDetail) -> RenderableType:
    c = detail.customer
    title = Text(c.name, style="bold")
    if c.status != "active":
        title.append(f"  [{c.status}]", style="bold red")
    contact = [
        ("Company", c.company or "—"),
        ("Email", c.email or "—"),
        ("Phone", c.phone or "—"),
        ("Address", detail.address or "—"),
        ("Customer since", fmt(c.created_on)),
        ("Tags", ", ".join(c.tags) or "—"),
        ("Segments", ", ".join(c.segments) or "—"),
    ]
    figures = [(FIGURE_LABELS[k], fmt(getattr(c, k), k)) for k in FIGURE_KEYS]
    parts: list[RenderableType] = [title, _pairs_table(contact), Text(""), _pairs_table(figures)]
    if c.at_risk_reasons:
        parts.append(Text("\nAt risk because:", style="bold red"))
        parts.extend(Text(f"  • {reason}", style="red") for reason in c.at_risk_reasons)
    if detail.custom_fields:
        parts.append(Text("\nCustom fields", style="bold"))
        parts.append(_pairs_table([(k, fmt(v)) for k, v in detail.custom_fields.items()]))
    return Group(*parts)


def note_renderable(note: NoteView) -> RenderableType:
    """Internal notes and customer notes look different on purpose."""
    internal = note.kind == "internal"
    badge = Text(
        " INTERNAL " if internal else " CUSTOMER ",
        style="bold black on yellow" if internal else "bold white on blue",
    )
    head = badge + Text(f"  {fmt(note.created_at)}", style="dim")
    if note.author:
        head.append(f"  {note.author}", style="dim")
    if note.follow_up_on:
        head.append(f"  follow up {note.follow_up_on.isoformat()}", style="bold magenta")
    body = Text(note.body, style="" if internal else "italic")
    return Group(head, body, Text(""))


def _key(name: str) -> str:
    """``"payment terms"`` and ``"payment_terms"`` are one key."""
    return "_".join(name.lower().replace("-", " ").split())


def _pop(mapping: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in mapping:
            return mapping.pop(name)
    return None


def preferences_renderable(detail: CustomerDetail) -> RenderableType:
    prefs = {_key(k): v for k, v in detail.preferences.items()}
    reminders = {_key(k): v for k, v in detail.reminders.items()}
    known = [
        ("Payment terms", _pop(prefs, "payment_terms", "terms")),
        ("Billing frequency", _pop(prefs, "billing_frequency")),
        ("Preferred payment method", _pop(prefs, "preferred_payment_method")),
        (
            "Reminders paused until",
            _pop(reminders, "paused_until")
            or _pop(prefs, "paused_until", "reminders_paused_until"),
        ),
        (
            "Opted out of reminders",
            _pop(reminders, "opted_out", "opt_out") or _pop(prefs, "opted_out", "opt_out"),
        ),
    ]
    rows = [(label, fmt(value)) for label, value in known]
    rows += [(k.replace("_", " ").capitalize(), fmt(v)) for k, v in prefs.items()]
    rows += [("Reminders: " + k.replace("_", " "), fmt(v)) for k, v in reminders.items()]
    if detail.stripe_customer_id:
        rows.append(("Stripe customer", detail.stripe_customer_id))
    return _pairs_table(rows)


PM_HINT = "m: make default · x / Del: remove · L: link to Stripe"
PREFS_HINT = "p: edit the preferences (each change is a command you can undo)"


class DetailPane(Vertical):
    """Tabs for one customer; ``show(None)`` clears it."""

    class PaymentMethodChosen(Message):
        """The user asked to change a payment method (``action``: default/remove)."""

        def __init__(self, action: str, pm_id: str, description: str) -> None:
            super().__init__()
            self.action = action
            self.pm_id = pm_id
            self.description = description

    BINDINGS = bindings_for("detail")

    DEFAULT_CSS = """
    DetailPane {
        border: round $panel;
        border-title-style: bold;
    }
    DetailPane:focus-within {
        border: round $accent;
    }
    DetailPane #revenue-sparkline {
        height: 3;
        margin: 1 0 0 0;
    }
    DetailPane .caption {
        color: $text-muted;
    }
    DetailPane DataTable {
        height: auto;
        max-height: 100%;
    }
    DetailPane #pm-table, DetailPane #pm-hint {
        display: none;
    }
    DetailPane #pm-table.-shown, DetailPane #pm-hint.-shown {
        display: block;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.detail: CustomerDetail | None = None
        self.border_title = "Detail"
        #: rows of the Payment methods tab: (pm id, one-line description)
        self.payment_methods: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        with TabbedContent(id="detail-tabs"):
            with TabPane("Overview", id="overview"), VerticalScroll():
                yield Static("No customer selected.", id="overview-body")
                yield Label("Revenue by month", classes="caption")
                yield Sparkline([], id="revenue-sparkline")
                yield Static("", id="revenue-months", classes="caption")
            with TabPane("Invoices", id="invoices"):
                yield DataTable(id="invoices-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Payments", id="payments"):
                yield DataTable(id="payments-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Emails", id="emails"), VerticalScroll():
                yield Label("Engagement", classes="caption")
                yield Static("", id="engagement")
                yield Label("History", classes="caption")
                yield DataTable(id="emails-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Notes", id="notes"), VerticalScroll():
                yield Static("No notes.", id="notes-body")
            with TabPane(dict(TABS)["payment-methods"], id="payment-methods"), VerticalScroll():
                yield Static("Payment methods load when this tab is opened.", id="pm-body")
                yield DataTable(id="pm-table", cursor_type="row", zebra_stripes=True)
                yield Label(PM_HINT, id="pm-hint", classes="caption")
            with TabPane(dict(TABS)["preferences"], id="preferences"), VerticalScroll():
                yield Static("", id="preferences-body")
                yield Label(PREFS_HINT, classes="caption")

    def on_mount(self) -> None:
        self.query_one("#invoices-table", DataTable).add_columns(
            "Number", "Issued", "Due", "Total", "Paid", "Balance", "State", "Overdue", "Paid on"
        )
        self.query_one("#payments-table", DataTable).add_columns(
            "Date", "Invoice", "Amount", "Method"
        )
        self.query_one("#emails-table", DataTable).add_columns(
            "Sent", "Template", "Subject", "Status", "Invoices", "Error"
        )

    # -- showing -------------------------------------------------------------

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    def show_tab(self, tab_id: str) -> None:
        self.query_one(TabbedContent).active = tab_id

    def show(self, detail: CustomerDetail | None) -> None:
        self.detail = detail
        if detail is None:
            self.border_title = "Detail"
            self.query_one("#overview-body", Static).update("No customer selected.")
            self.query_one("#revenue-sparkline", Sparkline).data = []
            self.query_one("#revenue-months", Static).update("")
            for table_id in ("#invoices-table", "#payments-table", "#emails-table"):
                self.query_one(table_id, DataTable).clear()
            self.query_one("#engagement", Static).update("")
            self.query_one("#notes-body", Static).update("No notes.")
            self.query_one("#preferences-body", Static).update("")
            return
        c = detail.customer
        self.border_title = f"{c.name} (#{c.id})"
        self.query_one("#overview-body", Static).update(overview_renderable(detail))
        months = detail.monthly_revenue
        self.query_one("#revenue-sparkline", Sparkline).data = [float(v) for _, v in months]
        caption = f"{months[0][0]} … {months[-1][0]}" if months else "no payments yet"
        self.query_one("#revenue-months", Static).update(caption)

        invoices = self.query_one("#invoices-table", DataTable)
        invoices.clear()
        for inv in detail.invoices:
            state = Text(inv.state, style="red" if inv.days_overdue else "")
            invoices.add_row(
                inv.number,
                fmt(inv.issued_on),
                fmt(inv.due_on),
                Text(fmt(inv.total), justify="right"),
                Text(fmt(inv.paid), justify="right"),
                Text(fmt(inv.balance), justify="right"),
                state,
                f"{inv.days_overdue} d" if inv.days_overdue else "",
                fmt(inv.paid_on) if inv.paid_on else "",
            )
        payments = self.query_one("#payments-table", DataTable)
        payments.clear()
        for pay in detail.payments:
            payments.add_row(
                fmt(pay.paid_on),
                pay.invoice_number,
                Text(fmt(pay.amount), justify="right"),
                pay.method or "",
            )
        engagement = detail.engagement
        eng_text = (
            _pairs_table(
                [(k.replace("_", " ").capitalize(), fmt(v, k)) for k, v in engagement.items()]
            )
            if engagement
            else Text("No engagement recorded.", style="dim")
        )
        self.query_one("#engagement", Static).update(eng_text)
        emails = self.query_one("#emails-table", DataTable)
        emails.clear()
        for email in detail.emails:
            emails.add_row(
                fmt(email.created_at),
                email.template,
                email.subject,
                Text(email.status, style="red" if email.error else ""),
                ", ".join(email.invoices),
                email.error or "",
            )
        notes = self.query_one("#notes-body", Static)
        if detail.notes:
            notes.update(Group(*(note_renderable(n) for n in detail.notes)))
        else:
            notes.update(Text("No notes.", style="dim"))
        self.query_one("#preferences-body", Static).update(preferences_renderable(detail))

    def show_payment_methods(self, result: Any) -> None:
        """A ``TableResult`` of methods, or a message (e.g. "configure a Stripe key")."""
        body = self.query_one("#pm-body", Static)
        table = self.query_one("#pm-table", DataTable)
        hint = self.query_one("#pm-hint", Label)
        table.clear(columns=True)
        self.payment_methods = []
        has_rows = isinstance(result, TableResult) and bool(result.rows)
        table.set_class(has_rows, "-shown")
        hint.set_class(has_rows, "-shown")
        if isinstance(result, TableResult):
            if not result.rows:
                body.update(Text(result.footer or "No payment methods on file.", style="dim"))
                return
            body.update(Text(result.footer or result.title, style="dim"))
            table.add_columns(*result.columns)
            for row in result.rows:
                table.add_row(*(fmt(v) for v in row))
                pm_id = str(row[0])
                words = " ".join(fmt(v) for v in row[1:3] if v)
                self.payment_methods.append((pm_id, f"{words} ({pm_id})".strip()))
        elif isinstance(result, MessageResult):
            text = Text(result.text, style="yellow")
            if "link" in result.text.lower():
                text.append("\nPress L to link this customer to Stripe.", style="dim")
            body.update(text)
        else:
            message = getattr(result, "message", None) or str(result)
            body.update(Text(message, style="red"))

    def _chosen_method(self) -> tuple[str, str] | None:
        if self.active_tab != "payment-methods" or not self.payment_methods:
            return None
        row = self.query_one("#pm-table", DataTable).cursor_row
        if not 0 <= row < len(self.payment_methods):
            return None
        return self.payment_methods[row]

    def action_pm_default(self) -> None:
        chosen = self._chosen_method()
        if chosen is None:
            self.app.bell()
            return
        self.post_message(self.PaymentMethodChosen("default", *chosen))

    def action_pm_link(self) -> None:
        if self.active_tab != "payment-methods" or self.detail is None:
            self.app.bell()
            return
        self.post_message(self.PaymentMethodChosen("link", "", ""))

    def action_pm_remove(self) -> None:
        chosen = self._chosen_method()
        if chosen is None:
            self.app.bell()
            return
        self.post_message(self.PaymentMethodChosen("remove", *chosen))

    # -- tab keys -----------------------------------------------------------------

    def _move_tab(self, step: int) -> None:
        ids = [tab_id for tab_id, _ in TABS]
        current = self.active_tab
        index = ids.index(current) if current in ids else 0
        self.show_tab(ids[(index + step) % len(ids)])

    def action_next_tab(self) -> None:
        self._move_tab(1)

    def action_previous_tab(self) -> None:
        self._move_tab(-1)
