"""Retention emails, email history and engagement; internal notes never reach an email."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from commands.executor import run
from commands.mailer import mailer_from_config
from commands.outbox import send_due
from commands.results import ConfirmationNeeded, MutationResult, TableResult
from commands.verbs_email import email_history, engagement
from store.engine import read_tx, write_tx
from store.models import Note
from store.writes import insert_payments
from tests.reminders_support import NOON, D, emails, mail_env, seed, workspace
from tests.smtp_server import SmtpTestServer

INTERNAL = "INTERNAL-SECRET: slow payer, do not extend credit"
CUSTOMER_NOTE = "Contract 42: net 30, quote PO-7781"


def add_notes(engine: Engine, cids: list[int]) -> None:
    with write_tx(engine) as conn:
        for cid in cids:
            for kind, body in (("internal", INTERNAL), ("customer", CUSTOMER_NOTE)):
                conn.execute(
                    insert(Note.__table__).values(
                        customer_id=cid, kind=kind, body=body, author="t", created_at=NOON
                    )
                )


def bodies(server: SmtpTestServer) -> list[str]:
    return [m.data.decode("utf-8", "replace") + m.message.as_string() for m in server.messages]


@pytest.fixture
def mail(smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    mail_env(monkeypatch, tmp_path, smtp_server.url)
    return smtp_server


def test_feedback_request_to_at_risk_customers(engine: Engine, mail: SmtpTestServer) -> None:
    cids, _ = seed(engine, customers=4, days_overdue=20)  # overdue: late payers, at risk
    seed(engine, customers=2, days_overdue=-10, prefix="Z")  # not at risk
    add_notes(engine, cids)
    ws = workspace(engine)
    preview = run(ws, "send feedback request to at-risk customers")
    assert isinstance(preview, ConfirmationNeeded) and preview.affected == 4
    assert mail.messages == []
    result = run(ws, "send feedback request to at-risk customers", confirmed=True)
    assert isinstance(result, MutationResult) and result.affected == 4
    messages = mail.wait_for(4)
    assert {m.message["X-OpenInvoice-Template"] for m in messages} == {"feedback-request"}
    assert all(CUSTOMER_NOTE in b for b in bodies(mail))
    assert not any("INTERNAL-SECRET" in b for b in bodies(mail))
    assert "(1 invoices so far)" in messages[0].message.get_body(("plain",)).get_content()
    history = emails(engine)
    assert [e.status for e in history] == ["sent"] * 4
    assert {e.message_id for e in history} == {m.message_id for m in messages}


def test_discount_offer_to_inactive_trial_customers_and_reminders_keep_notes_internal(
    engine: Engine, mail: SmtpTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cids, _ = seed(engine, customers=2, days_overdue=200)  # long ago: inactive
    add_notes(engine, cids)
    ws = workspace(engine, config={"offer": {"percent": 15, "code": "COMEBACK"}})
    run(ws, "tag c0000 with trial")
    result = run(ws, "send discount offer to inactive customers tagged trial")
    assert isinstance(result, MutationResult) and result.affected == 1
    msg = mail.wait_for(1)[0].message
    assert str(msg["Subject"]) == "C0000 Ltd, 15% off your next order"
    assert "COMEBACK" in msg.get_body(("plain",)).get_content()
    # reminders (per invoice and summary) never carry internal notes either
    more, _ = seed(engine, customers=2, days_overdue=7, prefix="R")
    add_notes(engine, more)
    send_due(workspace(engine), mailer_from_config(ws.config))
    summary = workspace(engine, config={"reminders": {"mode": "summary"}})
    seed(engine, customers=1, days_overdue=14, prefix="S")
    add_notes(engine, [more[-1] + 1])
    send_due(summary, mailer_from_config(ws.config))
    assert len(mail.messages) == 4
    assert not any("INTERNAL-SECRET" in b for b in bodies(mail))
    assert sum(CUSTOMER_NOTE in b for b in bodies(mail)) == 4


def test_unknown_template_suggests(engine: Engine, mail: SmtpTestServer) -> None:
    from commands.errors import UserError

    seed(engine, customers=1)
    with pytest.raises(UserError) as err:
        run(workspace(engine), "send feedbak-request to c0000")
    assert "feedback-request" in err.value.suggestions


def test_email_history_and_engagement(engine: Engine, mail: SmtpTestServer) -> None:
    cids, iids = seed(engine, customers=1, invoices_each=3, days_overdue=[7, 14, 30])
    ws = workspace(engine)
    mailer = mailer_from_config(ws.config)
    assert send_due(ws, mailer).sent == 3
    mail.refuse(550, at="rcpt")
    run(ws, "send feedback request to c0000")
    mail.refuse(None)
    with write_tx(engine) as conn:  # one reminded invoice paid 3 days later, one 9 days later
        insert_payments(
            conn,
            [
                {"invoice_id": iids[0], "paid_on": D + timedelta(days=3), "amount_cents": 10_000},
                {"invoice_id": iids[1], "paid_on": D + timedelta(days=9), "amount_cents": 10_001},
            ],
        )
    with read_tx(engine) as conn:
        eng = engagement(conn, cids[0])
        views = email_history(conn, cids[0])
    assert eng["emails_sent"] == 3 and eng["failures"] == 1
    assert eng["reminded_invoices"] == 3 and eng["paid_within_7_days"] == 1
    assert isinstance(eng["last_sent"], datetime)
    assert next(v.status for v in views) == "failed" and "550" in (views[0].error or "")
    assert len(views) == 4 and all(v.message_id for v in views)
    table = run(workspace(engine, D + timedelta(days=10)), "email history of c0000")
    assert isinstance(table, TableResult) and len(table.rows) == 4
    assert "3 sent" in table.footer and "1 paid within 7 days" in table.footer


def test_maildir_outbox_without_smtp(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mail_env(monkeypatch, tmp_path, None)
    seed(engine, customers=2, days_overdue=7)
    ws = workspace(engine)
    assert send_due(ws, mailer_from_config(ws.config)).sent == 2
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 2
    assert [e.status for e in emails(engine)] == ["sent", "sent"]


def test_send_template_with_the_server_down_fails_visibly_without_retrying_each(
    engine: Engine, mail: SmtpTestServer
) -> None:
    seed(engine, customers=3, days_overdue=20)
    mail.stop()
    result = run(workspace(engine), "send feedback request to late payers", confirmed=True)
    assert isinstance(result, MutationResult) and result.affected == 0
    assert "3 failed" in result.message and "refused the connection" in result.message
    history = emails(engine)
    assert [e.status for e in history] == ["failed"] * 3
    assert all("refused the connection" in (e.error or "") for e in history)
    assert history[1].error.startswith("not sent: ")
