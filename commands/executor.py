"""The one executor: a sentence in, a Result out. Both front ends and the daemon call it.

Each command runs in one transaction: a command that fails changes nothing.
Handlers live in the verb modules (``commands/verbs_*.py``) and register
themselves for the grammar class they handle.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from commands.errors import UserError
from commands.results import ConfirmationNeeded, MutationResult, Progress, Result
from commands.workspace import Workspace
from grammar.parser import ParseError, parse

#: grammar class -> handler(workspace, command, call) -> Result
HANDLERS: dict[type, Callable[[Workspace, Any, Call], Result]] = {}

VERB_MODULES = (
    "commands.verbs_customers",
    "commands.verbs_tags",
    "commands.verbs_notes",
    "commands.verbs_segments",
    "commands.verbs_invoices",
    "commands.verbs_reminders",
    "commands.verbs_email",
    "commands.verbs_stripe",
    "commands.verbs_files",
    "commands.verbs_reports",
)

#: grammar class name -> the verb module that handles it, so a sentence imports
#: only its own module (start-up of ``openinvoice run``); tests/test_commands.py
#: checks this table against the registrations. Anything not listed (undo,
#: help, explain: they reach into every module) loads them all.
VERB_OF = {
    **dict.fromkeys(("AddCustomer", "Archive", "ListCustomers", "SetField", "Unarchive"),
                    "commands.verbs_customers"),
    **dict.fromkeys(("EmailHistory", "SendTemplate"), "commands.verbs_email"),
    **dict.fromkeys(("Export", "Import"), "commands.verbs_files"),
    "OverdueInvoices": "commands.verbs_invoices",
    **dict.fromkeys(("AddNote", "FollowUpsDue"), "commands.verbs_notes"),
    **dict.fromkeys(("PauseReminders", "Remind", "RemindersDue", "ResumeReminders"),
                    "commands.verbs_reminders"),
    "Report": "commands.verbs_reports",
    "DefineSegment": "commands.verbs_segments",
    **dict.fromkeys(("LinkStripe", "PaymentMethods", "RemovePaymentMethod",
                     "SetDefaultPaymentMethod"), "commands.verbs_stripe"),
    **dict.fromkeys(("CreateTag", "DeleteTag", "RenameTag", "Tag", "Untag"),
                    "commands.verbs_tags"),
}  # fmt: skip

F = TypeVar("F", bound=Callable[..., Result])


def handles(*classes: type) -> Callable[[F], F]:
    """Register a handler for grammar command classes."""

    def register(fn: F) -> F:
        for cls in classes:
            HANDLERS[cls] = fn
        return fn

    return register


@dataclass
class Call:
    """How a sentence is being run."""

    sentence: str
    dry_run: bool = False
    confirmed: bool = False
    selection: Sequence[int] = ()
    progress: Callable[[Progress], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: a front end that shows at most this many rows of a table: a report without a file
    #: may read only those (its footer still counts and totals every row); None: all rows
    rows_shown: int | None = None

    def guard(
        self, ws: Workspace, action: str, affected: int, sample: list[str], message: str
    ) -> Result | None:
        """Dry run or confirmation before a bulk change; None means go ahead."""
        if self.dry_run:
            return MutationResult(
                action=action, affected=affected, message=message, dry_run=True, sample=sample
            )
        if affected > ws.confirm_threshold and not self.confirmed:
            return ConfirmationNeeded(
                action=action, affected=affected, message=message, sample=sample
            )
        return None


class Rollback(Exception):
    """Raised inside a transaction to discard it and return ``result``."""

    def __init__(self, result: Result) -> None:
        super().__init__("rollback")
        self.result = result


_loaded = False


def load_verbs() -> None:
    """Import the verb modules once (they register their handlers)."""
    global _loaded
    if _loaded:
        return
    for name in VERB_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    _loaded = True


def handler_for(command: Any) -> Callable[[Workspace, Any, Call], Result] | None:
    """The handler of a parsed command, importing only its verb module if it can."""
    cls = type(command)
    if cls not in HANDLERS:
        module = VERB_OF.get(cls.__name__)
        if module is None:
            load_verbs()
        else:
            importlib.import_module(module)
    return HANDLERS.get(cls)


def parse_sentence(sentence: str) -> Any:
    """Parse, turning the grammar's error into the user-facing one."""
    try:
        return parse(sentence)
    except ParseError as exc:
        raise UserError(
            exc.message,
            position=exc.position,
            suggestions=exc.suggestions,
            detail=f"{exc.line}\n{exc.caret}",
        ) from None


def run(
    ws: Workspace,
    sentence: str,
    *,
    dry_run: bool = False,
    confirmed: bool = False,
    selection: Sequence[int] = (),
    progress: Callable[[Progress], None] | None = None,
    rows_shown: int | None = None,
) -> Result:
    """Run one sentence. Raises UserError for anything the user can fix."""
    command = parse_sentence(sentence)
    handler = handler_for(command)
    if handler is None:
        raise UserError(f"'{sentence}' is understood but not available in this version")
    call = Call(sentence, dry_run, confirmed, tuple(selection), progress, rows_shown=rows_shown)
    ws.ensure_figures()
    try:
        return handler(ws, command, call)
    except Rollback as rb:
        return rb.result
