"""Import entry points: ``import_file`` (command bar and CLI) and ``import_preview`` (TUI).

By default an import is all or nothing: every bad row is reported with its line,
column and reason, and nothing is written. Customers are upserted by email, invoices
by number; payments identical to one already stored count as conflicts. A row that
would change nothing counts as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

from sqlalchemy import Connection

from commands import (
    audit,
    import_undo,  # noqa: F401  (registers the undo of imports)
)
from commands.errors import UserError
from commands.executor import Call, parse_sentence
from commands.fileformats import (
    Mapping,
    Override,
    RowError,
    TableReader,
    auto_map,
    open_table,
    parse_overrides,
)
from commands.fileformats.mapping import (
    CUSTOM_PREFIX,
    FIELDS,
    Kind,
    check_kind,
    sentence_overrides,
)
from commands.fileformats.reading import SpreadsheetReader
from commands.fileformats.validation import validate_chunks
from commands.files_common import (
    ImportCounts,
    OnConflict,
    check_conflict,
    error_message,
    resolve_path,
    summary,
)
from commands.gc_pause import gc_paused
from commands.import_core import Importer
from commands.import_customers import CustomerImporter, NewCustomerRows, NewCustomers
from commands.import_ledger import InvoiceImporter, PaymentImporter
from commands.import_pipeline import available as pipeline_available
from commands.import_pipeline import produced_chunks
from commands.results import MutationResult, Progress, Result
from commands.workspace import Workspace
from grammar import ast as A
from store import bulk
from store.bulk import indexes_suspended
from store.search import NO_SEARCH_LOAD, SearchLoad, incremental_load

#: above this many rows (estimated), the search triggers are suspended during the load
BULK_LOAD_ROWS = 5000

IMPORTERS: dict[str, type[Importer]] = {
    "customers": CustomerImporter,
    "invoices": InvoiceImporter,
    "payments": PaymentImporter,
}


@dataclass
class ImportPreview:
    """What the TUI's mapping screen shows before an import (nothing is written)."""

    path: str
    kind: str
    #: file column -> field (canonical or ``custom:NAME``), None when not imported
    mapping: dict[str, str | None]
    columns: list[str]
    #: the first rows as they would be imported (field -> value, plus ``line``)
    rows: list[dict[str, Any]]
    #: every problem, ``row N, column C: reason`` (capped, with a count of the rest)
    errors: list[str]
    total_rows: int
    unknown_columns: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    #: the fields a column may be mapped to (besides ``custom:NAME``)
    fields: list[str] = field(default_factory=list)
    #: how many problems there are (``errors`` lists the first ones)
    error_count: int = 0
    #: file column -> an example of its values, as the file has it (first rows)
    samples: dict[str, str] = field(default_factory=dict)


#: rows looked at for each column's example value
SAMPLE_ROWS = 20


def column_samples(reader: TableReader, limit: int = 40) -> dict[str, str]:
    """Each column's first non-empty value in the first rows, as text (for mapping)."""
    samples: dict[str, str] = {}
    for _, cells in islice(reader, SAMPLE_ROWS):
        for header, value in zip(reader.headers, cells, strict=False):
            if header in samples or value is None or value == "":
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            text = value.isoformat() if isinstance(value, date) else str(value)
            samples[header] = text if len(text) <= limit else text[: limit - 1] + "…"
        if len(samples) == len(reader.headers):
            break
    return samples


def _quoted(text: str) -> str:
    """``text`` as one word of a sentence: in double quotes, or single if it has one."""
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    raise UserError(f"{text!r} has both kinds of quote; rename it in the file")


def remapped_sentence(sentence: str, column: str, target: str | None) -> str:
    """``sentence`` (an import) with ``column`` mapped to ``target``: a field,
    ``custom:NAME``, ``""`` to leave it out, or None to go back to the detected mapping.

    The result is the sentence the TUI's mapping screen runs, so the transcript and
    history show exactly what was imported, and it runs the same headless."""
    cmd = parse_sentence(sentence)
    if not isinstance(cmd, A.Import):
        raise UserError("expected an import sentence, e.g. 'import customers from FILE'")
    pairs = [(col, to) for col, to in cmd.mapping if col != column]
    if target is not None:
        pairs.append((column, target))
    sentence_overrides(pairs, cmd.kind)  # a bad field is an error here, not later
    out = f"import {cmd.kind} from {_quoted(cmd.path)}"
    if pairs:
        maps = []
        for col, to in pairs:
            if to.startswith(CUSTOM_PREFIX):
                to = CUSTOM_PREFIX + _quoted(to[len(CUSTOM_PREFIX) :])
            maps.append(f"{_quoted(col)} as {to or 'nothing'}")
        out += " mapping " + ", ".join(maps)
    return out


def estimate_rows(reader: TableReader) -> int | None:
    """Roughly how many data rows a file has (for progress and bulk-load decisions)."""
    try:
        if isinstance(reader, SpreadsheetReader):
            return reader.estimated_rows()
        with reader.path.open("rb") as fh:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        return max(lines - 1, 0)
    except (OSError, ValueError, TypeError):
        return None


def file_mapping(kind: Kind, reader: TableReader, overrides: Sequence[str | Override]) -> Mapping:
    """The automatic mapping of the file's headers with the user's ``--map`` overrides."""
    ovs = [o for o in overrides if isinstance(o, Override)]
    texts = [o for o in overrides if isinstance(o, str)]
    if texts:
        ovs += parse_overrides(texts, kind)
    return auto_map(kind, reader.headers, ovs or None)


def one_pass(
    ws: Workspace,
    conn: Connection,
    kind: Kind,
    reader: TableReader,
    mapping: Mapping,
    *,
    on_conflict: OnConflict,
    write: bool,
    progress: Callable[[Progress], None] | None,
    total: int | None,
    keep: Callable[[Any], None] | None = None,
    audit_entry: int | None = None,
    search: SearchLoad = NO_SEARCH_LOAD,
) -> Importer:
    """Validate and check every row of ``reader``; with ``write``, write them too."""
    imp = IMPORTERS[kind](
        ws, conn, mapping, on_conflict=on_conflict, write=write, progress=progress, total=total
    )
    imp.audit_entry = audit_entry
    imp.search = search
    for chunk in validate_chunks(kind, reader, mapping, ws.currency):
        if keep is not None:
            for item in chunk:
                keep(item)
        imp.feed_all(chunk)
    imp.finish()
    return imp


def pipelined_pass(
    ws: Workspace,
    conn: Connection,
    reader: TableReader,
    mapping: Mapping,
    *,
    on_conflict: OnConflict,
    progress: Callable[[Progress], None] | None,
    total: int | None,
    audit_entry: int,
    search: SearchLoad,
) -> Importer:
    """:func:`one_pass` writing customers while a producer process validates the file."""
    imp = CustomerImporter(
        ws, conn, mapping, on_conflict=on_conflict, write=True, progress=progress, total=total
    )
    imp.audit_entry = audit_entry
    imp.search = search
    known = frozenset(imp.emails())
    make = NewCustomerRows(ws.today, bulk.is_sqlite(conn))
    with produced_chunks(reader, mapping, ws.currency, known, make) as chunks:
        for chunk in chunks:
            if isinstance(chunk, NewCustomers):
                imp.feed_new(chunk)
            else:
                imp.feed_all(chunk)
    imp.finish()
    return imp


def _not_imported(mapping: Mapping) -> str:
    if not mapping.unknown_columns:
        return ""
    return f" (not imported: {', '.join(mapping.unknown_columns)})"


@gc_paused()
def import_file(
    ws: Workspace,
    kind: str,
    path: str,
    call: Call,
    *,
    overrides: Sequence[str | Override] = (),
    on_conflict: str = "update",
) -> Result:
    """Import ``kind`` records from ``path`` (the command bar and the CLI both come here).

    Unconfirmed and dry runs check the whole file first (writing nothing) and return
    the dry-run result or the confirmation request; a confirmed run writes in one
    transaction, rolled back at the first error.
    """
    k = check_kind(kind)
    conflict = check_conflict(on_conflict)
    p = resolve_path(path)
    with open_table(p) as reader:
        mapping = file_mapping(k, reader, overrides)
        missing = mapping.missing_required()
        if missing:
            raise UserError(
                f"{p.name}: no column for {', '.join(missing)} "
                f'(columns: {", ".join(reader.headers)}); map one: add `mapping "Column" as '
                f'{missing[0].split()[0]}` to the sentence (or --map "Column=field")',
            )
        total = estimate_rows(reader)
        if call.dry_run or not call.confirmed:
            with ws.read() as conn:
                check = one_pass(
                    ws, conn, k, reader, mapping, on_conflict=conflict, write=False,
                    progress=call.progress, total=total,
                )  # fmt: skip
            if check.error_count:
                raise UserError(error_message(p, check.errors, check.error_count))
            message = summary(k, check.counts, p, dry_run=call.dry_run) + _not_imported(mapping)
            guard = call.guard(ws, "import", check.counts.affected, [], message)
            if isinstance(guard, MutationResult):
                guard.path = str(p)
            if guard is not None:
                return guard
            total = check.counts.rows
        big = k == "customers" and (total or 0) > BULK_LOAD_ROWS
        # a bulk load refers only to rows it creates or looks up itself
        with ws.write(check_references=not big) as conn:
            entry = audit.record(
                conn, sentence=call.sentence, action="import", affected=0, actor=ws.actor, undo=None
            )
            with ExitStack() as suspended:
                search = NO_SEARCH_LOAD
                if big:
                    search = suspended.enter_context(incremental_load(conn))
                    suspended.enter_context(indexes_suspended(conn, ("customers", "customer_tags")))
                if big and pipeline_available():
                    imp = pipelined_pass(
                        ws, conn, reader, mapping, on_conflict=conflict, progress=call.progress,
                        total=total, audit_entry=entry, search=search,
                    )  # fmt: skip
                else:
                    imp = one_pass(
                        ws, conn, k, reader, mapping, on_conflict=conflict, write=True,
                        progress=call.progress, total=total, audit_entry=entry, search=search,
                    )  # fmt: skip
                if imp.error_count:  # raising rolls the whole transaction back
                    raise UserError(error_message(p, imp.errors, imp.error_count))
            counts = imp.counts
            undo = {
                "op": "undo_import",
                "kind": k,
                "tags": imp.created_tags,
                "fields": imp.created_fields,
                "inserted": imp.inserted_ranges,
            }
            audit.set_undo(conn, entry, undo if counts.affected else None, counts.affected)
    message = summary(k, counts, p, dry_run=False) + _not_imported(mapping)
    return MutationResult(
        "import", counts.affected, message, audit_id=entry, path=str(p), undoable=True
    )


def _display(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(value)
    return value


def import_preview(
    ws: Workspace,
    sentence_or_path: str,
    overrides: Sequence[str | Override] = (),
    *,
    kind: str | None = None,
    on_conflict: str = "update",
    preview_rows: int = 10,
) -> ImportPreview:
    """Mapping, the first rows as they would be imported, and every error; writes nothing.

    ``sentence_or_path`` is ``import customers from FILE`` or a bare path (``kind``
    then says what it holds, customers by default). The TUI's mapping screen calls
    this again with the user's ``overrides`` (``"Column=field"``) after each change.
    """
    text = sentence_or_path.strip()
    k: Kind = check_kind(kind) if kind else "customers"
    path = text
    if text.casefold().startswith("import"):
        cmd = parse_sentence(text)
        if not isinstance(cmd, A.Import):
            raise UserError("expected an import sentence, e.g. 'import customers from FILE'")
        k = check_kind(kind or cmd.kind)
        path = cmd.path
        overrides = [*sentence_overrides(cmd.mapping, k), *overrides]
    p = resolve_path(path)
    conflict = check_conflict(on_conflict)
    with open_table(p) as reader:
        mapping = file_mapping(k, reader, overrides)
        samples = column_samples(reader)
        columns = list(reader.headers)
        cols = mapping.columns
        missing = mapping.missing_required()
        shown: list[dict[str, Any]] = []

        def keep(item: Any) -> None:
            if len(shown) < preview_rows and not isinstance(item, RowError):
                row = {"line": item.line}
                for fname in FIELDS[k]:
                    if fname in mapping.fields:
                        row[fname] = _display(getattr(item, fname))
                for name, value in item.custom.items():
                    row[CUSTOM_PREFIX + name] = value
                shown.append(row)

        errors: list[str] = []
        error_count = 0
        counts = ImportCounts()
        if not missing:
            with ws.read() as conn:
                imp = one_pass(
                    ws, conn, k, reader, mapping, on_conflict=conflict, write=False,
                    progress=None, total=None, keep=keep,
                )  # fmt: skip
            errors = [str(e) for e in imp.errors]
            error_count = imp.error_count
            if imp.error_count > len(errors):
                errors.append(f"... and {imp.error_count - len(errors):,} more")
            counts = imp.counts
            total_rows = imp.counts.rows + len(imp.bad_lines)
        else:
            total_rows = sum(1 for _ in reader)
    return ImportPreview(
        path=str(p),
        kind=k,
        mapping={h: cols.get(h) for h in columns},
        columns=columns,
        rows=shown,
        errors=errors,
        total_rows=total_rows,
        unknown_columns=list(mapping.unknown_columns),
        missing_required=missing,
        inserted=counts.inserted,
        updated=counts.updated,
        skipped=counts.skipped,
        fields=list(FIELDS[k]),
        error_count=error_count,
        samples=samples,
    )


__all__ = [
    "BULK_LOAD_ROWS",
    "ImportPreview",
    "estimate_rows",
    "import_file",
    "import_preview",
    "remapped_sentence",
]
