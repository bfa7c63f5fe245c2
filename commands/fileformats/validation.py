"""Turn mapped rows into typed records, or errors naming the line and column."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from commands.fileformats.mapping import CUSTOM_PREFIX, JOINERS, REQUIRED, Kind, Mapping, check_kind
from commands.fileformats.reading import Cell, Row
from commands.fileformats.values import (
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
    k = check_kind(kind)
    if mapping.kind != k:
        raise ValueError(f"mapping is for {mapping.kind}, not {k}")
    base = base_currency.upper()
    conv = _converters(k, base, date_order)
    index = {h: i for i, h in enumerate(mapping.headers)}
    single: list[tuple[str, int, str, Callable[[Cell], object]]] = []
    joined: list[tuple[str, list[int], str, Callable[[Cell], object]]] = []
    custom: list[tuple[str, int]] = []
    for fname, cols in mapping.fields.items():
        if fname.startswith(CUSTOM_PREFIX):
            custom.append((fname[len(CUSTOM_PREFIX) :], index[cols[0]]))
            continue
        fn = conv.get(fname) or _text(fname)
        if len(cols) == 1:
            single.append((fname, index[cols[0]], cols[0], fn))
        else:
            joined.append((fname, [index[c] for c in cols], cols[0], fn))
    source = {f: cols[0] for f, cols in mapping.fields.items()}
    width = len(mapping.headers)
    seen: dict[str, int] = {}
    required = REQUIRED[k] if k != "customers" else ()
    key_field = {"customers": "email", "invoices": "number", "payments": ""}[k]
    key_label = {"customers": "email", "invoices": "invoice number", "payments": ""}[k]
    record_type: type[CustomerRecord] | type[InvoiceRecord] | type[PaymentRecord] = {
        "customers": CustomerRecord,
        "invoices": InvoiceRecord,
        "payments": PaymentRecord,
    }[k]

    for line, cells in reader:
        n = len(cells)
        values: dict[str, object] = {}
        errors: list[RowError] = []
        for fname, i, header, fn in single:
            v = cells[i] if i < n else None
            if type(v) is str:
                v = v.strip() or None
            if v is None:
                continue
            try:
                values[fname] = fn(v)
            except ValueError as exc:
                errors.append(RowError(line, header, str(exc)))
        for fname, idxs, header, fn in joined:
            parts = [cell_text(cells[i]) for i in idxs if i < n]
            text = JOINERS.get(fname, " ").join(p for p in parts if p)
            if text:
                try:
                    values[fname] = fn(text)
                except ValueError as exc:
                    errors.append(RowError(line, header, str(exc)))
        if n > width and any(c not in ("", None) for c in cells[width:]):
            extra = sum(1 for c in cells[width:] if c not in ("", None))
            errors.append(
                RowError(
                    line, None, f"{width + extra} cells but only {width} columns in the header"
                )
            )
        for fname in required:
            if fname not in values and not any(e.column == source.get(fname) for e in errors):
                errors.append(RowError(line, source.get(fname), f"missing {fname}"))
        if k == "customers":
            values.setdefault("name", None)
            values.setdefault("email", None)
            if values["name"] is None and values["email"] is None and not errors:
                errors.append(
                    RowError(line, None, "missing name and email (one of them is required)")
                )
        elif k == "invoices" and not errors:
            total = values["total"]
            assert isinstance(total, int)
            if total < 0:
                errors.append(
                    RowError(
                        line, source["total"], f"negative total {cells[index[source['total']]]}"
                    )
                )
            issued, due = values["issued_on"], values.get("due_on")
            if isinstance(due, date) and isinstance(issued, date) and due < issued:
                errors.append(
                    RowError(
                        line, source["due_on"], f"due date {due} is before the issue date {issued}"
                    )
                )
            values.setdefault("currency", base)
        if errors:
            yield from errors
            continue
        if key_field and key_field in values:
            key = str(values[key_field]).casefold() if k == "customers" else str(values[key_field])
            first = seen.get(key)
            if first is not None:
                yield RowError(
                    line,
                    source[key_field],
                    f"duplicate {key_label} {values[key_field]} (also on row {first})",
                    (first,),
                )
                continue
            seen[key] = line
        if custom:
            values["custom"] = {
                name: cell_text(cells[i])
                for name, i in custom
                if i < n and cells[i] not in ("", None)
            }
        yield record_type(line=line, **values)  # type: ignore[arg-type]


def _str(v: object) -> str | None:
    return v if isinstance(v, str) else None


def _int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _date(v: object) -> date | None:
    return v if isinstance(v, date) else None
