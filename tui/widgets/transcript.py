"""The transcript: each sentence typed and what it did.

A ``RichLog`` (Line API, so a long session stays cheap). Results are the
types of :mod:`commands.results`; errors are ``UserError``-like objects
(``message``, ``position``, ``suggestions``) shown with a caret under the
sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import RichLog

from commands.results import (
    ConfirmationNeeded,
    MessageResult,
    MutationResult,
    QueryResult,
    TableResult,
)

PROMPT = "› "
TABLE_ROWS = 20  # rows of a TableResult shown inline


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def error_renderable(sentence: str | None, error: Any) -> RenderableType:
    """The sentence, a caret under the bad spot, the message, suggestions."""
    parts: list[RenderableType] = []
    position = getattr(error, "position", None)
    if sentence is not None and position is not None:
        position = max(0, min(int(position), len(sentence)))
        parts.append(Text(" " * len(PROMPT) + sentence, style="dim"))
        parts.append(Text(" " * (len(PROMPT) + position) + "^", style="bold red"))
    message = getattr(error, "message", None) or str(error)
    parts.append(Text("✗ " + message, style="bold red"))
    detail = getattr(error, "detail", None)
    if detail and parts and sentence is not None and sentence.strip() in detail:
        detail = None  # the parser's own copy of the sentence and caret: shown above
    if detail:
        parts.append(Text("  " + detail, style="red"))
    suggestions: Sequence[str] = getattr(error, "suggestions", None) or ()
    if suggestions:
        text = Text("  Did you mean: ", style="yellow")
        for i, suggestion in enumerate(suggestions):
            if i:
                text.append(", ", style="yellow")
            text.append(suggestion, style="bold yellow")
        text.append("?", style="yellow")
        parts.append(text)
    return Group(*parts)


def result_renderable(result: Any) -> RenderableType:
    """How one result reads in the transcript."""
    if isinstance(result, MutationResult):
        text = Text()
        if result.dry_run:
            text.append("Dry run: ", style="bold yellow")
        text.append(result.message, style="green" if not result.dry_run else "yellow")
        if result.path:
            text.append(f" ({result.path})", style="dim")
        if result.undoable and not result.dry_run:
            text.append(" — undo with ", style="dim")
            text.append("`undo`", style="bold")
        parts: list[RenderableType] = [text]
        if result.sample:
            parts.extend(Text("  · " + s, style="dim") for s in result.sample)
            if result.affected > len(result.sample):
                more = result.affected - len(result.sample)
                parts.append(Text(f"  … and {more:,} more", style="dim"))
        return Group(*parts)
    if isinstance(result, ConfirmationNeeded):
        if result.action == "import":  # the mapping screen counts the rows
            return Text(f"{result.message} Check the mapping first.", style="yellow")
        noun = "customer" if result.affected == 1 else "customers"
        return Text(
            f"Asking first ({result.affected:,} {noun}) — if you agree: {result.message}",
            style="yellow",
        )
    if isinstance(result, QueryResult):
        noun = "customer" if result.total == 1 else "customers"
        text = Text(f"{result.total:,} {noun}", style="bold")
        if result.description:
            text.append(f" — {result.description}")
        return text
    if isinstance(result, TableResult):
        table = Table(title=result.title, title_justify="left", expand=False, show_edge=False)
        for column in result.columns:
            table.add_column(column)
        for row in result.rows[:TABLE_ROWS]:
            table.add_row(*(_cell(v) for v in row))
        parts = [table]
        shown = min(len(result.rows), TABLE_ROWS)
        if result.row_count > shown:
            parts.append(Text(f"… {result.row_count - shown:,} more rows", style="dim"))
        if result.footer:
            parts.append(Text(result.footer, style="dim"))
        return Group(*parts)
    if isinstance(result, MessageResult):
        return Text(result.text)
    return Text(str(result))


class Transcript(RichLog):
    """What was typed and what happened, newest at the bottom."""

    DEFAULT_CSS = """
    Transcript {
        height: 8;
        border-top: solid $panel;
        background: $surface;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id, wrap=True, markup=False, highlight=False)
        #: plain-text record of every entry (for tests and copying)
        self.plain: list[str] = []

    def _add(self, renderable: RenderableType) -> None:
        self.write(renderable, scroll_end=True)
        if isinstance(renderable, Text):
            self.plain.append(renderable.plain)
        elif isinstance(renderable, Group):
            for part in renderable.renderables:
                if isinstance(part, Text):
                    self.plain.append(part.plain)
                elif isinstance(part, Table):
                    self.plain.append(str(part.title or ""))

    def add_sentence(self, sentence: str) -> None:
        self._add(Text(PROMPT, style="bold cyan") + Text(sentence, style="bold"))

    def add_result(self, result: Any) -> None:
        self._add(result_renderable(result))

    def add_error(self, sentence: str | None, error: Any) -> None:
        self._add(error_renderable(sentence, error))

    def add_info(self, text: str, style: str = "dim") -> None:
        self._add(Text(text, style=style))
