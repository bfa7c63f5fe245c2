"""Everything about one customer, for the detail pane and `show` commands."""

from __future__ import annotations

import importlib
import re
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from commands.money import to_major
from commands.results import CustomerDetail, InvoiceView, NoteView, PaymentView, Result
from commands.rows import customer_rows
from commands.workspace import Workspace
from store import query as q
from store.invoice_cache import settle
from store.models import Customer, CustomField, CustomFieldValue, Invoice, Note, Payment

c: Any = Customer.__table__
inv: Any = Invoice.__table__
pay: Any = Payment.__table__
notes_t: Any = Note.__table__
cf: Any = CustomField.__table__
cfv: Any = CustomFieldValue.__table__


def invoice_views(conn: Connection, customer_id: int, d: date, currency: str) -> list[InvoiceView]:
    """A customer's invoices with paid, balance and derived state as of D (newest first)."""
    invoices = conn.execute(
        select(inv)
        .where(inv.c.customer_id == customer_id)
        .order_by(inv.c.issued_on.desc(), inv.c.id.desc())
    ).all()
    payments: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for iid, on, amount in conn.execute(
        select(pay.c.invoice_id, pay.c.paid_on, pay.c.amount_cents)
        .where(pay.c.customer_id == customer_id, pay.c.paid_on <= d)
        .order_by(pay.c.invoice_id, pay.c.paid_on, pay.c.id)
    ):
        payments[iid].append((on, amount))
    views = []
    for r in invoices:
        paid, settled, _ = settle(r.total_cents, payments[r.id])
        balance = r.total_cents - paid
        if r.status in ("draft", "void"):
            state = r.status
        elif balance <= 0:
            state = "paid"
        elif paid > 0:
            state = "partial"
        else:
            state = "open"
        countable = r.status not in ("draft", "void") and r.issued_on <= d
        overdue = countable and balance > 0 and r.due_on < d
        views.append(
            InvoiceView(
                id=r.id,
                number=r.number,
                issued_on=r.issued_on,
                due_on=r.due_on,
                total=to_major(r.total_cents, currency),
                paid=to_major(paid, currency),
                balance=to_major(balance, currency),
                status=r.status,
                state=state,
                days_overdue=(d - r.due_on).days if overdue else None,
                paid_on=settled if state == "paid" else None,
            )
        )
    return views


def payment_views(
    conn: Connection, customer_id: int, d: date, currency: str, since: date | None = None
) -> list[PaymentView]:
    stmt = (
        select(pay.c.id, inv.c.number, pay.c.paid_on, pay.c.amount_cents, pay.c.method)
        .join(inv, inv.c.id == pay.c.invoice_id)
        .where(pay.c.customer_id == customer_id, pay.c.paid_on <= d)
        .order_by(pay.c.paid_on.desc(), pay.c.id.desc())
    )
    if since:
        stmt = stmt.where(pay.c.paid_on >= since)
    return [
        PaymentView(r.id, r.number, r.paid_on, to_major(r.amount_cents, currency), r.method)
        for r in conn.execute(stmt)
    ]


def monthly_revenue(
    payments: list[PaymentView], d: date, months: int = 12
) -> list[tuple[str, Any]]:
    """Payments received per month, the last ``months`` months up to D."""
    keys = []
    y, m = d.year, d.month
    for _ in range(months):
        keys.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    keys.reverse()
    totals: dict[str, Any] = dict.fromkeys(keys, to_major(0))
    for p in payments:
        key = p.paid_on.strftime("%Y-%m")
        if key in totals:
            totals[key] += p.amount
    return list(totals.items())


def notes_of(conn: Connection, customer_id: int) -> list[NoteView]:
    rows = conn.execute(
        select(notes_t)
        .where(notes_t.c.customer_id == customer_id)
        .order_by(notes_t.c.created_at.desc(), notes_t.c.id.desc())
    )
    return [NoteView(r.id, r.kind, r.body, r.author, r.created_at, r.follow_up_on) for r in rows]


def custom_fields_of(conn: Connection, customer_id: int) -> dict[str, Any]:
    rows = conn.execute(
        select(cf.c.name, cfv.c.text_value, cfv.c.number_value, cfv.c.date_value, cfv.c.bool_value)
        .join(cfv, cfv.c.field_id == cf.c.id)
        .where(cfv.c.customer_id == customer_id)
        .order_by(cf.c.name)
    )
    out: dict[str, Any] = {}
    for name, text, number, day, flag in rows:
        if number is not None:
            out[name] = int(number) if float(number).is_integer() else number
        else:
            out[name] = next((v for v in (text, day, flag) if v is not None), None)
    return out


def _optional(module: str, name: str) -> Any:
    """A function from a verb module that may not be installed in this build."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ModuleNotFoundError, AttributeError):
        return None


def customer_detail(ws: Workspace, customer_id: int) -> CustomerDetail:
    """The detail pane's data for one customer as of D."""
    d = ws.today
    with ws.read() as conn:
        rows = q.list_customers(
            conn, d, q.ListSpec(where=q.ids_in([customer_id]), include_archived=True)
        )
        if not rows:
            from commands.errors import UserError

            raise UserError(f"there is no customer #{customer_id}")
        row = customer_rows(conn, rows, ws.currency)[0]
        extra = conn.execute(select(c).where(c.c.id == customer_id)).one()
        payments = payment_views(conn, customer_id, d, ws.currency)
        history = _optional("commands.verbs_email", "email_history")
        engagement = _optional("commands.verbs_email", "engagement")
        return CustomerDetail(
            customer=row,
            address=extra.address,
            preferences={
                "payment terms": f"net {extra.payment_terms_days}"
                if extra.payment_terms_days is not None
                else None,
                "billing frequency": extra.billing_frequency,
                "preferred payment method": extra.preferred_payment_method,
            },
            custom_fields=custom_fields_of(conn, customer_id),
            invoices=invoice_views(conn, customer_id, d, ws.currency),
            payments=payments,
            emails=history(conn, customer_id) if history else [],
            engagement=engagement(conn, customer_id) if engagement else {},
            notes=notes_of(conn, customer_id),
            monthly_revenue=monthly_revenue(payments, d),
            stripe_customer_id=extra.stripe_customer_id,
            reminders={
                "paused until": extra.reminders_paused_until,
                "opted out": bool(extra.reminders_opt_out),
            },
        )


# -- the Payment methods tab (Stripe) ---------------------------------------------------
#
# Backend-neutral: the TUI, the CLI or anything else calls these with a
# customer id. The writes go through the executor as ordinary sentences (so
# they are audited exactly like the typed ones) and ``stripe`` is imported
# only when one of them runs.

_PM_ID = re.compile(r"[A-Za-z0-9_]+")


def _pm(pm_id: str) -> str:
    from commands.errors import UserError

    pm_id = str(pm_id).strip()
    if not _PM_ID.fullmatch(pm_id):
        raise UserError(f"'{pm_id}' is not a Stripe payment method id (pm_...)")
    return pm_id


def link_stripe_sentence(customer_id: int) -> str:
    return f"link #{int(customer_id)} to stripe"


def set_default_payment_method_sentence(customer_id: int, pm_id: str) -> str:
    return f"set default payment method of #{int(customer_id)} to {_pm(pm_id)}"


def remove_payment_method_sentence(customer_id: int, pm_id: str) -> str:
    return f"remove payment method {_pm(pm_id)} from #{int(customer_id)}"


def payment_methods(ws: Workspace, customer_id: int) -> Result:
    """The tab's content: a ``TableResult`` (columns ``PM_COLUMNS`` of
    ``commands.verbs_stripe``, first column the ``pm_...`` id, the default
    marked ``DEFAULT_MARK``) or a ``MessageResult`` (``kind="stripe-setup"``)
    saying how to configure a key or link the customer. Stripe failures raise
    ``UserError`` with one sentence."""
    from commands.verbs_stripe import payment_methods_result

    return payment_methods_result(ws, customer_id)


def link_to_stripe(ws: Workspace, customer_id: int, *, dry_run: bool = False) -> Result:
    """``link #ID to stripe``: find the Stripe customer by email or create it."""
    from commands.executor import run

    return run(ws, link_stripe_sentence(customer_id), dry_run=dry_run)


def set_default_payment_method(
    ws: Workspace, customer_id: int, pm_id: str, *, dry_run: bool = False
) -> Result:
    """``set default payment method of #ID to pm_...`` (audited, not undoable)."""
    from commands.executor import run

    return run(ws, set_default_payment_method_sentence(customer_id, pm_id), dry_run=dry_run)


def remove_payment_method(
    ws: Workspace,
    customer_id: int,
    pm_id: str,
    *,
    confirmed: bool = False,
    dry_run: bool = False,
) -> Result:
    """``remove payment method pm_... from #ID``: a ``ConfirmationNeeded``
    until called again with ``confirmed=True`` (a removed card cannot be put
    back); then detaches it in Stripe and records it in the audit log."""
    from commands.executor import run

    return run(
        ws,
        remove_payment_method_sentence(customer_id, pm_id),
        confirmed=confirmed,
        dry_run=dry_run,
    )


__all__ = [
    "customer_detail",
    "invoice_views",
    "link_stripe_sentence",
    "link_to_stripe",
    "payment_methods",
    "payment_views",
    "remove_payment_method",
    "remove_payment_method_sentence",
    "set_default_payment_method",
    "set_default_payment_method_sentence",
    "timedelta",
]
