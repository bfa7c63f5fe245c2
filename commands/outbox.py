"""The reminder engine (an outbox), shared by the reminder commands and the daemon.

This module runs one pass (:func:`send_due`) and re-exports the pieces, which
live in ``outbox_state`` (statuses, limits, data classes), ``outbox_queries``
(SQL reads), ``outbox_plan`` (what is due), ``reminder_messages`` (building
emails) and ``outbox_claims`` (claim, recover, mark).

One pass of :func:`send_due`:

1. **Recover**: rows left ``claimed`` by a sender that died (its process is
   gone, or the claim is older than ``stale_after``) become ``in_doubt``
   with their email: never resent automatically.
2. **Plan** (:func:`find_due`): SQL finds the unpaid countable invoices whose
   due date lies in the window where a stage can be due (a partial index on
   open invoices, covering the columns read, makes this a few thousand index
   entries among a million invoices); the stage due now depends only on the
   days since the due date (catch-up: only the most recent missed stage), and
   rows already in the outbox (sent, claimed, in doubt, failed for good) rule
   stages out. Addresses and invoice lines are read per chunk, just before
   claiming (:func:`add_details`).
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.mailer import Mailer, SendOutcome, SendStatus
from commands.outbox_claims import Mark, claim, flush_marks, recover_stale, recover_stale_emails
from commands.outbox_details import add_details
from commands.outbox_plan import describe_stage, due_window, find_due, plan_manual, stage_table
from commands.outbox_queries import open_invoices, outbox_rows, still_due
from commands.outbox_state import (
    CATCH_UP_DAYS,
    CHUNK,
    DONE,
    FLUSH_EVERY,
    FLUSH_SECONDS,
    HEADER,
    MAX_ATTEMPTS,
    STALE_AFTER,
    Claimed,
    InvoiceInfo,
    Item,
    Planned,
    SendReport,
    backoff_seconds,
    in_ids,
    utc_naive,
    worker_id,
)
from commands.reminder_messages import Composer, prebuild
from commands.reminder_schedule import (
    ReminderPolicy,
    in_sending_window,
    next_window_start,
    policy_from_config,
)
from commands.workspace import Workspace
from store.engine import read_tx, write_tx

__all__ = [
    "CATCH_UP_DAYS",
    "CHUNK",
    "DONE",
    "HEADER",
    "MAX_ATTEMPTS",
    "STALE_AFTER",
    "Claimed",
    "Composer",
    "Hooks",
    "InvoiceInfo",
    "Item",
    "Planned",
    "SendReport",
    "add_details",
    "backoff_seconds",
    "claim",
    "describe_stage",
    "due_window",
    "find_due",
    "in_ids",
    "open_invoices",
    "outbox_rows",
    "plan_manual",
    "policy_for",
    "recover_stale",
    "send_due",
    "stage_table",
    "still_due",
    "utc_naive",
    "worker_id",
]


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
    recover_stale_emails(engine, now_utc, stale_after)
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
            part = plans[start : start + chunk]
            if any(not p.invoices for p in part):
                with read_tx(engine) as conn:
                    add_details(conn, part, d)
            messages = prebuild(engine, composer, part)
            with write_tx(engine) as conn:
                claimed = claim(
                    conn,
                    part,
                    me=me,
                    now_utc=now_utc,
                    d=d,
                    origin=origin,
                    composer=composer,
                    manual=manual,
                    prebuilt=messages,
                )
            if not claimed:
                continue
            if hooks.after_claim:
                hooks.after_claim(claimed)
            if session is None:
                session = stack.enter_context(mailer.session())
            marks: list[Mark] = []
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
                    marks.append(Mark(item.email_id, "cancel"))
                    report.cancelled += 1
                    continue
                outcome: SendOutcome = session.send(item.msg)
                if outcome.status is SendStatus.SENT:
                    marks.append(Mark(item.email_id, "sent", transport=outcome.transport))
                    report.sent += 1
                    report.reminders_sent += len(item.plan.items)
                elif outcome.status is SendStatus.IN_DOUBT:
                    marks.append(Mark(item.email_id, "in_doubt", outcome.error))
                    report.in_doubt += 1
                    report.errors.append(outcome.error or "in doubt")
                elif outcome.connection_failed or outcome.retryable:
                    marks.append(Mark(item.email_id, "retry", outcome.error))
                    report.retry_later += 1
                    report.errors.append(outcome.error or "failed")
                    if outcome.connection_failed:
                        report.connection_failed = True
                        stop_at = n + 1
                        break
                else:
                    marks.append(Mark(item.email_id, "failed", outcome.error))
                    report.failed += 1
                    report.errors.append(outcome.error or "failed")
                done += 1
                if progress:
                    progress(done, len(plans))
                if len(marks) >= FLUSH_EVERY or time.monotonic() - last_flush > FLUSH_SECONDS:
                    flush_marks(engine, me, marks, now_utc)
                    marks = []
                    last_flush = time.monotonic()
            if stop_at is not None:
                retry_at = (
                    now_utc + timedelta(seconds=backoff_seconds(1))
                    if report.connection_failed
                    else None
                )
                for item in claimed[stop_at:]:
                    marks.append(Mark(item.email_id, "release", retry_at=retry_at))
                    report.released += 1
            flush_marks(engine, me, marks, now_utc)
            check.close()
            if report.connection_failed or stop_at is not None:
                break
    return report
