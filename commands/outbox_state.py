"""The outbox's vocabulary: statuses, limits, the tables, what a pass plans, claims and reports.

Shared by the planning, claiming and sending modules of the reminder outbox
(``commands/outbox.py`` describes one pass). Stage keys are the schedule's
(``after-7``...) or ``manual-YYYY-MM-DD``; :func:`offset_of` gives a stage's
days from the due date (None for manual ones).
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import (
    false,
    text,
)

from commands.reminder_schedule import (
    stage_offset,
)

#: a stage more than this many days old when first seen is not sent any more
CATCH_UP_DAYS = 30


#: a claim older than this (its sender silent) is reported in doubt
STALE_AFTER = timedelta(minutes=15)


#: retries of a 4xx refusal or an unreachable server before giving up
MAX_ATTEMPTS = 10


RETRY_BASE_S = 60


RETRY_MAX_S = 3600


#: emails claimed per write transaction; a sender killed mid-chunk leaves at most this many
#: (plus the unrecorded outcomes) in doubt, so it stays small
CHUNK = 20


#: outcome rows are written at least every this many messages (and seconds)
FLUSH_EVERY = 20


FLUSH_SECONDS = 0.5


#: statuses that rule a stage out for good (the exactly-once set)
DONE = ("sent", "claimed", "in_doubt", "failed")


HEADER = "X-OpenInvoice-Reminders"


@dataclass(slots=True)
class InvoiceInfo:
    id: int
    customer_id: int
    number: str
    issued_on: date
    due_on: date
    total_cents: int
    paid_cents: int


@dataclass(slots=True)
class Item:
    """One (invoice, stage) an email claims."""

    invoice_id: int
    number: str
    stage: str
    send_on: date
    rule: str


@dataclass(slots=True)
class Planned:
    """One email to send: to one customer, claiming one or more (invoice, stage).

    Plans of :func:`commands.outbox_plan.find_due` come without address,
    invoice numbers and ``invoices`` (empty until
    :func:`commands.outbox_details.add_details` reads them).
    """

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


def claimer_dead(claimed_by: str | None) -> bool:
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


@functools.lru_cache(maxsize=4096)
def offset_of(key: str) -> int | None:
    try:
        return stage_offset(key)
    except ValueError:
        return None


def done_offset(rows: dict[str, Any]) -> int | None:
    offsets = [o for k, r in rows.items() if r.status in DONE and (o := offset_of(k)) is not None]
    return max(offsets) if offsets else None


def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def in_ids(column: Any, ids: Iterable[int]) -> Any:
    """``column IN (1, 2, ...)``: bound parameters for a few ids, inlined integers for many.

    Thousands of ids as bound parameters cost more to compile than the
    query takes to run; integers (``int()`` checks every one) are safe inline.
    A short list stays a bound ``IN`` so the statement's compiled form is cached
    (the per-message checks of a batch run it thousands of times).
    """
    values = [int(i) for i in ids]
    if not values:
        return false()
    if len(values) <= SMALL_IN:
        return column.in_(values)
    return text(f"{column.table.name}.{column.name} IN ({','.join(map(str, values))})")


#: up to this many ids, ``in_ids`` binds them as parameters
SMALL_IN = 50
