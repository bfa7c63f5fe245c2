"""The reminder engine (an outbox), shared by the reminder commands and the daemon.

One pass of :func:`send_due`:

1. **Recover**: rows left ``claimed`` by a sender that died (its process is
   gone, or the claim is older than ``stale_after``) become ``in_doubt``
   with their email: never resent automatically.
2. **Plan** (:func:`find_due`): SQL finds the unpaid countable invoices whose
   due date lies in the window where a stage can be due (a partial index on
   open invoices makes this a few thousand index entries among a million
   invoices); the stage due now depends only on the days since the due date
   (catch-up: only the most recent missed stage), and rows already in the
   outbox (sent, claimed, in doubt, failed for good) rule stages out.
3. **Claim**, in one write transaction per chunk: lock the customers
   (PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite has a single
   writer, ``BEGIN IMMEDIATE``), re-read their outbox rows, build each
   message and record its ``emails`` row with the Message-ID (status
   ``queued``) and the ``reminders`` rows (status ``claimed``) *before*
   anything is sent. ``UNIQUE(invoice_id, stage)`` is the last guard.
4. **Send** outside any transaction, after re-checking that every invoice
   is still unpaid and the customer neither paused nor opted out (a paid
   invoice is never reminded, even if paid after the claim).
5. **Mark** the outcome: ``sent``; ``in_doubt`` (never retried); a 4xx or a
   dead server puts the rows back to ``pending`` with a backoff
   (``next_attempt_at``) and the email shows ``failed`` with the error; a
   permanent refusal is ``failed``. When the server is down the rest of the
   batch is released unsent and the pass stops.

Stage keys are the schedule's (``after-7``...); a reminder a user asks for
when the current stage was already sent uses ``manual-YYYY-MM-DD`` (at most
one per invoice and day). Every message carries ``X-OpenInvoice-Reminders:
<invoice id>:<stage>, ...`` so tests (and people) can tell what it covers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, or_, select
from sqlalchemy import update as sa_update

from commands.email_templates import (
    TemplateStore,
    default_store,
    invoice_line,
    make_context,
    template_for_stage,
)
from commands.mailer import Mailer, SendOutcome, SendStatus
from commands.money import to_major
from commands.reminder_schedule import (
    ReminderPolicy,
    Stage,
    due_stage,
    in_sending_window,
    next_window_start,
    policy_from_config,
    stage_offset,
    stages_for,
    upcoming,
)
from commands.workspace import Workspace
from store.engine import read_tx, write_tx
from store.models import Customer, Email, Invoice, Note, Payment, Reminder

log = logging.getLogger(__name__)

c: Any = Customer.__table__
inv: Any = Invoice.__table__
pay: Any = Payment.__table__
rem: Any = Reminder.__table__
em: Any = Email.__table__
notes_t: Any = Note.__table__

#: a stage more than this many days old when first seen is not sent any more
CATCH_UP_DAYS = 30
#: a claim older than this (its sender silent) is reported in doubt
STALE_AFTER = timedelta(minutes=15)
#: retries of a 4xx refusal or an unreachable server before giving up
MAX_ATTEMPTS = 10
RETRY_BASE_S = 60
RETRY_MAX_S = 3600
CHUNK = 100
#: outcome rows are written at least every this many messages (and seconds)
FLUSH_EVERY = 20
FLUSH_SECONDS = 0.5

#: statuses that rule a stage out for good (the exactly-once set)
DONE = ("sent", "claimed", "in_doubt", "failed")
HEADER = "X-OpenInvoice-Reminders"


# --- data -------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceInfo:
    id: int
    customer_id: int
    number: str
    issued_on: date
    due_on: date
    total_cents: int
    paid_cents: int


@dataclass(frozen=True)
class Item:
    """One (invoice, stage) an email claims."""

    invoice_id: int
    number: str
    stage: str
    send_on: date
    rule: str


@dataclass
class Planned:
    """One email to send: to one customer, claiming one or more (invoice, stage)."""

    customer_id: int
    name: str
    email: str
    company: str | None
    template: str
    items: list[Item]
    invoices: list[InvoiceInfo]

    @property
    def rule(self) -> str:
        return "; ".join(sorted({i.rule for i in self.items}))


@dataclass
class Claimed:
    plan: Planned
    msg: EmailMessage
    email_id: int
    message_id: str


@dataclass
class SendReport:
    """What one pass did."""

    planned: int = 0
    sent: int = 0
    failed: int = 0
    in_doubt: int = 0
    retry_later: int = 0
    cancelled: int = 0
    recovered: int = 0
    released: int = 0
    connection_failed: bool = False
    outside_window: bool = False
    next_window: datetime | None = None
    errors: list[str] = field(default_factory=list)
    reminders_sent: int = 0

    def summary(self) -> str:
        parts = [f"{self.sent} sent"]
        for name in ("failed", "in_doubt", "retry_later", "cancelled", "recovered", "released"):
            value = getattr(self, name)
            if value:
                parts.append(f"{value} {name.replace('_', ' ')}")
        if self.connection_failed:
            parts.append("mail server unreachable")
        return ", ".join(parts)


# --- time helpers ------------------------------------------------------------


def utc_naive(moment: datetime) -> datetime:
    """An aware datetime as naive UTC (how the store keeps times)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def backoff_seconds(attempts: int) -> int:
    """Retry delay after ``attempts`` failed tries: 1, 2, 4 ... minutes, at most an hour."""
    return int(min(RETRY_MAX_S, RETRY_BASE_S * 2 ** max(0, attempts - 1)))


def worker_id() -> str:
    """Who claims: host, process id and a random token."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claimer_dead(claimed_by: str | None) -> bool:
    """True when the claim's process on this host no longer exists."""
    if not claimed_by:
        return True
    parts = claimed_by.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # a zombie (killed, not yet reaped) is dead too
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().split(") ", 1)[1][:1] == "Z"
    except (OSError, IndexError):
        return False


# --- the schedule as a lookup -----------------------------------------------


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


def _offset(key: str) -> int | None:
    try:
        return stage_offset(key)
    except ValueError:
        return None


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


# --- SQL ------------------------------------------------------------------


def _eligible_customer(d: date) -> Any:
    return and_(
        c.c.reminders_opt_out.is_(False),
        or_(c.c.reminders_paused_until.is_(None), c.c.reminders_paused_until < d),
        c.c.email.isnot(None),
        c.c.email != "",
    )


_INV_COLS = (
    inv.c.id,
    inv.c.customer_id,
    inv.c.number,
    inv.c.issued_on,
    inv.c.due_on,
    inv.c.total_cents,
    inv.c.paid_cents,
    inv.c.last_paid_on,
)


def _paid_as_of(conn: Connection, ids: Sequence[int], d: date) -> dict[int, int]:
    """Paid amount as of ``d`` from the payments themselves (cache ahead of D)."""
    out: dict[int, int] = dict.fromkeys(ids, 0)
    for chunk in _chunks(list(ids), 5000):
        rows = conn.execute(
            select(pay.c.invoice_id, func.sum(pay.c.amount_cents))
            .where(pay.c.invoice_id.in_(chunk), pay.c.paid_on <= d)
            .group_by(pay.c.invoice_id)
        )
        for iid, total in rows:
            out[int(iid)] = int(total or 0)
    return out


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def open_invoices(
    conn: Connection,
    d: date,
    *,
    due_from: date | None = None,
    due_to: date | None = None,
    due_in: Sequence[date] | None = None,
    customer_ids: Sequence[int] | None = None,
    eligible_only: bool = True,
    active_only: bool = True,
) -> list[InvoiceInfo]:
    """Countable invoices unpaid as of ``d`` (balance > 0), optionally by due date / customer.

    Uses the payment cache (``paid_cents``) through the partial index of open
    invoices; invoices with a payment after ``d`` are settled from their
    payments as of ``d``.
    """
    base = [inv.c.status == "sent", inv.c.issued_on <= d]
    if due_from is not None:
        base.append(inv.c.due_on >= due_from)
    if due_to is not None:
        base.append(inv.c.due_on <= due_to)
    if due_in is not None:
        base.append(inv.c.due_on.in_(list(due_in)))
    if customer_ids is not None:
        base.append(inv.c.customer_id.in_(list(customer_ids)))
    cust = []
    if eligible_only:
        cust.append(_eligible_customer(d))
    if active_only:
        cust.append(c.c.status == "active")

    def stmt(extra: Any) -> Any:
        s = select(*_INV_COLS).where(*base, extra)
        if cust:
            s = s.join_from(inv, c, c.c.id == inv.c.customer_id).where(*cust)
        return s

    rows = list(conn.execute(stmt(inv.c.paid_cents < inv.c.total_cents)))
    ahead: list[Any] = []
    latest = conn.execute(select(func.max(inv.c.last_paid_on))).scalar()
    if latest is not None and latest > d:
        ahead = list(
            conn.execute(stmt(and_(inv.c.last_paid_on > d, inv.c.paid_cents >= inv.c.total_cents)))
        )
    out: list[InvoiceInfo] = []
    recheck = [r for r in rows if r.last_paid_on is not None and r.last_paid_on > d] + ahead
    paid_now = _paid_as_of(conn, [r.id for r in recheck], d) if recheck else {}
    for r in [*rows, *ahead]:
        paid = paid_now.get(r.id, r.paid_cents)
        if r.total_cents - paid > 0:
            out.append(
                InvoiceInfo(
                    r.id, r.customer_id, r.number, r.issued_on, r.due_on, r.total_cents, paid
                )
            )
    return out


def outbox_rows(conn: Connection, invoice_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """invoice id -> {stage: row} of the outbox."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for chunk in _chunks(sorted(set(invoice_ids)), 5000):
        for r in conn.execute(
            select(
                rem.c.id,
                rem.c.invoice_id,
                rem.c.stage,
                rem.c.status,
                rem.c.next_attempt_at,
                rem.c.attempts,
            ).where(rem.c.invoice_id.in_(chunk))
        ):
            out[r.invoice_id][r.stage] = r
    return out


def _done_offset(rows: dict[str, Any]) -> int | None:
    offsets = [o for k, r in rows.items() if r.status in DONE and (o := _offset(k)) is not None]
    return max(offsets) if offsets else None


def _customers(conn: Connection, ids: Iterable[int]) -> dict[int, Any]:
    out = {}
    for chunk in _chunks(sorted(set(ids)), 5000):
        for r in conn.execute(
            select(c.c.id, c.c.name, c.c.email, c.c.company).where(c.c.id.in_(chunk))
        ):
            out[r.id] = r
    return out


# --- planning ----------------------------------------------------------------


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
    table: dict[int, Stage]
    if day is None or day == d:
        table = stage_table(d, policy)
        if not table:
            return []
        lo = d - timedelta(days=max(table))
        hi = d - timedelta(days=min(table))
        candidates = open_invoices(conn, d, due_from=lo, due_to=hi)
        when = d
    else:
        days = {}
        for offset_stage in stages_for(day, policy):
            # the stage with this offset falls on ``day`` for invoices due day - offset
            days[offset_stage.offset] = day - timedelta(days=offset_stage.offset)
        dues = sorted(set(days.values()))
        candidates = open_invoices(conn, d, due_in=dues)
        candidates = [i for i in candidates if upcoming(i.due_on, day, policy) is not None]
        # pause is judged on the day itself
        paused = {
            r.id
            for r in conn.execute(
                select(c.c.id).where(
                    c.c.id.in_({i.customer_id for i in candidates}),
                    c.c.reminders_paused_until >= day,
                )
            )
        }
        candidates = [i for i in candidates if i.customer_id not in paused]
        table = {}
        when = day
    rows = outbox_rows(conn, [i.id for i in candidates])
    items: dict[int, list[tuple[InvoiceInfo, Item]]] = defaultdict(list)
    for i in candidates:
        stage = table.get((when - i.due_on).days) if table else upcoming(i.due_on, when, policy)
        if stage is None:
            continue
        mine = rows.get(i.id, {})
        done = _done_offset(mine)
        if done is not None and done >= stage.offset:
            continue
        existing = mine.get(stage.key)
        if existing is not None:
            if existing.status == "skipped":
                continue
            if existing.next_attempt_at is not None and existing.next_attempt_at > now_utc:
                continue
        rule = describe_stage(stage, when)
        items[i.customer_id].append((i, Item(i.id, i.number, stage.key, stage.send_on, rule)))
    if not items:
        return []
    who = _customers(conn, items)
    summary = policy.mode == "summary"
    listed: dict[int, list[InvoiceInfo]] = defaultdict(list)
    if summary:
        for i in open_invoices(conn, d, due_to=d - timedelta(days=1), customer_ids=list(items)):
            listed[i.customer_id].append(i)
    plans: list[Planned] = []
    for cid in sorted(items):
        person = who[cid]
        if summary:
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
                        template_for_stage(it.stage, names=_template_names()),
                        [it],
                        [info],
                    )
                )
    return plans


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
    names = _template_names()
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
            stage = due_stage(i.due_on, d, policy)
            mine = rows.get(i.id, {})
            done = _done_offset(mine)
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
            if policy.mode != "summary":
                plans.append(
                    Planned(
                        cid,
                        person.name,
                        person.email,
                        person.company,
                        template_for_stage(template_key, names=names),
                        [items[-1][1]],
                        [i],
                    )
                )
        if policy.mode == "summary" and items:
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


_names_cache: tuple[float, list[str]] | None = None


def _template_names() -> list[str]:
    global _names_cache
    now = time.monotonic()
    if _names_cache is None or now - _names_cache[0] > 30:
        _names_cache = (now, default_store().names())
    return _names_cache[1]


# --- building messages ---------------------------------------------------------


@dataclass
class Composer:
    """Renders and builds the messages of a batch (templates + customer notes only)."""

    mailer: Mailer
    d: date
    currency: str
    templates: TemplateStore | None = None

    def customer_notes(self, conn: Connection, customer_ids: Iterable[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = defaultdict(list)
        ids = sorted(set(customer_ids))
        for chunk in _chunks(ids, 5000):
            for cid, body in conn.execute(
                select(notes_t.c.customer_id, notes_t.c.body)
                .where(notes_t.c.customer_id.in_(chunk), notes_t.c.kind == "customer")
                .order_by(notes_t.c.created_at, notes_t.c.id)
            ):
                out[cid].append(body)
        return out

    def build(
        self,
        *,
        template: str,
        to_email: str,
        to_name: str,
        company: str | None,
        invoices: Sequence[InvoiceInfo],
        notes: Sequence[str],
        stage: str | None,
        figures: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        lines = [
            invoice_line(
                number=i.number,
                total=to_major(i.total_cents, self.currency),
                balance=to_major(i.total_cents - i.paid_cents, self.currency),
                due_on=i.due_on,
                today=self.d,
                currency=self.currency,
                issued_on=i.issued_on,
            )
            for i in invoices
        ]
        total_due = to_major(sum(i.total_cents - i.paid_cents for i in invoices), self.currency)
        sender = self.mailer.mail_from
        context = make_context(
            customer_name=to_name,
            customer_email=to_email,
            customer_company=company,
            invoices=lines,
            total_due=f"{total_due} {self.currency}",
            figures=figures or {},
            customer_notes=list(notes),
            sender_name=sender.display_name,
            sender_email=sender.addr_spec,
            stage=stage if stage and _offset(stage) is not None else None,
            today=self.d,
            extra=extra,
        )
        store = self.templates or default_store()
        rendered = store.render(template, context)
        all_headers = {"X-OpenInvoice-Template": template, **(headers or {})}
        return self.mailer.compose(
            to_email=to_email,
            to_name=to_name,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            headers=all_headers,
        )


# --- recovery ----------------------------------------------------------------


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
        if _claimer_dead(r.claimed_by)
        or (r.claimed_at is not None and r.claimed_at <= now_utc - stale_after)
    ]
    if not stale:
        return 0
    error = (
        "The sender stopped before recording whether the server accepted this message; "
        "it may or may not have been delivered, so it is not sent again automatically"
    )
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


# --- claiming ----------------------------------------------------------------


def still_due(conn: Connection, invoice_ids: Sequence[int], d: date) -> set[int]:
    """Of these invoices, those still unpaid and countable, customer not paused or opted out."""
    rows = list(
        conn.execute(
            select(inv.c.id, inv.c.total_cents, inv.c.paid_cents, inv.c.last_paid_on)
            .join_from(inv, c, c.c.id == inv.c.customer_id)
            .where(
                inv.c.id.in_(list(invoice_ids)),
                inv.c.status == "sent",
                inv.c.issued_on <= d,
                _eligible_customer(d),
            )
        )
    )
    ahead = [r.id for r in rows if r.last_paid_on is not None and r.last_paid_on > d]
    paid = _paid_as_of(conn, ahead, d) if ahead else {}
    return {r.id for r in rows if r.total_cents - paid.get(r.id, r.paid_cents) > 0}


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
) -> list[Claimed]:
    """Claim these emails in the caller's write transaction; returns what to send.

    Re-reads the outbox under the customer lock, so a plan that another
    sender already covered is dropped. Each kept email gets its ``emails``
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
    notes = composer.customer_notes(conn, {p.customer_id for p in plans})
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
            off = _offset(it.stage)
            done = _done_offset(mine)
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
        stage = items[0][0].stage if len(p.items) == 1 else None
        header = ", ".join(f"{it.invoice_id}:{it.stage}" for it, _ in items)
        msg = composer.build(
            template=p.template,
            to_email=p.email,
            to_name=p.name,
            company=p.company,
            invoices=listed,
            notes=notes.get(p.customer_id, []),
            stage=stage,
            headers={HEADER: header},
        )
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
            off = _offset(it.stage)
            for key, row in rows.get(it.invoice_id, {}).items():
                o = _offset(key)
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


# --- marking ----------------------------------------------------------------


@dataclass
class _Mark:
    email_id: int
    status: str  # sent, in_doubt, failed, retry, cancel, release
    error: str | None = None
    transport: str = "smtp"
    retry_at: datetime | None = None


def _flush(engine: Engine, me: str, marks: list[_Mark], now_utc: datetime) -> None:
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


# --- one pass ------------------------------------------------------------------


@dataclass
class Hooks:
    """Test seams: called after a claim commits, and before each send."""

    after_claim: Callable[[list[Claimed]], None] | None = None
    before_send: Callable[[Claimed], None] | None = None


def policy_for(ws: Workspace) -> ReminderPolicy:
    """The reminder policy of the config (``[reminders]``), time zone from the workspace."""
    policy = policy_from_config(ws.config)
    if "timezone" not in ws.config.section("reminders") and not ws.config.get("timezone"):
        tz = ws.settings.get("timezone")
        if tz:
            from dataclasses import replace

            policy = replace(policy, timezone=str(tz))
    return policy


def send_due(
    ws: Workspace,
    mailer: Mailer,
    *,
    now: datetime | None = None,
    policy: ReminderPolicy | None = None,
    respect_window: bool = True,
    plans: Sequence[Planned] | None = None,
    origin: str = "daemon",
    me: str | None = None,
    stale_after: timedelta = STALE_AFTER,
    chunk: int = CHUNK,
    should_stop: Callable[[], bool] | None = None,
    hooks: Hooks | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SendReport:
    """One pass: recover, plan (or take ``plans``), claim, send, mark."""
    policy = policy or policy_for(ws)
    moment = now or ws.now()
    d = ws.as_of_override or moment.astimezone(ws.timezone()).date()
    now_utc = utc_naive(moment)
    me = me or worker_id()
    report = SendReport()
    hooks = hooks or Hooks()
    engine = ws.engine
    report.recovered = recover_stale(engine, now_utc, stale_after)
    manual = plans is not None
    if respect_window and not manual and not in_sending_window(moment, policy):
        report.outside_window = True
        report.next_window = next_window_start(moment, policy)
        return report
    if plans is None:
        with read_tx(engine) as conn:
            plans = find_due(conn, d, policy, now_utc)
    report.planned = len(plans)
    if not plans:
        return report
    composer = Composer(mailer, d, ws.currency)
    done = 0
    with contextlib.ExitStack() as stack:
        session = None
        for start in range(0, len(plans), chunk):
            if should_stop is not None and should_stop():
                break
            with write_tx(engine) as conn:
                claimed = claim(
                    conn,
                    plans[start : start + chunk],
                    me=me,
                    now_utc=now_utc,
                    d=d,
                    origin=origin,
                    composer=composer,
                    manual=manual,
                )
            if not claimed:
                continue
            if hooks.after_claim:
                hooks.after_claim(claimed)
            if session is None:
                session = stack.enter_context(mailer.session())
            marks: list[_Mark] = []
            last_flush = time.monotonic()
            stop_at: int | None = None
            check = stack.enter_context(engine.connect())
            for n, item in enumerate(claimed):
                if should_stop is not None and should_stop():
                    stop_at = n
                    break
                if hooks.before_send:
                    hooks.before_send(item)
                ids = [it.invoice_id for it in item.plan.items] + [i.id for i in item.plan.invoices]
                with check.begin():
                    ok = still_due(check, sorted(set(ids)), d)
                if not set(ids) <= ok:
                    marks.append(_Mark(item.email_id, "cancel"))
                    report.cancelled += 1
                    continue
                outcome: SendOutcome = session.send(item.msg)
                if outcome.status is SendStatus.SENT:
                    marks.append(_Mark(item.email_id, "sent", transport=outcome.transport))
                    report.sent += 1
                    report.reminders_sent += len(item.plan.items)
                elif outcome.status is SendStatus.IN_DOUBT:
                    marks.append(_Mark(item.email_id, "in_doubt", outcome.error))
                    report.in_doubt += 1
                    report.errors.append(outcome.error or "in doubt")
                elif outcome.connection_failed or outcome.retryable:
                    marks.append(_Mark(item.email_id, "retry", outcome.error))
                    report.retry_later += 1
                    report.errors.append(outcome.error or "failed")
                    if outcome.connection_failed:
                        report.connection_failed = True
                        stop_at = n + 1
                        break
                else:
                    marks.append(_Mark(item.email_id, "failed", outcome.error))
                    report.failed += 1
                    report.errors.append(outcome.error or "failed")
                done += 1
                if progress:
                    progress(done, len(plans))
                if len(marks) >= FLUSH_EVERY or time.monotonic() - last_flush > FLUSH_SECONDS:
                    _flush(engine, me, marks, now_utc)
                    marks = []
                    last_flush = time.monotonic()
            if stop_at is not None:
                retry_at = (
                    now_utc + timedelta(seconds=backoff_seconds(1))
                    if report.connection_failed
                    else None
                )
                for item in claimed[stop_at:]:
                    marks.append(_Mark(item.email_id, "release", retry_at=retry_at))
                    report.released += 1
            _flush(engine, me, marks, now_utc)
            check.close()
            if report.connection_failed or stop_at is not None:
                break
    return report
