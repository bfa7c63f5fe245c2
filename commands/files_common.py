"""What import, export and reports share: paths, conflict modes, counts and messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from commands.errors import UserError
from commands.fileformats import RowError
from commands.fileformats.mapping import Kind
from commands.targets import plural

OnConflict = Literal["update", "skip", "error"]
ON_CONFLICT: tuple[OnConflict, ...] = ("update", "skip", "error")
#: errors listed in the message (the rest are counted)
MAX_LISTED_ERRORS = 20
#: file types export and reports write
WRITABLE_SUFFIXES = (".csv", ".xlsx")


def resolve_path(text: str) -> Path:
    """``~`` expanded; relative paths are relative to the current directory."""
    p = Path(text.strip()).expanduser()
    return p if p.is_absolute() else Path.cwd() / p


def output_path(text: str) -> Path:
    """A .csv or .xlsx path to write, or a UserError naming the file."""
    p = resolve_path(text)
    if p.suffix.lower() not in WRITABLE_SUFFIXES:
        raise UserError(f"Cannot write {p.name}: use a .csv or .xlsx file name")
    if not p.parent.is_dir():
        raise UserError(f"Cannot write {p.name}: the folder {p.parent} does not exist")
    return p


def check_conflict(on_conflict: str) -> OnConflict:
    for option in ON_CONFLICT:
        if option == on_conflict:
            return option
    raise UserError(f"--on-conflict is update, skip or error, not {on_conflict!r}")


@dataclass
class ImportCounts:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    #: rows already stored: unchanged on update, or left alone with ``--on-conflict skip``
    skipped: int = 0

    @property
    def affected(self) -> int:
        return self.inserted + self.updated


def error_message(path: Path, errors: Sequence[RowError], total: int) -> str:
    """``N errors in FILE; nothing was imported:`` then one ``row, column: reason`` a line."""
    head = f"{plural(total, 'error')} in {path.name}; nothing was imported:"
    lines = [f"  {e}" for e in errors[:MAX_LISTED_ERRORS]]
    if total > len(lines):
        lines.append(f"  ... and {total - len(lines):,} more")
    return "\n".join([head, *lines])


def summary(kind: Kind, counts: ImportCounts, path: Path, *, dry_run: bool) -> str:
    noun = kind[:-1]
    verb = "would import" if dry_run else "Imported"
    parts = [f"{plural(counts.inserted, 'new ' + noun)}", f"{counts.updated:,} updated"]
    if counts.skipped:
        parts.append(f"{counts.skipped:,} skipped")
    return f"{verb} {path.name}: " + ", ".join(parts)


__all__ = [
    "MAX_LISTED_ERRORS",
    "ON_CONFLICT",
    "ImportCounts",
    "OnConflict",
    "check_conflict",
    "error_message",
    "output_path",
    "resolve_path",
    "summary",
]
