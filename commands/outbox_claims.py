"""Claiming reminders before sending, recovering dead claims, and marking the outcome.

A claim is one write transaction: lock the customers (PostgreSQL ``SELECT ...
FOR UPDATE SKIP LOCKED``; SQLite has a single writer, ``BEGIN IMMEDIATE``),
re-read their outbox rows, record the ``emails`` row (``queued``, with the
Message-ID) and the ``reminders`` rows (``claimed``) before anything is sent.
``UNIQUE(invoice_id, stage)`` is the last guard. A claim whose sender died
becomes ``in_doubt``: never resent automatically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
)
from sqlalchemy import update as sa_update

from commands.outbox_queries import outbox_rows, still_due
from commands.outbox_state import (
    MAX_ATTEMPTS,
    STALE_AFTER,
    Claimed,
    Item,
    Planned,
    backoff_seconds,
    claimer_dead,
    done_offset,
    offset_of,
)
from commands.reminder_messages import Composer, reminder_message
from store.engine import read_tx, write_tx
from store.models import Customer, Email, Reminder

log = logging.getLogger(__name__)

c: Any = Customer.__table__
rem: Any = Reminder.__table__
em: Any = Email.__table__


STOPPED_ERROR = (
    "The sender stopped before recording whether the server accepted this message; "
    "it may or may not have been delivered, so it is not sent again automatically"
)


def recover_stale_emails(
    engine: Engine, now_utc: datetime, stale_after: timedelta = STALE_AFTER
) -> int:
    """Emails of no reminder (``send TEMPLATE to ...``) still ``queued`` long after they
    were recorded: their sender stopped, so they are in doubt. Returns how many."""
    with write_tx(engine) as conn:
        n = conn.execute(
            sa_update(em)
            .where(
                em.c.status == "queued",
                em.c.created_at <= now_utc - stale_after,
                ~exists().where(rem.c.email_id == em.c.id),
            )
            .values(status="in_doubt", error=STOPPED_ERROR)
        ).rowcount
    if n:
        log.warning("%d email(s) left queued by a stopped sender are now in doubt", n)
    return int(n or 0)


def recover_stale(engine: Engine, now_utc: datetime, stale_after: timedelta = STALE_AFTER) -> int:
    """Claims whose sender died (or went silent) become in doubt; returns how many."""
    with read_tx(engine) as conn:
        rows = list(
            conn.execute(
                select(rem.c.id, rem.c.claimed_by, rem.c.claimed_at, rem.c.email_id).where(
                    rem.c.status == "claimed"
                )
            )
        )
    stale = [
        r
        for r in rows
        if claimer_dead(r.claimed_by)
        or (r.claimed_at is not None and r.claimed_at <= now_utc - stale_after)
    ]
    if not stale:
        return 0
    error = STOPPED_ERROR
    with write_tx(engine) as conn:
        n = 0
        for r in stale:
            done = conn.execute(
                sa_update(rem)
                .where(
                    rem.c.id == r.id,
                    rem.c.status == "claimed",
                    rem.c.claimed_by == r.claimed_by,
                )
                .values(status="in_doubt", last_error=error)
            ).rowcount
            n += done
            if done and r.email_id is not None:
                conn.execute(
                    sa_update(em)
                    .where(em.c.id == r.email_id, em.c.status == "queued")
                    .values(status="in_doubt", error=error)
                )
    if n:
        log.warning("%d claimed reminder(s) left by a stopped sender are now in doubt", n)
    return n


def claim(
    conn: Connection,
    plans: Sequence[Planned],
    *,
    me: str,
    now_utc: datetime,
    d: date,
    origin: str,
    composer: Composer,
    manual: bool = False,
    prebuilt: dict[int, EmailMessage] | None = None,
) -> list[Claimed]:
    """Claim these emails in the caller's write transaction; returns what to send.

    Re-reads the outbox under the customer lock, so a plan that another
    sender already covered is dropped. ``prebuilt`` (``id(plan)`` -> message,
    see :func:`prebuild`) saves rendering under the write lock when a plan is
    kept whole; otherwise its message is built here. Each kept email gets its ``emails``
    row (``queued``, with the Message-ID) and its ``reminders`` rows
    (``claimed``) before anything goes out.
    """
    if not plans:
        return []
    cust_ids = sorted({p.customer_id for p in plans})
    if conn.dialect.name == "postgresql":
        locked = set(
            conn.execute(
                select(c.c.id)
                .where(c.c.id.in_(cust_ids))
                .order_by(c.c.id)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
    else:
        locked = set(cust_ids)
    plans = [p for p in plans if p.customer_id in locked]
    all_ids = sorted({i.id for p in plans for i in p.invoices})
    eligible = still_due(conn, all_ids, d) if all_ids else set()
    rows = outbox_rows(conn, [it.invoice_id for p in plans for it in p.items])
    notes: dict[int, list[str]] | None = None
    kept: list[tuple[Planned, list[tuple[Item, Any]], EmailMessage]] = []
    for p in plans:
        items: list[tuple[Item, Any]] = []
        for it in p.items:
            if it.invoice_id not in eligible:
                continue
            mine = rows.get(it.invoice_id, {})
            existing = mine.get(it.stage)
            if existing is not None and existing.status != "pending":
                continue
            off = offset_of(it.stage)
            done = done_offset(mine)
            if not manual and off is not None and done is not None and done >= off:
                continue
            if (
                existing is not None
                and existing.next_attempt_at is not None
                and existing.next_attempt_at > now_utc
                and not manual
            ):
                continue
            items.append((it, existing))
        if not items:
            continue
        listed = [i for i in p.invoices if i.id in eligible]
        msg = (prebuilt or {}).get(id(p))
        if msg is None or len(items) != len(p.items) or len(listed) != len(p.invoices):
            if notes is None:
                notes = composer.customer_notes(conn, {p.customer_id for p in plans})
            msg = reminder_message(composer, p, [it for it, _ in items], listed, notes)
        kept.append((p, items, msg))
    if not kept:
        return []
    email_rows = [
        {
            "customer_id": p.customer_id,
            "created_at": now_utc,
            "sent_at": None,
            "template": p.template,
            "subject": str(msg["Subject"]),
            "to_address": p.email,
            "status": "queued",
            "error": None,
            "message_id": str(msg["Message-ID"]),
            "invoice_numbers": [i.number for i in p.invoices if i.id in eligible],
        }
        for p, _, msg in kept
    ]
    email_ids = [
        int(x)
        for x in conn.execute(
            insert(em).returning(em.c.id, sort_by_parameter_order=True), email_rows
        ).scalars()
    ]
    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    superseded: list[int] = []
    for (p, items, _), eid in zip(kept, email_ids, strict=True):
        for it, existing in items:
            if existing is None:
                new_rows.append(
                    {
                        "invoice_id": it.invoice_id,
                        "customer_id": p.customer_id,
                        "stage": it.stage,
                        "send_on": it.send_on,
                        "status": "claimed",
                        "claimed_by": me,
                        "claimed_at": now_utc,
                        "attempts": 0,
                        "email_id": eid,
                        "origin": origin,
                    }
                )
            else:
                updates.append({"rid": existing.id, "eid": eid})
            off = offset_of(it.stage)
            for key, row in rows.get(it.invoice_id, {}).items():
                o = offset_of(key)
                if (
                    row.status == "pending"
                    and key != it.stage
                    and (o is None or off is None or o < off)
                ):
                    superseded.append(row.id)
    if new_rows:
        conn.execute(insert(rem), new_rows)
    if updates:
        result = conn.execute(
            sa_update(rem)
            .where(rem.c.id == bindparam("rid"), rem.c.status == "pending")
            .values(
                status="claimed",
                claimed_by=me,
                claimed_at=now_utc,
                email_id=bindparam("eid"),
                origin=origin,
            ),
            updates,
        )
        if result.rowcount != len(updates):
            raise RuntimeError("an outbox row changed under the claim; retrying next pass")
    if superseded:
        conn.execute(
            sa_update(rem)
            .where(rem.c.id.in_(superseded), rem.c.status == "pending")
            .values(status="skipped", last_error="superseded by a later stage")
        )
    return [
        Claimed(p, msg, eid, str(msg["Message-ID"]))
        for (p, _, msg), eid in zip(kept, email_ids, strict=True)
    ]


@dataclass
class Mark:
    email_id: int
    status: str  # sent, in_doubt, failed, retry, cancel, release
    error: str | None = None
    transport: str = "smtp"
    retry_at: datetime | None = None


def flush_marks(engine: Engine, me: str, marks: list[Mark], now_utc: datetime) -> None:
    if not marks:
        return
    with write_tx(engine) as conn:
        sent = [m for m in marks if m.status == "sent"]
        if sent:
            conn.execute(
                sa_update(rem)
                .where(
                    rem.c.email_id == bindparam("eid"),
                    rem.c.claimed_by == me,
                    or_(rem.c.status == "claimed", rem.c.status == "in_doubt"),
                )
                .values(
                    status="sent",
                    sent_at=now_utc,
                    attempts=rem.c.attempts + 1,
                    last_error=None,
                    next_attempt_at=None,
                ),
                [{"eid": m.email_id} for m in sent],
            )
            conn.execute(
                sa_update(em)
                .where(em.c.id == bindparam("eid"))
                .values(status="sent", sent_at=now_utc, error=None),
                [{"eid": m.email_id} for m in sent],
            )
        for m in marks:
            if m.status == "sent":
                continue
            if m.status in ("in_doubt", "failed"):
                conn.execute(
                    sa_update(rem)
                    .where(rem.c.email_id == m.email_id, rem.c.claimed_by == me)
                    .values(
                        status=m.status,
                        attempts=rem.c.attempts + 1,
                        last_error=m.error,
                        next_attempt_at=None,
                    )
                )
                conn.execute(
                    sa_update(em)
                    .where(em.c.id == m.email_id)
                    .values(status=m.status, error=m.error)
                )
            elif m.status == "retry":
                rows = conn.execute(
                    select(rem.c.id, rem.c.attempts).where(
                        rem.c.email_id == m.email_id, rem.c.claimed_by == me
                    )
                ).all()
                for rid, attempts in rows:
                    tries = int(attempts or 0) + 1
                    give_up = tries >= MAX_ATTEMPTS
                    conn.execute(
                        sa_update(rem)
                        .where(rem.c.id == rid)
                        .values(
                            status="failed" if give_up else "pending",
                            attempts=tries,
                            last_error=m.error,
                            claimed_by=None if not give_up else me,
                            next_attempt_at=None
                            if give_up
                            else now_utc + timedelta(seconds=backoff_seconds(tries)),
                            email_id=m.email_id,
                        )
                    )
                conn.execute(
                    sa_update(em)
                    .where(em.c.id == m.email_id)
                    .values(status="failed", error=m.error)
                )
            elif m.status in ("cancel", "release"):
                # never attempted: the claim goes away (release keeps a pending row)
                if m.status == "cancel":
                    conn.execute(
                        delete(rem).where(
                            rem.c.email_id == m.email_id,
                            rem.c.claimed_by == me,
                            rem.c.status == "claimed",
                        )
                    )
                else:
                    conn.execute(
                        sa_update(rem)
                        .where(
                            rem.c.email_id == m.email_id,
                            rem.c.claimed_by == me,
                            rem.c.status == "claimed",
                        )
                        .values(
                            status="pending",
                            claimed_by=None,
                            email_id=None,
                            next_attempt_at=m.retry_at,
                        )
                    )
                conn.execute(delete(em).where(em.c.id == m.email_id, em.c.status == "queued"))
