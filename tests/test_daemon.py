"""The reminder daemon as a process: ``--once``, logs, signals, backoff, sharing SQLite.

Against a real aiosmtpd server on 127.0.0.1; the daemon is a subprocess
(``openinvoice daemon`` or ``python -m jobs.daemon``) except where the
backoff logic is driven step by step in-process.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from commands.executor import run
from commands.mailer import mailer_from_config
from commands.outbox import send_due
from commands.workspace import Workspace
from jobs.daemon import Runner
from store.engine import make_engine
from tests.daemon_support import assert_exactly_once, due_keys, email_statuses, outbox_status, spawn
from tests.pg_cluster import free_port
from tests.reminders_support import emails, mail_env, received_keys, seed, workspace
from tests.smtp_server import TEST_PASSWORD, SmtpTestServer


@pytest.fixture
def mail(smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    mail_env(monkeypatch, tmp_path, smtp_server.url)
    return smtp_server


def test_daemon_once_logs_to_stderr_and_file_and_never_shows_the_password(
    tmp_path: Path, smtp_auth_server: SmtpTestServer
) -> None:
    db = tmp_path / "once.db"
    engine = make_engine(f"sqlite:///{db}")
    seed(engine, customers=5, days_overdue=7)
    daemon = spawn(
        tmp_path, f"sqlite:///{db}", smtp_auth_server.url, once=True, console_script=True
    )
    try:
        assert daemon.proc.wait(60) == 0, daemon.stderr()
    finally:
        daemon.stop()
    assert len(smtp_auth_server.wait_for(5)) == 5
    stderr, logged = daemon.stderr(), daemon.log_file()
    for text in (stderr, logged):
        assert "starting" in text and "5 sent" in text and "stopped" in text
        assert TEST_PASSWORD not in text and quote(TEST_PASSWORD, safe="") not in text
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("once.db-*"))
    assert TEST_PASSWORD.encode() not in raw and quote(TEST_PASSWORD, safe="").encode() not in raw
    assert set(outbox_status(engine).values()) == {"sent"}
    engine.dispose()


@pytest.mark.parametrize(
    ("sig", "once"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-once"],
)
def test_signal_stops_cleanly_mid_batch_and_the_rest_goes_out_later(
    tmp_path: Path, mail: SmtpTestServer, sig: signal.Signals, once: bool
) -> None:
    db_url = f"sqlite:///{tmp_path / 'sig.db'}"
    engine = make_engine(db_url)
    seed(engine, customers=60, days_overdue=[7, 14])
    due = due_keys(engine)
    daemon = spawn(tmp_path, db_url, mail.url, send_delay=0.03, interval=3600, once=once)
    try:
        mail.wait_for(3, timeout=30)
        daemon.proc.send_signal(sig)
        assert daemon.proc.wait(30) == 0, daemon.stderr()
    finally:
        daemon.stop()
    assert f"signal {sig.name}" in daemon.stderr() and "stopped" in daemon.log_file()
    status = outbox_status(engine)
    # the message in flight finished and was recorded; the rest was released, not in doubt
    assert "claimed" not in status.values() and "in_doubt" not in status.values()
    sent_before = [k for k, s in status.items() if s == "sent"]
    assert 3 <= len(sent_before) < len(due)
    assert Counter(received_keys(mail.messages)) == Counter(dict.fromkeys(sent_before, 1))
    ws = workspace(engine)
    assert send_due(ws, mailer_from_config(ws.config)).sent == len(due) - len(sent_before)
    assert_exactly_once(received_keys(mail.messages), outbox_status(engine), due)
    assert set(outbox_status(engine).values()) == {"sent"}
    engine.dispose()


def test_backoff_while_smtp_is_down_then_recovers(
    engine_sqlite_ws: Workspace, mail: SmtpTestServer
) -> None:
    ws = engine_sqlite_ws
    seed(ws.engine, customers=4, days_overdue=7)
    runner = Runner(ws, mailer_from_config(ws.config), interval=2)
    mail.stop()
    assert runner.run_pass() is False
    assert runner.failures == 1 and runner.backoff() == 4
    assert runner.not_before > time.monotonic() + 2  # the next interval is skipped
    assert runner.run_pass() is True and runner.failures == 1  # skipped, nothing tried
    failed = [e for e in emails(ws.engine) if e.status == "failed"]
    assert len(failed) == 1 and "refused the connection" in (failed[0].error or "")
    assert set(outbox_status(ws.engine).values()) == {"pending"}  # nothing lost
    mail.start()
    runner.not_before = 0.0
    assert runner.run_pass() is True  # the outbox's own retry time has not come yet
    assert mail.messages == [] and runner.failures == 0
    assert runner._start_clock is not None
    runner._start_clock += timedelta(minutes=2)
    assert runner.run_pass() is True
    assert len(mail.wait_for(4)) == 4
    assert email_statuses(ws.engine) == {"sent": 4, "failed": 1}


def test_database_outage_backs_off_and_keeps_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    mail_env(monkeypatch, tmp_path, smtp_server.url)
    gone = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing", migrate=False)
    ws = workspace(gone)
    runner = Runner(ws, mailer_from_config(ws.config), interval=1)
    assert runner.run_pass() is False and runner.failures == 1
    runner.not_before = 0.0
    assert runner.run_pass() is False and runner.failures == 2 and runner.backoff() == 4
    gone.dispose()


def test_daemon_and_app_share_one_sqlite_file_without_locked_errors(
    tmp_path: Path, mail: SmtpTestServer
) -> None:
    """The daemon sends 300 reminders while the app runs commands on the same file."""
    db_url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = make_engine(db_url)
    seed(engine, customers=300, days_overdue=[7, 14, 30])
    due = due_keys(engine)
    daemon = spawn(tmp_path, db_url, mail.url, send_delay=0.004, interval=3600)
    errors: list[str] = []
    done = 0
    try:
        daemon.wait_for_log("starting")
        ws = workspace(engine)
        deadline = time.monotonic() + 60
        n = 0
        while len(mail.messages) < len(due) and time.monotonic() < deadline:
            sentence = [
                f"tag c{n % 300:04d} with vip",
                f"note c{n % 300:04d}: called about invoice {n}",
                f"untag vip from c{(n + 7) % 300:04d}",
                "tag late payers with at-risk",
                "undo",
            ][n % 5]
            try:
                run(ws, sentence, confirmed=True)
                done += 1
            except Exception as exc:  # any error reaching the user fails the test
                errors.append(f"{sentence}: {type(exc).__name__}: {exc}")
            n += 1
        mail.wait_for(len(due), timeout=30)
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(30) == 0
    finally:
        daemon.stop()
    assert errors == []
    assert done >= 20, "the app ran commands while the daemon was sending"
    assert "locked" not in daemon.stderr()
    assert_exactly_once(received_keys(mail.messages), outbox_status(engine), due)
    assert set(outbox_status(engine).values()) == {"sent"}
    engine.dispose()


@pytest.fixture
def engine_sqlite_ws(sqlite_engine) -> Workspace:  # type: ignore[no-untyped-def]
    return workspace(sqlite_engine)
