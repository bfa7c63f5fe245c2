"""Bulk helpers for imports and exports: raw executemany on the caller's connection.

Everything here runs in the caller's transaction. Rows are plain tuples; on SQLite
dates must be passed as ISO text (what SQLAlchemy's ``Date`` stores), which
:func:`date_param` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, and_, select

from store import query as q
from store.models import Customer, CustomerFigures

c: Any = Customer.__table__
f: Any = CustomerFigures.__table__

_TABLES = frozenset(
    {
        "customers",
        "invoices",
        "payments",
        "customer_tags",
        "custom_field_values",
        "tags",
        "audit_items",
    }
)


def _check_table(table: str) -> None:
    if table not in _TABLES:
        raise ValueError(f"not a bulk table: {table}")


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def date_param(conn: Connection, value: date | None) -> Any:
    """A date as the driver wants it for raw statements (ISO text on SQLite)."""
    if value is None:
        return None
    return value.isoformat() if is_sqlite(conn) else value


def executemany(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``INSERT INTO table (columns)`` for every tuple in ``rows``, straight to the driver."""
    if not rows:
        return
    _check_table(table)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - fixed names
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    if is_sqlite(conn):
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()
        return
    conn.exec_driver_sql(sql, list(rows))


def insert_links(
    conn: Connection, table: str, columns: tuple[str, str], pairs: Sequence[tuple[int, int]]
) -> None:
    """``INSERT INTO table (a, b)`` of integer ``pairs`` (a link table such as customer_tags).

    On SQLite one ``INSERT ... SELECT`` over ``json_each`` per distinct ``b``: half
    the cost of ``executemany``, whose per-row binding dominates two-column rows.
    """
    if not is_sqlite(conn):
        executemany(conn, table, columns, pairs)
        return
    _check_table(table)
    by_b: dict[int, list[int]] = {}
    for a, b in pairs:
        by_b.setdefault(b, []).append(a)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    sql = f"INSERT INTO {table} ({columns[0]}, {columns[1]}) SELECT value, ? FROM json_each(?)"  # noqa: S608 - fixed names
    try:
        for b, many in by_b.items():
            cursor.execute(sql, (b, json.dumps(many)))
    finally:
        cursor.close()


def insert_links_at(
    conn: Connection,
    table: str,
    columns: tuple[str, str],
    ids: Sequence[int],
    positions: str,
    b: int,
) -> None:
    """``INSERT INTO table (a, b)`` of ``(ids[p], b)`` for every ``p`` of the JSON array
    ``positions``. On SQLite, where ``ids`` is one run (as SQLite allocates them), one
    ``INSERT ... SELECT`` over ``json_each``: no Python object per link."""
    if is_sqlite(conn) and ids and ids[-1] - ids[0] + 1 == len(ids):
        _check_table(table)
        sql = (
            f"INSERT INTO {table} ({columns[0]}, {columns[1]})"  # noqa: S608 - fixed names
            " SELECT value + ?, ? FROM json_each(?)"
        )
        conn.exec_driver_sql(sql, (ids[0], b, positions))
        return
    insert_links(conn, table, columns, [(ids[p], b) for p in json.loads(positions)])


def update_many(
    conn: Connection,
    table: str,
    key: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """``UPDATE table SET columns WHERE key = ?``; each row is (*values, key value)."""
    if not rows:
        return
    _check_table(table)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join(f"{col} = {mark}" for col in columns)
    sql = f"UPDATE {table} SET {sets} WHERE {key} = {mark}"  # noqa: S608 - fixed names
    if is_sqlite(conn):
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()
        return
    conn.exec_driver_sql(sql, list(rows))


@contextmanager
def indexes_suspended(conn: Connection, tables: Sequence[str]) -> Iterator[None]:
    """SQLite: drop the secondary indexes of ``tables`` for a bulk load, build them after.

    One sort per index instead of a B-tree insert per row. It all runs in the caller's
    transaction (readers keep their snapshot; a failed load leaves the indexes as they
    were). Other backends keep their indexes: dropping one would lock out readers.
    """
    if not is_sqlite(conn):
        yield
        return
    for table in tables:
        _check_table(table)
    indexes = [
        row
        for table in tables
        for row in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ? ORDER BY name",
            (table,),
        )
    ]
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, ddl in indexes:
        conn.exec_driver_sql(ddl)


class IdAllocator:
    """New primary keys for raw inserts into ``table``.

    SQLite: max(id) + 1 onwards (the write transaction holds the only write lock).
    PostgreSQL: ``nextval`` of the table's sequence, so concurrent writers never clash.
    """

    def __init__(self, conn: Connection, table: str) -> None:
        _check_table(table)
        self.conn = conn
        self.table = table
        self._next: int | None = None

    def take(self, n: int) -> list[int]:
        if n <= 0:
            return []
        if is_sqlite(self.conn):
            if self._next is None:
                top = self.conn.exec_driver_sql(
                    f"SELECT COALESCE(MAX(id), 0) FROM {self.table}"  # noqa: S608
                ).scalar()
                self._next = int(top or 0) + 1
            start = self._next
            self._next += n
            return list(range(start, start + n))
        rows = self.conn.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{self.table}', 'id')) "  # noqa: S608
            f"FROM generate_series(1, {int(n)})"
        )
        return [int(r[0]) for r in rows]


#: customer columns an export needs beside the figures
EXPORT_CUSTOMER_COLUMNS = (
    "id",
    "name",
    "email",
    "company",
    "phone",
    "address",
    "status",
    "created_on",
    "payment_terms_days",
)


def fetch_batches(conn: Connection, stmt: Select[Any], size: int) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt`` straight from the driver's cursor, ``size`` at a time."""
    result = conn.execute(stmt)
    cursor = result.cursor
    assert cursor is not None
    try:
        while batch := cursor.fetchmany(size):
            yield batch
    finally:
        result.close()


def export_select(d: date, spec: q.ListSpec) -> Select[Any]:
    """Customers (export columns) + every figure column of D, in the spec's order."""
    figure_cols = [col for col in f.columns if col.name not in ("as_of", "customer_id")]
    stmt = select(*[c.c[name] for name in EXPORT_CUSTOMER_COLUMNS], *figure_cols).select_from(
        c.join(f, and_(f.c.customer_id == c.c.id, f.c.as_of == d))
    )
    if spec.where is not None:
        stmt = stmt.where(spec.where)
    if not spec.include_archived:
        stmt = stmt.where(c.c.status == "active")
    stmt = stmt.order_by(*q._order(spec))
    if spec.limit is not None:
        stmt = stmt.limit(spec.limit)
    if spec.offset:
        stmt = stmt.offset(spec.offset)
    return stmt


__all__ = [
    "EXPORT_CUSTOMER_COLUMNS",
    "IdAllocator",
    "date_param",
    "executemany",
    "export_select",
    "fetch_batches",
    "indexes_suspended",
    "insert_links",
    "insert_links_at",
    "is_sqlite",
    "update_many",
]
