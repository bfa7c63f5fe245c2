"""The import pass: records in, checks against the database, batched writes out.

One :class:`Importer` walks a file's validated records once. In a check pass
(``write=False``) it only classifies rows (new, updated, skipped) and collects
errors; in a write pass it also writes each batch with raw executemany on the
command's own connection, so memory stays flat and a failed import (rolled back
by the caller's transaction) changes nothing. Subclasses handle one kind each.
"""

from __future__ import annotations

import json
from bisect import insort
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, insert, select

from commands.fileformats import CustomerRecord, InvoiceRecord, Mapping, PaymentRecord, RowError
from commands.fileformats.mapping import Kind
from commands.files_common import ImportCounts, OnConflict
from commands.results import Progress
from commands.workspace import Workspace
from store import bulk
from store.figures import invalidate_all, refresh_customers
from store.invoice_cache import refresh_invoice_cache
from store.models import Customer, CustomField, Tag
from store.search import NO_SEARCH_LOAD, SearchLoad

c: Any = Customer.__table__
tags_t: Any = Tag.__table__
cf: Any = CustomField.__table__

#: rows per executemany batch
BATCH = 2000
#: errors kept for the message and the preview (the rest are only counted)
KEEP_ERRORS = 1000
_LINE = attrgetter("line")
#: inserted-id runs kept in the undo recipe; further inserts are listed in audit_items
MAX_RANGES = 200
#: above this many touched customers, figures snapshots are dropped and recomputed
#: on next use instead of refreshed row by row
REFRESH_LIMIT = 5000


class Importer:
    """One pass over a file's records: checks against the database and (optionally) writes."""

    kind: Kind = "customers"

    def __init__(
        self,
        ws: Workspace,
        conn: Connection,
        mapping: Mapping,
        *,
        on_conflict: OnConflict,
        write: bool,
        progress: Callable[[Progress], None] | None = None,
        total: int | None = None,
    ) -> None:
        self.ws = ws
        self.conn = conn
        self.mapping = mapping
        self.on_conflict = on_conflict
        self.write = write
        self.progress = progress
        self.total = total
        self.counts = ImportCounts()
        self.errors: list[RowError] = []
        self.error_count = 0
        self.bad_lines: set[int] = set()
        #: customers whose figures change (until there are too many to refresh one by one)
        self.touched: set[int] = set()
        self.touched_all = False
        #: the audit entry the write pass records under (set by the caller)
        self.audit_entry: int | None = None
        #: ids this batch inserted (customers, invoices or payments); saved per batch
        self.new_ids: list[int] = []
        #: [first, last] runs of the ids inserted so far (the undo recipe keeps them)
        self.inserted_ranges: list[list[int]] = []
        #: id -> before-image of what this batch updated; saved per batch
        self.befores: dict[int, Any] = {}
        self.created_tags: list[int] = []
        self.created_fields: list[int] = []
        self.refresh_invoices: set[int] = set()
        self._batch: list[Any] = []
        self._source = {f: cols[0] for f, cols in mapping.fields.items()}
        self._emails: dict[str, tuple[int, int | None]] | None = None
        self._tags: dict[str, int] | None = None
        self._fields: dict[str, tuple[int | None, str, list[str] | None]] | None = None
        self._alloc = bulk.IdAllocator(conn, self.kind)
        #: the search index of a bulk load (set by the caller)
        self.search: SearchLoad = NO_SEARCH_LOAD

    # -- driving

    def feed(self, item: CustomerRecord | InvoiceRecord | PaymentRecord | RowError) -> None:
        if isinstance(item, RowError):
            self.error(item)
            return
        self.counts.rows += 1
        self._batch.append(item)
        if len(self._batch) >= BATCH:
            self.flush()

    def feed_all(
        self, items: list[CustomerRecord | InvoiceRecord | PaymentRecord | RowError]
    ) -> None:
        """:meth:`feed` for a validated chunk (in file order)."""
        batch = self._batch
        for item in items:
            if type(item) is RowError:
                self.error(item)
                continue
            self.counts.rows += 1
            batch.append(item)
            if len(batch) >= BATCH:
                self.flush()
                batch = self._batch

    def error(self, err: RowError) -> None:
        """Count ``err``; keep the first KEEP_ERRORS by line (checks of a batch's rows
        against the database report after the file's later lines were validated)."""
        self.error_count += 1
        self.bad_lines.add(err.line)
        errors = self.errors
        if len(errors) < KEEP_ERRORS:
            insort(errors, err, key=_LINE)
        elif err.line < errors[-1].line:
            errors.pop()
            insort(errors, err, key=_LINE)

    @property
    def writing(self) -> bool:
        """Writes stop at the first error (the transaction is rolled back anyway)."""
        return self.write and self.error_count == 0

    def flush(self) -> None:
        batch, self._batch = self._batch, []
        if batch:
            self.process(batch)
        if self.writing and self.audit_entry is not None:
            self.save_audit_items(self.audit_entry)
        if self.progress is not None:
            self.progress(Progress(self.counts.rows + self.error_count, self.total, self.kind))

    def process(self, batch: list[Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self) -> None:
        self.flush()
        if not self.writing:
            return
        if self.refresh_invoices:
            refresh_invoice_cache(self.conn, self.refresh_invoices)
        if self.touched_all:
            invalidate_all(self.conn)  # recomputed on the next command that needs figures
        elif self.touched:
            refresh_customers(self.conn, self.touched)

    def touch(self, *ids: int) -> None:
        """Customers whose figures the import changes (memory stays flat past the limit)."""
        if self.touched_all:
            return
        self.touched.update(ids)
        if len(self.touched) > REFRESH_LIMIT:
            self.touched_all = True
            self.touched.clear()

    def save_audit_items(self, entry: int) -> None:
        """Inserted ids of this batch (as ranges, see :attr:`inserted_ranges`, or
        audit_items with before NULL) and before-images (audit_items).

        For invoice and payment imports ``customer_id`` holds the invoice or payment
        id (the entry's recipe says which kind).
        """
        columns = ("audit_id", "customer_id", "before")
        # inserted ids go into the recipe as ranges (one on SQLite, where ids are
        # allocated in one run); only past MAX_RANGES do they become audit_items rows
        ranges = self.inserted_ranges
        mark = len(ranges)
        ids = self.new_ids
        if ids and ids == list(range(ids[0], ids[0] + len(ids))):  # one run (SQLite)
            runs = [[ids[0], ids[-1]]]
        else:
            runs = [[i, i] for i in ids]
        for first, last in runs:
            if ranges and ranges[-1][1] + 1 == first:
                ranges[-1][1] = last
            else:
                ranges.append([first, last])
        if len(ranges) > MAX_RANGES:
            del ranges[mark:]
            bulk.executemany(
                self.conn, "audit_items", columns, [(entry, i, None) for i in self.new_ids]
            )
        befores = [(entry, i, json.dumps(b, default=str)) for i, b in self.befores.items()]
        bulk.executemany(self.conn, "audit_items", columns, befores)
        self.new_ids.clear()
        self.befores.clear()

    def col(self, fname: str) -> str | None:
        """The file column a field came from (for error messages)."""
        return self._source.get(fname)

    # -- lookups

    def emails(self) -> dict[str, tuple[int, int | None]]:
        """casefolded email -> (customer id, payment terms), all customers (loaded once)."""
        if self._emails is None:
            self._emails = {
                str(e).casefold(): (int(i), t)
                for i, e, t in self.conn.execute(
                    select(c.c.id, c.c.email, c.c.payment_terms_days).where(c.c.email.isnot(None))
                )
            }
        return self._emails

    def tag_id(self, name: str) -> int | None:
        if self._tags is None:
            self._tags = {
                str(n).casefold(): int(i)
                for i, n in self.conn.execute(select(tags_t.c.id, tags_t.c.name))
            }
        key = name.casefold()
        tid = self._tags.get(key)
        if tid is None and self.writing:
            tid = int(
                self.conn.execute(
                    insert(tags_t)
                    .values(name=name, created_at=self.ws.now().replace(tzinfo=None))
                    .returning(tags_t.c.id)
                ).scalar_one()
            )
            self._tags[key] = tid
            self.created_tags.append(tid)
        return tid

    def field_info(self, name: str) -> tuple[int | None, str, list[str] | None]:
        if self._fields is None:
            self._fields = {
                str(n).casefold(): (int(i), str(t), ch)
                for i, n, t, ch in self.conn.execute(
                    select(cf.c.id, cf.c.name, cf.c.type, cf.c.choices)
                )
            }
        return self._fields.get(name.casefold(), (None, "text", None))

    def field_id(self, name: str) -> int:
        fid, _, _ = self.field_info(name)
        if fid is not None:
            return fid
        assert self._fields is not None
        fid = int(
            self.conn.execute(
                insert(cf).values(name=name, type="text", choices=None).returning(cf.c.id)
            ).scalar_one()
        )
        self._fields[name.casefold()] = (fid, "text", None)
        self.created_fields.append(fid)
        return fid
