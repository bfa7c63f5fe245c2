"""The application layer as the full-screen app sees it (``tui.backend.Backend``).

Every method opens its own connection, so the TUI may call them from worker
threads. Lists page from SQL: a window of rows, with keyset paging when the
window continues the previous one and OFFSET only for jumps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from commands.config import data_dir
from commands.errors import UserError
from commands.results import (
    ConfirmationNeeded,
    CustomerDetail,
    CustomerRow,
    MessageResult,
    Progress,
    QueryResult,
    Result,
)
from commands.rows import customer_rows
from commands.workspace import Workspace
from store import query as q
from store.models import Customer, CustomField, SavedSegment, Tag

if TYPE_CHECKING:
    from grammar.complete import Vocabulary

# The executor, the verb modules and the grammar (lark, its parse tables) are
# imported on first use, not at start: the first screen ("every customer")
# needs none of them, and ``warm_up`` loads them in the background after it.

#: browser column -> store sort key
COLUMN_SORTS = {
    "name": "name",
    "company": "company",
    "email": "email",
    "revenue": "revenue",
    "invoice_count": "invoice_count",
    "outstanding": "outstanding",
    "last_activity": "last_activity",
    "tags": "name",
}


class WorkspaceBackend:
    """Implements the TUI's Backend protocol on a Workspace."""

    def __init__(self, ws: Workspace, history_path: Path | None = None) -> None:
        self.ws = ws
        self.history_path = history_path or data_dir() / "history"
        self._lock = threading.Lock()
        #: (query, sort, desc, offset) -> (sort value, id) of the row before ``offset``
        self._cursors: dict[tuple[Any, ...], tuple[Any, int]] = {}

    # ------------------------------------------------------------ lists

    def _spec(
        self,
        conn: Any,
        query_text: str,
        sort_key: str | None,
        descending: bool,
        selection: Sequence[int] = (),
    ) -> q.ListSpec:
        if not query_text.strip():
            spec = q.ListSpec()
        else:
            from commands import executor
            from commands.translate import Translator
            from grammar import ast as A

            command = executor.parse_sentence(query_text)
            if not isinstance(command, A.ListCustomers):
                raise UserError(f"'{query_text}' is not a customer query")
            spec = (
                Translator(conn, self.ws.today, self.ws.currency, selection)
                .query(command.query)
                .spec
            )
        if sort_key is not None:
            spec = replace(spec, sort=((COLUMN_SORTS.get(sort_key, "name"), descending),))
        return spec

    def count(self, query_text: str) -> int:
        self.ws.ensure_figures()
        with self.ws.read() as conn:
            spec = self._spec(conn, query_text, None, False)
            n = q.count_customers(conn, self.ws.today, spec)
            return min(n, spec.limit) if spec.limit is not None else n

    def page(
        self, query_text: str, sort_key: str | None, descending: bool, offset: int, limit: int
    ) -> Sequence[CustomerRow]:
        self.ws.ensure_figures()
        with self.ws.read() as conn:
            spec = self._spec(conn, query_text, sort_key, descending)
            key = (query_text, sort_key, descending, self.ws.today)
            if spec.limit is not None:
                limit = max(0, min(limit, spec.limit - offset))
                spec = replace(spec, limit=None)
            keyset = len(spec.sort) == 1 and q.SORT_KEYS[spec.sort[0][0]][1]
            after = self._cursors.get((*key, offset)) if keyset else None
            window = replace(spec, limit=limit, offset=0 if after else offset, after=after)
            rows = q.list_customers(conn, self.ws.today, window)
            if keyset and rows:
                last = rows[-1]
                with self._lock:
                    if len(self._cursors) > 4096:
                        self._cursors.clear()
                    self._cursors[(*key, offset + len(rows))] = (
                        q.sort_value(last, spec.sort[0][0]),
                        last.id,
                    )
            return customer_rows(conn, rows, self.ws.currency)

    def ids(self, query_text: str, sort_key: str | None, descending: bool) -> Sequence[int]:
        self.ws.ensure_figures()
        with self.ws.read() as conn:
            spec = self._spec(conn, query_text, sort_key, descending)
            return q.customer_ids(conn, self.ws.today, spec)

    # ------------------------------------------------------------ one customer

    def detail(self, customer_id: int) -> CustomerDetail:
        from commands.detail import customer_detail

        self.ws.ensure_figures()
        return customer_detail(self.ws, customer_id)

    def payment_methods(self, customer_id: int) -> Result:
        try:
            from commands.verbs_stripe import payment_methods_result
        except ImportError:
            return MessageResult("Stripe support is not installed in this build")
        try:
            return payment_methods_result(self.ws, customer_id)  # type: ignore[no-any-return]
        except UserError as exc:
            return MessageResult(exc.message)

    # ------------------------------------------------------------ commands

    def run(
        self,
        sentence: str,
        *,
        confirmed: bool = False,
        selection: Sequence[int] = (),
        progress: Callable[[Progress], None] | None = None,
        rows_shown: int | None = None,
    ) -> Result:
        from commands import executor
        from grammar import ast as A

        command = executor.parse_sentence(sentence)
        if isinstance(command, A.ListCustomers):
            # The browser pages the rows itself: only count here, instead of
            # loading every matching row with its figures (100k rows for
            # "customers" on a big database).
            return QueryResult(total=self.count(sentence), rows=[], description=sentence)
        if isinstance(command, A.Import) and not confirmed:
            # Every import goes through the mapping screen first (import_preview
            # checks the whole file there), whatever its size.
            return ConfirmationNeeded("import", 0, f"Import {command.kind} from {command.path}?")
        result = executor.run(
            self.ws,
            sentence,
            confirmed=confirmed,
            selection=selection,
            progress=progress,
            rows_shown=rows_shown,
        )
        self._cursors.clear()
        return result

    def import_preview(self, sentence: str) -> Any:
        from commands.verbs_files import import_preview

        return import_preview(self.ws, sentence)

    def remap_import(self, sentence: str, column: str, target: str | None) -> str:
        from commands.importing import remapped_sentence

        return remapped_sentence(sentence, column, target)

    def warm_up(self) -> None:
        """Load what the first sentence needs (executor, verbs, grammar tables)."""
        from commands import executor
        from commands.detail import customer_detail  # noqa: F401
        from grammar.complete import complete  # noqa: F401

        executor.load_verbs()
        executor.parse_sentence("customers")

    def complete(self, text: str) -> Sequence[tuple[str, str, int]]:
        from grammar.complete import complete

        return [(c.text, c.kind, c.replace_from) for c in complete(text, self.vocabulary(text))]

    def vocabulary(self, text: str) -> Vocabulary:
        """Names the completer may offer: tags, segments, fields, matching customers."""
        from grammar.complete import Vocabulary

        word = text.rsplit(" ", 1)[-1].strip('"').lower() if text else ""
        cust: Any = Customer.__table__
        with self.ws.read() as conn:
            tags = conn.execute(select(Tag.name).order_by(Tag.name)).scalars().all()
            segments = conn.execute(select(SavedSegment.name)).scalars().all()
            fields = conn.execute(select(CustomField.name)).scalars().all()
            names: list[str] = []
            if len(word) >= 2:
                names = list(
                    conn.execute(
                        select(cust.c.name)
                        .where(cust.c.sort_name >= word, cust.c.sort_name < word + "\uffff")
                        .order_by(cust.c.sort_name)
                        .limit(20)
                    ).scalars()
                )
        return Vocabulary(
            tags=tuple(tags), segments=tuple(segments), fields=tuple(fields), customers=tuple(names)
        )
