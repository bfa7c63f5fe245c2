"""Customer references: ``#42``, an email, an exact name, or a unique name prefix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, or_, select

from commands.errors import UserError
from store.models import Customer, SavedSegment
from store.search import fold

c: Any = Customer.__table__
seg: Any = SavedSegment.__table__

MAX_CANDIDATES = 8


@dataclass(frozen=True)
class CustomerRef:
    id: int
    name: str
    email: str | None
    status: str


def _refs(rows: Any) -> list[CustomerRef]:
    return [CustomerRef(r.id, r.name, r.email, r.status) for r in rows]


def _describe(ref: CustomerRef) -> str:
    return f"#{ref.id} {ref.name}" + (f" <{ref.email}>" if ref.email else "")


def resolve_customer(conn: Connection, text: str, *, allow_segments: bool = False) -> CustomerRef:
    """One customer by id, email, exact name, then unique prefix; never a guess."""
    ref = text.strip()
    cols = (c.c.id, c.c.name, c.c.email, c.c.status)
    m = re.fullmatch(r"#?(\d+)", ref)
    if m:
        found = _refs(conn.execute(select(*cols).where(c.c.id == int(m.group(1)))).all())
        if found:
            return found[0]
        raise UserError(f"there is no customer #{m.group(1)}")
    if "@" in ref:
        found = _refs(conn.execute(select(*cols).where(func.lower(c.c.email) == ref.lower())).all())
        return _one(found, ref)
    folded = fold(ref)
    exact = _refs(conn.execute(select(*cols).where(c.c.sort_name == folded).limit(20)).all())
    if exact:
        return _one(exact, ref)
    prefix = _refs(
        conn.execute(
            select(*cols)
            .where(c.c.sort_name >= folded, c.c.sort_name < folded + "\uffff")
            .order_by(c.c.sort_name, c.c.id)
            .limit(MAX_CANDIDATES + 1)
        ).all()
    )
    if prefix:
        return _one(prefix, ref)
    # nothing by name: offer customers whose name, email or company contains it
    like = (
        conn.execute(
            select(c.c.name)
            .where(or_(c.c.search_text.like(f"%{_escape(folded)}%", escape="\\")))
            .limit(5)
        )
        .scalars()
        .all()
    )
    what = "no segment, tag or customer" if allow_segments else "no customer"
    raise UserError(f"there is {what} named '{ref}'", suggestions=list(like))


def _one(found: list[CustomerRef], ref: str) -> CustomerRef:
    if len(found) == 1:
        return found[0]
    shown = [_describe(x) for x in found[:MAX_CANDIDATES]]
    more = " (and more)" if len(found) > MAX_CANDIDATES else ""
    raise UserError(
        f"'{ref}' matches {len(found) if not more else 'several'} customers{more}: "
        + "; ".join(shown)
        + " — use the #id or the email",
        suggestions=[f"#{x.id}" for x in found[:MAX_CANDIDATES]],
    )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def saved_segment(conn: Connection, name: str) -> str | None:
    """The definition of a user-defined segment, or None."""
    return conn.execute(
        select(seg.c.definition).where(func.lower(seg.c.name) == name.strip().lower())
    ).scalar()


def saved_segment_names(conn: Connection) -> list[str]:
    return list(conn.execute(select(seg.c.name).order_by(seg.c.name)).scalars())
