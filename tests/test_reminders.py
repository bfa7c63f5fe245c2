"""Reminder commands: remind now (preview, confirmation, dry run), pause/resume with undo,
``reminders due tomorrow``, ``overdue invoices``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from commands.executor import run
from commands.results import ConfirmationNeeded, MessageResult, MutationResult, TableResult
from store.engine import read_tx
from store.models import Customer
from tests.reminders_support import D, emails, mail_env, outbox, received_keys, seed, workspace
from tests.smtp_server import SmtpTestServer

SATURDAY = datetime(2026, 7, 4, 20, 0)


@pytest.fixture
def mail(smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    mail_env(monkeypatch, tmp_path, smtp_server.url)
    return smtp_server


def test_remind_late_payers_confirm_dry_run_then_once_per_day(
    engine: Engine, mail: SmtpTestServer
) -> None:
    _, iids = seed(engine, customers=5, days_overdue=[9, 40])
    ws = workspace(engine, D, SATURDAY.replace(day=30, month=6))
    result = run(ws, "remind late payers")
    assert isinstance(result, ConfirmationNeeded) and result.affected == 5
    assert "C0000 Ltd <c0000@example.test>" in result.sample[0]
    dry = run(ws, "remind late payers", dry_run=True)
    assert isinstance(dry, MutationResult) and dry.dry_run and dry.affected == 5
    assert mail.messages == [] and outbox(engine) == []
    done = run(ws, "remind late payers", confirmed=True)
    assert isinstance(done, MutationResult) and done.affected == 5
    got = received_keys(mail.wait_for(5))
    assert got[(iids[0], "after-7")] == 1 and got[(iids[1], "after-30")] == 1
    assert {r.origin for r in outbox(engine)} == {"manual"}
    # asked again the same day: one manual reminder each, then no more that day
    again = run(ws, "send reminders for overdue invoices of late payers", confirmed=True)
    assert isinstance(again, MutationResult) and again.affected == 5
    assert received_keys(mail.wait_for(10))[(iids[0], "manual-2026-06-30")] == 1
    third = run(ws, "remind late payers", confirmed=True)
    assert isinstance(third, MessageResult) and "already reminded today" in third.text
    assert len(mail.messages) == 10


def test_remind_one_customer_goes_out_at_once_outside_the_window(
    engine: Engine, mail: SmtpTestServer
) -> None:
    _cids, iids = seed(engine, customers=2, days_overdue=7)
    ws = workspace(engine, D, datetime(2026, 6, 30, 23, 30))
    result = run(ws, "remind c0001")
    assert isinstance(result, MutationResult) and result.affected == 1
    assert set(received_keys(mail.wait_for(1))) == {(iids[1], "after-7")}
    # the daemon will not send that stage again
    from commands.mailer import mailer_from_config
    from commands.outbox import send_due

    report = send_due(workspace(engine), mailer_from_config(ws.config))
    assert report.sent == 1
    assert set(received_keys(mail.messages)) == {(iids[1], "after-7"), (iids[0], "after-7")}


def test_pause_and_resume_are_audited_and_undoable(engine: Engine, mail: SmtpTestServer) -> None:
    cids, _ = seed(engine, customers=2, days_overdue=7)
    ws = workspace(engine)
    result = run(ws, "pause reminders for c0000 until 2026-07-15")
    assert isinstance(result, MutationResult) and result.affected == 1

    def paused() -> dict[int, date | None]:
        with read_tx(engine) as conn:
            rows = conn.execute(select(Customer.id, Customer.reminders_paused_until))
            return {cid: until for cid, until in rows}

    assert paused()[cids[0]] == date(2026, 7, 15)
    nothing = run(ws, "remind c0000")
    assert isinstance(nothing, MessageResult) and "paused until 2026-07-15" in nothing.text
    run(ws, "undo")
    assert paused()[cids[0]] is None
    run(ws, "pause reminders for c0001")
    assert paused()[cids[1]] == date(9999, 12, 31)
    run(ws, "resume reminders for c0001")
    assert paused()[cids[1]] is None
    run(ws, "undo")
    assert paused()[cids[1]] == date(9999, 12, 31)
    assert mail.messages == []


def test_reminders_due_tomorrow_and_now(engine: Engine, mail: SmtpTestServer) -> None:
    # tomorrow (D+1): due D+4 -> before-3, due D+1 -> due, due D-6 -> after-7
    _, iids = seed(engine, customers=5, days_overdue=[-4, -1, 6, 2, 9])
    ws = workspace(engine)
    result = run(ws, "reminders due tomorrow")
    assert isinstance(result, TableResult)
    stages = {(row[3], row[4]) for row in result.rows}
    numbers = {iid: f"C-{cid}-0" for iid, cid in zip(iids, range(1, 6), strict=True)}
    assert stages == {
        (numbers[iids[0]], "before-3"),
        (numbers[iids[1]], "due"),
        (numbers[iids[2]], "after-7"),
    }
    assert "09:00-17:00 Mon-Fri" in result.footer
    assert all(row[0] == D + timedelta(days=1) for row in result.rows)
    now = run(ws, "reminders due today")
    assert isinstance(now, TableResult)
    # now: due D+1 -> before-3 (catch-up), 6 and 2 days overdue -> due (catch-up), 9 -> after-7
    assert sorted(row[4] for row in now.rows) == ["after-7", "before-3", "due", "due"]
    assert any("catch-up" in row[6] for row in now.rows)
    assert mail.messages == []


def test_overdue_invoices(engine: Engine, mail: SmtpTestServer) -> None:
    seed(engine, customers=3, days_overdue=[5, -2, 12])
    result = run(workspace(engine), "overdue invoices")
    assert isinstance(result, TableResult)
    assert [row[7] for row in result.rows] == [12, 5]
    assert result.columns[-1] == "days overdue"
    one = run(workspace(engine), "overdue invoices of c0000")
    assert isinstance(one, TableResult) and len(one.rows) == 1
    assert emails(engine) == []


def test_per_customer_schedule_and_mode_from_custom_fields(
    engine: Engine, mail: SmtpTestServer
) -> None:
    """``reminder offsets`` / ``reminder mode`` custom fields override the defaults for one
    customer; an invalid value is ignored (default schedule), never a failed pass."""
    from commands.mailer import mailer_from_config
    from commands.outbox import send_due

    _, iids = seed(engine, customers=3, days_overdue=10)
    ws = workspace(engine)
    run(ws, 'set reminder offsets of c0000 to "0 10"', confirmed=True)
    run(ws, "set reminder mode of c0001 to summary", confirmed=True)
    run(ws, 'set reminder offsets of c0002 to "soon"', confirmed=True)
    due = run(ws, "reminders due today")
    assert isinstance(due, TableResult)
    rules = {row[3]: (row[4], row[5], row[6]) for row in due.rows}
    assert rules["C-1-0"][0] == "after-10" and "own schedule" in rules["C-1-0"][2]
    assert rules["C-2-0"][:2] == ("after-7", "reminder-summary")
    assert rules["C-3-0"][:2] == ("after-7", "reminder-overdue-7")
    assert send_due(ws, mailer_from_config(ws.config)).sent == 3
    messages = mail.wait_for(3)
    assert set(received_keys(messages)) == {
        (iids[0], "after-10"),
        (iids[1], "after-7"),
        (iids[2], "after-7"),
    }
    templates = {str(m.message["X-OpenInvoice-Template"]) for m in messages}
    assert "reminder-summary" in templates
    # the next day nothing is due for the customer with stages 0 and 10 only
    tomorrow = run(ws, "reminders due tomorrow")
    assert isinstance(tomorrow, TableResult)
    assert all(row[3] != "C-1-0" for row in tomorrow.rows)
