"""The audit log: every change, who made it, and what it takes to undo it.

An entry's ``undo`` is a small JSON recipe; per-customer before-images of
bulk changes live in ``audit_items`` so that undo is set-based too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from commands.errors import UserError
from store.models import AuditEntry, AuditItem

log_t: Any = AuditEntry.__table__
items_t: Any = AuditItem.__table__

#: op name -> function(conn, entry_id, recipe) that reverses a change
UNDOERS: dict[str, Callable[[Connection, int, dict[str, Any]], None]] = {}


def undoer(op: str) -> Callable[[Callable[[Connection, int, dict[str, Any]], None]], Any]:
    """Register the function that reverses op ``op``."""

    def register(fn: Callable[[Connection, int, dict[str, Any]], None]) -> Any:
        UNDOERS[op] = fn
        return fn

    return register


def record(
    conn: Connection,
    *,
    sentence: str,
    action: str,
    affected: int,
    actor: str | None,
    undo: dict[str, Any] | None,
) -> int:
    """Write one audit entry; returns its id."""
    return int(
        conn.execute(
            insert(log_t)
            .values(
                at=datetime.utcnow(),
                actor=actor,
                sentence=sentence,
                action=action,
                affected=affected,
                undo=undo,
            )
            .returning(log_t.c.id)
        ).scalar_one()
    )


def set_undo(conn: Connection, entry_id: int, undo: dict[str, Any] | None, affected: int) -> None:
    """Fill in the recipe once the change is known (the id is needed by audit_items)."""
    conn.execute(update(log_t).where(log_t.c.id == entry_id).values(undo=undo, affected=affected))


def add_items(conn: Connection, entry_id: int, befores: dict[int, Any]) -> None:
    """Per-customer before-images (JSON) for an entry."""
    if befores:
        conn.execute(
            insert(items_t),
            [
                {"audit_id": entry_id, "customer_id": cid, "before": json.dumps(b, default=str)}
                for cid, b in befores.items()
            ],
        )


def item_befores(conn: Connection, entry_id: int) -> dict[int, Any]:
    rows = conn.execute(
        select(items_t.c.customer_id, items_t.c.before).where(items_t.c.audit_id == entry_id)
    )
    return {cid: json.loads(b) if b else None for cid, b in rows}


def item_ids_select(entry_id: int) -> Any:
    """SELECT customer_id FROM audit_items of an entry (for set-based undo)."""
    return select(items_t.c.customer_id).where(items_t.c.audit_id == entry_id)


def undo_last(conn: Connection, actor: str | None, sentence: str = "undo") -> tuple[str, int, int]:
    """Reverse the newest change not yet undone; returns (what, affected, entry id)."""
    candidates = conn.execute(
        select(log_t)
        .where(log_t.c.undone_at.is_(None), log_t.c.undo.isnot(None))
        .order_by(log_t.c.id.desc())
        .limit(50)
    ).all()
    if not candidates:
        raise UserError("there is nothing to undo")
    entry = candidates[0]
    group = dict(entry.undo).get("group")
    # one sentence may have written several entries (one per tag): undo them together
    entries = [e for e in candidates if group and dict(e.undo).get("group") == group] or [entry]
    total = 0
    for e in entries:
        recipe = dict(e.undo)
        op = recipe.get("op")
        if op not in UNDOERS:
            raise UserError(f"'{e.sentence}' cannot be undone")
        UNDOERS[op](conn, e.id, recipe)
        conn.execute(update(log_t).where(log_t.c.id == e.id).values(undone_at=datetime.utcnow()))
        total = max(total, int(e.affected))
    record(conn, sentence=sentence, action="undo", affected=total, actor=actor, undo=None)
    return entry.sentence, total, int(entry.id)


def history(conn: Connection, limit: int = 20) -> list[Any]:
    return list(conn.execute(select(log_t).order_by(log_t.c.id.desc()).limit(limit)).all())


def drop_items(conn: Connection, entry_id: int) -> None:
    conn.execute(delete(items_t).where(items_t.c.audit_id == entry_id))
