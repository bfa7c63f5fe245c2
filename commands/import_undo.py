"""Undo of an import.

The recipe holds the ids an import inserted as ``inserted`` ranges (``[first, last]``;
past a limit, and in older entries, they are ``audit_items`` with ``before`` NULL), and
``audit_items`` the before-images of what it updated. For invoice and
payment imports the ``customer_id`` column holds the invoice or payment id (the
recipe says which kind).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from commands import audit
from store.figures import refresh_customers
from store.invoice_cache import refresh_invoice_cache
from store.models import (
    AuditItem,
    Customer,
    CustomerTag,
    CustomField,
    CustomFieldValue,
    Invoice,
    Payment,
    Tag,
)
from store.search import fold, search_text

c: Any = Customer.__table__
inv: Any = Invoice.__table__
pay: Any = Payment.__table__
tags_t: Any = Tag.__table__
ct: Any = CustomerTag.__table__
cf: Any = CustomField.__table__
cfv: Any = CustomFieldValue.__table__
items_t: Any = AuditItem.__table__


@audit.undoer("undo_import")
def undo_import(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    kind = recipe.get("kind")
    listed = select(items_t.c.customer_id).where(
        items_t.c.audit_id == entry, items_t.c.before.is_(None)
    )
    ranges = [(int(lo), int(hi)) for lo, hi in recipe.get("inserted") or ()]

    def inserted(col: Any) -> Any:
        """The rows the import inserted: id ranges of the recipe, and audit_items."""
        return or_(*[col.between(lo, hi) for lo, hi in ranges], col.in_(listed))

    befores = {
        int(i): json.loads(b)
        for i, b in conn.execute(
            select(items_t.c.customer_id, items_t.c.before).where(
                items_t.c.audit_id == entry, items_t.c.before.isnot(None)
            )
        )
    }
    if kind == "customers":
        conn.execute(delete(c).where(inserted(c.c.id)))
        for cid, before in befores.items():
            row = dict(before["row"])
            if row.get("created_on"):
                row["created_on"] = date.fromisoformat(row["created_on"])
            row["search_text"] = search_text(row["name"], row["email"], row["company"])
            row["sort_name"] = fold(row["name"])
            conn.execute(update(c).where(c.c.id == cid).values(**row))
            if before.get("tags") is not None:
                conn.execute(delete(ct).where(ct.c.customer_id == cid))
                for name in before["tags"]:
                    tid = conn.execute(
                        select(tags_t.c.id).where(func.lower(tags_t.c.name) == name.lower())
                    ).scalar()
                    if tid is not None:
                        conn.execute(insert(ct).values(customer_id=cid, tag_id=tid))
            for name, value in (before.get("custom") or {}).items():
                fid = conn.execute(
                    select(cf.c.id).where(func.lower(cf.c.name) == name.lower())
                ).scalar()
                if fid is None:
                    continue
                conn.execute(delete(cfv).where(cfv.c.customer_id == cid, cfv.c.field_id == fid))
                if value is not None:
                    if value.get("date_value"):
                        value = {**value, "date_value": date.fromisoformat(value["date_value"])}
                    conn.execute(insert(cfv).values(customer_id=cid, field_id=fid, **value))
        refresh_customers(conn, list(befores))
    elif kind == "invoices":
        owners = set(conn.execute(select(inv.c.customer_id).where(inserted(inv.c.id))).scalars())
        conn.execute(delete(inv).where(inserted(inv.c.id)))
        for iid, before in befores.items():
            row = dict(before["invoice"])
            for x in ("issued_on", "due_on"):
                row[x] = date.fromisoformat(row[x])
            old_owner = conn.execute(select(inv.c.customer_id).where(inv.c.id == iid)).scalar()
            if old_owner is not None:
                owners.add(int(old_owner))
            conn.execute(update(inv).where(inv.c.id == iid).values(**row))
            owners.add(int(row["customer_id"]))
        refresh_invoice_cache(conn, list(befores))
        refresh_customers(conn, owners)
    elif kind == "payments":
        rows = conn.execute(
            select(pay.c.invoice_id, pay.c.customer_id).where(inserted(pay.c.id))
        ).all()
        conn.execute(delete(pay).where(inserted(pay.c.id)))
        refresh_invoice_cache(conn, {int(r[0]) for r in rows})
        refresh_customers(conn, {int(r[1]) for r in rows})
    for tid in recipe.get("tags") or ():
        if conn.execute(select(func.count()).where(ct.c.tag_id == tid)).scalar_one() == 0:
            conn.execute(delete(tags_t).where(tags_t.c.id == tid))
    for fid in recipe.get("fields") or ():
        if conn.execute(select(func.count()).where(cfv.c.field_id == fid)).scalar_one() == 0:
            conn.execute(delete(cf).where(cf.c.id == fid))


__all__ = ["undo_import"]
