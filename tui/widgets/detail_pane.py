"""The detail pane: everything about the customer under the cursor, in tabs.

It only renders a :class:`commands.results.CustomerDetail` (and, for the
Payment methods tab, whatever result the backend gives); the app fetches
both in workers and calls :meth:`DetailPane.show` /
:meth:`DetailPane.show_payment_methods`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Label, Sparkline, Static, TabbedContent, TabPane

from commands.results import (
    FIGURE_KEYS,
    CustomerDetail,
    MessageResult,
    NoteView,
    TableResult,
)
from tui.keymap import bindings_for

W = TypeVar("W", bound=Widget)

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

#: columns of the tabs that are a table of rows
TABLE_COLUMNS = {
    "invoices": (
        "Number",
        "Issued",
        "Due",
        "Total",
        "Paid",
        "Balance",
        "State",
        "Overdue",
        "Paid on",
    ),
    "payments": ("Date", "Invoice", "Amount", "Method"),
    "emails": ("Sent", "Template", "Subject", "Status", "Invoices", "Error"),
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
        #: tabs whose widgets exist (the others are built when first shown)
        self._built: set[str] = set()
        #: the widgets with an id of the built tabs
        self._parts: dict[str, Widget] = {}

    def compose(self) -> ComposeResult:
        # Only the Overview is built at start; the other tabs get their widgets
        # the first time they are shown (``_build_tab``): the first screen has
        # a third of the widgets to style and lay out.
        with TabbedContent(id="detail-tabs"):
            for tab_id, label in TABS:
                with TabPane(label, id=tab_id):
                    if tab_id == "overview":
                        yield from self._tab_widgets(tab_id)
        self._built.add("overview")

    def _tab_widgets(self, tab_id: str) -> list[Widget]:
        """The widgets of one tab (empty: no customer shown yet), kept in ``_parts``."""
        part = self._part_made
        if tab_id == "overview":
            return [
                VerticalScroll(
                    part(Static("No customer selected.", id="overview-body")),
                    Label("Revenue by month", classes="caption"),
                    part(Sparkline([], id="revenue-sparkline")),
                    part(Static("", id="revenue-months", classes="caption")),
                )
            ]
        if tab_id in TABLE_COLUMNS:
            table: DataTable[Any] = part(
                DataTable(id=f"{tab_id}-table", cursor_type="row", zebra_stripes=True)
            )
            table.add_columns(*TABLE_COLUMNS[tab_id])
            if tab_id != "emails":
                return [table]
            return [
                VerticalScroll(
                    Label("Engagement", classes="caption"),
                    part(Static("", id="engagement")),
                    Label("History", classes="caption"),
                    table,
                )
            ]
        if tab_id == "notes":
            return [VerticalScroll(part(Static("No notes.", id="notes-body")))]
        if tab_id == "payment-methods":
            return [
                VerticalScroll(
                    part(Static("Payment methods load when this tab is opened.", id="pm-body")),
                    part(DataTable(id="pm-table", cursor_type="row", zebra_stripes=True)),
                    part(Label(PM_HINT, id="pm-hint", classes="caption")),
                )
            ]
        return [
            VerticalScroll(
                part(Static("", id="preferences-body")),
                Label(PREFS_HINT, classes="caption"),
            )
        ]

    def _part_made(self, widget: W) -> W:
        assert widget.id is not None
        self._parts[widget.id] = widget
        return widget

    def _part(self, widget_id: str, kind: type[W]) -> W:
        """A widget of a built tab (found before it is mounted, unlike ``query_one``)."""
        widget = self._parts[widget_id]
        assert isinstance(widget, kind)
        return widget

    def _build_tab(self, tab_id: str) -> bool:
        """Give a tab its widgets (once), filled with the customer shown; True if new."""
        if tab_id in self._built or tab_id not in dict(TABS):
            return False
        self._built.add(tab_id)
        self.query_one(f"TabPane#{tab_id}", TabPane).mount_all(self._tab_widgets(tab_id))
        self._fill(tab_id, self.detail)
        return True

    @on(TabbedContent.TabActivated, "#detail-tabs")
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id is not None:
            self._build_tab(event.pane.id)  # before the app hears of it (it may fill it)

    # -- showing -------------------------------------------------------------

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    def show_tab(self, tab_id: str) -> None:
        self._build_tab(tab_id)
        self.query_one(TabbedContent).active = tab_id

    def show(self, detail: CustomerDetail | None) -> None:
        self.detail = detail
        if detail is None:
            self.border_title = "Detail"
        else:
            c = detail.customer
            self.border_title = f"{c.name} (#{c.id})"
        for tab_id, _ in TABS:
            if tab_id in self._built:
                self._fill(tab_id, detail)

    def _fill(self, tab_id: str, detail: CustomerDetail | None) -> None:
        """Put ``detail`` in one built tab (``None``: empty it)."""
        if tab_id == "overview":
            self._fill_overview(detail)
        elif tab_id == "invoices":
            self._fill_invoices(detail)
        elif tab_id == "payments":
            self._fill_payments(detail)
        elif tab_id == "emails":
            self._fill_emails(detail)
        elif tab_id == "notes":
            notes = self._part("notes-body", Static)
            if detail is None:
                notes.update("No notes.")
            elif detail.notes:
                notes.update(Group(*(note_renderable(n) for n in detail.notes)))
            else:
                notes.update(Text("No notes.", style="dim"))
        elif tab_id == "preferences":
            body = self._part("preferences-body", Static)
            body.update("" if detail is None else preferences_renderable(detail))

    def _fill_overview(self, detail: CustomerDetail | None) -> None:
        if detail is None:
            self._part("overview-body", Static).update("No customer selected.")
            self._part("revenue-sparkline", Sparkline).data = []
            self._part("revenue-months", Static).update("")
            return
        self._part("overview-body", Static).update(overview_renderable(detail))
        months = detail.monthly_revenue
        self._part("revenue-sparkline", Sparkline).data = [float(v) for _, v in months]
        caption = f"{months[0][0]} … {months[-1][0]}" if months else "no payments yet"
        self._part("revenue-months", Static).update(caption)

    def _fill_invoices(self, detail: CustomerDetail | None) -> None:
        invoices = self._part("invoices-table", DataTable)
        invoices.clear()
        for inv in detail.invoices if detail is not None else ():
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

    def _fill_payments(self, detail: CustomerDetail | None) -> None:
        payments = self._part("payments-table", DataTable)
        payments.clear()
        for pay in detail.payments if detail is not None else ():
            payments.add_row(
                fmt(pay.paid_on),
                pay.invoice_number,
                Text(fmt(pay.amount), justify="right"),
                pay.method or "",
            )

    def _fill_emails(self, detail: CustomerDetail | None) -> None:
        emails = self._part("emails-table", DataTable)
        emails.clear()
        if detail is None:
            self._part("engagement", Static).update("")
            return
        engagement = detail.engagement
        eng_text = (
            _pairs_table(
                [(k.replace("_", " ").capitalize(), fmt(v, k)) for k, v in engagement.items()]
            )
            if engagement
            else Text("No engagement recorded.", style="dim")
        )
        self._part("engagement", Static).update(eng_text)
        for email in detail.emails:
            emails.add_row(
                fmt(email.created_at),
                email.template,
                email.subject,
                Text(email.status, style="red" if email.error else ""),
                ", ".join(email.invoices),
                email.error or "",
            )

    def show_payment_methods(self, result: Any) -> None:
        """A ``TableResult`` of methods, or a message (e.g. "configure a Stripe key")."""
        self._build_tab("payment-methods")
        body = self._part("pm-body", Static)
        table = self._part("pm-table", DataTable)
        hint = self._part("pm-hint", Label)
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
        row = self._part("pm-table", DataTable).cursor_row
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
