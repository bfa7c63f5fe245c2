"""What a plan of :func:`commands.outbox_plan.find_due` leaves for sending: who and which lines.

Finding due reminders names the customer, the (invoice, stage) items, the
template and the rule. Addresses, invoice numbers and the invoice lines
(amounts as of D; a summary lists all the customer's overdue invoices) are
read here, for the few plans about to be shown or sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from commands.outbox_queries import invoice_infos, open_invoices
from commands.outbox_state import InvoiceInfo, Planned, in_ids
from store.models import Customer

c: Any = Customer.__table__

SUMMARY = "reminder-summary"


def add_details(conn: Connection, plans: Sequence[Planned], d: date) -> None:
    """Fill in the address, invoice numbers and invoice lines of plans still without them.

    An invoice gone since it was planned is left out of the lines, so claiming
    drops its item.
    """
    todo = [p for p in plans if not p.invoices]
    if not todo:
        return
    infos = {
        i.id: i for i in invoice_infos(conn, [it.invoice_id for p in todo for it in p.items], d)
    }
    people = {
        r.id: r
        for r in conn.execute(
            select(c.c.id, c.c.name, c.c.email, c.c.company).where(
                in_ids(c.c.id, {p.customer_id for p in todo})
            )
        )
    }
    summaries = [p.customer_id for p in todo if p.template == SUMMARY]
    listed: dict[int, list[InvoiceInfo]] = defaultdict(list)
    if summaries:
        for i in open_invoices(conn, d, due_to=d - timedelta(days=1), customer_ids=summaries):
            listed[i.customer_id].append(i)
    for p in todo:
        person = people.get(p.customer_id)
        if person is not None:
            p.name, p.email, p.company = person.name, person.email or "", person.company
        mine = [infos[it.invoice_id] for it in p.items if it.invoice_id in infos]
        for it in p.items:
            if it.invoice_id in infos:
                it.number = infos[it.invoice_id].number
        if p.template != SUMMARY:
            p.invoices = mine
            continue
        shown = {i.id: i for i in listed[p.customer_id]}
        for info in mine:
            shown.setdefault(info.id, info)
        p.invoices = sorted(shown.values(), key=lambda x: (x.due_on, x.number))
