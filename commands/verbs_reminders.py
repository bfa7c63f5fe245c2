"""Payment reminders by command: remind now, pause/resume, and what is due when."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from commands import audit
from commands.errors import UserError
from commands.executor import Call, handles
from commands.mailer import mailer_from_config
from commands.outbox import (
    Planned,
    add_details,
    find_due,
    plan_manual,
    policy_for,
    send_due,
    utc_naive,
)
from commands.reminder_schedule import DAY_NAMES, ReminderPolicy
from commands.results import MessageResult, MutationResult, Progress, Result, TableResult
from commands.targets import plural, preview, target_ids
from commands.workspace import Workspace
from grammar import ast as A
from store.models import Customer
from store.writes import update_customers

c: Any = Customer.__table__

#: "pause reminders for acme" without a date pauses until this day (i.e. indefinitely)
INDEFINITELY = date(9999, 12, 31)


def _sample(plans: list[Planned], limit: int = 5) -> list[str]:
    out = []
    for p in plans[:limit]:
        what = ", ".join(f"{it.number} ({it.stage})" for it in p.items)
        out.append(f"{p.name} <{p.email}>: {what}")
    if len(plans) > limit:
        out.append(f"... and {len(plans) - limit} more")
    return out


def _skipped_text(skipped: dict[str, list[str]]) -> str:
    parts = []
    for reason, names in sorted(skipped.items()):
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        parts.append(f"{reason}: {shown}")
    return "; ".join(parts)


@handles(A.Remind)
def remind(ws: Workspace, cmd: A.Remind, call: Call) -> Result:
    """Send reminders now for the overdue invoices of the target customers."""
    policy = policy_for(ws)
    with ws.read() as conn:
        ids = target_ids(ws, conn, cmd.target, call)
        plans, skipped = plan_manual(conn, ws.today, policy, ids)
    invoices = sum(len(p.items) for p in plans)
    customers = len({p.customer_id for p in plans})
    note = f" (left out: {_skipped_text(skipped)})" if skipped else ""
    if not plans:
        who = plural(len(ids), "customer")
        return MessageResult(f"No overdue invoice to remind among {who}{note}")
    message = (
        f"Send {plural(len(plans), 'reminder email')} about "
        f"{plural(invoices, 'overdue invoice')} to {plural(customers, 'customer')}{note}"
    )
    sample = _sample(plans)
    guard = call.guard(ws, "remind", len(plans), sample, message)
    if guard is not None:
        return guard
    mailer = mailer_from_config(ws.config)

    def progress(done: int, total: int) -> None:
        if call.progress:
            call.progress(Progress(done, total, "sending reminders"))

    report = send_due(
        ws, mailer, plans=plans, origin="manual", respect_window=False, progress=progress
    )
    with ws.write() as conn:
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="remind",
            affected=report.sent,
            actor=ws.actor,
            undo=None,
        )
    text = f"Sent {plural(report.sent, 'reminder email')} via {mailer.description}"
    extra = []
    if report.failed or report.retry_later:
        extra.append(f"{report.failed + report.retry_later} failed (see email history)")
    if report.in_doubt:
        extra.append(f"{report.in_doubt} in doubt")
    if report.cancelled:
        extra.append(f"{report.cancelled} cancelled (paid or paused meanwhile)")
    if report.released:
        extra.append(f"{report.released} not sent, the mail server is unreachable")
    if report.errors:
        extra.append(f"first error: {report.errors[0]}")
    if extra:
        text += "; " + "; ".join(extra)
    text += note
    return MutationResult(
        "remind", report.sent, text, audit_id=entry, sample=sample, undoable=False
    )


def _pause_targets(ws: Workspace, conn: Connection, query: Any, call: Call) -> list[int]:
    return target_ids(ws, conn, query, call)


def _set_pause(
    ws: Workspace, call: Call, ids: list[int], until: date | None, verb: str, message: str
) -> Result:
    with ws.write() as conn:
        befores = {
            r.id: r.reminders_paused_until.isoformat() if r.reminders_paused_until else None
            for r in conn.execute(select(c.c.id, c.c.reminders_paused_until).where(c.c.id.in_(ids)))
        }
        changed = [i for i in ids if befores.get(i) != (until.isoformat() if until else None)]
        guard = call.guard(ws, verb, len(changed), preview(conn, changed), message)
        if guard is not None:
            return guard
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action=verb,
            affected=len(changed),
            actor=ws.actor,
            undo={"op": "restore_pause"},
        )
        audit.add_items(conn, entry, {i: befores[i] for i in changed})
        if changed:
            update_customers(conn, changed, {"reminders_paused_until": until})
    return MutationResult(verb, len(changed), message, audit_id=entry)


@audit.undoer("restore_pause")
def _undo_pause(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    befores = audit.item_befores(conn, entry)
    if befores:
        conn.execute(
            update(c)
            .where(c.c.id == bindparam("cid"))
            .values(reminders_paused_until=bindparam("until")),
            [
                {"cid": cid, "until": date.fromisoformat(b) if b else None}
                for cid, b in befores.items()
            ],
        )


@handles(A.PauseReminders)
def pause_reminders(ws: Workspace, cmd: A.PauseReminders, call: Call) -> Result:
    until = A.resolve_date(cmd.until, ws.today)[1] if cmd.until is not None else INDEFINITELY
    if until < ws.today:
        raise UserError(f"{until.isoformat()} is in the past; pause until a later date")
    with ws.read() as conn:
        ids = _pause_targets(ws, conn, cmd.target, call)
    when = "indefinitely" if until == INDEFINITELY else f"until {until.isoformat()} (inclusive)"
    message = f"Paused reminders for {plural(len(ids), 'customer')} {when}"
    return _set_pause(ws, call, ids, until, "pause reminders", message)


@handles(A.ResumeReminders)
def resume_reminders(ws: Workspace, cmd: A.ResumeReminders, call: Call) -> Result:
    with ws.read() as conn:
        ids = _pause_targets(ws, conn, cmd.target, call)
    message = f"Resumed reminders for {plural(len(ids), 'customer')}"
    return _set_pause(ws, call, ids, None, "resume reminders", message)


def window_text(policy: ReminderPolicy) -> str:
    if policy.window_any:
        return "at any time"
    days = sorted(policy.window_days)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
        day_text = f"{DAY_NAMES[days[0]].title()}-{DAY_NAMES[days[-1]].title()}"
    else:
        day_text = ",".join(DAY_NAMES[x].title() for x in days)
    return (
        f"{policy.window_start.strftime('%H:%M')}-{policy.window_end.strftime('%H:%M')} "
        f"{day_text} ({policy.timezone})"
    )


@handles(A.RemindersDue)
def reminders_due(ws: Workspace, cmd: A.RemindersDue, call: Call) -> TableResult:
    """What the daemon will send on a day, to whom, under which rule."""
    d = ws.today
    day = A.resolve_date(cmd.when, d)[0]
    if day < d:
        raise UserError("that day is past; see 'email history of ...' for what was sent")
    policy = policy_for(ws)
    now_utc = utc_naive(ws.now())
    if day > d:
        # retries waiting now will be due then
        now_utc += timedelta(days=(day - d).days)
    with ws.read() as conn:
        plans = find_due(conn, d, policy, now_utc, day=day)
        add_details(conn, plans, d)
    rows: list[list[Any]] = []
    for p in plans:
        for n, it in enumerate(p.items):
            rows.append(
                [
                    it.send_on if day == d else day,
                    f"#{p.customer_id} {p.name}" if n == 0 else "",
                    p.email if n == 0 else "",
                    it.number,
                    it.stage,
                    p.template,
                    it.rule,
                ]
            )
    mode = "one summary email per customer" if policy.mode == "summary" else "one per invoice"
    return TableResult(
        title=f"Reminders due {'now' if day == d else day.isoformat()}",
        columns=["send on", "customer", "to", "invoice", "stage", "template", "rule"],
        rows=rows,
        kind="reminders",
        footer=(
            f"{plural(len(plans), 'email')} ({mode}), {plural(len(rows), 'invoice')}; "
            f"the daemon sends {window_text(policy)}"
        ),
    )
