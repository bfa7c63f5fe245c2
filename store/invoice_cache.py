"""The per-invoice payment cache: paid amount, settling date, last payment date."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, select, update

from store.models import Invoice, Payment

inv: Any = Invoice.__table__
pay: Any = Payment.__table__

#: a date, or a day number (the demo generator works in ordinals)
Day = TypeVar("Day", date, int)


def settle(total: int, payments: Sequence[tuple[Day, int]]) -> tuple[int, Day | None, Day | None]:
    """(paid, settled_on, last_paid_on) from payments sorted by date (or day number).

    ``settled_on`` is the date of the payment that last brought the balance
    to zero or below (refunds are negative payments).
    """
    run = 0
    settled: Day | None = None
    last: Day | None = None
    for on, amount in payments:
        before = run
        run += amount
        if run >= total > before:
            settled = on
        last = on
    return run, settled, last


def _chunks(ids: list[int], size: int = 5000) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def refresh_invoice_cache(conn: Connection, invoice_ids: Iterable[int]) -> None:
    """Recompute the cache of these invoices from their payments."""
    ids = sorted(set(invoice_ids))
    stmt = (
        update(inv)
        .where(inv.c.id == bindparam("iid"))
        .values(
            paid_cents=bindparam("paid"),
            settled_on=bindparam("settled"),
            last_paid_on=bindparam("last"),
        )
    )
    for chunk in _chunks(ids):
        totals: dict[int, int] = dict(
            conn.execute(select(inv.c.id, inv.c.total_cents).where(inv.c.id.in_(chunk))).all()
        )
        payments: dict[int, list[tuple[date, int]]] = {i: [] for i in chunk}
        rows = conn.execute(
            select(pay.c.invoice_id, pay.c.paid_on, pay.c.amount_cents)
            .where(pay.c.invoice_id.in_(chunk))
            .order_by(pay.c.invoice_id, pay.c.paid_on, pay.c.id)
        )
        for iid, on, amount in rows:
            payments[iid].append((on, amount))
        params = []
        for iid in chunk:
            if iid not in totals:
                continue
            paid, settled, last = settle(totals[iid], payments[iid])
            params.append({"iid": iid, "paid": paid, "settled": settled, "last": last})
        if params:
            conn.execute(stmt, params)
