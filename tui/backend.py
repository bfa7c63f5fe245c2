"""What the full-screen app needs from the application layer.

The TUI holds no business rule and no SQL: everything it shows comes
through this small interface, which ``commands/`` implements (the TUI
never imports ``store`` or ``grammar``). All methods are plain blocking
calls; the app calls every one of them from a Textual thread worker, so
an implementation may take its time without freezing the screen. The
implementation must therefore be safe to call from a thread other than
the one that created it (e.g. a SQLAlchemy session per call).

Result types are those of :mod:`commands.results`; problems the user
can fix are raised as :class:`commands.errors.UserError` (with
``position`` for the caret and ``suggestions``).

"Query text" is a sentence of the command language that lists
customers (``"customers"``, ``"late payers sorted by revenue"``,
``"find acme"``). The empty string means every (non-archived) customer:
``count("")`` is the *M* of the browser's "N of M customers" title.

An implementation may also offer ``warm_up()`` (no arguments): the app
calls it in a worker once the first screen is painted, to load what the
first typed sentence will need (parser tables, verb modules).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from commands.results import CustomerDetail, CustomerRow, Progress, Result

#: One completion: ``(text, kind, replace_from)``. ``kind`` is a short word
#: shown beside the text (``keyword``, ``tag``, ``segment``, ``field``,
#: ``customer``, ``path``, ...); accepting it replaces ``sentence[replace_from:]``
#: with ``text``.
Completion = tuple[str, str, int]

#: Sort keys the browser asks for (one per column). ``None`` means "the
#: query's own order" (its ``sorted by`` clause, else by name).
SORT_KEYS = (
    "name",
    "company",
    "email",
    "revenue",
    "invoice_count",
    "outstanding",
    "last_activity",
    "tags",
)


@runtime_checkable
class ImportPreview(Protocol):
    """What the import mapping screen shows before an import is confirmed.

    Any object with these attributes will do (e.g. a dataclass in
    ``commands.results``).
    """

    @property
    def path(self) -> str:
        """The file being imported."""
        ...

    @property
    def mapping(self) -> Mapping[str, str | None]:
        """File column -> customer field (``None``: the column is ignored)."""
        ...

    @property
    def columns(self) -> Sequence[str]:
        """The columns of ``rows`` (customer fields, in display order)."""
        ...

    @property
    def rows(self) -> Sequence[Any]:
        """The first few rows as they would be imported: mappings (field ->
        value, as ``commands.verbs_files.import_preview`` gives them) or
        sequences in the order of :attr:`columns`."""
        ...

    @property
    def errors(self) -> Sequence[str]:
        """Human-readable problems, e.g. "row 12: email 'x@' is not valid"."""
        ...

    @property
    def total_rows(self) -> int:
        """Rows in the file."""
        ...

    @property
    def kind(self) -> str:
        """customers, invoices or payments."""
        ...

    @property
    def fields(self) -> Sequence[str]:
        """The fields a column may be mapped to (besides ``custom:NAME``)."""
        ...

    @property
    def missing_required(self) -> Sequence[str]:
        """Required fields no column provides (then nothing can be imported)."""
        ...

    @property
    def error_count(self) -> int:
        """How many problems there are (``errors`` lists the first ones)."""
        ...

    @property
    def samples(self) -> Mapping[str, str]:
        """File column -> an example of its values (from the first rows)."""
        ...


@runtime_checkable
class Backend(Protocol):
    """The application layer as seen by the TUI."""

    #: where the command bar keeps its history (one sentence per line)
    history_path: Path

    def count(self, query_text: str) -> int:
        """How many customers the query matches (``""``: all customers).

        Raises ``UserError`` when the text is not a customer query.
        """
        ...

    def page(
        self,
        query_text: str,
        sort_key: str | None,
        descending: bool,
        offset: int,
        limit: int,
    ) -> Sequence[CustomerRow]:
        """A window of the query's rows: ``rows[offset : offset + limit]``.

        ``sort_key`` is one of :data:`SORT_KEYS` or ``None`` (the query's
        own order); ties are broken by id so windows never overlap.
        The browser asks only for windows it is about to show (~200 rows).
        """
        ...

    def ids(self, query_text: str, sort_key: str | None, descending: bool) -> Sequence[int]:
        """Every matching customer id, in list order (``V``: select all)."""
        ...

    def detail(self, customer_id: int) -> CustomerDetail:
        """Everything the detail pane shows for one customer."""
        ...

    def payment_methods(self, customer_id: int) -> Result:
        """The Payment methods tab: a ``TableResult`` of the customer's
        methods, or a ``MessageResult`` such as "configure a Stripe key"."""
        ...

    def run(
        self,
        sentence: str,
        *,
        confirmed: bool = False,
        selection: Sequence[int] = (),
        progress: Callable[[Progress], None] | None = None,
        rows_shown: int | None = None,
    ) -> Result:
        """Carry out one sentence of the command bar.

        - ``selection`` is what ``selected`` means in the sentence (the
          ids marked in the browser, ascending).
        - Returns ``ConfirmationNeeded`` instead of acting when the change
          is over the bulk threshold and ``confirmed`` is false; the app
          shows the preview and, if the user agrees, calls again with
          ``confirmed=True``. For an import the ``action`` is ``"import"``
          and the app shows :meth:`import_preview` instead of the plain
          preview.
        - A ``QueryResult`` makes ``sentence`` the browser's query.
        - ``progress`` (called from the worker thread) reports long work.
        - ``rows_shown``: the app shows this many rows of a table; a report
          (without a file) may hold only those, its footer counting them all.
        - Raises ``UserError`` for anything the user should fix.
        """
        ...

    def complete(self, text: str) -> Sequence[Completion]:
        """What may come next at the end of ``text`` (keywords, tags,
        segments, fields, customer names, paths), best first."""
        ...

    def import_preview(self, sentence: str) -> ImportPreview:
        """The detected mapping, preview rows and errors of an import
        sentence (``import customers from contacts.xlsx``); changes nothing."""
        ...

    def remap_import(self, sentence: str, column: str, target: str | None) -> str:
        """The import sentence with ``column`` mapped to ``target`` (a field,
        ``custom:NAME``, ``""`` for not imported, None for the detected
        mapping): ``import customers from "x.csv" mapping "Firma" as company``.
        Raises ``UserError`` for a field the import does not have."""
        ...
