"""The ``openinvoice`` command line.

``openinvoice`` alone opens the full-screen app; ``openinvoice run "..."``
runs the same sentences headless. Front ends (the TUI, the daemon) are
found through the ``openinvoice.frontends`` entry points, so this package
never imports them.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer

from commands import cli_files
from commands.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    help="OpenInvoice Customers: customer management for power users.",
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("import")(cli_files.import_cmd)
app.command("export")(cli_files.export_cmd)


class State:
    db: str | None = None
    as_of: str | None = None


state = State()


def workspace() -> Any:
    from commands.workspace import Workspace

    return Workspace.open(state.db, state.as_of)


def frontend(name: str) -> Any:
    """A front end registered under the ``openinvoice.frontends`` entry points."""
    for ep in entry_points(group="openinvoice.frontends"):
        if ep.name == name:
            return ep.load()
    raise UserError(f"the '{name}' front end is not installed")


def fail(exc: UserError, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"error": exc.as_dict()}))
    else:
        if exc.detail:
            typer.echo(exc.detail, err=True)
        typer.echo(f"error: {exc.message}", err=True)
        if exc.suggestions:
            typer.echo("did you mean: " + ", ".join(exc.suggestions), err=True)
    raise typer.Exit(2)


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL or SQLite file (default: OPENINVOICE_DB or the user data dir)",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Reference date D: YYYY-MM-DD or YYYY-MM-DDTHH:MM (env OPENINVOICE_AS_OF)",
        ),
    ] = None,
) -> None:
    """Open the full-screen app when no command is given."""
    state.db, state.as_of = db, as_of
    if ctx.invoked_subcommand is None:
        try:
            ws = workspace()
            from commands.backend import WorkspaceBackend

            backend = WorkspaceBackend(ws)
            frontend("tui")(backend, keys=ws.config.section("keys"))
        except UserError as exc:
            fail(exc, False)


@app.command()
def run(
    sentence: Annotated[
        str, typer.Argument(help='A sentence, e.g. "tag late payers with at-risk"')
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would change")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm bulk changes")] = False,
) -> None:
    """Run one sentence of the command language."""
    from commands.executor import run as execute
    from commands.render import render_text, result_json
    from commands.results import ConfirmationNeeded

    try:
        ws = workspace()
        result = execute(ws, sentence, dry_run=dry_run, confirmed=yes)
    except UserError as exc:
        fail(exc, as_json)
        return
    if as_json:
        typer.echo(json.dumps(result_json(result)))
    else:
        from rich.console import Console

        # a pipe gets the whole table rather than 80 squeezed columns
        render_text(result, Console() if sys.stdout.isatty() else Console(width=200))
    if isinstance(result, ConfirmationNeeded):
        raise typer.Exit(3)


@app.command()
def parse(sentence: Annotated[str, typer.Argument()]) -> None:
    """Print the typed command object of a sentence as JSON (no database)."""
    from grammar.parser import ParseError
    from grammar.parser import parse as parse_sentence
    from grammar.serialize import to_dict

    try:
        command = parse_sentence(sentence)
    except ParseError as exc:
        typer.echo(
            json.dumps(
                {
                    "error": {
                        "message": exc.message,
                        "position": exc.position,
                        "suggestions": exc.suggestions,
                    }
                }
            )
        )
        raise typer.Exit(2) from None
    typer.echo(json.dumps(to_dict(command), indent=2))


@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="How many customers")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 42,
) -> None:
    """Fill an empty database with realistic demo data."""
    from store.demo import generate

    ws = workspace()
    try:
        stats = generate(
            ws.engine,
            customers=customers,
            seed=seed,
            as_of=ws.today,
            progress=lambda m: typer.echo(m, err=True),
        )
    except ValueError as exc:
        fail(UserError(str(exc)), False)
        return
    typer.echo(
        f"{stats.customers:,} customers, {stats.invoices:,} invoices, "
        f"{stats.payments:,} payments in {stats.seconds:.1f}s"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the database migrations (a new database is migrated on first use anyway)."""
    from store.engine import make_engine
    from store.migrate import current_revision, upgrade

    engine = make_engine(state.db, migrate=False)
    upgrade(engine)
    typer.echo(f"database at revision {current_revision(engine)}")


@db_app.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="Where to write the copy")]) -> None:
    """Make a consistent copy of the database (safe while others use it)."""
    from store.engine import backup

    ws = workspace()
    dest = backup(ws.engine, path)
    typer.echo(f"backed up to {dest}")


@app.command()
def daemon(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit")] = False,
    interval: Annotated[int, typer.Option(help="Seconds between runs")] = 60,
) -> None:
    """Send due payment reminders on a schedule (APScheduler), unattended."""
    try:
        frontend("daemon")(state.db, state.as_of, once=once, interval=interval)
    except UserError as exc:
        fail(exc, False)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
