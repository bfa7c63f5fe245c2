"""The outbox's SQL reads: open invoices as of D, outbox rows, who may be reminded.

Open invoices are found through the partial index of open invoices
(``paid_cents < total_cents``), driven from the invoices; invoices with a
payment dated after D are settled from their payments as of D. Finding due
reminders reads only that index (it covers the columns the search needs)
and the partial index of customers who may not be reminded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
    type_coerce,
)

from commands.outbox_state import InvoiceInfo, chunks, in_ids
from store.models import UNREMINDABLE, Customer, Invoice, Payment, Reminder

c: Any = Customer.__table__
inv: Any = Invoice.__table__
pay: Any = Payment.__table__
rem: Any = Reminder.__table__


def eligible_customer(d: date) -> Any:
    return and_(
        c.c.reminders_opt_out.is_(False),
        or_(c.c.reminders_paused_until.is_(None), c.c.reminders_paused_until < d),
        c.c.email.isnot(None),
        c.c.email != "",
    )


def unremindable_ids(d: date) -> Any:
    """Customers not to remind on ``d``, read from their partial index (a few per hundred)."""
    return select(c.c.id).where(
        text(f"({UNREMINDABLE})"), ~and_(eligible_customer(d), c.c.status == "active")
    )


def countable(d: date) -> list[Any]:
    """Invoices reminders may cover on ``d``: sent and issued by then."""
    return [inv.c.status == "sent", inv.c.issued_on <= d]


def due_candidates(conn: Connection, d: date, where: Sequence[Any]) -> list[Any]:
    """(customer_id, due_on, id, in_outbox) of invoices matching ``where``, unpaid as of
    ``d``, of customers who may be reminded, in that order.

    ``due_on`` is a date, or its ISO text on SQLite; ``in_outbox`` tells whether
    the invoice has outbox rows. Invoices paid after ``d`` (the payment cache
    ahead of an ``--as-of`` in the past) are settled from their payments.
    """
    base = [*countable(d), *where, inv.c.customer_id.not_in(unremindable_ids(d))]
    cols = (
        inv.c.customer_id,
        # as the driver gives it (ISO text on SQLite): parsing costs more than the query
        type_coerce(inv.c.due_on, String),
        inv.c.id,
        exists().where(rem.c.invoice_id == inv.c.id).label("in_outbox"),
    )
    # the open-invoice index's own order; then a stable sort by customer is cheap
    order = (inv.c.due_on, inv.c.customer_id, inv.c.id)
    rows: list[Any] = list(
        conn.execute(
            select(*cols).where(*base, inv.c.paid_cents < inv.c.total_cents).order_by(*order)
        ).all()
    )
    rows.sort(key=itemgetter(0))
    latest = conn.execute(select(func.max(inv.c.last_paid_on))).scalar()
    if latest is None or latest <= d:
        return rows
    ahead = conn.execute(
        select(*cols, inv.c.total_cents).where(*base, inv.c.last_paid_on > d)
    ).all()
    paid = paid_as_of(conn, [r.id for r in ahead], d)
    ahead_ids = {r.id for r in ahead}
    rows = [r for r in rows if r.id not in ahead_ids]
    rows += [r[:4] for r in ahead if r.total_cents - paid[r.id] > 0]
    rows.sort(key=itemgetter(0, 1, 2))
    return rows


INVOICE_COLUMNS = (
    inv.c.id,
    inv.c.customer_id,
    inv.c.number,
    inv.c.issued_on,
    inv.c.due_on,
    inv.c.total_cents,
    inv.c.paid_cents,
    inv.c.last_paid_on,
)


def paid_as_of(conn: Connection, ids: Sequence[int], d: date) -> dict[int, int]:
    """Paid amount as of ``d`` from the payments themselves (cache ahead of D)."""
    out: dict[int, int] = dict.fromkeys(ids, 0)
    for chunk in chunks(list(ids), 50_000):
        rows = conn.execute(
            select(pay.c.invoice_id, func.sum(pay.c.amount_cents))
            .where(in_ids(pay.c.invoice_id, chunk), pay.c.paid_on <= d)
            .group_by(pay.c.invoice_id)
        )
        for iid, total in rows:
            out[int(iid)] = int(total or 0)
    return out


def open_invoices(
    conn: Connection,
    d: date,
    *,
    due_to: date | None = None,
    customer_ids: Sequence[int] | None = None,
    eligible_only: bool = True,
    active_only: bool = True,
) -> list[InvoiceInfo]:
    """Countable invoices unpaid as of ``d`` (balance > 0), optionally by due date / customer.

    Uses the payment cache (``paid_cents``) through the partial index of open
    invoices; invoices with a payment after ``d`` are settled from their
    payments as of ``d``.
    """
    base = countable(d)
    if due_to is not None:
        base.append(inv.c.due_on <= due_to)
    if customer_ids is not None:
        base.append(inv.c.customer_id.in_(list(customer_ids)))

    who: list[Any] = []
    if eligible_only:
        who.append(eligible_customer(d))
    if active_only:
        # ``status || ''`` is not indexable, so SQLite drives the join from the
        # partial index of open invoices instead of scanning active customers
        who.append((c.c.status + "") == "active")

    def stmt(*extra: Any) -> Any:
        if not who:
            return select(*INVOICE_COLUMNS).where(*base, *extra)
        return (
            select(*INVOICE_COLUMNS)
            .join_from(inv, c, c.c.id == inv.c.customer_id)
            .where(*base, *extra, *who)
        )

    rows = list(conn.execute(stmt(inv.c.paid_cents < inv.c.total_cents)))
    latest = conn.execute(select(func.max(inv.c.last_paid_on))).scalar()
    if latest is not None and latest > d:
        rows += conn.execute(
            stmt(inv.c.last_paid_on > d, inv.c.paid_cents >= inv.c.total_cents)
        ).all()
    recheck = [r.id for r in rows if r.last_paid_on is not None and r.last_paid_on > d]
    paid_now = paid_as_of(conn, recheck, d) if recheck else {}
    out: list[InvoiceInfo] = []
    for r in rows:
        paid = paid_now.get(r.id, r.paid_cents)
        if r.total_cents - paid > 0:
            out.append(
                InvoiceInfo(
                    r.id, r.customer_id, r.number, r.issued_on, r.due_on, r.total_cents, paid
                )
            )
    return out


def invoice_infos(conn: Connection, ids: Sequence[int], d: date) -> list[InvoiceInfo]:
    """These invoices with their amount paid as of ``d``."""
    rows = [
        r
        for chunk in chunks(list(ids), 50_000)
        for r in conn.execute(select(*INVOICE_COLUMNS).where(in_ids(inv.c.id, chunk)))
    ]
    ahead = [r.id for r in rows if r.last_paid_on is not None and r.last_paid_on > d]
    paid = paid_as_of(conn, ahead, d) if ahead else {}
    return [
        InvoiceInfo(
            r.id,
            r.customer_id,
            r.number,
            r.issued_on,
            r.due_on,
            r.total_cents,
            paid.get(r.id, r.paid_cents),
        )
        for r in rows
    ]


def outbox_rows(conn: Connection, invoice_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """invoice id -> {stage: row} of the outbox."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for chunk in chunks(sorted(set(invoice_ids)), 50_000):
        for r in conn.execute(
            select(
                rem.c.id,
                rem.c.invoice_id,
                rem.c.stage,
                rem.c.status,
                rem.c.next_attempt_at,
                rem.c.attempts,
            ).where(in_ids(rem.c.invoice_id, chunk))
        ):
            out[r.invoice_id][r.stage] = r
    return out


@lru_cache(maxsize=8)
def _still_due_select(d: date) -> Any:
    """The check made before each send, built once per day (sending checks every email)."""
    return (
        select(inv.c.id, inv.c.total_cents, inv.c.paid_cents, inv.c.last_paid_on)
        .join_from(inv, c, c.c.id == inv.c.customer_id)
        .where(
            inv.c.id.in_(bindparam("ids", expanding=True)),
            *countable(d),
            eligible_customer(d),
        )
    )


def still_due(conn: Connection, invoice_ids: Sequence[int], d: date) -> set[int]:
    """Of these invoices, those still unpaid and countable, customer not paused or opted out."""
    rows = conn.execute(_still_due_select(d), {"ids": list(invoice_ids)}).all()
    ahead = [r.id for r in rows if r.last_paid_on is not None and r.last_paid_on > d]
    paid = paid_as_of(conn, ahead, d) if ahead else {}
    return {r.id for r in rows if r.total_cents - paid.get(r.id, r.paid_cents) > 0}
