"""End to end: the installed ``openinvoice`` in a real terminal (tmux).

The app runs on a private tmux server (``-L``, its own socket) at a fixed
160x45, on a small demo database with D = 2026-06-30 and its own config
and data directories. The test types a sentence as a user would and reads
the screen with ``capture-pane``. Skipped, with the reason, when tmux or
the installed script is missing.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .test_tui_app import make_demo_db

WIDTH, HEIGHT = 160, 45
TMUX = shutil.which("tmux")
OPENINVOICE = Path(sys.executable).with_name("openinvoice")

pytestmark = [
    pytest.mark.skipif(TMUX is None, reason="tmux is not installed: the end-to-end test needs it"),
    pytest.mark.skipif(
        not OPENINVOICE.exists(), reason=f"openinvoice is not installed at {OPENINVOICE}"
    ),
]


class Terminal:
    """One tmux session on a private server."""

    def __init__(self, socket: str, session: str = "oi") -> None:
        self.socket = socket
        self.session = session

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        return done.stdout

    def start(self, command: str) -> None:
        self.tmux(
            "new-session", "-d", "-s", self.session, "-x", str(WIDTH), "-y", str(HEIGHT), command
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", self.session, *(["-l"] if literal else []), *keys)
        time.sleep(0.3)  # a person's pace: a burst can arrive before the app caught up

    def type(self, text: str) -> None:
        """Type ``text`` and wait until the command bar shows it."""
        self.keys(text, literal=True)
        self.wait_for(
            lambda s: any(line.startswith("▊") and text in line for line in s.splitlines())
        )

    def wait_for(self, check: Callable[[str], bool], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if check(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"the screen never showed what was expected:\n{text}")

    def alive(self) -> bool:
        return self.session in self.tmux("list-sessions", "-F", "#{session_name}")


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal(f"oi-test-{uuid.uuid4().hex[:8]}")
    try:
        yield term
    finally:
        term.tmux("kill-server")


def test_the_installed_app_in_tmux(tmp_path: Path, terminal: Terminal) -> None:
    db = make_demo_db(tmp_path / "demo.sqlite3", customers=200, seed=11)
    with sqlite3.connect(db) as conn:
        active = conn.execute("select count(*) from customers where status != 'archived'")
        (everyone,) = active.fetchone()
    data = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text('[keys]\nsearch = "ctrl+f"\n', encoding="utf-8")
    env = {
        "OPENINVOICE_AS_OF": "2026-06-30",
        "OPENINVOICE_CONFIG": str(config),
        "OPENINVOICE_DATA_DIR": str(data),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PATH": os.environ.get("PATH", ""),
    }
    command = " ".join(
        [
            "env",
            "-i",
            *(f"{k}={shlex.quote(v)}" for k, v in env.items()),
            shlex.quote(str(OPENINVOICE)),
            "--db",
            shlex.quote(f"sqlite:///{db}"),
        ]
    )
    terminal.start(command)
    first = terminal.wait_for(lambda s: f"{everyone:,} of {everyone:,} customers" in s)
    assert "Name" in first and "Revenue" in first and "Outstanding" in first

    # the remapped search key from the config file, then a sentence typed as a user would
    # (a key sent while Textual still sets up the terminal can be lost: try again)
    for attempt in range(3):
        terminal.keys("C-f")
        try:
            terminal.wait_for(lambda s: "find " in s, timeout=5)
            break
        except AssertionError:
            if attempt == 2:
                raise
    terminal.keys("C-u")  # clear the prefill
    terminal.type("late payers sorted by revenue desc")
    terminal.keys("Enter")
    # the list's title, once the exact count is in ("100+ of ..." until then)
    title = re.compile(rf"(\d[\d,]*) of {everyone:,} customers — late payers sorted by revenue")
    screen = terminal.wait_for(lambda s: title.search(s) is not None)
    match = title.search(screen)
    assert match is not None
    shown = int(match.group(1).replace(",", ""))
    assert 0 < shown < everyone
    assert "› late payers sorted by revenue desc" in screen  # the transcript
    assert f"{shown:,} customers" in screen

    # a mistake shows the caret under the word (the command bar keeps the focus)
    terminal.type("tag late payrs with vip")
    terminal.keys("Enter")
    screen = terminal.wait_for(lambda s: "✗" in s)
    lines = screen.splitlines()
    row = next(
        i for i, line in enumerate(lines) if "tag late payrs with vip" in line and "›" not in line
    )
    assert lines[row + 1].index("^") == lines[row].index("payrs")

    terminal.keys("C-q")
    deadline = time.monotonic() + 10
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not terminal.alive(), "the app did not quit on Ctrl+Q"
    history = (data / "history").read_text(encoding="utf-8").splitlines()
    assert history[-2:] == ["late payers sorted by revenue desc", "tag late payrs with vip"]
