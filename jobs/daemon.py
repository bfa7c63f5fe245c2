"""The unattended reminder daemon: ``openinvoice daemon [--once] [--interval N]``.

APScheduler 3.x (``BlockingScheduler``) runs ONE interval job that asks
``commands.outbox`` to send the reminders due now. Reminder state lives in
the application's tables (the outbox), never in the scheduler's job store,
so a restart, a crash or a second daemon cannot send anything twice.

* Logs go to stderr and to ``<data dir>/logs/daemon.log``; the mail server
  is described by ``mailer.description`` (the password never appears).
* SIGTERM/SIGINT: the current message finishes, the rest of the batch is
  released unsent, the scheduler stops, the process exits 0.
* The mail server down or the database unreachable: the pass ends, and the
  next ones are skipped with a growing backoff (interval x 2^n, at most
  15 minutes) until one succeeds.
* ``--once``: one pass (send what is due now), then exit (status 0; 1 if
  the pass failed).
* ``python -m jobs.daemon [--db URL] [--as-of D] [--once] [--interval N]``
  runs it without the CLI.

Test seam: the environment variable ``OPENINVOICE_TEST_SEND_DELAY_S``
(seconds, a float) sleeps before each message, so the crash tests can kill
the process in the middle of a batch. Nothing else reads it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from logging.handlers import RotatingFileHandler
from types import FrameType
from typing import Any

from commands.config import data_dir
from commands.errors import UserError
from commands.mailer import Mailer, mailer_from_config
from commands.outbox import Hooks, policy_for, send_due, worker_id
from commands.workspace import Workspace

log = logging.getLogger("openinvoice.daemon")

MAX_BACKOFF_S = 900.0
#: test-only: seconds to sleep before each message (see the module docstring)
TEST_SEND_DELAY_ENV = "OPENINVOICE_TEST_SEND_DELAY_S"


def _test_hooks() -> Hooks | None:
    """Hooks for the crash tests (``OPENINVOICE_TEST_SEND_DELAY_S``), else None."""
    raw = os.environ.get(TEST_SEND_DELAY_ENV)
    if not raw:
        return None
    delay = float(raw)
    return Hooks(before_send=lambda _item: time.sleep(delay))


def setup_logging() -> None:
    root = logging.getLogger()
    if getattr(root, "_openinvoice_daemon", False):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(fmt)
    root.addHandler(stderr)
    try:
        logs = data_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        file_handler = RotatingFileHandler(
            logs / "daemon.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
        )
        file_handler.setFormatter(fmt)
        root.addHandler(file_handler)
    except OSError as exc:
        log.warning("cannot write the log file: %s", exc)
    root.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    root._openinvoice_daemon = True  # type: ignore[attr-defined]


class Runner:
    """The job: one pass at a time, with backoff after failures."""

    def __init__(self, ws: Workspace, mailer: Mailer, interval: float) -> None:
        self.ws = ws
        self.mailer = mailer
        self.interval = max(1.0, float(interval))
        self.me = worker_id()
        self.stop = threading.Event()
        self.failures = 0
        self.not_before = 0.0
        self.busy = threading.Lock()
        self._start_mono = time.monotonic()
        self._start_clock = ws.clock_override
        self.hooks = _test_hooks()

    def now(self) -> datetime:
        """The clock: real time, or ``--as-of`` date-time plus the time elapsed since start."""
        if self._start_clock is not None:
            elapsed = timedelta(seconds=time.monotonic() - self._start_mono)
            return (self._start_clock + elapsed).replace(tzinfo=self.ws.timezone())
        return self.ws.now()

    def backoff(self) -> float:
        return float(min(MAX_BACKOFF_S, self.interval * 2 ** min(self.failures, 12)))

    def run_pass(self) -> bool:
        """One pass; False when it failed (the next passes back off)."""
        if self.stop.is_set() or time.monotonic() < self.not_before:
            return True
        with self.busy:
            try:
                policy = policy_for(self.ws)
                report = send_due(
                    self.ws,
                    self.mailer,
                    now=self.now(),
                    policy=policy,
                    me=self.me,
                    should_stop=self.stop.is_set,
                    hooks=self.hooks,
                )
            except UserError as exc:
                return self._failed(f"configuration problem: {exc.message}")
            except Exception as exc:  # the database or anything else: back off, keep running
                return self._failed(f"{type(exc).__name__}: {_one_line(exc)}")
            if report.recovered:
                log.warning(
                    "%d reminder(s) left claimed by a stopped sender are in doubt", report.recovered
                )
            if report.outside_window:
                log.info(
                    "outside the sending window; next window opens %s",
                    report.next_window.isoformat() if report.next_window else "?",
                )
                self.failures = 0
                return True
            if report.planned or report.sent:
                log.info("pass: %d due, %s", report.planned, report.summary())
            for error in report.errors[:3]:
                log.warning("send problem: %s", error)
            if report.connection_failed:
                return self._failed(f"the mail server is unreachable ({self.mailer.description})")
            self.failures = 0
            self.not_before = 0.0
            return True

    def _failed(self, why: str) -> bool:
        self.failures += 1
        delay = self.backoff()
        self.not_before = time.monotonic() + delay
        log.error("pass failed: %s; next try in %.0f s", why, delay)
        return False


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


def main(db_url: str | None, as_of: str | None, *, once: bool = False, interval: int = 60) -> None:
    """Entry point (``openinvoice.frontends`` ``daemon``)."""
    setup_logging()
    ws = Workspace.open(db_url, as_of)
    mailer = mailer_from_config(ws.config)
    runner = Runner(ws, mailer, interval)
    log.info("reminder daemon %s starting; mail via %s", runner.me, mailer.description)
    try:
        if once:
            with _stop_on_signals(runner):
                ok = runner.run_pass()
            if not ok:
                raise SystemExit(1)
            return
        _run_scheduler(runner)
    finally:
        ws.close()
        log.info("reminder daemon stopped")


def _run_scheduler(runner: Runner) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        runner.run_pass,
        "interval",
        seconds=runner.interval,
        id="send-reminders",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(runner.interval)),
        next_run_time=datetime.now(tz=None).astimezone(),
    )

    def shutdown() -> None:
        with contextlib.suppress(Exception):  # already stopping
            scheduler.shutdown(wait=False)

    with _stop_on_signals(runner, shutdown):
        try:
            scheduler.start()
        finally:
            # let a pass in progress finish its current message and release the rest
            if runner.busy.acquire(timeout=60):
                runner.busy.release()


@contextlib.contextmanager
def _stop_on_signals(runner: Runner, then: Callable[[], None] | None = None) -> Iterator[None]:
    """SIGTERM/SIGINT: the pass stops after the current message (then ``then()``)."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current message", signal.Signals(signum).name)
        runner.stop.set()
        if then is not None:
            then()

    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cli(argv: list[str] | None = None) -> None:
    """``python -m jobs.daemon``: the same as ``openinvoice daemon``."""
    parser = argparse.ArgumentParser(prog="python -m jobs.daemon", description=__doc__)
    parser.add_argument("--db", help="database URL or SQLite file")
    parser.add_argument("--as-of", help="reference date (and time) D")
    parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
    parser.add_argument("--interval", type=int, default=60, help="seconds between runs")
    args = parser.parse_args(argv)
    try:
        main(
            args.db,
            args.as_of or os.environ.get("OPENINVOICE_AS_OF"),
            once=args.once,
            interval=args.interval,
        )
    except UserError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    cli()
