"""Listing, adding, editing and archiving customers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from commands import audit
from commands.errors import UserError
from commands.executor import Call, Rollback, handles
from commands.results import ConfirmationNeeded, MutationResult, QueryResult
from commands.rows import customer_rows
from commands.targets import plural, preview, target_ids, translate
from commands.workspace import Workspace
from grammar import ast as A
from store import query as q
from store.models import Customer, CustomField, CustomFieldValue
from store.writes import insert_customers, update_customers

c: Any = Customer.__table__
cf: Any = CustomField.__table__
cfv: Any = CustomFieldValue.__table__


#: sentence field -> customers column
CUSTOMER_COLUMNS = {
    "name": "name",
    "email": "email",
    "company": "company",
    "phone": "phone",
    "address": "address",
    "terms": "payment_terms_days",
    "payment_terms": "payment_terms_days",
    "payment_terms_days": "payment_terms_days",
    "billing_frequency": "billing_frequency",
    "preferred_payment_method": "preferred_payment_method",
    "status": "status",
}
BILLING_FREQUENCIES = ("weekly", "monthly", "quarterly", "yearly", "annually", "per project")


def valid_email(value: str) -> str:
    """The one rule for an email address, an import's too (:func:`parse_email`)."""
    from commands.fileformats.values import parse_email  # the file formats load on use

    value = value.strip()
    try:
        return parse_email(value)
    except ValueError:
        raise UserError(f"'{value}' is not a well-formed email address") from None


def _column_value(column: str, value: Any) -> Any:
    if column == "email":
        return valid_email(str(value))
    if column == "payment_terms_days":
        text = str(value).lower().replace("net", "").replace("days", "").strip()
        if not text.isdigit() or not 0 <= int(text) <= 365:
            raise UserError(f"payment terms are a number of days (0-365), not '{value}'")
        return int(text)
    if column == "billing_frequency":
        text = str(value).lower().strip()
        if text not in BILLING_FREQUENCIES:
            raise UserError(
                f"billing frequency must be one of {', '.join(BILLING_FREQUENCIES)}, not '{value}'"
            )
        return text
    if column == "status":
        if str(value) not in ("active", "archived"):
            raise UserError("status is active or archived")
        return str(value)
    if column == "name" and not str(value).strip():
        raise UserError("a customer needs a name")
    return str(value).strip() or None


@handles(A.ListCustomers)
def list_customers(ws: Workspace, cmd: A.ListCustomers, call: Call) -> QueryResult:
    with ws.read() as conn:
        t = translate(ws, conn, cmd.query, call)
        total = q.count_customers(conn, ws.today, t.spec)
        spec = t.spec
        if spec.limit is not None:
            total = min(total, spec.limit)
        if call.rows_shown is not None and total > call.rows_shown:
            spec = replace(spec, limit=call.rows_shown)  # what the front end shows
        rows = q.list_customers(conn, ws.today, spec)
        return QueryResult(
            total=total, rows=customer_rows(conn, rows, ws.currency), description=call.sentence
        )


def _duplicate_email(conn: Connection, email: str, exclude: int | None = None) -> list[str]:
    stmt = select(c.c.id, c.c.name).where(func.lower(c.c.email) == email.lower())
    if exclude is not None:
        stmt = stmt.where(c.c.id != exclude)
    return [f"#{i} {n}" for i, n in conn.execute(stmt)]


@handles(A.AddCustomer)
def add_customer(ws: Workspace, cmd: A.AddCustomer, call: Call) -> Any:
    values: dict[str, Any] = {"name": _column_value("name", cmd.name)}
    custom: dict[str, Any] = {}
    for key, value in cmd.fields:
        column = CUSTOMER_COLUMNS.get(key)
        if column:
            values[column] = _column_value(column, value)
        else:
            custom[key] = value
    with ws.write() as conn:
        if values.get("email"):
            dupes = _duplicate_email(conn, values["email"])
            if dupes and not call.confirmed:
                return ConfirmationNeeded(
                    action="add customer",
                    affected=1,
                    message=f"{values['email']} already belongs to {', '.join(dupes)}; "
                    "add another customer with it?",
                    sample=dupes,
                )
        if call.dry_run:
            return MutationResult("add customer", 1, f"would add {values['name']}", dry_run=True)
        cid = insert_customers(conn, [values], ws.today)[0]
        for name, value in custom.items():
            _set_custom(conn, [cid], name, value, {})
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="add customer",
            affected=1,
            actor=ws.actor,
            undo={"op": "delete_customer", "id": cid},
        )
    return MutationResult("add customer", 1, f"Added #{cid} {values['name']}", audit_id=entry)


@audit.undoer("delete_customer")
def _undo_add(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    conn.execute(delete(c).where(c.c.id == recipe["id"]))


def _befores(conn: Connection, ids: list[int], columns: list[str]) -> dict[int, Any]:
    rows = conn.execute(select(c.c.id, *[c.c[x] for x in columns]).where(c.c.id.in_(ids)))
    return {r[0]: {col: _jsonable(v) for col, v in zip(columns, r[1:], strict=True)} for r in rows}


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@handles(A.SetField)
def set_field(ws: Workspace, cmd: A.SetField, call: Call) -> Any:
    column = CUSTOMER_COLUMNS.get(cmd.field)
    with ws.write() as conn:
        ids = target_ids(ws, conn, cmd.target, call)
        if not ids:
            raise UserError("no customer matches that")
        what = cmd.field.replace("_", " ")
        message = f"Set {what} of {plural(len(ids), 'customer')} to {cmd.value}"
        sample = preview(conn, ids)
        if column:
            value = _column_value(column, cmd.value)
            if column == "email" and not call.confirmed:
                dupes = _duplicate_email(conn, value, exclude=ids[0] if len(ids) == 1 else None)
                if dupes:
                    return ConfirmationNeeded(
                        "set email",
                        len(ids),
                        f"{value} already belongs to {', '.join(dupes)}",
                        sample=dupes,
                    )
        guard = call.guard(ws, f"set {what}", len(ids), sample, message)
        if guard is not None:
            return guard
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action=f"set {what}",
            affected=len(ids),
            actor=ws.actor,
            undo=None,
        )
        if column:
            audit.add_items(conn, entry, _befores(conn, ids, [column]))
            update_customers(conn, ids, {column: value})
            audit.set_undo(conn, entry, {"op": "restore_columns"}, len(ids))
        else:
            befores: dict[int, Any] = {}
            created = _set_custom(conn, ids, cmd.field, cmd.value, befores)
            audit.add_items(conn, entry, befores)
            audit.set_undo(
                conn,
                entry,
                {"op": "restore_field", "field": cmd.field, "created": created},
                len(ids),
            )
            if created:
                message += f" (new custom field '{cmd.field}', {created})"
    return MutationResult(f"set {what}", len(ids), message, audit_id=entry, sample=sample)


@audit.undoer("restore_columns")
def _undo_columns(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    for cid, before in audit.item_befores(conn, entry).items():
        values = {
            k: (date.fromisoformat(v) if k in ("created_on", "reminders_paused_until") and v else v)
            for k, v in before.items()
        }
        update_customers(conn, [cid], values)


def _infer_type(value: Any) -> str:
    text = str(value).strip()
    if text.lower() in ("yes", "no", "true", "false"):
        return "yes/no"
    try:
        Decimal(text.replace(",", ""))
        return "number"
    except InvalidOperation:
        pass
    try:
        date.fromisoformat(text)
        return "date"
    except ValueError:
        return "text"


def _typed(ftype: str, choices: list[str] | None, name: str, value: Any) -> dict[str, Any]:
    text = str(value).strip()
    out: dict[str, Any] = {
        "text_value": None,
        "number_value": None,
        "date_value": None,
        "bool_value": None,
    }
    try:
        if ftype == "number":
            out["number_value"] = float(Decimal(text.replace(",", "")))
        elif ftype == "date":
            out["date_value"] = date.fromisoformat(text)
        elif ftype == "yes/no":
            if text.lower() not in ("yes", "no", "true", "false"):
                raise ValueError
            out["bool_value"] = text.lower() in ("yes", "true")
        elif ftype == "choice":
            match = [ch for ch in (choices or []) if ch.lower() == text.lower()]
            if not match:
                raise UserError(f"'{text}' is not a choice of {name}: {', '.join(choices or [])}")
            out["text_value"] = match[0]
        else:
            out["text_value"] = text
    except (ValueError, InvalidOperation):
        raise UserError(f"{name} is a {ftype} field; '{text}' is not a {ftype}") from None
    return out


def _set_custom(
    conn: Connection, ids: list[int], name: str, value: Any, befores: dict[int, Any]
) -> str | None:
    """Set a custom field (created, typed from the value, if new); returns the new type."""
    row = conn.execute(
        select(cf.c.id, cf.c.type, cf.c.choices).where(func.lower(cf.c.name) == name.lower())
    ).first()
    created = None
    if row is None:
        created = _infer_type(value)
        fid = conn.execute(
            insert(cf).values(name=name, type=created, choices=None).returning(cf.c.id)
        ).scalar_one()
        ftype, choices = created, None
    else:
        fid, ftype, choices = row
    typed = _typed(ftype, choices, name, value)
    old = conn.execute(select(cfv).where(cfv.c.field_id == fid, cfv.c.customer_id.in_(ids)))
    existing = {r.customer_id: r for r in old}
    for cid in ids:
        r = existing.get(cid)
        befores[cid] = (
            None
            if r is None
            else {
                "text_value": r.text_value,
                "number_value": r.number_value,
                "date_value": _jsonable(r.date_value),
                "bool_value": r.bool_value,
            }
        )
    conn.execute(delete(cfv).where(cfv.c.field_id == fid, cfv.c.customer_id.in_(ids)))
    conn.execute(insert(cfv), [{"customer_id": cid, "field_id": fid, **typed} for cid in ids])
    return created


@audit.undoer("restore_field")
def _undo_field(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    fid = conn.execute(
        select(cf.c.id).where(func.lower(cf.c.name) == recipe["field"].lower())
    ).scalar()
    if fid is None:
        return
    if recipe.get("created"):
        conn.execute(delete(cf).where(cf.c.id == fid))
        return
    befores = audit.item_befores(conn, entry)
    conn.execute(delete(cfv).where(cfv.c.field_id == fid, cfv.c.customer_id.in_(list(befores))))
    rows = []
    for cid, before in befores.items():
        if before is not None:
            if before.get("date_value"):
                before["date_value"] = date.fromisoformat(before["date_value"])
            rows.append({"customer_id": cid, "field_id": fid, **before})
    if rows:
        conn.execute(insert(cfv), rows)


def _set_status(ws: Workspace, cmd: A.Archive | A.Unarchive, call: Call, status: str) -> Any:
    verb = "archive" if status == "archived" else "unarchive"
    with ws.write() as conn:
        query = cmd.target
        if status == "active":  # unarchiving looks at archived customers
            query = A.Query(query.filter, query.sort, query.limit, include_archived=True)
        ids = [i for i in target_ids(ws, conn, query, call)]
        current = dict(conn.execute(select(c.c.id, c.c.status).where(c.c.id.in_(ids))).all())
        ids = [i for i in ids if current.get(i) != status]
        message = f"{verb.capitalize()}d {plural(len(ids), 'customer')}"
        sample = preview(conn, ids)
        guard = call.guard(ws, verb, len(ids), sample, message)
        if guard is not None:
            return guard
        if not ids:
            return MutationResult(verb, 0, f"Nothing to {verb}", undoable=False)
        entry = audit.record(
            conn, sentence=call.sentence, action=verb, affected=len(ids), actor=ws.actor, undo=None
        )
        audit.add_items(conn, entry, _befores(conn, ids, ["status"]))
        update_customers(conn, ids, {"status": status})
        audit.set_undo(conn, entry, {"op": "restore_columns"}, len(ids))
    return MutationResult(verb, len(ids), message, audit_id=entry, sample=sample)


@handles(A.Archive)
def archive(ws: Workspace, cmd: A.Archive, call: Call) -> Any:
    return _set_status(ws, cmd, call, "archived")


@handles(A.Unarchive)
def unarchive(ws: Workspace, cmd: A.Unarchive, call: Call) -> Any:
    return _set_status(ws, cmd, call, "active")


@handles(A.Undo)
def undo(ws: Workspace, cmd: A.Undo, call: Call) -> Any:
    if call.dry_run:
        raise Rollback(MutationResult("undo", 0, "would undo the last change", dry_run=True))
    with ws.write() as conn:
        what, affected, entry = audit.undo_last(conn, ws.actor)
    return MutationResult(
        "undo",
        affected,
        f"Undid '{what}' ({plural(affected, 'customer')})",
        audit_id=entry,
        undoable=False,
    )
