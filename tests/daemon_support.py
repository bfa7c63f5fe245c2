"""Running the reminder daemon as a real subprocess in tests (not a test module).

:func:`spawn` starts ``python -m jobs.daemon`` (or the ``openinvoice``
console script) with the mail settings pointed at a test SMTP server, its
stderr captured to a file, and the clock set inside the sending window.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from commands.outbox import find_due, policy_for
from store.engine import read_tx
from store.models import Email, Reminder
from tests.reminders_support import MAIL_FROM, NOON, workspace

REPO = Path(__file__).resolve().parents[1]
#: the daemon's clock: Tuesday 2026-06-30 10:00, inside the default window
AS_OF = NOON.strftime("%Y-%m-%dT%H:%M")


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    log_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def log_file(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until stderr shows ``text`` (fails if the process ends first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.stderr():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.stderr()}")
            time.sleep(0.01)
        raise AssertionError(f"no {text!r} in the daemon's stderr:\n{self.stderr()}")

    def stop(self) -> None:
        """Kill it if still running (cleanup)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def daemon_env(
    tmp_path: Path, smtp_url: str, *, send_delay: float | None = None, name: str = "d"
) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("OPENINVOICE_DB", "OPENINVOICE_TIMEZONE", "OPENINVOICE_TEST_SEND_DELAY_S"):
        env.pop(key, None)
    env.update(
        OPENINVOICE_CONFIG=str(tmp_path / "no-config.toml"),
        OPENINVOICE_DATA_DIR=str(tmp_path / f"data-{name}"),
        OPENINVOICE_OUTBOX=str(tmp_path / "outbox"),
        OPENINVOICE_MAIL_FROM=MAIL_FROM,
        OPENINVOICE_SMTP_URL=smtp_url,
        OPENINVOICE_AS_OF=AS_OF,
        PYTHONPATH=str(REPO),
    )
    if send_delay is not None:
        env["OPENINVOICE_TEST_SEND_DELAY_S"] = str(send_delay)
    return env


def spawn(
    tmp_path: Path,
    db_url: str,
    smtp_url: str,
    *,
    once: bool = False,
    interval: int = 1,
    send_delay: float | None = None,
    name: str = "d",
    console_script: bool = False,
) -> Daemon:
    """Start the daemon on ``db_url``; stderr goes to ``<tmp>/<name>.stderr``."""
    env = daemon_env(tmp_path, smtp_url, send_delay=send_delay, name=name)
    if console_script:
        exe = Path(sys.executable).with_name("openinvoice")
        cmd: list[str] = [str(exe), "--db", db_url, "daemon", "--interval", str(interval)]
    else:
        cmd = [sys.executable, "-m", "jobs.daemon", "--db", db_url, "--interval", str(interval)]
    if once:
        cmd.append("--once")
    stderr_path = tmp_path / f"{name}.stderr"
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err
        )
    log_path = Path(env["OPENINVOICE_DATA_DIR"]) / "logs" / "daemon.log"
    return Daemon(proc, stderr_path, log_path)


def due_keys(engine: Engine) -> set[tuple[int, str]]:
    """(invoice id, stage) of every reminder due now."""
    ws = workspace(engine)
    with read_tx(engine) as conn:
        plans = find_due(conn, ws.today, policy_for(ws), NOON)
    return {(it.invoice_id, it.stage) for p in plans for it in p.items}


def outbox_status(engine: Engine) -> dict[tuple[int, str], str]:
    with read_tx(engine) as conn:
        rows = conn.execute(select(Reminder.invoice_id, Reminder.stage, Reminder.status))
        return {(iid, stage): status for iid, stage, status in rows}


def email_statuses(engine: Engine) -> Counter[str]:
    with read_tx(engine) as conn:
        return Counter(conn.execute(select(Email.status)).scalars())


def assert_exactly_once(
    received: Counter[tuple[int, str]],
    status: dict[tuple[int, str], str],
    due: Iterable[tuple[int, str]],
) -> None:
    """Nothing received twice; every due (invoice, stage) sent (received once) or in doubt."""
    due = set(due)
    twice = {k: n for k, n in received.items() if n > 1}
    assert not twice, f"received more than once: {twice}"
    assert set(received) <= due, f"not due but sent: {set(received) - due}"
    for key in due:
        assert status.get(key) in ("sent", "in_doubt"), f"{key}: {status.get(key)}"
        if status[key] == "sent":
            assert received[key] == 1, f"{key} marked sent but received {received[key]}"
