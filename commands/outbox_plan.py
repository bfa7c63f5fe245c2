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
from commands.outbox_queries import open_invoices, outbox_rows
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
from store.models import Customer

c: Any = Customer.__table__


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
    """
    by_due: dict[date, Stage | None]  # due date -> the stage due (invoices share few dates)
    people: dict[int, Any] = {}
    own = customer_policies(conn, policy)  # customers with their own schedule
    if day is None or day == d:
        table = stage_table(d, policy)
        if not table:
            return []
        lo = d - timedelta(days=max(table))
        hi = d - timedelta(days=min(table))
        candidates = open_invoices(conn, d, due_from=lo, due_to=hi, people=people)
        by_due = {d - timedelta(days=k): stage for k, stage in table.items()}
        when = d
        if own:
            candidates = [i for i in candidates if i.customer_id not in own]
            candidates += open_invoices(conn, d, customer_ids=list(own), people=people)
    else:
        days = {}
        for offset_stage in stages_for(day, policy):
            # the stage with this offset falls on ``day`` for invoices due day - offset
            days[offset_stage.offset] = day - timedelta(days=offset_stage.offset)
        dues = sorted(set(days.values()))
        by_due = {due: upcoming(due, day, policy) for due in dues}
        candidates = [
            i
            for i in open_invoices(conn, d, due_in=dues, people=people)
            if by_due.get(i.due_on) and i.customer_id not in own
        ]
        if own:
            candidates += open_invoices(conn, d, customer_ids=list(own), people=people)
        # pause is judged on the day itself
        paused = {
            r.id
            for r in conn.execute(
                select(c.c.id).where(
                    in_ids(c.c.id, {i.customer_id for i in candidates}),
                    c.c.reminders_paused_until >= day,
                )
            )
        }
        candidates = [i for i in candidates if i.customer_id not in paused]
        when = day
    rows = outbox_rows(conn, [i.id for i in candidates])
    items: dict[int, list[tuple[InvoiceInfo, Item]]] = defaultdict(list)
    # per due date, once: (stage key, send on, offset, rule)
    due_info = {
        due: (stage.key, stage.send_on, stage.offset, describe_stage(stage, when))
        for due, stage in by_due.items()
        if stage is not None
    }
    for i in candidates:
        custom = own.get(i.customer_id)
        at_due = (
            due_info.get(i.due_on)
            if custom is None
            else _own_stage(custom, i.due_on, d, when, day is None or day == d)
        )
        if at_due is None:
            continue
        key, send_on, offset, rule = at_due
        mine = rows.get(i.id)
        if mine:
            done = done_offset(mine)
            if done is not None and done >= offset:
                continue
            existing = mine.get(key)
            if existing is not None:
                if existing.status == "skipped":
                    continue
                if existing.next_attempt_at is not None and existing.next_attempt_at > now_utc:
                    continue
        items[i.customer_id].append((i, Item(i.id, i.number, key, send_on, rule)))
    if not items:
        return []
    who = people
    summaries = [cid for cid in items if own.get(cid, policy).mode == "summary"]
    listed: dict[int, list[InvoiceInfo]] = defaultdict(list)
    if summaries:
        for i in open_invoices(conn, d, due_to=d - timedelta(days=1), customer_ids=summaries):
            listed[i.customer_id].append(i)
    plans: list[Planned] = []
    templates: dict[tuple[str, int], str] = {}
    for cid in sorted(items):
        person = who[cid]
        if own.get(cid, policy).mode == "summary":
            claimed = [it for _, it in items[cid]]
            invoices = {i.id: i for i in listed[cid]}
            for info, _ in items[cid]:
                invoices.setdefault(info.id, info)
            plans.append(
                Planned(
                    cid,
                    person.name,
                    person.email,
                    person.company,
                    "reminder-summary",
                    claimed,
                    sorted(invoices.values(), key=lambda x: (x.due_on, x.number)),
                )
            )
        else:
            for info, it in items[cid]:
                plans.append(
                    Planned(
                        cid,
                        person.name,
                        person.email,
                        person.company,
                        _cached_template(templates, it.stage, (when - info.due_on).days),
                        [it],
                        [info],
                    )
                )
    return plans


def _own_stage(
    custom: ReminderPolicy, due_on: date, d: date, when: date, now: bool
) -> tuple[str, date, int, str] | None:
    """(key, send on, offset, rule) of an invoice of a customer with their own schedule."""
    if now:
        stage = due_stage(due_on, d, custom)
        if stage is None or stage.send_on < d - timedelta(days=CATCH_UP_DAYS):
            return None
    else:
        stage = upcoming(due_on, when, custom)
        if stage is None:
            return None
    rule = describe_stage(stage, when) + ", customer's own schedule"
    return stage.key, stage.send_on, stage.offset, rule


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
