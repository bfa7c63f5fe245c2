"""The one error type every front end knows how to show."""

from __future__ import annotations

from collections.abc import Sequence


class UserError(Exception):
    """A problem the user can fix: bad input, unknown name, missing setting.

    ``position`` is a 0-based column in the sentence (or ``None``),
    ``suggestions`` are replacements worth offering ("did you mean ...").
    A command that raises this has changed nothing.
    """

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        suggestions: Sequence[str] = (),
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.suggestions = list(suggestions)
        self.detail = detail

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of an error: ``{"message", "position", "suggestions"}``."""
        return {
            "message": self.message,
            "position": self.position,
            "suggestions": self.suggestions,
        }
