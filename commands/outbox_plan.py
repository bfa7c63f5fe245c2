"""Which reminders are due: the schedule as a lookup, the daemon's plan and a command's plan.

Per invoice the stage due now is the latest one on or before D not older
than ``CATCH_UP_DAYS`` (catch-up: only the most recent missed stage), unless
it or a later stage is already in the outbox (sent, claimed, in doubt or
failed for good) or waits for a retry.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    select,
)

from commands.email_templates import (
    default_store,
    template_for_stage,
)
from commands.gc_pause import gc_paused
from commands.outbox_queries import due_candidates, open_invoices, outbox_rows
from commands.outbox_state import (
    CATCH_UP_DAYS,
    DONE,
    InvoiceInfo,
    Item,
    Planned,
    done_offset,
    in_ids,
    offset_of,
)
from commands.reminder_overrides import customer_policies
from commands.reminder_schedule import (
    ReminderPolicy,
    Stage,
    due_stage,
    stages_for,
    upcoming,
)
from store.models import Customer, Invoice

c: Any = Customer.__table__
inv: Any = Invoice.__table__


def describe_stage(stage: Stage, today: date) -> str:
    """``"7 days after the due date (after-7)"``, plus a catch-up note."""
    offset = stage.offset
    if stage.key.startswith("manual-"):
        text = "asked for by command"
    elif offset < 0:
        text = f"{-offset} day{'s' if offset != -1 else ''} before the due date"
    elif offset == 0:
        text = "on the due date"
    elif stage.is_repeat:
        text = f"repeat, {offset} days after the due date"
    else:
        text = f"{offset} day{'s' if offset != 1 else ''} after the due date"
    text += f" ({stage.key})"
    if stage.send_on < today:
        text += f", catch-up: was due {stage.send_on.isoformat()}"
    return text


def due_window(d: date, policy: ReminderPolicy) -> tuple[date, date]:
    """Due dates for which some stage can be due on ``d`` (catch-up limit included)."""
    stages = stages_for(d, policy)
    first, last = stages[0].offset, stages[-1].offset
    return d - timedelta(days=last + CATCH_UP_DAYS), d - timedelta(days=first)


def stage_table(d: date, policy: ReminderPolicy) -> dict[int, Stage]:
    """Days since the due date -> the stage due on ``d`` (catch-up: the latest)."""
    lo, hi = due_window(d, policy)
    table: dict[int, Stage] = {}
    due = lo
    while due <= hi:
        stage = due_stage(due, d, policy)
        if stage is not None and stage.send_on >= d - timedelta(days=CATCH_UP_DAYS):
            table[(d - due).days] = stage
        due += timedelta(days=1)
    return table


@gc_paused()
def find_due(
    conn: Connection,
    d: date,
    policy: ReminderPolicy,
    now_utc: datetime,
    *,
    day: date | None = None,
) -> list[Planned]:
    """The emails the daemon would send now (``day`` None) or on ``day`` (a later date).

    Per invoice the stage due is the latest one on or before ``d`` not older
    than :data:`CATCH_UP_DAYS`, unless it or a later stage is already in the
    outbox (sent, claimed, in doubt or failed for good) or waits for a retry.
    On a later ``day`` only stages falling exactly on that day are listed.
    Plans come in customer order and name the customer, the (invoice,
    stage) items, the template and the rule; addresses, invoice numbers and
    invoice lines are read when needed by :func:`commands.outbox_details.add_details`.
    """
    own = customer_policies(conn, policy)  # customers with their own schedule
    now = day is None or day == d
    when = d if now or day is None else day
    if now:
        table = stage_table(d, policy)
        if not table:
            return []
        by_due = {d - timedelta(days=k): stage for k, stage in table.items()}
        lo, hi = d - timedelta(days=max(table)), d - timedelta(days=min(table))
        where = [inv.c.due_on >= lo, inv.c.due_on <= hi]
    else:
        # the stage with each offset falls on ``when`` for invoices due when - offset
        dues = {when - timedelta(days=s.offset) for s in stages_for(when, policy)}
        found = {due: upcoming(due, when, policy) for due in dues}
        by_due = {due: stage for due, stage in found.items() if stage is not None}
        where = [inv.c.due_on.in_(sorted(by_due))]
    templates: dict[tuple[str, int], str] = {}
    # per due date, once: (stage key, send on, offset, rule, template)
    due_info: dict[date | str, tuple[str, date, int, str, str]] = {
        due: (
            stage.key,
            stage.send_on,
            stage.offset,
            describe_stage(stage, when),
            _cached_template(templates, stage.key, (when - due).days),
        )
        for due, stage in by_due.items()
    }
    # the candidates' due dates come as ISO text on SQLite, as dates on PostgreSQL
    due_info.update({due.isoformat(): due_info[due] for due in by_due})
    rows = due_candidates(conn, d, where) if by_due else []
    if own:
        rows = [r for r in rows if r[0] not in own]
        rows += due_candidates(conn, d, [in_ids(inv.c.customer_id, own)])
        rows.sort(key=lambda r: (r[0], str(r[1]), r[2]))
    blockers = outbox_rows(conn, [r[2] for r in rows if r[3]])
    stage_at = due_info.get
    if not own and policy.mode == "invoice":  # the common case, lean: one email per invoice
        return [
            Planned(cid, "", "", None, at[4], [Item(iid, "", at[0], at[1], at[3])], [])
            for cid, due, iid, in_outbox in rows
            if (at := stage_at(due)) is not None
            and not (in_outbox and _ruled_out(blockers[iid], at[0], at[2], now_utc))
        ]
    plans: list[Planned] = []
    summary: Planned | None = None
    for cid, due, iid, in_outbox in rows:
        custom = own.get(cid)
        at_due = (
            stage_at(due)
            if custom is None
            else _own_stage(custom, _as_date(due), d, when, now, templates)
        )
        if at_due is None:
            continue
        key, send_on, offset, rule, template = at_due
        if in_outbox and _ruled_out(blockers[iid], key, offset, now_utc):
            continue
        item = Item(iid, "", key, send_on, rule)
        if (custom or policy).mode != "summary":
            plans.append(Planned(cid, "", "", None, template, [item], []))
        elif summary is not None and summary.customer_id == cid:
            summary.items.append(item)
        else:
            summary = Planned(cid, "", "", None, "reminder-summary", [item], [])
            plans.append(summary)
    return plans


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _ruled_out(rows: dict[str, Any], key: str, offset: int, now_utc: datetime) -> bool:
    """Whether an invoice's outbox rows rule out its stage ``key`` now."""
    done = done_offset(rows)
    if done is not None and done >= offset:
        return True
    existing = rows.get(key)
    return existing is not None and (
        existing.status == "skipped"
        or (existing.next_attempt_at is not None and existing.next_attempt_at > now_utc)
    )


def _own_stage(
    custom: ReminderPolicy,
    due_on: date,
    d: date,
    when: date,
    now: bool,
    templates: dict[tuple[str, int], str],
) -> tuple[str, date, int, str, str] | None:
    """(key, send on, offset, rule, template) of an invoice of a customer with their own
    schedule."""
    if now:
        stage = due_stage(due_on, d, custom)
        if stage is None or stage.send_on < d - timedelta(days=CATCH_UP_DAYS):
            return None
    else:
        stage = upcoming(due_on, when, custom)
        if stage is None:
            return None
    rule = describe_stage(stage, when) + ", customer's own schedule"
    template = _cached_template(templates, stage.key, (when - due_on).days)
    return stage.key, stage.send_on, stage.offset, rule, template


def plan_manual(
    conn: Connection,
    d: date,
    policy: ReminderPolicy,
    customer_ids: Sequence[int],
) -> tuple[list[Planned], dict[str, list[str]]]:
    """Reminders a user asks for now: every overdue invoice of these customers.

    The stage is the schedule's current one when it was not sent yet, else
    ``manual-<D>`` (once per invoice and day). Returns the plans and the
    customers left out, by reason.
    """
    skipped: dict[str, list[str]] = defaultdict(list)
    people = {
        r.id: r
        for r in conn.execute(
            select(
                c.c.id,
                c.c.name,
                c.c.email,
                c.c.company,
                c.c.reminders_opt_out,
                c.c.reminders_paused_until,
            ).where(c.c.id.in_(list(customer_ids)))
        )
    }
    overdue = open_invoices(
        conn,
        d,
        due_to=d - timedelta(days=1),
        customer_ids=list(customer_ids),
        eligible_only=False,
        active_only=False,
    )
    by_customer: dict[int, list[InvoiceInfo]] = defaultdict(list)
    for i in overdue:
        by_customer[i.customer_id].append(i)
    rows = outbox_rows(conn, [i.id for i in overdue])
    own = customer_policies(conn, policy, customer_ids)
    plans: list[Planned] = []
    for cid in sorted(by_customer):
        person = people[cid]
        if person.reminders_opt_out:
            skipped["opted out"].append(person.name)
            continue
        if person.reminders_paused_until is not None and person.reminders_paused_until >= d:
            skipped[f"paused until {person.reminders_paused_until.isoformat()}"].append(person.name)
            continue
        if not person.email:
            skipped["no email address"].append(person.name)
            continue
        items: list[tuple[InvoiceInfo, Item]] = []
        for i in sorted(by_customer[cid], key=lambda x: (x.due_on, x.number)):
            stage = due_stage(i.due_on, d, own.get(cid, policy))
            mine = rows.get(i.id, {})
            done = done_offset(mine)
            manual_key = f"manual-{d.isoformat()}"
            if (
                stage is None
                or (done is not None and done >= stage.offset)
                or (stage.key in mine and mine[stage.key].status != "pending")
            ):
                if manual_key in mine and mine[manual_key].status in DONE:
                    skipped["already reminded today"].append(f"{person.name} {i.number}")
                    continue
                key, template_key = manual_key, (stage.key if stage else "due")
                stage_obj = Stage(d, key)
                rule = "asked for by command (manual)"
            else:
                key, template_key, stage_obj = stage.key, stage.key, stage
                rule = describe_stage(stage, d) + ", sent by command"
            items.append((i, Item(i.id, i.number, key, stage_obj.send_on, rule)))
            if own.get(cid, policy).mode != "summary":
                plans.append(
                    Planned(
                        cid,
                        person.name,
                        person.email,
                        person.company,
                        _stage_template(wording_stage(template_key, (d - i.due_on).days)),
                        [items[-1][1]],
                        [i],
                    )
                )
        if own.get(cid, policy).mode == "summary" and items:
            plans.append(
                Planned(
                    cid,
                    person.name,
                    person.email,
                    person.company,
                    "reminder-summary",
                    [it for _, it in items],
                    sorted(by_customer[cid], key=lambda x: (x.due_on, x.number)),
                )
            )
    return plans, dict(skipped)


def wording_stage(stage_key: str, days_late: int) -> str:
    """The stage whose template fits the invoice's situation on the sending day.

    A stage sent late (catch-up, or by command) must not say "due today" of an
    invoice that is already overdue: the template follows the days overdue
    while the stage key, which decides exactly-once, stays the schedule's.
    """
    offset = offset_of(stage_key)
    if offset is None or days_late <= offset:
        return stage_key
    return f"after-{days_late}" if days_late > 0 else "due"


def _cached_template(cache: dict[tuple[str, int], str], stage_key: str, days_late: int) -> str:
    found = cache.get((stage_key, days_late))
    if found is None:
        found = cache[(stage_key, days_late)] = _stage_template(wording_stage(stage_key, days_late))
    return found


def _stage_template(stage_key: str) -> str:
    """The template of a stage (the user's templates re-read at most every 30 s)."""
    return _stage_template_of(stage_key, _template_names())


@functools.lru_cache(maxsize=1024)
def _stage_template_of(stage_key: str, names: tuple[str, ...]) -> str:
    return template_for_stage(stage_key, names=names)


_names_cache: tuple[float, tuple[str, ...]] | None = None


def _template_names() -> tuple[str, ...]:
    global _names_cache
    now = time.monotonic()
    if _names_cache is None or now - _names_cache[0] > 30:
        _names_cache = (now, tuple(default_store().names()))
    return _names_cache[1]
