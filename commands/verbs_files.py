"""Import and export verbs: ``import KIND from FILE`` and ``export QUERY to FILE``.

The work lives in :mod:`commands.importing` (with :mod:`commands.import_core`,
:mod:`commands.import_customers`, :mod:`commands.import_ledger` and
:mod:`commands.import_undo`) and :mod:`commands.exporting`; this module registers
the handlers and keeps the names front ends use (``import_preview`` for the TUI's
mapping screen, ``import_file`` for the CLI) importable from one place.
"""

from __future__ import annotations

from commands.executor import Call, handles
from commands.exporting import export_customers, export_headers
from commands.fileformats.mapping import sentence_overrides
from commands.files_common import ImportCounts, output_path, resolve_path
from commands.importing import ImportPreview, import_file, import_preview
from commands.results import MutationResult, Result
from commands.targets import plural, translate
from commands.workspace import Workspace
from grammar import ast as A
from store import query as q


@handles(A.Import)
def import_command(ws: Workspace, cmd: A.Import, call: Call) -> Result:
    """``import customers|invoices|payments from FILE [mapping COLUMN as FIELD, ...]``
    (``--map`` and ``--on-conflict`` via ``call.extra``; a ``--map`` of the same column
    wins over the sentence's)."""
    return import_file(
        ws,
        cmd.kind,
        cmd.path,
        call,
        overrides=[
            *sentence_overrides(cmd.mapping, cmd.kind),
            *(call.extra.get("overrides") or ()),
        ],
        on_conflict=str(call.extra.get("on_conflict") or "update"),
    )


@handles(A.Export)
def export_command(ws: Workspace, cmd: A.Export, call: Call) -> Result:
    """``export SEGMENT-OR-QUERY to FILE.csv|FILE.xlsx``."""
    p = output_path(cmd.path)
    with ws.read() as conn:
        spec = translate(ws, conn, cmd.query, call).spec
        if call.dry_run:
            n = q.count_customers(conn, ws.today, spec)
            return MutationResult(
                "export",
                n,
                f"would export {plural(n, 'customer')} to {p}",
                dry_run=True,
                undoable=False,
                path=str(p),
            )
        n = export_customers(ws, conn, spec, p, call.progress)
    return MutationResult(
        "export", n, f"Exported {plural(n, 'customer')} to {p}", undoable=False, path=str(p)
    )


__all__ = [
    "ImportCounts",
    "ImportPreview",
    "export_command",
    "export_customers",
    "export_headers",
    "import_command",
    "import_file",
    "import_preview",
    "resolve_path",
]
