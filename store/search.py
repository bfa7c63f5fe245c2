"""Substring search over name, email and company.

Text is folded once on write (casefold + accents removed, so ``muller``
finds ``Müller``) into ``customers.search_text``, one field per line; SQLite
indexes it with an FTS5 trigram table (migrations 0002 and 0006), PostgreSQL
with a pg_trgm GIN index.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, column, literal_column, select, table

from store.models import Customer

cust_t: Any = Customer.__table__


def fold(value: str | None) -> str:
    """Casefold and strip diacritics: the form search compares in."""
    if not value:
        return ""
    if value.isascii():  # nothing to decompose: the bulk of names and emails
        return value.lower()
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


#: joins the fields of the stored text: no query holds it, so no match spans two fields
SEPARATOR = "\n"


def search_text(name: str | None, email: str | None, company: str | None) -> str:
    """The folded text stored for a customer."""
    return SEPARATOR.join(fold(part) for part in (name, email, company) if part)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matches(conn: Connection, query: str) -> ColumnElement[bool]:
    """A filter: customers whose name, email or company contains ``query``."""
    folded = fold(query).strip()
    if conn.dialect.name == "sqlite" and len(folded) >= 3:
        phrase = '"' + folded.replace('"', '""') + '"'
        fts = table("customer_search", column("rowid"))
        sub = select(fts.c.rowid).where(literal_column("customer_search").op("MATCH")(phrase))
        return cust_t.c.id.in_(sub)  # query.py lets the search drive the join
    return cust_t.c.search_text.like(f"%{_like_escape(folded)}%", escape="\\")


SQLITE_TRIGGERS = ("customers_search_ai", "customers_search_ad", "customers_search_au")

#: keeps the FTS5 table in step with ``customers`` (created by migration 0002;
#: changing this text needs a new migration)
SQLITE_TRIGGER_DDL = (
    """CREATE TRIGGER customers_search_ai AFTER INSERT ON customers BEGIN
        INSERT INTO customer_search(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER customers_search_ad AFTER DELETE ON customers BEGIN
        INSERT INTO customer_search(customer_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER customers_search_au AFTER UPDATE OF search_text ON customers BEGIN
        INSERT INTO customer_search(customer_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO customer_search(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
)


@contextmanager
def bulk_load(conn: Connection) -> Iterator[None]:
    """Suspend the per-row search triggers during a bulk load, rebuild after.

    Runs inside the caller's transaction: a failed load leaves the index as it was.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    for name in SQLITE_TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    yield
    for ddl in SQLITE_TRIGGER_DDL:
        conn.exec_driver_sql(ddl)
    conn.exec_driver_sql("INSERT INTO customer_search(customer_search) VALUES ('rebuild')")


#: indexes a run of new customers (their rows are already in ``customers``)
INDEX_IDS_SQL = (
    "INSERT INTO customer_search(rowid, search_text)"
    " SELECT id, search_text FROM customers WHERE id BETWEEN ? AND ?"
)


class SearchLoad:
    """The search index during a bulk load of customers (see :func:`incremental_load`).

    The caller reports the customers it inserts (:meth:`add`) and has them indexed as
    it goes (:meth:`index`, one statement per batch, so the work interleaves with the
    load) or at the end. Changed existing customers (:meth:`stale`) make the whole index
    rebuilt at the end instead.
    """

    def __init__(self, active: bool) -> None:
        self.active = active
        #: [first, last] runs of new customer ids not indexed yet
        self.runs: list[list[int]] = []
        self.rebuild = False

    def add(self, ids: Sequence[int]) -> None:
        """New customers to index (kept as runs of consecutive ids)."""
        if not self.active or not ids:
            return
        runs = self.runs
        if ids[-1] - ids[0] + 1 == len(ids) and len(set(ids)) == len(ids):
            batch = [(ids[0], ids[-1])]  # one run: how SQLite allocates them
        else:
            batch = [(i, i) for i in ids]
        for first, last in batch:
            if runs and runs[-1][1] + 1 == first:
                runs[-1][1] = last
            else:
                runs.append([first, last])

    def stale(self) -> None:
        """Existing customers' search text changed: rebuild the whole index at the end."""
        if self.active:
            self.rebuild = True
            self.runs.clear()

    def index(self, conn: Connection) -> None:
        """Index the customers added since the last call (nothing when a rebuild is due)."""
        if self.runs and not self.rebuild:
            conn.exec_driver_sql(INDEX_IDS_SQL, [tuple(r) for r in self.runs])
            self.runs.clear()

    def finish(self, conn: Connection) -> None:
        if self.rebuild:
            conn.exec_driver_sql("INSERT INTO customer_search(customer_search) VALUES ('rebuild')")
        else:
            self.index(conn)


#: what callers outside a bulk load use: the triggers keep the index in step
NO_SEARCH_LOAD = SearchLoad(active=False)


@contextmanager
def incremental_load(conn: Connection) -> Iterator[SearchLoad]:
    """Like :func:`bulk_load`, but the caller indexes only what it inserts.

    Costs the new rows instead of the whole table (unless :meth:`SearchLoad.stale`).
    PostgreSQL's index needs nothing: a no-op :class:`SearchLoad` is given.
    """
    if conn.dialect.name != "sqlite":
        yield NO_SEARCH_LOAD
        return
    load = SearchLoad(active=True)
    for name in SQLITE_TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    yield load
    for ddl in SQLITE_TRIGGER_DDL:
        conn.exec_driver_sql(ddl)
    load.finish(conn)
