"""Shared helpers for verbs: which customers a sentence means, and previews."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from commands.errors import UserError
from commands.executor import Call
from commands.resolve import CustomerRef, resolve_customer
from commands.translate import Translation, Translator
from commands.workspace import Workspace
from grammar import ast as A
from store import query as q


def translate(
    ws: Workspace,
    conn: Connection,
    query: A.Query,
    call: Call,
    default_sort: tuple[tuple[str, bool], ...] = (),
) -> Translation:
    """A grammar Query as a store ListSpec, for this workspace's D and selection."""
    return Translator(conn, ws.today, ws.currency, call.selection).query(query, default_sort)


def target_ids(ws: Workspace, conn: Connection, query: A.Query, call: Call) -> list[int]:
    """Ids of the customers a target means (in the query's order)."""
    spec = translate(ws, conn, query, call).spec
    return q.customer_ids(conn, ws.today, spec)


def one_customer(ws: Workspace, conn: Connection, query: A.Query, call: Call) -> CustomerRef:
    """A target that must be exactly one customer (``note acme: ...``)."""
    f = query.filter
    if isinstance(f, A.NameRef | A.CustomerRef):
        return resolve_customer(conn, f.text)
    ids = target_ids(ws, conn, query, call)
    if len(ids) != 1:
        raise UserError(f"this needs exactly one customer, and the sentence matches {len(ids)}")
    return resolve_customer(conn, f"#{ids[0]}")


#: how many customers a confirmation names
PREVIEW = 5


def preview(conn: Connection, ids: list[int]) -> list[str]:
    return q.names_of(conn, ids, limit=PREVIEW)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def spec_where(t: Translation) -> Any:
    return t.spec.where
