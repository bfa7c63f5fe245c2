"""Turn mapped rows into typed records, or errors naming the line and column."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, TypeVar

from commands.fileformats.mapping import CUSTOM_PREFIX, JOINERS, REQUIRED, Kind, Mapping, check_kind
from commands.fileformats.reading import (
    Batch,
    Cell,
    Row,
    TableReader,
    row_blocks,
    unneutralise_column,
)
from commands.fileformats.values import (
    _EMAIL,
    cell_text,
    parse_amount,
    parse_date,
    parse_email,
    parse_tags,
    parse_terms,
)

CUSTOMER_STATUSES = ("active", "archived")
INVOICE_STATUSES = ("draft", "sent", "void")
#: other tools' invoice states that mean one of ours (payments carry paid/partial)
INVOICE_STATUS_SYNONYMS = {
    "authorised": "sent",
    "authorized": "sent",
    "submitted": "sent",
    "open": "sent",
    "unpaid": "sent",
    "issued": "sent",
    "overdue": "sent",
    "pending": "sent",
    "voided": "void",
    "deleted": "void",
    "cancelled": "void",
    "canceled": "void",
}
MAX_LENGTHS = {
    "name": 300,
    "email": 320,
    "company": 300,
    "phone": 60,
    "number": 60,
    "customer_email": 320,
    "invoice_number": 60,
    "method": 60,
}


@dataclass(frozen=True)
class RowError:
    """One problem: ``line`` in the file, ``column`` as the file names it."""

    line: int
    column: str | None
    reason: str
    #: other lines involved (the first occurrence of a duplicate)
    related_lines: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = f"row {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class CustomerRecord:
    line: int
    name: str | None
    email: str | None
    company: str | None = None
    phone: str | None = None
    address: str | None = None
    status: str | None = None
    tags: list[str] | None = None
    created_at: date | None = None
    payment_terms_days: int | None = None
    custom: dict[str, str] = field(default_factory=dict)


@dataclass
class InvoiceRecord:
    line: int
    number: str
    customer_email: str
    issued_on: date
    total: int  # minor units of ``currency``
    currency: str
    due_on: date | None = None
    status: str | None = None
    custom: dict[str, str] = field(default_factory=dict)


@dataclass
class PaymentRecord:
    line: int
    invoice_number: str
    paid_on: date
    amount: int  # minor units, negative for refunds
    method: str | None = None
    custom: dict[str, str] = field(default_factory=dict)


Record = CustomerRecord | InvoiceRecord | PaymentRecord
T = TypeVar("T")


def _status(allowed: tuple[str, ...], synonyms: dict[str, str]) -> Callable[[Cell], str]:
    def parse(cell: Cell) -> str:
        text = cell_text(cell).casefold()
        if text in allowed:
            return text
        if text in synonyms:
            return synonyms[text]
        hint = ""
        if text in {"paid", "partial", "partially paid", "part paid"}:
            hint = "; paid and partial come from payments (import those)"
        raise ValueError(f"bad status {cell_text(cell)!r} (expected {', '.join(allowed)}){hint}")

    return parse


def _currency(base: str) -> Callable[[Cell], str]:
    def parse(cell: Cell) -> str:
        code = cell_text(cell).upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"bad currency {cell_text(cell)!r} (expected a code such as {base})")
        if code != base:
            raise ValueError(f"{code} differs from the base currency {base}")
        return code

    return parse


_HAS_DIGIT = re.compile(r"\d")
_PHONE_BAD = re.compile(r"[^\d\s+()./\-extnsionEXTNSION#:,]")


def _phone(cell: Cell) -> str:
    text = cell_text(cell)
    if not _HAS_DIGIT.search(text) or _PHONE_BAD.search(text):
        raise ValueError(f"bad phone number {text!r}")
    return text


def _text(fname: str) -> Callable[[Cell], object]:
    limit = MAX_LENGTHS.get(fname)

    def parse(cell: Cell) -> str:
        t = cell_text(cell)
        if limit and len(t) > limit:
            raise ValueError(f"{fname} longer than {limit} characters")
        return t

    return parse


def _email(cell: Cell) -> str:
    return parse_email(cell_text(cell))


def _tags(cell: Cell) -> list[str]:
    return parse_tags(cell_text(cell))


def _converters(
    kind: Kind, base: str, date_order: str | None
) -> dict[str, Callable[[Cell], object]]:
    def dates(c: Cell) -> date:
        return parse_date(c, date_order)

    def amount(c: Cell) -> int:
        return parse_amount(c, base)

    conv: dict[str, Callable[[Cell], object]] = {
        "email": _email,
        "customer_email": _email,
        "tags": _tags,
        "created_at": dates,
        "issued_on": dates,
        "due_on": dates,
        "paid_on": dates,
        "payment_terms_days": parse_terms,
        "total": amount,
        "amount": amount,
        "currency": _currency(base),
        "phone": _phone,
    }
    if kind == "customers":
        conv["status"] = _status(CUSTOMER_STATUSES, {})
    else:
        conv["status"] = _status(INVOICE_STATUSES, INVOICE_STATUS_SYNONYMS)
    return conv


#: rows validated together, column by column
CHUNK_ROWS = 1000

#: one column's values (or None) and its errors as (row index in the chunk, reason)
ColumnResult = tuple[list[object], list[tuple[int, str]]]
ColumnFn = Callable[[Sequence[Cell]], ColumnResult]
_NONE_TYPE = type(None)


def _generic(fn: Callable[[Cell], object]) -> ColumnFn:
    """Cell by cell: strip text, skip empty cells, ``fn`` the rest (ValueError: the reason)."""

    def run(col: Sequence[Cell]) -> ColumnResult:
        out: list[object] = []
        errs: list[tuple[int, str]] = []
        append = out.append
        for j, v in enumerate(col):
            if type(v) is str:
                v = v.strip() or None
            if v is None:
                append(None)
                continue
            try:
                append(fn(v))
            except ValueError as exc:
                append(None)
                errs.append((j, str(exc)))
        return out, errs

    return run


def _stripped(col: Sequence[Cell]) -> list[str | None] | None:
    """A text column stripped (empty -> None); None when it holds anything but text."""
    if not set(map(type, col)) <= {str, _NONE_TYPE}:
        return None
    return [(v.strip() or None) if v else None for v in col]  # type: ignore[union-attr]


def _filled(values: list[str | None]) -> list[str]:
    return [v for v in values if v]


def _text_col(fname: str) -> ColumnFn:
    limit = MAX_LENGTHS.get(fname)
    slow = _generic(_text(fname))

    def run(col: Sequence[Cell]) -> ColumnResult:
        s = _stripped(col)
        if s is None or (limit and max(map(len, _filled(s)), default=0) > limit):
            return slow(col)
        return list(s), []

    return run


def _email_col() -> ColumnFn:
    slow = _generic(_email)
    match = _EMAIL.match

    def run(col: Sequence[Cell]) -> ColumnResult:
        s = _stripped(col)
        if s is None:
            return slow(col)
        filled = _filled(s)
        if (
            all(map(match, filled))
            and max(map(len, filled), default=0) <= 320
            and ".." not in "\n".join(filled)
        ):
            return list(s), []
        return slow(col)

    return run


def _date_col(order: str | None) -> ColumnFn:
    def one(c: Cell) -> date:
        return parse_date(c, order)

    slow = _generic(one)
    fromiso = date.fromisoformat

    def run(col: Sequence[Cell]) -> ColumnResult:
        types = set(map(type, col))
        if types <= {str, _NONE_TYPE}:
            s = _stripped(col)
            assert s is not None
            if set(map(len, _filled(s))) <= {10}:  # what parse_date tries fromisoformat on
                try:
                    return [fromiso(v) if v else None for v in s], []
                except ValueError:
                    pass
        elif types <= {date, datetime, _NONE_TYPE}:
            return [v.date() if type(v) is datetime else v for v in col], []  # type: ignore[union-attr]
        return slow(col)

    return run


def _terms_col() -> ColumnFn:
    slow = _generic(parse_terms)

    def run(col: Sequence[Cell]) -> ColumnResult:
        types = set(map(type, col))
        try:
            if types <= {str, _NONE_TYPE}:
                s = _stripped(col)
                assert s is not None
                if not all(map(str.isdigit, _filled(s))):
                    return slow(col)
                out: list[int | None] = [int(v) if v else None for v in s]
            elif types <= {int, float, _NONE_TYPE}:
                out = [None if v is None else int(v) for v in col]  # type: ignore[arg-type]
                if any(o != v for o, v in zip(out, col, strict=True)):
                    return slow(col)  # fractions
            else:
                return slow(col)
        except (ValueError, OverflowError):
            return slow(col)
        days = [d for d in out if d is not None]
        if days and not (min(days) >= 0 and max(days) <= 3650):
            return slow(col)
        return list(out), []

    return run


def _tags_col() -> ColumnFn:
    slow = _generic(_tags)

    def run(col: Sequence[Cell]) -> ColumnResult:
        s = _stripped(col)
        if s is None:
            return slow(col)
        seen: dict[str, list[str]] = {}
        out: list[object] = []
        append = out.append
        try:
            for v in s:
                if v is None:
                    append(None)
                    continue
                tags = seen.get(v)
                if tags is None:
                    tags = seen[v] = parse_tags(v)
                append(list(tags))
        except ValueError:
            return slow(col)
        return out, []

    return run


def _status_col(allowed: tuple[str, ...], synonyms: dict[str, str]) -> ColumnFn:
    slow = _generic(_status(allowed, synonyms))
    ok = {*allowed, None}

    def run(col: Sequence[Cell]) -> ColumnResult:
        s = _stripped(col)
        if s is None:
            return slow(col)
        out = [v.casefold() if v else None for v in s]
        if not set(out) <= ok:
            return slow(col)
        return list(out), []

    return run


def _phone_col() -> ColumnFn:
    slow = _generic(_phone)
    has_digit = _HAS_DIGIT.search

    def run(col: Sequence[Cell]) -> ColumnResult:
        s = _stripped(col)
        if s is None:
            return slow(col)
        filled = _filled(s)
        # one search over all the values ("\n" is an allowed character itself)
        if all(map(has_digit, filled)) and not _PHONE_BAD.search("\n".join(filled)):
            return list(s), []
        return slow(col)

    return run


def _column_fns(kind: Kind, base: str, date_order: str | None) -> dict[str, ColumnFn]:
    """Column-wise converters: a fast path for the common case, else cell by cell."""
    conv = _converters(kind, base, date_order)
    fns: dict[str, ColumnFn] = {name: _generic(fn) for name, fn in conv.items()}
    dates = _date_col(date_order)
    fns.update(
        email=_email_col(),
        customer_email=_email_col(),
        tags=_tags_col(),
        created_at=dates,
        issued_on=dates,
        due_on=dates,
        paid_on=dates,
        payment_terms_days=_terms_col(),
        phone=_phone_col(),
    )
    if kind == "customers":
        fns["status"] = _status_col(CUSTOMER_STATUSES, {})
    else:
        fns["status"] = _status_col(INVOICE_STATUSES, INVOICE_STATUS_SYNONYMS)
    return fns


def validate_rows(
    kind: str,
    reader: Iterable[Row],
    mapping: Mapping,
    base_currency: str = "USD",
    *,
    date_order: str | None = None,
) -> Iterator[Record | RowError]:
    """Records in file order; a bad row yields one :class:`RowError` per problem instead.

    ``date_order`` ("dmy" or "mdy") settles dates like 03/04/2024, which are otherwise
    errors. Duplicate emails (customers, compared case-insensitively) and invoice numbers
    are errors on the later line naming the earlier one.
    """
    for chunk in validate_chunks(kind, reader, mapping, base_currency, date_order=date_order):
        yield from chunk


def validate_chunks(
    kind: str,
    reader: Iterable[Row],
    mapping: Mapping,
    base_currency: str = "USD",
    *,
    date_order: str | None = None,
    size: int = CHUNK_ROWS,
) -> Iterator[list[Record | RowError]]:
    """:func:`validate_rows` a chunk of rows at a time, each column checked at once."""
    v, batches = _validator(kind, reader, mapping, base_currency, date_order, size)
    for lines, cells in batches:
        yield v.records(v.checked(lines, cells))


@dataclass
class CleanChunk:
    """A chunk of customers without a problem, a custom value or a repeated email,
    as columns: ``values`` maps each mapped field to one value per row (None: empty)."""

    lines: list[int]
    values: dict[str, list[Any]]
    #: casefolded email -> its line (the rows with an email)
    emails: dict[str, int]

    def __len__(self) -> int:
        return len(self.lines)


def validate_clean_chunks(
    reader: Iterable[Row],
    mapping: Mapping,
    base_currency: str,
    take: Callable[[CleanChunk], T | None],
    *,
    size: int = CHUNK_ROWS,
    first: int | None = None,
) -> Iterator[list[Record | RowError] | T]:
    """:func:`validate_chunks` of customers, but each :class:`CleanChunk` is offered to
    ``take`` first: what it returns (when not None) comes instead of the records.
    The first chunk holds ``first`` rows when given (the consumer starts sooner)."""
    v, batches = _validator("customers", reader, mapping, base_currency, None, size, first)
    for lines, cells in batches:
        checked = v.checked(lines, cells)
        clean = v.clean(checked)
        if clean is not None and (taken := take(clean)) is not None:
            v.seen.update(clean.emails)
            yield taken
        else:
            yield v.records(checked)


def _validator(
    kind: str,
    reader: Iterable[Row],
    mapping: Mapping,
    base_currency: str,
    date_order: str | None,
    size: int,
    first: int | None = None,
) -> tuple[_Validator, Iterator[Batch]]:
    k = check_kind(kind)
    if mapping.kind != k:
        raise ValueError(f"mapping is for {mapping.kind}, not {k}")
    v = _Validator(k, mapping, base_currency.upper(), date_order)
    if isinstance(reader, TableReader):
        # the file readers can leave neutralised text as stored: unneutralised column-wise
        v.raw = reader.has_raw_rows
        return v, reader.batches(size, raw=v.raw, first=first)
    return v, row_blocks(iter(reader), size, first)


@dataclass
class _Checked:
    """One chunk with every column checked (see :meth:`_Validator.checked`)."""

    lines: list[int]
    cols: list[Sequence[Cell]]
    values: dict[str, list[object]]
    errs: dict[int, list[RowError]]
    extra: dict[int, int]
    #: rows that need the careful path: errors, extra cells, missing values
    careful: set[int]


class _Validator:
    def __init__(self, k: Kind, mapping: Mapping, base: str, date_order: str | None) -> None:
        self.k = k
        self.base = base
        fns = _column_fns(k, base, date_order)
        conv = _converters(k, base, date_order)
        self.index = index = {h: i for i, h in enumerate(mapping.headers)}
        self.single: list[tuple[str, int, str, ColumnFn]] = []
        self.joined: list[tuple[str, list[int], str, Callable[[Cell], object]]] = []
        self.custom: list[tuple[str, int]] = []
        for fname, cols in mapping.fields.items():
            if fname.startswith(CUSTOM_PREFIX):
                self.custom.append((fname[len(CUSTOM_PREFIX) :], index[cols[0]]))
                continue
            if len(cols) == 1:
                self.single.append(
                    (fname, index[cols[0]], cols[0], fns.get(fname) or _text_col(fname))
                )
            else:
                fn = conv.get(fname) or _text(fname)
                self.joined.append((fname, [index[c] for c in cols], cols[0], fn))
        self.source = {f: cols[0] for f, cols in mapping.fields.items()}
        self.used = sorted(
            {i for _, i, _, _ in self.single}
            | {i for _, idxs, _, _ in self.joined for i in idxs}
            | {i for _, i in self.custom}
        )
        #: rows come with neutralised text as stored (see ``TableReader.rows``)
        self.raw = False
        self.width = len(mapping.headers)
        #: first line of each key (email casefolded, invoice number) seen so far
        self.seen: dict[str, int] = {}
        self.required = REQUIRED[k] if k != "customers" else ()
        self.key_field = {"customers": "email", "invoices": "number", "payments": ""}[k]
        self.key_label = {"customers": "email", "invoices": "invoice number", "payments": ""}[k]
        self.record_type: type[CustomerRecord] | type[InvoiceRecord] | type[PaymentRecord] = {
            "customers": CustomerRecord,
            "invoices": InvoiceRecord,
            "payments": PaymentRecord,
        }[k]
        #: the record's fields after ``line``, in order (``custom`` is passed last)
        self.record_fields = [
            f.name for f in fields(self.record_type) if f.name not in ("line", "custom")
        ]

    def columns(self, cells_list: list[list[Cell]]) -> tuple[list[Sequence[Cell]], dict[int, int]]:
        """The chunk's used columns (short rows padded; the others empty), and row -> count
        of extra non-empty cells."""
        width = self.width
        extra: dict[int, int] = {}
        if set(map(len, cells_list)) != {width}:
            fixed: list[list[Cell]] = []
            for j, cells in enumerate(cells_list):
                n = len(cells)
                if n < width:
                    cells = [*cells, *([None] * (width - n))]
                elif n > width:
                    count = sum(1 for c in cells[width:] if c not in ("", None))
                    if count:
                        extra[j] = count
                    cells = cells[:width]
                fixed.append(cells)
            cells_list = fixed
        # only the columns the mapping uses (a comprehension each: twice as fast as zip(*))
        cols: list[Sequence[Cell]] = [()] * width
        for i in self.used:
            col = [cells[i] for cells in cells_list]
            cols[i] = unneutralise_column(col) if self.raw else col
        return cols, extra

    def checked(self, lines: list[int], cells_list: list[list[Cell]]) -> _Checked:
        """Every column of a chunk converted, and the rows that need a closer look."""
        k = self.k
        m = len(lines)
        cols, extra = self.columns(cells_list)
        values: dict[str, list[object]] = {}
        errs: dict[int, list[RowError]] = {}
        for fname, i, header, run in self.single:
            out, bad = run(cols[i])
            values[fname] = out
            for j, reason in bad:
                errs.setdefault(j, []).append(RowError(lines[j], header, reason))
        for fname, idxs, header, fn in self.joined:
            joiner = JOINERS.get(fname, " ")
            joined: list[object] = []
            for j in range(m):
                text = joiner.join(p for p in (cell_text(cols[i][j]) for i in idxs) if p)
                value: object = None
                if text:
                    try:
                        value = fn(text)
                    except ValueError as exc:
                        errs.setdefault(j, []).append(RowError(lines[j], header, str(exc)))
                joined.append(value)
            values[fname] = joined
        nothing: list[object] = [None] * m
        careful = set(errs) | set(extra)
        for fname in self.required:
            careful.update(j for j, x in enumerate(values.get(fname, nothing)) if x is None)
        if k == "customers":
            names, emails = values.get("name", nothing), values.get("email", nothing)
            careful.update(
                j
                for j, (a, b) in enumerate(zip(names, emails, strict=True))
                if a is None and b is None
            )
        elif k == "invoices":
            careful.update(range(m))
            cur = values.get("currency")
            values["currency"] = (
                [self.base] * m if cur is None else [self.base if x is None else x for x in cur]
            )
        return _Checked(lines, cols, values, errs, extra, careful)

    def clean(self, ch: _Checked) -> CleanChunk | None:
        """The chunk as a :class:`CleanChunk` when it is one (customers only)."""
        if self.k != "customers" or ch.careful:
            return None
        for _, i in self.custom:
            col = ch.cols[i]
            if col.count("") + col.count(None) != len(col):
                return None  # a custom value
        emails = ch.values.get("email")
        firsts: dict[str, int] = {}
        if emails is not None:
            firsts = {str(e).casefold(): n for n, e in zip(ch.lines, emails, strict=True) if e}
            if len(firsts) != len(emails) - emails.count(None):
                return None  # an email repeated within the chunk
            if not self.seen.keys().isdisjoint(firsts):
                return None  # or repeated from an earlier one
        return CleanChunk(ch.lines, ch.values, firsts)

    def records(self, ch: _Checked) -> list[Record | RowError]:
        """The chunk as records in file order; a bad row gives its errors instead."""
        k, source = self.k, self.source
        lines, cols, values, careful = ch.lines, ch.cols, ch.values, ch.careful
        nothing: list[object] = [None] * len(lines)
        field_cols = [values.get(f, nothing) for f in self.record_fields]
        keys = values.get(self.key_field) if self.key_field else None
        customers = k == "customers"
        seen = self.seen
        rtype: Any = self.record_type
        custom = self.custom
        out_items: list[Record | RowError] = []
        append = out_items.append
        for j, args in enumerate(zip(lines, *field_cols, strict=True)):
            line = args[0]
            if j in careful:
                problems = self.problems(j, line, cols, values, ch.errs, ch.extra)
                if problems:
                    out_items.extend(problems)
                    continue
            if keys is not None:
                kv = keys[j]
                if kv is not None:
                    key = str(kv).casefold() if customers else str(kv)
                    first = seen.get(key)
                    if first is not None:
                        append(
                            RowError(
                                line,
                                source[self.key_field],
                                f"duplicate {self.key_label} {kv} (also on row {first})",
                                (first,),
                            )
                        )
                        continue
                    seen[key] = line
            if custom:
                extras = {
                    name: cell_text(x) for name, i in custom if (x := cols[i][j]) not in ("", None)
                }
                append(rtype(*args, extras))
            else:
                append(rtype(*args))
        return out_items

    def problems(
        self,
        j: int,
        line: int,
        cols: list[Sequence[Cell]],
        values: dict[str, list[object]],
        errs: dict[int, list[RowError]],
        extra: dict[int, int],
    ) -> list[RowError]:
        """Every problem of row ``j``, in the order they are reported."""
        k, width, source = self.k, self.width, self.source
        errors = list(errs.get(j, ()))
        if j in extra:
            errors.append(
                RowError(
                    line, None, f"{width + extra[j]} cells but only {width} columns in the header"
                )
            )
        for fname in self.required:
            col = values.get(fname)
            if (col is None or col[j] is None) and not any(
                e.column == source.get(fname) for e in errors
            ):
                errors.append(RowError(line, source.get(fname), f"missing {fname}"))
        if k == "customers":
            name, email = values.get("name"), values.get("email")
            if (
                (name is None or name[j] is None)
                and (email is None or email[j] is None)
                and not errors
            ):
                errors.append(
                    RowError(line, None, "missing name and email (one of them is required)")
                )
        elif k == "invoices" and not errors:
            total = values["total"][j]
            assert isinstance(total, int)
            if total < 0:
                errors.append(
                    RowError(
                        line,
                        source["total"],
                        f"negative total {cols[self.index[source['total']]][j]}",
                    )
                )
            issued = values["issued_on"][j]
            due = values["due_on"][j] if "due_on" in values else None
            if isinstance(due, date) and isinstance(issued, date) and due < issued:
                errors.append(
                    RowError(
                        line, source["due_on"], f"due date {due} is before the issue date {issued}"
                    )
                )
        return errors


def _str(v: object) -> str | None:
    return v if isinstance(v, str) else None


def _int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _date(v: object) -> date | None:
    return v if isinstance(v, date) else None
