"""CSV lines of the customer export formatted by SQLite itself (the fast path).

Formatting 30 cells per row in Python is what made the export slow (3 s for 100k
customers, here 0.9 s: half of it the tags and the per-cell checks), so on SQLite
one ``printf`` per row builds the whole line exactly as the generic writer would
(:func:`commands.exporting.export_customers` with ``csv.writer``): text
neutralised (:func:`~commands.fileformats.reading.neutralise`), money in major
units, figures rounded to 4 places as ``repr(round(x, 4))`` writes them, tags in
name order, custom values as :func:`~commands.custom_values.custom_text` writes them.

What the SQL does not try to reproduce it hands back to Python instead:

* a cell that needs CSV quoting (a comma, quote, CR or LF in it): the caller
  checks each chunk of lines for stray separators (:func:`clean_chunk`);
* values whose text SQLite cannot format identically (a figure within 1e-4 of a
  rounding tie, amounts beyond 16 digits, non-integral custom numbers, a NUL in
  free text, where ``printf`` would cut the cell short): the line carries
  :data:`FALLBACK_MARK`. Status, dates, segments and tag names are written
  by the application only and hold no NUL.

Lines failing either check are rewritten by the generic path, so the file is
byte-for-byte what the generic writer makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, literal_column

from commands.export_worker import FALLBACK_MARK, clean_chunk, tag_cell
from commands.rows import PAYMENT_FLAGS, RISK_REASONS
from store import bulk
from store import query as q
from store.models import CustomFieldValue

cfv: Any = CustomFieldValue.__table__

C = "customers."
F = "customer_figures."
#: GLOB of text starting with a character that makes a cell a formula (FORMULA_TRIGGERS)
_TRIGGER_GLOB = "'[-=+@\t\r]*'"
#: money cells up to this many minor units are formatted by SQLite (16 digits stay exact)
_MONEY_LIMIT = 10**14
#: figures below this are rounded by SQLite (ties are detected well within 1e-4)
_FIGURE_LIMIT = 1e6
#: customer columns of free text (they may hold anything, NUL included)
FREE_TEXT = ("name", "email", "company", "phone", "address")


def _needs_quote_mark(x: str) -> str:
    """SQL: ``x`` gets a leading ``'`` (the rule of ``needs_neutralising``).

    The comparisons (of ``+x``: no affinity, so no numeric conversion) let only
    text starting with a character below ``0`` or in ``=``..``@`` through to the
    exact test, so a cell starting with a letter costs one comparison.
    """
    glob = _TRIGGER_GLOB
    exact = f"({x} GLOB {glob} OR ({x} GLOB '''*' AND ltrim({x}, '''') GLOB {glob}))"
    return f"(+{x} < 'A' AND (+{x} < '0' OR +{x} >= '=') AND {exact})"


def _text(x: str) -> str:
    """SQL: text cell ``x`` neutralised (NULL stays NULL, which ``printf`` writes as '')."""
    return f"CASE WHEN {_needs_quote_mark(x)} THEN '''' || {x} ELSE {x} END"


def _has_nul(x: str) -> str:
    """SQL: ``x`` holds a NUL (``printf`` would end the cell there)."""
    return f"instr({x}, char(0)) > 0"


def _money(x: str, exp: int) -> tuple[str, str, str]:
    """(format, argument, fallback condition) of a money cell in minor units (never NULL)."""
    odd = f"{x} NOT BETWEEN -{_MONEY_LIMIT} AND {_MONEY_LIMIT}"
    if exp == 0:
        return "%d", x, odd
    return f"%.{exp}f", f"{x} / {10**exp}.0", odd


def _figure(x: str) -> tuple[str, str]:
    """(argument, fallback condition): the text of ``repr(round(x, 4))``, NULL for NULL.

    |x| * 10^4 rounded half up agrees with Python's correctly rounded ``round``
    everywhere but near a tie; those rows take the fallback.
    """
    a = f"(CASE WHEN {x} < 0 THEN -{x} ELSE {x} END)"
    scaled = f"({a} * 10000.0)"
    n = f"CAST({scaled} + 0.5 AS INTEGER)"
    frac = f"({n} % 10000)"
    width = (
        f"CASE WHEN {frac} % 1000 = 0 THEN 1 WHEN {frac} % 100 = 0 THEN 2"
        f" WHEN {frac} % 10 = 0 THEN 3 ELSE 4 END"
    )
    digits = (
        f"{frac} / CASE WHEN {frac} % 1000 = 0 THEN 1000 WHEN {frac} % 100 = 0 THEN 100"
        f" WHEN {frac} % 10 = 0 THEN 10 ELSE 1 END"
    )
    arg = (
        f"CASE WHEN {x} IS NOT NULL THEN printf('%s%d.%0*d', CASE WHEN {x} < 0 THEN '-' END,"
        f" {n} / 10000, {width}, {digits}) END"
    )
    tie = f"{scaled} - CAST({scaled} AS INTEGER) BETWEEN 0.4999 AND 0.5001"
    return arg, f"{x} IS NOT NULL AND ({a} >= {_FIGURE_LIMIT} OR {tie})"


def _custom(v: str) -> tuple[str, str]:
    """(argument, fallback condition) of one custom field's value (table alias ``v``).

    As ``custom_text``: a whole number, a date, yes/no or the text; other numbers
    (``repr`` of a float) take the fallback.
    """
    num = f"{v}.number_value"
    whole = f"CAST({num} AS INTEGER)"
    arg = (
        f"CASE WHEN {num} IS NOT NULL THEN"
        f" (CASE WHEN {num} < 0 THEN '''' || {whole} ELSE {whole} END)"
        f" WHEN {v}.date_value IS NOT NULL THEN {_text(v + '.date_value')}"
        f" WHEN {v}.bool_value IS NOT NULL THEN"
        f" (CASE WHEN {v}.bool_value THEN 'yes' ELSE 'no' END)"
        f" ELSE {_text(v + '.text_value')} END"
    )
    odd = (
        f"({num} IS NOT NULL AND {num} <> {whole})"  # CAST clamps what int64 cannot hold
        f" OR {_has_nul(v + '.text_value')} OR {_has_nul(v + '.date_value')}"
    )
    return arg, odd


def _tags_raw() -> str:
    """SQL: the customer's tag names joined by ``;`` in no particular order; NULL for none.

    Ordering them in SQL costs a sort (or min/max) per customer; the caller puts
    each distinct combination in name order and neutralises it once
    (:func:`tag_cell`). Tag names hold no ``;`` (``valid_tag_name``).
    """
    return (
        "(SELECT group_concat(t.name, ';') FROM customer_tags ct"  # noqa: S608 - fixed names
        f" JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = {C}id)"
    )


def _labels(flags: Sequence[tuple[str, str]], led: bool) -> list[str]:
    """SQL: one piece per ``(label, column)`` flag, NULL when it does not hold.

    Printed side by side with ``%s`` they make the flags that hold joined by
    ``;``, led by a ``;`` when ``led``. One CASE per flag is cheaper than one
    CASE matching every combination.
    """
    pieces = []
    for i, (label, col) in enumerate(flags):
        earlier = " OR ".join(F + c for _, c in flags[:i])
        if led:
            text = f"';{label}'"
        elif earlier:
            text = f"CASE WHEN {earlier} THEN ';{label}' ELSE '{label}' END"
        else:
            text = f"'{label}'"
        pieces.append(f"CASE WHEN {F}{col} THEN {text} END")
    return pieces


class _Line:
    """A ``printf`` format of comma-separated cells, their arguments and fallback conditions.

    One cell, the gap, is left for the caller to fill (the tags).
    """

    def __init__(self) -> None:
        self.cells: list[tuple[str, list[str]] | None] = []
        self.odd: list[str] = []

    def cell(self, fmt: str, *args: str, odd: str | None = None) -> None:
        self.cells.append((fmt, list(args)))
        if odd is not None:
            self.odd.append(odd)

    def gap(self) -> None:
        self.cells.append(None)

    def sql(self) -> tuple[str, str]:
        """SQL: the UTF-8 bytes of the line before the gap and after it.

        The head ends with the gap's comma, the tail starts with its own and
        ends with the CRLF, :data:`FALLBACK_MARK` before it if needed.
        """
        at = self.cells.index(None)
        head = [c for c in self.cells[:at] if c is not None]
        tail = [c for c in self.cells[at + 1 :] if c is not None]
        mark = "CASE WHEN " + " OR ".join(f"({o})" for o in self.odd) + " THEN char(1) END"
        return (
            _printf("".join(f + "," for f, _ in head), [a for _, args in head for a in args]),
            _printf(
                "".join("," + f for f, _ in tail) + "%s\r\n",
                [*(a for _, args in tail for a in args), mark],
            ),
        )


def _printf(fmt: str, args: Sequence[str]) -> str:
    """SQL: ``printf(fmt, args...)`` as a BLOB (the UTF-8 bytes)."""
    quoted = fmt.replace("'", "''")
    return f"CAST(printf('{quoted}', {', '.join(args)}) AS BLOB)"


def line_select(
    d: date,
    spec: q.ListSpec,
    custom_field_ids: Sequence[int],
    figures: Sequence[tuple[str, str]],
    money_exponent: int,
) -> tuple[Select[Any], int]:
    """SELECT (customer id, line head, tags, line tail) in the list's order; and the cell count.

    A line is ``head + tag_cell(tags) + tail`` (UTF-8 bytes).

    The cells follow :func:`commands.exporting.export_headers`: ``custom_field_ids``
    are the custom fields in header order, ``figures`` the (column, kind) of each
    figure, kind one of money, integer, date and number (rounded to 4 places).
    """
    stmt = bulk.export_select(d, spec)
    line = _Line()
    for col in FREE_TEXT:
        line.cell("%s", _text(C + col), odd=_has_nul(C + col))
    line.cell("%s", _text(C + "status"))
    line.gap()  # the tags: see tag_cell
    line.cell("%s", _text(C + "created_on"))
    terms = C + "payment_terms_days"
    line.cell("%s", terms, odd=f"{terms} <> CAST({terms} AS INTEGER)")
    for i, field_id in enumerate(custom_field_ids):
        v = cfv.alias(f"export_cf{i}")
        stmt = stmt.outerjoin(v, and_(v.c.customer_id == q.c.c.id, v.c.field_id == field_id))
        arg, odd = _custom(v.name)
        line.cell("%s", arg, odd=odd)
    line.cell("%d", C + "id")
    for col, kind in figures:
        x = F + col
        if kind == "money":
            fmt, arg, odd = _money(x, money_exponent)
            line.cell(fmt, arg, odd=odd)
        elif kind == "number":
            arg, odd = _figure(x)
            line.cell("%s", arg, odd=odd)
        elif kind == "integer":
            line.cell("%d", x)
        else:
            line.cell("%s", _text(x))
    segments = (_text(F + "revenue_segment"), _text(F + "activity_segment"))
    flags = _labels(PAYMENT_FLAGS, led=True)
    line.cell("%s;%s" + "%s" * len(flags), *segments, *flags)
    reasons = _labels(RISK_REASONS, led=False)
    line.cell("%s" * len(reasons), *reasons)
    head, tail = line.sql()
    cols: list[Any] = [literal_column(f"{C}id"), literal_column(head)]
    cols += [literal_column(_tags_raw()), literal_column(tail)]
    return stmt.with_only_columns(*cols), len(line.cells)


def unclean_lines(lines: Sequence[bytes], cells: int) -> list[int]:
    """Positions of the lines that fail :func:`clean_chunk`, found by halving the chunk.

    Awkward lines are few, so checking joined halves costs far less than
    checking every line on its own.
    """
    bad: list[int] = []

    def visit(lo: int, hi: int) -> None:
        if clean_chunk(b"".join(lines[lo:hi]), hi - lo, cells):
            return
        if hi - lo == 1:
            bad.append(lo)
            return
        mid = (lo + hi) // 2
        visit(lo, mid)
        visit(mid, hi)

    if lines:
        visit(0, len(lines))
    return bad


__all__ = ["FALLBACK_MARK", "clean_chunk", "line_select", "tag_cell", "unclean_lines"]
