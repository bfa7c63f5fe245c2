"""The reminder outbox against a real aiosmtpd server, on SQLite and PostgreSQL.

Counts what the server received: each (invoice, stage) at most once, the
schedule's stages with catch-up, pause/opt-out/window, SMTP outages and
refusals, in-doubt sends, a payment between claim and send, summary mode.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from commands.mailer import mailer_from_config
from commands.outbox import Hooks, find_due, policy_for, send_due
from store.engine import read_tx, write_tx
from store.models import Customer, Email, Reminder
from store.writes import insert_payments
from tests.reminders_support import (
    NOON,
    D,
    emails,
    mail_env,
    outbox,
    received_keys,
    seed,
    workspace,
)
from tests.smtp_server import SmtpTestServer


@pytest.fixture
def mail(smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    mail_env(monkeypatch, tmp_path, smtp_server.url)
    return smtp_server


def test_schedule_catch_up_and_exactly_once(engine: Engine, mail: SmtpTestServer) -> None:
    # days overdue -> the stage due now (catch-up: only the most recent missed one)
    expected = {
        -3: "before-3",
        0: "due",
        7: "after-7",
        10: "after-7",
        20: "after-14",
        35: "after-30",
        50: "repeat-44",
        100: "repeat-72",
    }
    days = [*expected, -5, 150]  # -5: nothing yet; 150: too old (stale), nothing
    _, iids = seed(engine, customers=len(days), days_overdue=days)
    by_days = dict(zip(days, iids, strict=True))
    ws = workspace(engine)
    mailer = mailer_from_config(ws.config)
    report = send_due(ws, mailer)
    assert report.sent == len(expected)
    got = received_keys(mail.wait_for(len(expected)))
    assert got == Counter({(by_days[k], stage): 1 for k, stage in expected.items()})
    # the same pass again, and the next days: nothing twice
    assert send_due(ws, mailer).sent == 0
    for later in range(1, 8):
        day = D + timedelta(days=later)
        send_due(workspace(engine, day, datetime.combine(day, NOON.time())), mailer)
    got = received_keys(mail.messages)
    assert max(got.values()) == 1
    # a week later the after-7 ones moved to after-14, the due one to after-7 ...
    assert got[(by_days[7], "after-14")] == 1
    assert got[(by_days[0], "after-7")] == 1
    assert got[(by_days[-5], "before-3")] == 1
    assert all(r.status == "sent" for r in outbox(engine))
    assert all(e.status == "sent" and e.message_id for e in emails(engine))


def test_a_stage_caught_up_late_is_worded_for_the_days_overdue(
    engine: Engine, mail: SmtpTestServer
) -> None:
    """6 days overdue at the first pass: the stage is still "due" (exactly-once key),
    but the email says overdue, not "due today"; "before-3" on the due date says due today."""
    _, iids = seed(engine, customers=2, days_overdue=[6, 0])
    ws = workspace(engine, config={"reminders": {"offsets": "-3 7"}})
    ws_default = workspace(engine)
    assert send_due(ws_default, mailer_from_config(ws.config)).sent == 2
    messages = {next(iter(received_keys([m]))): m.message for m in mail.wait_for(2)}
    late = messages[(iids[0], "due")]
    assert str(late["X-OpenInvoice-Template"]) == "reminder-overdue-7"
    assert "is overdue" in str(late["Subject"])
    assert "6 days overdue" in late.get_body(("plain",)).get_content()
    assert str(messages[(iids[1], "due")]["Subject"]).endswith("is due today")
    _, more = seed(engine, customers=1, days_overdue=0, prefix="B")
    assert send_due(ws, mailer_from_config(ws.config)).sent == 1
    caught_up = mail.wait_for(3)[-1].message
    assert (more[0], "before-3") in received_keys([mail.messages[-1]])
    assert str(caught_up["X-OpenInvoice-Template"]) == "reminder-due"


def test_paid_between_claim_and_send_is_not_reminded(engine: Engine, mail: SmtpTestServer) -> None:
    _, iids = seed(engine, customers=3, days_overdue=7)
    ws = workspace(engine)

    def pay_first(claimed: list) -> None:
        with write_tx(engine) as conn:
            insert_payments(conn, [{"invoice_id": iids[0], "paid_on": D, "amount_cents": 10_000}])

    report = send_due(ws, mailer_from_config(ws.config), hooks=Hooks(after_claim=pay_first))
    assert report.sent == 2 and report.cancelled == 1
    got = received_keys(mail.wait_for(2))
    assert (iids[0], "after-7") not in got
    assert set(got) == {(iids[1], "after-7"), (iids[2], "after-7")}
    # and it stays unreminded
    assert send_due(ws, mailer_from_config(ws.config)).sent == 0
    assert len(mail.messages) == 2


def test_pause_opt_out_and_window(engine: Engine, mail: SmtpTestServer) -> None:
    cids, iids = seed(engine, customers=4, days_overdue=7)
    with write_tx(engine) as conn:
        c = Customer.__table__
        conn.execute(update(c).where(c.c.id == cids[0]).values(reminders_paused_until=D))
        conn.execute(
            update(c).where(c.c.id == cids[1]).values(reminders_paused_until=D - timedelta(1))
        )
        conn.execute(update(c).where(c.c.id == cids[2]).values(reminders_opt_out=True))
    mailer = mailer_from_config(workspace(engine).config)
    # Saturday, and Tuesday 18:00: outside the default window, nothing goes out
    for clock in (datetime(2026, 7, 4, 10, 0), datetime(2026, 6, 30, 17, 0)):
        report = send_due(workspace(engine, clock.date(), clock), mailer)
        assert report.outside_window and report.sent == 0
        assert report.next_window is not None and report.next_window > clock.replace(
            tzinfo=report.next_window.tzinfo
        )
    report = send_due(workspace(engine), mailer)
    assert report.sent == 2
    assert set(received_keys(mail.wait_for(2))) == {(iids[1], "after-7"), (iids[3], "after-7")}
    # window "any" in the config turns it off
    ws_any = workspace(engine, D, datetime(2026, 7, 4, 23, 0), {"reminders": {"window": "any"}})
    assert not send_due(ws_any, mailer).outside_window


def test_smtp_down_nothing_lost_retried_with_backoff(engine: Engine, mail: SmtpTestServer) -> None:
    _, iids = seed(engine, customers=5, days_overdue=7)
    ws = workspace(engine)
    mailer = mailer_from_config(ws.config)
    mail.stop()
    report = send_due(ws, mailer)
    assert report.connection_failed and report.sent == 0
    rows = outbox(engine)
    assert {r.status for r in rows} == {"pending"}
    failed = [e for e in emails(engine) if e.status == "failed"]
    assert len(failed) == 1 and "refused the connection" in failed[0].error
    mail.start()
    # backing off: not yet
    assert send_due(ws, mailer).sent == 0
    later = workspace(engine, D, NOON + timedelta(minutes=2))
    assert send_due(later, mailer).sent == 5
    assert received_keys(mail.wait_for(5)) == Counter({(i, "after-7"): 1 for i in iids})
    statuses = Counter(e.status for e in emails(engine))
    assert statuses == Counter({"sent": 5, "failed": 1})


def test_refusals_retry_or_fail_and_in_doubt_is_never_resent(
    engine: Engine, mail: SmtpTestServer
) -> None:
    _, _iids = seed(engine, customers=2, days_overdue=7)
    mailer = mailer_from_config(workspace(engine).config)
    mail.refuse(451, at="rcpt")
    report = send_due(workspace(engine), mailer)
    assert report.retry_later == 2
    mail.refuse(550, at="data")
    report = send_due(workspace(engine, D, NOON + timedelta(minutes=5)), mailer)
    assert report.failed == 2
    history = emails(engine)
    assert [e.status for e in history] == ["failed"] * 4
    assert "451" in history[0].error and "550" in history[-1].error
    assert {r.status for r in outbox(engine)} == {"failed"}
    mail.refuse(None)
    assert send_due(workspace(engine, D, NOON + timedelta(hours=2)), mailer).sent == 0
    # in doubt: the server got it but never answered
    _, more = seed(engine, customers=1, days_overdue=14, prefix="X")
    mail.drop_after_data()
    report = send_due(workspace(engine), mailer)
    assert report.in_doubt == 1
    mail.drop_after_data(False)
    assert send_due(workspace(engine, D, NOON + timedelta(hours=3)), mailer).sent == 0
    assert received_keys(mail.messages)[(more[0], "after-14")] == 1
    row = next(r for r in outbox(engine) if r.invoice_id == more[0])
    assert row.status == "in_doubt"
    assert emails(engine)[-1].status == "in_doubt"


def test_stale_claim_of_a_dead_sender_becomes_in_doubt(
    engine: Engine, mail: SmtpTestServer
) -> None:
    cids, iids = seed(engine, customers=2, days_overdue=7)
    with write_tx(engine) as conn:
        conn.execute(
            insert(Reminder.__table__).values(
                invoice_id=iids[0],
                customer_id=cids[0],
                stage="after-7",
                send_on=D,
                status="claimed",
                claimed_by="elsewhere:1:x",
                claimed_at=NOON - timedelta(hours=1),
                attempts=0,
                origin="daemon",
            )
        )
    report = send_due(workspace(engine), mailer_from_config(workspace(engine).config))
    assert report.recovered == 1 and report.sent == 1
    assert set(received_keys(mail.wait_for(1))) == {(iids[1], "after-7")}
    with read_tx(engine) as conn:
        statuses = dict(
            conn.execute(select(Reminder.invoice_id, Reminder.status)).all()  # type: ignore[arg-type]
        )
    assert statuses == {iids[0]: "in_doubt", iids[1]: "sent"}


def test_email_left_queued_by_a_stopped_sender_becomes_in_doubt(
    engine: Engine, mail: SmtpTestServer
) -> None:
    """A ``send TEMPLATE`` killed between recording and sending: its email is in doubt."""
    cids, _ = seed(engine, customers=1, days_overdue=-20)
    with write_tx(engine) as conn:
        for created in (NOON - timedelta(hours=1), NOON - timedelta(minutes=1)):
            conn.execute(
                insert(Email.__table__).values(
                    customer_id=cids[0],
                    created_at=created,
                    template="feedback-request",
                    subject="How are we doing?",
                    to_address="c0000@example.test",
                    status="queued",
                    message_id=f"<{created.minute}@example.test>",
                    invoice_numbers=[],
                )
            )
    send_due(workspace(engine), mailer_from_config(workspace(engine).config))
    assert [e.status for e in emails(engine)] == ["in_doubt", "queued"]  # the recent one waits
    assert "may or may not have been delivered" in (emails(engine)[0].error or "")


def test_summary_mode_one_email_per_customer(engine: Engine, mail: SmtpTestServer) -> None:
    _, _iids = seed(engine, customers=2, invoices_each=3, days_overdue=[7, 20, 2])
    ws = workspace(engine, config={"reminders": {"mode": "summary"}})
    report = send_due(ws, mailer_from_config(ws.config))
    assert report.sent == 2
    messages = mail.wait_for(2)
    assert {m.message["X-OpenInvoice-Template"] for m in messages} == {"reminder-summary"}
    got = received_keys(messages)
    # each customer: after-7 and after-14 claimed; the 2-days-overdue one is listed
    # in the email but its "due" stage was ... also caught up (due stage <= D)
    assert max(got.values()) == 1
    assert len(got) == 6
    body = messages[0].message.get_body(("plain",)).get_content()
    assert "Total open" in body
    assert send_due(ws, mailer_from_config(ws.config)).sent == 0


def test_due_finding_reads_only_the_covering_indexes(sqlite_engine: Engine) -> None:
    """The query find_due runs reads the partial index of open invoices alone (it
    covers the columns needed, in the order wanted: no sort step) and the partial
    index of unremindable customers."""
    from sqlalchemy import event

    seed(sqlite_engine, customers=3, days_overdue=7)
    ws = workspace(sqlite_engine)
    seen: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "paid_cents < invoices.total_cents" in statement and "NOT IN" in statement:
            seen.append((statement, parameters))

    event.listen(sqlite_engine, "before_cursor_execute", capture)
    try:
        with read_tx(sqlite_engine) as conn:
            assert len(find_due(conn, D, policy_for(ws), NOON)) == 3
    finally:
        event.remove(sqlite_engine, "before_cursor_execute", capture)
    assert len(seen) == 1
    statement, parameters = seen[0]
    with read_tx(sqlite_engine) as conn:
        plan = [
            str(row[-1])
            for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    assert "USING COVERING INDEX ix_invoices_open_due" in plan[0], plan
    assert any("ix_customers_unremindable" in step for step in plan[1:]), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


def test_dates_of_catch_up_window() -> None:
    from commands.outbox import CATCH_UP_DAYS, due_window
    from commands.reminder_schedule import ReminderPolicy

    lo, hi = due_window(D, ReminderPolicy())
    assert hi == D + timedelta(days=3)
    assert lo == D - timedelta(days=72 + CATCH_UP_DAYS)
    assert isinstance(lo, date)
