"""Tags: create, rename, delete, and bulk tag/untag set-based (INSERT ... SELECT)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, literal, select, update

from commands import audit
from commands.errors import UserError
from commands.executor import Call, Rollback, handles
from commands.results import MutationResult
from commands.targets import PREVIEW, plural, preview, translate
from commands.workspace import Workspace
from grammar import ast as A
from grammar.parser import suggest
from store import query as q
from store.models import AuditItem, CustomerTag, Tag

tags_t: Any = Tag.__table__
ct: Any = CustomerTag.__table__
items_t: Any = AuditItem.__table__

TAG_RE = re.compile(r"^[\w][\w .:/+-]{0,99}$")


def find_tag(conn: Connection, name: str) -> int | None:
    return conn.execute(
        select(tags_t.c.id).where(func.lower(tags_t.c.name) == name.lower())
    ).scalar()


def existing_tag(conn: Connection, name: str) -> int:
    tid = find_tag(conn, name)
    if tid is None:
        known = conn.execute(select(tags_t.c.name)).scalars().all()
        raise UserError(f"there is no tag named '{name}'", suggestions=suggest(name, known))
    return tid


def valid_tag_name(name: str) -> str:
    name = name.strip()
    if not TAG_RE.match(name):
        raise UserError(f"'{name}' is not a usable tag name (letters, digits, - _ . : / +)")
    return name


def _create(conn: Connection, name: str) -> int:
    return int(
        conn.execute(
            insert(tags_t)
            .values(name=valid_tag_name(name), created_at=datetime.utcnow())
            .returning(tags_t.c.id)
        ).scalar_one()
    )


@handles(A.CreateTag)
def create_tag(ws: Workspace, cmd: A.CreateTag, call: Call) -> MutationResult:
    with ws.write() as conn:
        if find_tag(conn, cmd.name) is not None:
            raise UserError(f"tag '{cmd.name}' already exists")
        if call.dry_run:
            return MutationResult("create tag", 0, f"would create tag {cmd.name}", dry_run=True)
        tid = _create(conn, cmd.name)
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="create tag",
            affected=0,
            actor=ws.actor,
            undo={"op": "drop_tag", "tag_id": tid},
        )
    return MutationResult("create tag", 0, f"Created tag {cmd.name}", audit_id=entry)


@audit.undoer("drop_tag")
def _undo_create(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    conn.execute(delete(tags_t).where(tags_t.c.id == recipe["tag_id"]))


@handles(A.RenameTag)
def rename_tag(ws: Workspace, cmd: A.RenameTag, call: Call) -> MutationResult:
    with ws.write() as conn:
        tid = existing_tag(conn, cmd.old)
        other = find_tag(conn, cmd.new)
        if other is not None and other != tid:
            raise UserError(f"tag '{cmd.new}' already exists")
        new = valid_tag_name(cmd.new)
        old = conn.execute(select(tags_t.c.name).where(tags_t.c.id == tid)).scalar_one()
        if call.dry_run:
            return MutationResult("rename tag", 0, f"would rename {old} to {new}", dry_run=True)
        conn.execute(update(tags_t).where(tags_t.c.id == tid).values(name=new))
        n = conn.execute(select(func.count()).where(ct.c.tag_id == tid)).scalar_one()
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="rename tag",
            affected=n,
            actor=ws.actor,
            undo={"op": "rename_tag", "tag_id": tid, "name": old},
        )
    return MutationResult(
        "rename tag", n, f"Renamed tag {old} to {new} ({plural(n, 'customer')})", audit_id=entry
    )


@audit.undoer("rename_tag")
def _undo_rename(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    conn.execute(update(tags_t).where(tags_t.c.id == recipe["tag_id"]).values(name=recipe["name"]))


@handles(A.DeleteTag)
def delete_tag(ws: Workspace, cmd: A.DeleteTag, call: Call) -> Any:
    with ws.write() as conn:
        tid = existing_tag(conn, cmd.name)
        holders = list(conn.execute(select(ct.c.customer_id).where(ct.c.tag_id == tid)).scalars())
        message = f"Deleted tag {cmd.name} (removed from {plural(len(holders), 'customer')})"
        guard = call.guard(ws, "delete tag", len(holders), preview(conn, holders), message)
        if guard is not None:
            return guard
        name = conn.execute(select(tags_t.c.name).where(tags_t.c.id == tid)).scalar_one()
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="delete tag",
            affected=len(holders),
            actor=ws.actor,
            undo={"op": "restore_tag", "tag_id": tid, "name": name},
        )
        conn.execute(
            insert(items_t).from_select(
                ["audit_id", "customer_id"],
                select(literal(entry), ct.c.customer_id).where(ct.c.tag_id == tid),
            )
        )
        conn.execute(delete(tags_t).where(tags_t.c.id == tid))
    return MutationResult("delete tag", len(holders), message, audit_id=entry)


@audit.undoer("restore_tag")
def _undo_delete(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    conn.execute(
        insert(tags_t).values(
            id=recipe["tag_id"], name=recipe["name"], created_at=datetime.utcnow()
        )
    )
    conn.execute(
        insert(ct).from_select(
            ["customer_id", "tag_id"],
            select(items_t.c.customer_id, literal(recipe["tag_id"])).where(
                items_t.c.audit_id == entry
            ),
        )
    )


def _bulk(ws: Workspace, cmd: A.Tag | A.Untag, call: Call, adding: bool) -> Any:
    """Tag or untag in set-based SQL, audited per tag for undo.

    The change is made first and measured from its audit items (one pass over
    the selection); a dry run or a change that needs confirmation is then
    rolled back, so it leaves nothing behind.
    """
    verb = "tag" if adding else "untag"
    with ws.write() as conn:
        spec = translate(ws, conn, cmd.target, call).spec
        targets = [
            (name, find_tag(conn, name) if adding else existing_tag(conn, name))
            for name in cmd.tags
        ]
        entries: list[int] = []
        for name, tid in targets:
            created = tid is None
            base = q.ids_select(ws.today, spec).subquery()
            ids_sel = select(base.c.customer_id)
            if tid is None:
                tid = _create(conn, name)
            else:
                has = select(ct.c.customer_id).where(ct.c.tag_id == tid)
                cond = base.c.customer_id.notin_(has) if adding else base.c.customer_id.in_(has)
                ids_sel = ids_sel.where(cond)
            entry = audit.record(
                conn, sentence=call.sentence, action=verb, affected=0, actor=ws.actor, undo=None
            )
            entries.append(entry)
            conn.execute(
                insert(items_t).from_select(
                    ["audit_id", "customer_id"],
                    select(literal(entry), ids_sel.subquery().c.customer_id),
                )
            )
            mine = select(items_t.c.customer_id).where(items_t.c.audit_id == entry)
            # (rowcount is -1 for an empty INSERT ... SELECT on PostgreSQL: count the index)
            count = conn.execute(select(func.count()).select_from(mine.subquery())).scalar_one()
            if adding:
                conn.execute(
                    insert(ct).from_select(
                        ["customer_id", "tag_id"],
                        select(items_t.c.customer_id, literal(tid)).where(
                            items_t.c.audit_id == entry
                        ),
                    )
                )
            else:
                conn.execute(delete(ct).where(ct.c.tag_id == tid, ct.c.customer_id.in_(mine)))
            op = "untag" if adding else "retag"
            undo = {"op": op, "tag_id": tid, "group": entries[0], "created": created}
            audit.set_undo(conn, entry, undo, count)
        n, first = _changed(conn, entries)
        names = ", ".join(cmd.tags)
        message = (
            f"Tagged {plural(n, 'customer')} with {names}"
            if adding
            else f"Removed {names} from {plural(n, 'customer')}"
        )
        sample = preview(conn, first)
        guard = call.guard(ws, verb, n, sample, message)
        if guard is not None:
            raise Rollback(guard)
    return MutationResult(verb, n, message, audit_id=entries[0], sample=sample)


def _changed(conn: Connection, entries: list[int]) -> tuple[int, list[int]]:
    """How many customers the audit entries changed (each once), and the first ids."""
    mine = items_t.c.audit_id.in_(entries)
    counted = select(func.count(items_t.c.customer_id.distinct())).where(mine)
    first = select(items_t.c.customer_id).where(mine).distinct()
    ids = list(conn.execute(first.order_by(items_t.c.customer_id).limit(PREVIEW)).scalars())
    return conn.execute(counted).scalar_one(), ids


@handles(A.Tag)
def tag(ws: Workspace, cmd: A.Tag, call: Call) -> Any:
    return _bulk(ws, cmd, call, adding=True)


@handles(A.Untag)
def untag(ws: Workspace, cmd: A.Untag, call: Call) -> Any:
    return _bulk(ws, cmd, call, adding=False)


@audit.undoer("untag")
def _undo_tag(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    conn.execute(
        delete(ct).where(
            ct.c.tag_id == recipe["tag_id"], ct.c.customer_id.in_(audit.item_ids_select(entry))
        )
    )
    if recipe.get("created"):
        conn.execute(delete(tags_t).where(tags_t.c.id == recipe["tag_id"]))


@audit.undoer("retag")
def _undo_untag(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    conn.execute(
        insert(ct).from_select(
            ["customer_id", "tag_id"],
            select(items_t.c.customer_id, literal(recipe["tag_id"])).where(
                items_t.c.audit_id == entry
            ),
        )
    )
