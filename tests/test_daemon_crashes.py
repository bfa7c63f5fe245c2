"""Exactly once per (invoice, stage) when the daemon is killed, and with two daemons at once.

The daemon runs as a real subprocess (``python -m jobs.daemon``) against a
real aiosmtpd server on 127.0.0.1; the tests count what the server received.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from commands.mailer import SmtpMailer, SmtpSettings
from commands.outbox import send_due
from store.engine import make_engine, read_tx
from store.models import Reminder
from tests.daemon_support import (
    assert_exactly_once,
    due_keys,
    email_statuses,
    outbox_status,
    spawn,
)
from tests.reminders_support import MAIL_FROM, mail_env, received_keys, seed, workspace
from tests.smtp_server import SmtpTestServer

KILL_RUNS = int(os.environ.get("OPENINVOICE_TEST_KILL_RUNS", "20"))


@pytest.fixture
def mail(smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    mail_env(monkeypatch, tmp_path, smtp_server.url)
    return smtp_server


def _kill_once(
    run: int,
    delay: float,
    template: Path,
    due: set[tuple[int, str]],
    server: SmtpTestServer,
    tmp_path: Path,
) -> int:
    """One run: start the daemon, SIGKILL it, recover, check.

    Half the runs kill ``delay`` s after the daemon logged its start (startup,
    planning, claiming), the other half ``delay`` s after the server received the
    batch's first message (sending, marking). Returns how many messages the
    server had received at the kill.
    """
    after_first = (run // 2) % 2 == 1
    server.clear()
    db = tmp_path / f"run{run}.db"
    shutil.copy(template, db)
    daemon = spawn(tmp_path, f"sqlite:///{db}", server.url, send_delay=0.015, name=f"k{run}")
    try:
        daemon.wait_for_log("starting")
        if after_first:
            deadline = time.monotonic() + 30
            while not server.messages and time.monotonic() < deadline:
                assert daemon.proc.poll() is None, daemon.stderr()
                time.sleep(0.005)
        time.sleep(delay)
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(10)
    finally:
        daemon.stop()
    before = len(received_keys(server.messages))
    engine = make_engine(f"sqlite:///{db}")
    after = "the first message" if after_first else "the start"
    context = f"run {run} (kill {delay:.3f} s after {after}, {before} received before the kill)"
    try:
        # the restarted daemon's pass: recover the dead claims, send the rest
        mailer = SmtpMailer(SmtpSettings.from_url(server.url), MAIL_FROM)
        report = send_due(workspace(engine), mailer)
        time.sleep(0.05)  # a message the killed client finished is handled by now
        status = outbox_status(engine)
        try:
            assert_exactly_once(received_keys(server.messages), status, due)
        except AssertionError as exc:
            raise AssertionError(f"{context}: {exc}") from exc
        doubtful = sum(1 for s in status.values() if s == "in_doubt")
        assert report.recovered == doubtful, context
        # the history shows every in-doubt email as such
        assert email_statuses(engine)["in_doubt"] == doubtful, context
    finally:
        engine.dispose()
    return before


def test_sigkill_at_random_points_never_sends_twice(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    """SIGKILL the daemon at a random moment of a 30-reminder batch, 20 times.

    After each kill a recovery pass (as the restarted daemon would run it)
    finishes the job. Then no (invoice, stage) was received twice, and every
    due one is ``sent`` (and was received exactly once) or ``in_doubt`` in the
    history. Two runs at a time (each its own database file and SMTP server).
    """
    template = tmp_path / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    seed(engine, customers=30, days_overdue=[7, 14, 30, 0, -3, 50])
    due = due_keys(engine)
    assert len(due) == 30
    engine.dispose()
    seed_value = int(os.environ.get("OPENINVOICE_TEST_KILL_SEED", time.time_ns() % 10**6))
    rng = random.Random(seed_value)
    delays = [rng.uniform(0.0, 0.5) for _ in range(KILL_RUNS)]
    second = SmtpTestServer()
    second.start()
    servers = [smtp_server, second]

    def lane(k: int) -> list[int]:
        # each lane alternates kills after the start and after the first message
        return [
            _kill_once(run, delays[run], template, due, servers[k], tmp_path)
            for run in range(k, KILL_RUNS, 2)
        ]

    try:
        with ThreadPoolExecutor(2) as pool:
            lanes = [pool.submit(lane, k) for k in (0, 1)]
            befores = [n for f in lanes for n in f.result()]
    except AssertionError as exc:
        raise AssertionError(f"seed {seed_value}: {exc}") from exc
    finally:
        second.stop()
    # the kills did land inside batches, not only before or after them
    mid_batch = sum(1 for n in befores if 0 < n < len(due))
    assert mid_batch >= max(1, KILL_RUNS // 4), (
        f"only {mid_batch} of {KILL_RUNS} kills hit a batch (seed {seed_value})"
    )


@pytest.mark.postgres
def test_two_daemons_on_one_postgresql_database_send_each_reminder_once(
    tmp_path: Path, pg_url: str, mail: SmtpTestServer
) -> None:
    """Two daemons at once over 2,000 due reminders: each received exactly once."""
    engine = make_engine(pg_url)
    try:
        seed(engine, customers=1000, invoices_each=2, days_overdue=[7, 14])
        due = due_keys(engine)
        assert len(due) == 2000
        daemons = [
            spawn(tmp_path, pg_url, mail.url, once=True, send_delay=0.001, name=f"pg{n}")
            for n in range(2)
        ]
        try:
            for d in daemons:
                assert d.proc.wait(120) == 0, d.stderr()
        finally:
            for d in daemons:
                d.stop()
        received = received_keys(mail.wait_for(2000, timeout=10))
        assert len(mail.messages) == 2000
        status = outbox_status(engine)
        assert_exactly_once(received, status, due)
        assert set(status.values()) == {"sent"}
        with read_tx(engine) as conn:
            senders = set(conn.execute(select(Reminder.claimed_by).distinct()).scalars())
        assert len(senders) == 2, "both daemons took part"
        assert email_statuses(engine) == {"sent": 2000}
    finally:
        engine.dispose()
