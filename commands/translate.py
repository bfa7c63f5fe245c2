"""Grammar queries -> store filters (parameterised SQL expressions, never pasted text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from commands.errors import UserError
from commands.money import to_minor
from commands.resolve import resolve_customer, saved_segment
from grammar import ast as A
from grammar.parser import ParseError, parse, suggest
from store import query as q

#: grammar figure names -> store figure names
FIGURE_ALIASES = {
    "invoices": "invoice_count",
    "last_activity_date": "last_activity",
    "frequency": "invoice_frequency_days",
}
SORT_ALIASES = {
    "created_on": "created",
    "created_at": "created",
    "last_invoice": "last_invoice_date",
    "last_payment": "last_payment_date",
    "invoices": "invoice_count",
}


@dataclass
class Translation:
    """A query ready for the store, plus what it used (for explain)."""

    spec: q.ListSpec
    segments: list[str] = field(default_factory=list)
    saved: list[str] = field(default_factory=list)


@dataclass
class Translator:
    """Turns one grammar Query into a store ListSpec for reference date ``today``."""

    conn: Connection
    today: date
    currency: str
    selection: Sequence[int] = ()
    segments_used: list[str] = field(default_factory=list)
    saved_used: list[str] = field(default_factory=list)
    _depth: int = 0

    def query(self, query: A.Query, default_sort: tuple[tuple[str, bool], ...] = ()) -> Translation:
        where = self.filter(query.filter) if query.filter is not None else None
        sort = tuple((self.sort_key(k.field), k.descending) for k in query.sort)
        include_archived = query.include_archived or _mentions_status(query.filter)
        spec = q.ListSpec(
            where=where,
            sort=sort or default_sort or (("name", False),),
            include_archived=include_archived,
            limit=query.limit,
        )
        return Translation(spec, self.segments_used, self.saved_used)

    def sort_key(self, name: str) -> str:
        key = SORT_ALIASES.get(name, FIGURE_ALIASES.get(name, name))
        if key not in q.SORT_KEYS:
            raise UserError(
                f"cannot sort by '{name}'",
                suggestions=suggest(name, list(q.SORT_KEYS)),
            )
        return key

    def filter(self, node: A.Filter) -> ColumnElement[bool]:
        if isinstance(node, A.And):
            return q.all_of([self.filter(i) for i in node.items])
        if isinstance(node, A.Or):
            return q.any_of([self.filter(i) for i in node.items])
        if isinstance(node, A.Not):
            return q.negate(self.filter(node.item))
        if isinstance(node, A.Segment):
            self.segments_used.append(node.name)
            return q.segment(node.name)
        if isinstance(node, A.Tagged):
            return self._named(lambda: q.tagged(self.conn, node.tag))
        if isinstance(node, A.Search):
            return q.matching(self.conn, node.text)
        if isinstance(node, A.Status):
            return q.status_is(node.value)
        if isinstance(node, A.NoInvoices):
            return q.figure_compare("invoice_count", "=", 0)
        if isinstance(node, A.Selected):
            if not self.selection:
                raise UserError("nothing is selected (select rows with Space, or V for all)")
            return q.ids_in(list(self.selection))
        if isinstance(node, A.CustomerRef):
            return q.ids_in([resolve_customer(self.conn, node.text).id])
        if isinstance(node, A.NameRef):
            return self._name_ref(node.text)
        if isinstance(node, A.Compare):
            return self._compare(node.field, node.op, node.value)
        if isinstance(node, A.Between):
            return q.all_of(
                [
                    self._compare(node.field, ">=", node.low),
                    self._compare(node.field, "<=", node.high),
                ]
            )
        raise UserError(f"this filter is not supported yet: {type(node).__name__}")

    def _named(self, build: Any) -> ColumnElement[bool]:
        try:
            return build()  # type: ignore[no-any-return]
        except q.UnknownName as exc:
            raise UserError(
                f"there is no {exc.kind} named '{exc.name}'",
                suggestions=suggest(exc.name, exc.known),
            ) from None

    def _name_ref(self, text: str) -> ColumnElement[bool]:
        """A bare name: a saved segment, else one customer."""
        definition = saved_segment(self.conn, text)
        if definition is not None:
            if self._depth > 8:
                raise UserError(f"segment '{text}' refers to itself")
            self.saved_used.append(text)
            try:
                parsed = parse(f"customers {definition}") if definition else None
            except ParseError:
                parsed = parse(definition)
            if not isinstance(parsed, A.ListCustomers):
                raise UserError(f"segment '{text}' is not a customer query: {definition}")
            inner = Translator(
                self.conn,
                self.today,
                self.currency,
                self.selection,
                self.segments_used,
                self.saved_used,
                self._depth + 1,
            )
            spec = inner.query(parsed.query).spec
            return spec.where if spec.where is not None else q.all_of([])
        return q.ids_in([resolve_customer(self.conn, text, allow_segments=True).id])

    def _compare(self, fld: str | A.Field, op: str, value: Any) -> ColumnElement[bool]:
        if isinstance(fld, A.Field):
            return self._named(lambda: q.field_compare(self.conn, fld.name, op, _plain(value)))
        name = FIGURE_ALIASES.get(fld, fld)
        if name in q.DATE_FIGURES or _is_date(value):
            if not _is_date(value):
                raise UserError(f"'{fld}' compares with a date, not '{value}'")
            # "more than 90 days ago" = before D-90; ranges pick the right edge
            if op in ("=", "!="):
                start, end = A.resolve_date(value, self.today)
                inside = q.figure_between(name, start, end)
                return inside if op == "=" else q.negate(inside)
            op2, day = A.date_bounds(op, value, self.today)
            return q.figure_compare(name, op2, day)
        if name in q.AMOUNT_FIGURES:
            return q.figure_compare(name, op, to_minor(Decimal(str(value)), self.currency))
        if name == "on_time_rate":
            rate = Decimal(str(value))
            return q.figure_compare(name, op, float(rate / 100 if rate > 1 else rate))
        if name in q.FIGURE_COLUMNS:
            return q.figure_compare(name, op, value if isinstance(value, int) else float(value))
        # not a figure: a custom field written without "where"
        return self._named(lambda: q.field_compare(self.conn, fld, op, _plain(value)))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if _is_date(value):
        return A.resolve_date(value, date.today())[0]
    return value


def _is_date(value: Any) -> bool:
    return isinstance(
        value,
        A.AbsoluteDate
        | A.DaysAgo
        | A.Today
        | A.Yesterday
        | A.Tomorrow
        | A.LastMonth
        | A.ThisYear
        | A.Year,
    )


def _mentions_status(node: A.Filter | None) -> bool:
    if node is None:
        return False
    if isinstance(node, A.Status):
        return True
    if isinstance(node, A.And | A.Or):
        return any(_mentions_status(i) for i in node.items)
    if isinstance(node, A.Not):
        return _mentions_status(node.item)
    return False


def date_window(
    start: A.DateValue | None, end: A.DateValue | None, today: date, default_days: int = 365
) -> tuple[date, date]:
    """A report period: from ``start``'s first day to ``end``'s last day."""
    lo = A.resolve_date(start, today)[0] if start else today - timedelta(days=default_days)
    hi = A.resolve_date(end, today)[1] if end else today
    return lo, hi


def count_of(conn: Connection, today: date, spec: q.ListSpec) -> int:
    return q.count_customers(conn, today, spec)


__all__ = ["Translation", "Translator", "date_window", "select"]
