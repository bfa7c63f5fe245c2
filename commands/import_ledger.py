"""Invoice and payment imports: invoices upsert by number, payments never double."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from commands.custom_values import jsonable
from commands.fileformats import InvoiceRecord, PaymentRecord, RowError
from commands.import_core import Importer
from store import bulk
from store.models import Invoice, Payment

inv: Any = Invoice.__table__
pay: Any = Payment.__table__

DEFAULT_TERMS_DAYS = 30
INVOICE_COLUMNS = (
    "customer_id",
    "number",
    "issued_on",
    "due_on",
    "total_cents",
    "currency",
    "status",
)


class InvoiceImporter(Importer):
    kind = "invoices"

    @staticmethod
    def changes(r: InvoiceRecord, cid: int, have: Any) -> bool:
        """Whether updating stored invoice ``have`` from ``r`` would change anything."""
        new = (
            cid,
            r.issued_on,
            r.due_on or have.due_on,
            r.total,
            r.currency,
            r.status or have.status,
        )
        old = (
            have.customer_id,
            have.issued_on,
            have.due_on,
            have.total_cents,
            have.currency,
            have.status,
        )
        return new != old

    def process(self, batch: list[InvoiceRecord]) -> None:
        conn = self.conn
        emails = self.emails()
        existing = {
            r.number: r
            for r in conn.execute(select(inv).where(inv.c.number.in_([b.number for b in batch])))
        }
        new: list[tuple[InvoiceRecord, int, int | None]] = []
        old: list[tuple[InvoiceRecord, int, Any]] = []
        for r in batch:
            owner = emails.get(r.customer_email.casefold())
            errs = []
            if owner is None:
                errs.append(
                    RowError(
                        r.line, self.col("customer_email"), f"unknown customer {r.customer_email}"
                    )
                )
            have = existing.get(r.number)
            if have is not None and self.on_conflict == "error":
                errs.append(
                    RowError(r.line, self.col("number"), f"invoice {r.number} already exists")
                )
            if errs or owner is None:
                for e in errs:
                    self.error(e)
                continue
            if have is None:
                new.append((r, owner[0], owner[1]))
            elif self.on_conflict == "skip" or not self.changes(r, owner[0], have):
                self.counts.skipped += 1
            else:
                old.append((r, owner[0], have))
        self.counts.inserted += len(new)
        self.counts.updated += len(old)
        if not self.writing:
            return
        if new:
            ids = self._alloc.take(len(new))
            rows = []
            for (r, cid, terms), iid in zip(new, ids, strict=True):
                due = r.due_on or r.issued_on + timedelta(
                    days=terms if terms is not None else DEFAULT_TERMS_DAYS
                )
                rows.append(
                    (
                        iid,
                        cid,
                        r.number,
                        bulk.date_param(conn, r.issued_on),
                        bulk.date_param(conn, due),
                        r.total,
                        r.currency,
                        r.status or "sent",
                        0,
                    )
                )
                self.touch(cid)
            bulk.executemany(conn, "invoices", ("id", *INVOICE_COLUMNS, "paid_cents"), rows)
            self.new_ids.extend(ids)
        if old:
            params = []
            for r, cid, have in old:
                self.befores[int(have.id)] = {
                    "invoice": {x: jsonable(getattr(have, x)) for x in INVOICE_COLUMNS}
                }
                params.append(
                    (
                        cid,
                        r.number,
                        bulk.date_param(conn, r.issued_on),
                        bulk.date_param(conn, r.due_on or have.due_on),
                        r.total,
                        r.currency,
                        r.status or have.status,
                        int(have.id),
                    )
                )
                self.touch(cid, int(have.customer_id))
                self.refresh_invoices.add(int(have.id))
            bulk.update_many(conn, "invoices", "id", INVOICE_COLUMNS, params)


class PaymentImporter(Importer):
    """A payment identical (invoice, date, amount) to a stored one is a conflict, not a new one."""

    kind = "payments"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: payments this import inserted: a file may hold two identical payments
        self.own_payments: set[int] = set()

    def process(self, batch: list[PaymentRecord]) -> None:
        conn = self.conn
        invoices = {
            r.number: (int(r.id), int(r.customer_id))
            for r in conn.execute(
                select(inv.c.id, inv.c.number, inv.c.customer_id).where(
                    inv.c.number.in_(list({b.invoice_number for b in batch}))
                )
            )
        }
        inv_ids = [i for i, _ in invoices.values()]
        stored: dict[tuple[int, date, int], int] = {}
        own = self.own_payments
        for pid, iid, on, amount in conn.execute(
            select(pay.c.id, pay.c.invoice_id, pay.c.paid_on, pay.c.amount_cents).where(
                pay.c.invoice_id.in_(inv_ids)
            )
        ):
            if pid not in own:
                key = (int(iid), on, int(amount))
                stored[key] = stored.get(key, 0) + 1
        new: list[tuple[PaymentRecord, int, int]] = []
        for r in batch:
            found = invoices.get(r.invoice_number)
            if found is None:
                self.error(
                    RowError(
                        r.line, self.col("invoice_number"), f"unknown invoice {r.invoice_number}"
                    )
                )
                continue
            key = (found[0], r.paid_on, r.amount)
            if stored.get(key):
                stored[key] -= 1
                if self.on_conflict == "error":
                    self.error(
                        RowError(
                            r.line,
                            self.col("paid_on"),
                            f"the same payment of invoice {r.invoice_number} is already recorded",
                        )
                    )
                else:
                    self.counts.skipped += 1
                continue
            new.append((r, *found))
        self.counts.inserted += len(new)
        if not self.writing or not new:
            return
        ids = self._alloc.take(len(new))
        bulk.executemany(
            conn,
            "payments",
            ("id", "invoice_id", "customer_id", "paid_on", "amount_cents", "method"),
            [
                (pid, iid, cid, bulk.date_param(conn, r.paid_on), r.amount, r.method)
                for (r, iid, cid), pid in zip(new, ids, strict=True)
            ],
        )
        self.new_ids.extend(ids)
        self.own_payments.update(ids)
        for _, iid, cid in new:
            self.refresh_invoices.add(iid)
            self.touch(cid)


__all__ = ["INVOICE_COLUMNS", "InvoiceImporter", "PaymentImporter"]
