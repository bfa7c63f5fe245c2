"""``openinvoice import`` and ``openinvoice export``, with a rich progress bar.

:mod:`commands.cli` registers these commands on its group. Only click is imported
here at module level: rich, openpyxl and the store load when a command runs, so
``openinvoice run`` starts as fast as before.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from commands.errors import UserError


@contextmanager
def progress_bar(
    label: str, enabled: bool, console: Any = None
) -> Iterator[Callable[[Any], None] | None]:
    """A rich progress bar (on stderr) fed by ``Progress`` reports; None when disabled."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=console is None,
    )
    with bar:
        task = bar.add_task(label, total=None)

        def report(p: Any) -> None:
            bar.update(task, completed=p.done, total=p.total, description=f"{label} {p.label}")

        yield report


def _render(result: Any, as_json: bool) -> None:
    from commands.render import render_text, result_json

    if as_json:
        click.echo(json.dumps(result_json(result)))
        return
    from rich.console import Console

    render_text(result, Console() if sys.stdout.isatty() else Console(width=200))


@click.command()
@click.argument("kind", type=click.Choice(["customers", "invoices", "payments"]))
@click.argument("file")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    help='Map a column: "Source Column=field" (field empty: ignore)',
)
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing")
@click.option(
    "--on-conflict",
    type=click.Choice(["update", "skip", "error"]),
    default="update",
    show_default=True,
    help="Existing email/number: update, skip or error",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def import_cmd(
    kind: str,
    file: str,
    mapping: tuple[str, ...],
    dry_run: bool,
    on_conflict: str,
    yes: bool,
    as_json: bool,
) -> None:
    """Import customers, invoices or payments from a CSV or Excel file (all or nothing)."""
    from commands.cli import fail, workspace
    from commands.executor import Call, load_verbs
    from commands.results import ConfirmationNeeded
    from commands.verbs_files import import_file

    load_verbs()
    sentence = f"import {kind} from {shlex.quote(file)}"
    show = not as_json and sys.stderr.isatty()
    try:
        ws = workspace()
        ws.ensure_figures()

        def attempt(confirmed: bool) -> Any:
            with progress_bar(f"import {kind}", show) as report:
                call = Call(sentence, dry_run=dry_run, confirmed=confirmed, progress=report)
                return import_file(
                    ws, kind, file, call, overrides=list(mapping), on_conflict=on_conflict
                )

        result = attempt(yes)
        if isinstance(result, ConfirmationNeeded) and not as_json and sys.stdin.isatty():
            click.echo(result.message, err=True)
            if click.confirm(f"Import {result.affected:,} records?", err=True):
                result = attempt(True)
    except UserError as exc:
        fail(exc, as_json)
        return
    _render(result, as_json)
    if isinstance(result, ConfirmationNeeded):
        sys.exit(3)


@click.command()
@click.argument("query")
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def export_cmd(query: str, file: str, as_json: bool) -> None:
    """Export customers with every figure to CSV or Excel, in the list's order."""
    from commands.cli import fail, workspace
    from commands.executor import Call, load_verbs, parse_sentence
    from commands.verbs_files import export_command
    from grammar import ast as A

    load_verbs()
    target = "" if query.strip().lower() in ("", "all", "everyone", "all customers") else query
    sentence = f'export {target} to "{file}"'.replace("  ", " ")
    show = not as_json and sys.stderr.isatty()
    try:
        cmd = parse_sentence(sentence)
        if not isinstance(cmd, A.Export):
            raise UserError(f"not an export: {sentence}")
        cmd = A.Export(cmd.query, file)
        ws = workspace()
        ws.ensure_figures()
        with progress_bar("export", show) as report:
            result = export_command(ws, cmd, Call(sentence, progress=report))
    except UserError as exc:
        fail(exc, as_json)
        return
    _render(result, as_json)
