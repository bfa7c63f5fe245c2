"""Issue 5 benchmarks: sending due reminders, and finding them among a million invoices.

``python -m tests.bench.bench_reminders``.

* Sending: 2,000 due reminders (one per invoice) through the whole outbox
  pass (plan, claim, render, send over SMTP, mark sent) to a local aiosmtpd
  server, beside the floor: a bare ``smtplib`` loop sending the same
  messages over one connection. Goal: within 1.5x.
* Finding: :func:`commands.outbox.find_due` on the 100k-customer demo
  database (about a million invoices), beside the raw SQL that selects the
  candidate invoices (customer, due date, id: what find_due reads; addresses
  and invoice lines are read at send time) through ``sqlite3``. Goal: under
  200 ms. Read-only: the database is opened without migrating, nothing is
  written (a database made before migration 0005 lacks the covering indexes:
  rebuild it).
"""

from __future__ import annotations

import smtplib
import sqlite3
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from commands.config import Config
from commands.mailer import SmtpMailer, SmtpSettings
from commands.outbox import due_window, find_due, policy_for, send_due
from commands.reminder_schedule import ReminderPolicy, stages_for
from commands.workspace import Workspace
from store.engine import make_engine, read_tx
from store.models import UNREMINDABLE
from tests.bench.common import AS_OF, HEADER, bench_db, row, settle_disk, timeit
from tests.reminders_support import MAIL_FROM, NOON, seed, workspace
from tests.smtp_server import SmtpTestServer

REMINDERS = 2000

#: the candidate invoices, by hand: unpaid, countable, due in the window, customer reachable;
#: what find_due reads (customer, due date, invoice) from the covering partial index of open
#: invoices, customers ruled out through their partial index of unremindable customers
FLOOR_SQL = (
    "SELECT i.customer_id, i.due_on, i.id FROM invoices i "
    "WHERE i.status = 'sent' AND i.paid_cents < i.total_cents "
    "AND i.due_on >= ? AND i.due_on <= ? AND i.issued_on <= ? "
    f"AND i.customer_id NOT IN (SELECT c.id FROM customers c WHERE ({UNREMINDABLE}) "
    "AND NOT (c.status = 'active' AND c.reminders_opt_out = 0 "
    "AND (c.reminders_paused_until IS NULL OR c.reminders_paused_until < ?) "
    "AND c.email IS NOT NULL AND c.email <> ''))"
)


def bench_sending() -> tuple[float, float, int]:
    """(ours seconds, floor seconds, messages) for 2,000 due reminders."""
    server = SmtpTestServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'send.db'}")
            seed(engine, customers=REMINDERS, days_overdue=[7, 14, 30, 0])
            ws = workspace(engine)
            mailer = SmtpMailer(SmtpSettings.from_url(server.url), MAIL_FROM)
            start = time.perf_counter()
            report = send_due(ws, mailer)
            ours = time.perf_counter() - start
            engine.dispose()
        if report.sent != REMINDERS:
            raise SystemExit(f"expected {REMINDERS} sent, got {report.summary()}")
        messages = [m.message for m in server.wait_for(REMINDERS)]
        server.clear()
        where = urlsplit(server.url)
        start = time.perf_counter()
        with smtplib.SMTP(where.hostname or "127.0.0.1", where.port or 25) as smtp:
            for msg in messages:
                smtp.send_message(msg)
        floor = time.perf_counter() - start
        server.wait_for(REMINDERS)
    finally:
        server.stop()
    return ours, floor, len(messages)


def bench_finding(day: date | None = None) -> tuple[float, float, int, int]:
    """(ours seconds, floor seconds, emails planned, invoices) on the 100k database.

    ``day`` None: what is due now, catch-up included (the demo database has no
    reminder history, so every open invoice in the catch-up window is due);
    a later ``day``: ``reminders due <day>``, only the stages falling on it.
    """
    path, _ = bench_db()
    settle_disk()  # the sending bench before this one wrote its own database
    engine = make_engine(f"sqlite:///{path}", migrate=False)
    ws = Workspace(engine=engine, config=Config({}), as_of_override=AS_OF, clock_override=NOON)
    policy: ReminderPolicy = policy_for(ws)
    found: list[Any] = []

    def ours() -> None:
        with read_tx(engine) as conn:
            found[:] = find_due(conn, AS_OF, policy, NOON, day=day)

    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    raw.execute("PRAGMA cache_size=-65536")
    d = AS_OF.isoformat()
    if day is None:
        lo, hi = due_window(AS_OF, policy)
        sql, params = FLOOR_SQL, [lo.isoformat(), hi.isoformat(), d, d]
    else:  # the invoices whose stage falls on that day: due on one of a few dates
        dues = sorted(
            {(day - timedelta(days=s.offset)).isoformat() for s in stages_for(day, policy)}
        )
        marks = ",".join("?" * len(dues))
        sql = FLOOR_SQL.replace("i.due_on >= ? AND i.due_on <= ?", f"i.due_on IN ({marks})")
        params = [*dues, d, d]

    def floor() -> None:
        raw.execute(sql, params).fetchall()

    t_ours = timeit(ours, repeat=7)
    t_floor = timeit(floor, repeat=7)
    invoices = raw.execute("SELECT count(*) FROM invoices").fetchone()[0]
    raw.close()
    engine.dispose()
    return t_ours, t_floor, len(found), invoices


def main() -> None:
    print("## Reminders")
    print(HEADER)
    ours, floor, n = bench_sending()
    print(row(f"send {n:,} due reminders (aiosmtpd)", ours, floor, "within 1.5x"))
    t_ours, t_floor, planned, invoices = bench_finding()
    label = f"find due reminders among {invoices:,} invoices, catch-up ({planned:,} due)"
    print(row(label, t_ours, t_floor, "< 200 ms"))
    tomorrow = AS_OF + timedelta(days=1)
    t_ours, t_floor, planned, invoices = bench_finding(tomorrow)
    label = f"reminders due tomorrow among {invoices:,} invoices ({planned:,} due)"
    print(row(label, t_ours, t_floor, "< 200 ms"))


if __name__ == "__main__":
    main()
