"""Internal and customer-visible notes, and follow-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from commands import audit
from commands.executor import Call, handles
from commands.results import MutationResult, TableResult
from commands.targets import one_customer
from commands.workspace import Workspace
from grammar import ast as A
from store.models import Customer, Note

notes_t: Any = Note.__table__
c: Any = Customer.__table__


@handles(A.AddNote)
def add_note(ws: Workspace, cmd: A.AddNote, call: Call) -> MutationResult:
    body = cmd.body.strip()
    follow = A.resolve_date(cmd.follow_up, ws.today)[0] if cmd.follow_up else None
    kind_label = "customer note" if cmd.kind == "customer" else "internal note"
    with ws.write() as conn:
        who = one_customer(ws, conn, cmd.target, call)
        if call.dry_run:
            return MutationResult(
                "note", 1, f"would add a {kind_label} to {who.name}", dry_run=True
            )
        nid = conn.execute(
            insert(notes_t).values(
                customer_id=who.id,
                kind=cmd.kind,
                body=body,
                author=ws.actor,
                created_at=datetime.utcnow(),
                follow_up_on=follow,
                follow_up_done=False,
            )
        ).inserted_primary_key[0]
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="note",
            affected=1,
            actor=ws.actor,
            undo={"op": "delete_note", "id": nid},
        )
    extra = f", follow up on {follow.isoformat()}" if follow else ""
    return MutationResult("note", 1, f"Added a {kind_label} to {who.name}{extra}", audit_id=entry)


@audit.undoer("delete_note")
def _undo_note(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    conn.execute(delete(notes_t).where(notes_t.c.id == recipe["id"]))


@handles(A.FollowUpsDue)
def follow_ups_due(ws: Workspace, cmd: A.FollowUpsDue, call: Call) -> TableResult:
    with ws.read() as conn:
        rows = conn.execute(
            select(notes_t.c.follow_up_on, c.c.id, c.c.name, notes_t.c.body, notes_t.c.author)
            .join(c, c.c.id == notes_t.c.customer_id)
            .where(
                notes_t.c.follow_up_on <= ws.today,
                notes_t.c.follow_up_done.is_(False),
                notes_t.c.kind == "internal",
            )
            .order_by(notes_t.c.follow_up_on, c.c.name)
        ).all()
    return TableResult(
        title=f"Follow-ups due by {ws.today.isoformat()}",
        columns=["due", "customer", "note", "author"],
        rows=[[r.follow_up_on, f"#{r.id} {r.name}", r.body, r.author] for r in rows],
        kind="follow-ups",
        footer=f"{len(rows)} due",
    )
