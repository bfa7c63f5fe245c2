"""Email to customers: ``send TEMPLATE to QUERY``, ``email history of ...``, engagement.

Every message is recorded in ``emails`` with its Message-ID (status
``queued``) before it is sent, then marked ``sent``, ``failed`` (with the
error) or ``in_doubt``. Templates get customer notes only, never internal
notes (DOMAIN.md, Notes).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from commands import audit
from commands.email_templates import available_templates, default_store
from commands.errors import UserError
from commands.executor import Call, handles
from commands.mailer import SendStatus, mailer_from_config
from commands.outbox_state import utc_naive
from commands.reminder_messages import Composer
from commands.results import (
    FIGURE_KEYS,
    CustomerRow,
    EmailView,
    MessageResult,
    MutationResult,
    Progress,
    Result,
    TableResult,
)
from commands.rows import customer_rows
from commands.targets import plural, target_ids
from commands.workspace import Workspace
from grammar import ast as A
from grammar.parser import suggest
from store import query as q
from store.models import Customer, Email, Invoice, Reminder

c: Any = Customer.__table__
em: Any = Email.__table__
rem: Any = Reminder.__table__
inv: Any = Invoice.__table__

CHUNK = 100


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def figures_of(row: CustomerRow) -> dict[str, str]:
    """A customer's figures as template strings."""
    return {key: _fmt(getattr(row, key)) for key in FIGURE_KEYS}


def offer_context(section: dict[str, Any], today: date) -> dict[str, str | None]:
    """The ``offer`` a template sees: ``percent``, ``code``, ``valid_until``, always all three.

    From the ``[offer]`` config section (``percent``, ``code``, and ``valid_until`` as an ISO
    date or ``valid_days`` counted from D); absent keys are None, never undefined, so a
    template can test ``offer.valid_until`` under the strict renderer.
    """
    until = section.get("valid_until")
    if until is None and section.get("valid_days") is not None:
        until = today + timedelta(days=int(section["valid_days"]))
    return {
        "percent": None if section.get("percent") is None else _fmt(section["percent"]),
        "code": None if not section.get("code") else str(section["code"]),
        "valid_until": None if until is None else _fmt(until),
    }


@handles(A.SendTemplate)
def send_template(ws: Workspace, cmd: A.SendTemplate, call: Call) -> Result:
    name = cmd.template
    names = available_templates()
    if name not in names:
        raise UserError(
            f"There is no email template '{name}'; available: {', '.join(names)}",
            suggestions=suggest(name, names),
        )
    mailer = mailer_from_config(ws.config)
    composer = Composer(mailer, ws.today, ws.currency, default_store())
    extra = {"offer": offer_context(ws.config.section("offer"), ws.today)}
    with ws.read() as conn:
        ids = target_ids(ws, conn, cmd.target, call)
        people = {
            r.id: r
            for r in conn.execute(
                select(c.c.id, c.c.email, c.c.reminders_opt_out).where(c.c.id.in_(ids))
            )
        }
        left_out = [i for i in ids if not people[i].email or people[i].reminders_opt_out]
        ids = [i for i in ids if i not in set(left_out)]
        rows = customer_rows(
            conn,
            q.list_customers(conn, ws.today, q.ListSpec(where=q.ids_in(ids), include_archived=True))
            if ids
            else [],
            ws.currency,
        )
        notes = composer.customer_notes(conn, ids)
    by_id = {r.id: r for r in rows}
    messages = []
    for cid in ids:
        row = by_id[cid]
        msg = composer.build(
            template=name,
            to_email=people[cid].email,
            to_name=row.name,
            company=row.company,
            invoices=[],
            notes=notes.get(cid, []),
            stage=None,
            figures=figures_of(row),
            extra=extra,
        )
        messages.append((row, msg))
    note = f"; {plural(len(left_out), 'customer')} left out (no email or opted out)"
    note = note if left_out else ""
    if not messages:
        return MessageResult(f"Nobody to send '{name}' to{note}")
    sample = [
        f"{row.name} <{msg['To'].addresses[0].addr_spec}>: {msg['Subject']}"
        for row, msg in messages[:5]
    ]
    message = f"Send '{name}' to {plural(len(messages), 'customer')}{note}"
    guard = call.guard(ws, "send", len(messages), sample, message)
    if guard is not None:
        return guard
    sent = failed = doubt = 0
    first_error: str | None = None
    unreachable: str | None = None
    now = utc_naive(ws.now())
    with mailer.session() as session:
        for start in range(0, len(messages), CHUNK):
            part = messages[start : start + CHUNK]
            with ws.write() as conn:
                email_ids = [
                    int(x)
                    for x in conn.execute(
                        insert(em).returning(em.c.id, sort_by_parameter_order=True),
                        [
                            {
                                "customer_id": row.id,
                                "created_at": now,
                                "sent_at": None,
                                "template": name,
                                "subject": str(msg["Subject"]),
                                "to_address": msg["To"].addresses[0].addr_spec,
                                "status": "queued",
                                "error": None,
                                "message_id": str(msg["Message-ID"]),
                                "invoice_numbers": [],
                            }
                            for row, msg in part
                        ],
                    ).scalars()
                ]
            results: list[tuple[int, str, str | None]] = []
            for (_row, msg), eid in zip(part, email_ids, strict=True):
                if unreachable is not None:  # do not knock on a dead server for each message
                    failed += 1
                    results.append((eid, "failed", f"not sent: {unreachable}"))
                    continue
                outcome = session.send(msg)
                if outcome.connection_failed:
                    unreachable = outcome.error or "the mail server is unreachable"
                status = outcome.status.value
                if outcome.status is SendStatus.SENT:
                    sent += 1
                elif outcome.status is SendStatus.IN_DOUBT:
                    doubt += 1
                else:
                    failed += 1
                first_error = first_error or outcome.error
                results.append((eid, status, outcome.error))
                if call.progress:
                    call.progress(Progress(sent + failed + doubt, len(messages), "sending"))
            with ws.write() as conn:
                for eid, status, error in results:
                    conn.execute(
                        update(em)
                        .where(em.c.id == eid)
                        .values(
                            status=status,
                            error=error,
                            sent_at=utc_naive(ws.now()) if status == "sent" else None,
                        )
                    )
    with ws.write() as conn:
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="send",
            affected=sent,
            actor=ws.actor,
            undo=None,
        )
    text = f"Sent '{name}' to {plural(sent, 'customer')} via {mailer.description}"
    if failed:
        text += f"; {failed} failed (see email history)"
    if doubt:
        text += f"; {doubt} in doubt"
    if first_error:
        text += f"; first error: {first_error}"
    return MutationResult("send", sent, text + note, audit_id=entry, sample=sample, undoable=False)


# --- history and engagement ---------------------------------------------------


def email_history(conn: Connection, customer_id: int, limit: int = 200) -> list[EmailView]:
    """A customer's emails, newest first (for the detail pane and ``email history``)."""
    rows = conn.execute(
        select(em)
        .where(em.c.customer_id == customer_id)
        .order_by(em.c.created_at.desc(), em.c.id.desc())
        .limit(limit)
    )
    return [
        EmailView(
            id=r.id,
            created_at=r.sent_at or r.created_at,
            template=r.template,
            subject=r.subject,
            status=r.status,
            invoices=list(r.invoice_numbers or []),
            error=r.error,
            message_id=r.message_id,
        )
        for r in rows
    ]


def engagement(conn: Connection, customer_id: int) -> dict[str, Any]:
    """Emails sent, last sent, failures, in doubt, reminded invoices and how many were
    paid within 7 days of a reminder."""
    emails = conn.execute(
        select(em.c.status, em.c.sent_at, em.c.created_at).where(em.c.customer_id == customer_id)
    ).all()
    sent = [r for r in emails if r.status == "sent"]
    last = max((r.sent_at or r.created_at for r in sent), default=None)
    reminded = conn.execute(
        select(
            rem.c.invoice_id, rem.c.sent_at, inv.c.settled_on, inv.c.paid_cents, inv.c.total_cents
        )
        .join(inv, inv.c.id == rem.c.invoice_id)
        .where(rem.c.customer_id == customer_id, rem.c.status == "sent")
    ).all()
    by_invoice: dict[int, list[Any]] = {}
    for r in reminded:
        by_invoice.setdefault(r.invoice_id, []).append(r)
    quick = 0
    for rs in by_invoice.values():
        settled = rs[0].settled_on
        if settled is None or rs[0].paid_cents < rs[0].total_cents:
            continue
        for r in rs:
            if r.sent_at is None:
                continue
            day = r.sent_at.date()
            if day <= settled <= day + timedelta(days=7):
                quick += 1
                break
    return {
        "emails_sent": len(sent),
        "last_sent": last,
        "failures": sum(1 for r in emails if r.status == "failed"),
        "in_doubt": sum(1 for r in emails if r.status == "in_doubt"),
        "reminded_invoices": len(by_invoice),
        "paid_within_7_days": quick,
    }


@handles(A.EmailHistory)
def email_history_cmd(ws: Workspace, cmd: A.EmailHistory, call: Call) -> TableResult:
    with ws.read() as conn:
        ids = target_ids(ws, conn, cmd.target, call)
        if not ids:
            raise UserError("no customer matches")
        names = dict(conn.execute(select(c.c.id, c.c.name).where(c.c.id.in_(ids))).all())
        rows: list[list[Any]] = []
        for cid in ids[:50]:
            for e in email_history(conn, cid):
                rows.append(
                    [
                        e.created_at,
                        f"#{cid} {names[cid]}",
                        e.template,
                        e.subject,
                        e.status,
                        ", ".join(e.invoices),
                        e.error or "",
                        e.message_id or "",
                    ]
                )
        eng = engagement(conn, ids[0]) if len(ids) == 1 else None
    rows.sort(key=lambda r: r[0] if isinstance(r[0], datetime) else datetime.min, reverse=True)
    footer = f"{plural(len(rows), 'email')}"
    if eng is not None:
        last = eng["last_sent"].strftime("%Y-%m-%d %H:%M") if eng["last_sent"] else "never"
        footer = (
            f"{eng['emails_sent']} sent, last {last}, {eng['failures']} failed, "
            f"{eng['in_doubt']} in doubt; {eng['reminded_invoices']} reminded invoices, "
            f"{eng['paid_within_7_days']} paid within 7 days of a reminder"
        )
    title = f"Email history of {names[ids[0]]}" if len(ids) == 1 else "Email history"
    return TableResult(
        title=title,
        columns=[
            "time",
            "customer",
            "template",
            "subject",
            "status",
            "invoices",
            "error",
            "message id",
        ],
        rows=rows,
        kind="emails",
        footer=footer,
    )
