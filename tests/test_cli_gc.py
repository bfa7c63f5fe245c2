"""The command line's use of the cyclic garbage collector.

One-shot commands run with it off (they free everything at exit); sessions
(the app, the daemon) freeze what start-up made and turn it back on.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from commands import cli


@pytest.fixture
def restore_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_one_shot_command_runs_without_the_collector(
    restore_gc: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gc.enable()
    monkeypatch.setattr(sys, "argv", ["openinvoice", "parse", "late payers"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 0
    assert '"late-payer"' in capsys.readouterr().out
    assert not gc.isenabled()


def test_a_session_freezes_start_up_and_collects_again(restore_gc: None) -> None:
    gc.disable()
    gc.unfreeze()
    cli.long_running()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
