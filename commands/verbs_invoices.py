"""Invoices: ``overdue invoices [of QUERY]`` and invoice states as of D."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from commands.executor import Call, handles
from commands.money import to_major
from commands.outbox import open_invoices
from commands.results import TableResult
from commands.targets import plural, target_ids
from commands.workspace import Workspace
from grammar import ast as A
from store.models import Customer

c: Any = Customer.__table__


@dataclass(frozen=True)
class InvoiceState:
    """One invoice as of D (DOMAIN.md: countable, balance, overdue, days overdue)."""

    id: int
    customer_id: int
    number: str
    issued_on: date
    due_on: date
    total_cents: int
    paid_cents: int

    @property
    def balance_cents(self) -> int:
        return self.total_cents - self.paid_cents

    def state(self) -> str:
        if self.balance_cents <= 0:
            return "paid"
        return "partial" if self.paid_cents > 0 else "open"

    def days_overdue(self, d: date) -> int | None:
        return (d - self.due_on).days if self.balance_cents > 0 and self.due_on < d else None


def overdue_states(
    conn: Connection, d: date, customer_ids: list[int] | None = None
) -> list[InvoiceState]:
    """Countable invoices overdue as of D (unpaid, due date < D), oldest due first."""
    rows = open_invoices(
        conn,
        d,
        due_to=date.fromordinal(d.toordinal() - 1),
        customer_ids=customer_ids,
        eligible_only=False,
        active_only=customer_ids is None,
    )
    states = [
        InvoiceState(
            r.id, r.customer_id, r.number, r.issued_on, r.due_on, r.total_cents, r.paid_cents
        )
        for r in rows
    ]
    return sorted(states, key=lambda s: (s.due_on, s.number))


@handles(A.OverdueInvoices)
def overdue_invoices(ws: Workspace, cmd: A.OverdueInvoices, call: Call) -> TableResult:
    d = ws.today
    with ws.read() as conn:
        ids = target_ids(ws, conn, cmd.target, call) if cmd.target is not None else None
        states = overdue_states(conn, d, ids)
        names = dict(
            conn.execute(
                select(c.c.id, c.c.name).where(c.c.id.in_({s.customer_id for s in states}))
            ).all()
        )
    cur = ws.currency
    rows: list[list[Any]] = [
        [
            s.number,
            f"#{s.customer_id} {names.get(s.customer_id, '')}",
            s.issued_on,
            s.due_on,
            to_major(s.total_cents, cur),
            to_major(s.paid_cents, cur),
            to_major(s.balance_cents, cur),
            s.days_overdue(d),
        ]
        for s in states
    ]
    total = sum((to_major(s.balance_cents, cur) for s in states), Decimal(0))
    return TableResult(
        title=f"Overdue invoices as of {d.isoformat()}",
        columns=["number", "customer", "issued", "due", "total", "paid", "balance", "days overdue"],
        rows=rows,
        kind="invoices",
        footer=f"{plural(len(states), 'invoice')} overdue, balance {total} {cur}",
    )
