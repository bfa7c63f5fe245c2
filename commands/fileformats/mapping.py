"""Map a file's columns to canonical fields: aliases as data, overrides, combinations."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from commands.errors import UserError

Kind = Literal["customers", "invoices", "payments"]
KINDS: tuple[Kind, ...] = ("customers", "invoices", "payments")

FIELDS: dict[Kind, tuple[str, ...]] = {
    "customers": (
        "name",
        "email",
        "company",
        "phone",
        "address",
        "status",
        "tags",
        "created_at",
        "payment_terms_days",
    ),
    "invoices": ("number", "customer_email", "issued_on", "due_on", "total", "currency", "status"),
    "payments": ("invoice_number", "paid_on", "amount", "method"),
}
CUSTOM_PREFIX = "custom:"
IGNORE = "ignore"

#: Email header spellings of European spreadsheets (customers' and invoices' email).
_EMAIL_ABROAD = (
    "e-mail-adresse",
    "mailadresse",
    "courriel",
    "adresse e-mail",
    "correo",
    "correo electrónico",
    "e-mailadres",
)

#: Invoice number header spellings of European spreadsheets (invoices and payments).
_INVOICE_NUMBER_ABROAD = (
    "rechnungsnummer",
    "rechnung",
    "numéro de facture",
    "facture",
    "número de factura",
    "factura",
    "factuurnummer",
)

#: Header spellings per field. Matching ignores case, accents, spaces and punctuation,
#: so "E-mail", "e_mail" and "EMAIL" are one alias, and "Téléphone" is "telephone".
#: Sources: common spellings (English, and the usual German, French, Spanish and Dutch
#: ones of European spreadsheets), and the exports of Stripe, Xero, QuickBooks, Invoice
#: Ninja and HubSpot.
ALIASES: dict[Kind, dict[str, tuple[str, ...]]] = {
    "customers": {
        "name": (
            "name",
            "customer name",
            "full name",
            "customer",
            "client",
            "client name",
            "contact name",
            "display name",
            "customer full name",
            "contact",
            "*ContactName",
            "ContactName",
            "Display Name As",
            # German, French, Spanish, Dutch
            "kunde",
            "kundenname",
            "nom",
            "nom complet",
            "nombre",
            "klant",
            "klantnaam",
        ),
        "email": (
            "email",
            "e-mail",
            "email address",
            "e-mail address",
            "mail",
            "emailaddress",
            "contact email",
            "client email",
            "customer email",
            "primary email",
            "work email",
            *_EMAIL_ABROAD,
        ),
        "company": (
            "company",
            "company name",
            "organization",
            "organisation",
            "organization name",
            "business",
            "business name",
            "account name",
            "client company",
            "firma",
            "firmenname",
            "unternehmen",
            "société",
            "entreprise",
            "empresa",
            "bedrijf",
            "bedrijfsnaam",
        ),
        "phone": (
            "phone",
            "phone number",
            "telephone",
            "tel",
            "mobile",
            "mobile number",
            "mobile phone",
            "mobile phone number",
            "cell",
            "phonenumber",
            "contact phone",
            "client phone",
            "work phone",
            "primary phone",
            "main phone",
            "telefon",
            "telefonnummer",
            "handy",
            "téléphone",
            "teléfono",
            "telefoon",
            "telefoonnummer",
        ),
        "address": (
            "address",
            "postal address",
            "billing address",
            "full address",
            "mailing address",
            "adresse",
            "anschrift",
            "dirección",
            "adres",
        ),
        "status": ("status", "customer status", "active status"),
        "tags": ("tags", "tag", "labels", "label", "categories", "groups", "contact groups"),
        "created_at": (
            "created",
            "created at",
            "created on",
            "created (utc)",
            "created date",
            "date created",
            "creation date",
            "customer since",
            "create date",
            "client created at",
            "erstellt",
            "erstellt am",
            "angelegt am",
            "date de création",
            "fecha de creación",
            "aangemaakt",
        ),
        "payment_terms_days": (
            "terms",
            "payment terms",
            "payment terms days",
            "net terms",
            "due days",
            "payment terms (days)",
            "terms days",
            "duedatebilldays",
            "client payment terms",
            "zahlungsziel",
            "zahlungsbedingungen",
            "délai de paiement",
            "plazo de pago",
            "betalingstermijn",
        ),
    },
    "invoices": {
        "number": (
            "number",
            "invoice number",
            "invoice no",
            "invoice #",
            "invoice num",
            "invoice",
            "invoicenumber",
            "*InvoiceNumber",
            "num",
            "no",
            "invoice id",
            "document number",
            *_INVOICE_NUMBER_ABROAD,
        ),
        "customer_email": (
            "customer email",
            "email",
            "e-mail",
            "email address",
            "emailaddress",
            "client email",
            "contact email",
            "billing email",
            *_EMAIL_ABROAD,
        ),
        "issued_on": (
            "issued on",
            "issue date",
            "issued",
            "invoice date",
            "date",
            "invoicedate",
            "*InvoiceDate",
            "date (utc)",
            "txn date",
            "created (utc)",
            "created",
            "rechnungsdatum",
            "datum",
            "date de facture",
            "fecha de factura",
            "fecha",
            "factuurdatum",
        ),
        "due_on": (
            "due on",
            "due date",
            "duedate",
            "*DueDate",
            "due date (utc)",
            "due",
            "fällig am",
            "fälligkeitsdatum",
            "date d'échéance",
            "échéance",
            "fecha de vencimiento",
            "vervaldatum",
        ),
        "total": (
            "total",
            "amount",
            "total amount",
            "invoice total",
            "invoice amount",
            "total (usd)",
            "grand total",
            "amount total",
            "betrag",
            "gesamtbetrag",
            "summe",
            "montant",
            "importe",
            "bedrag",
        ),
        "currency": (
            "currency",
            "currency code",
            "ccy",
            "currencycode",
            "währung",
            "devise",
            "moneda",
            "valuta",
        ),
        "status": ("status", "invoice status", "state"),
    },
    "payments": {
        "invoice_number": (
            "invoice number",
            "invoice",
            "invoice no",
            "invoice #",
            "invoicenumber",
            "invoice num",
            "invoice id",
            *_INVOICE_NUMBER_ABROAD,
        ),
        "paid_on": (
            "paid on",
            "payment date",
            "date",
            "paid date",
            "date paid",
            "paymentdate",
            "created (utc)",
            "paid at",
            "zahlungsdatum",
            "bezahlt am",
            "date de paiement",
            "fecha de pago",
            "betaaldatum",
        ),
        "amount": (
            "amount",
            "payment amount",
            "amount paid",
            "paid amount",
            "paid",
            "total",
            "betrag",
            "montant",
            "importe",
            "bedrag",
        ),
        "method": (
            "method",
            "payment method",
            "payment type",
            "type",
            "paymentmethod",
            "zahlungsart",
            "mode de paiement",
            "método de pago",
            "betaalmethode",
        ),
    },
}

#: Columns that are parts of one field, combined in this order when the file has no
#: column for the whole field (HubSpot's First Name + Last Name, split addresses).
PARTS: dict[Kind, dict[str, tuple[tuple[str, ...], ...]]] = {
    "customers": {
        "name": (
            (
                "first name",
                "firstname",
                "given name",
                "contact first name",
                "first",
                "vorname",
                "prénom",
                "voornaam",
            ),
            ("middle name", "middlename"),
            (
                "last name",
                "lastname",
                "surname",
                "family name",
                "contact last name",
                "last",
                "nachname",
                "nom de famille",
                "apellido",
                "achternaam",
            ),
        ),
        "address": (
            (
                "address line 1",
                "address line1",
                "address1",
                "street",
                "street 1",
                "street address",
                "straße",
                "strasse",
                "rue",
                "calle",
                "straat",
                "billing street",
                "poaddressline1",
                "client address1",
                "address 1",
            ),
            (
                "address line 2",
                "address line2",
                "address2",
                "street 2",
                "poaddressline2",
                "client address2",
                "address 2",
            ),
            (
                "city",
                "address city",
                "billing city",
                "pocity",
                "client city",
                "town",
                "ort",
                "stadt",
                "ville",
                "ciudad",
                "plaats",
            ),
            (
                "state",
                "address state",
                "billing state",
                "region",
                "poregion",
                "province",
                "client state",
                "county",
                "state/region",
            ),
            (
                "postal code",
                "zip",
                "zip code",
                "postcode",
                "address zip",
                "address postal code",
                "billing zip",
                "popostalcode",
                "client postal code",
                "postal/zip code",
                "plz",
                "postleitzahl",
                "code postal",
                "código postal",
            ),
            (
                "country",
                "address country",
                "billing country",
                "pocountry",
                "client country",
                "country/region",
                "land",
                "pays",
                "país",
            ),
        ),
    },
}

#: Fields whose whole column stands for only their first N parts: the later parts
#: (city, state, postal code, country) are joined after it.
WHOLE_STANDS_FOR: dict[str, int] = {"address": 2}

#: How several columns mapped to one field are joined.
JOINERS: dict[str, str] = {"name": " ", "address": ", ", "tags": ";"}


def normalise_header(text: str) -> str:
    """``"E-mail Address"`` -> ``"emailaddress"``, ``"Straße"`` -> ``"strasse"``: the key
    aliases are matched on (case, accents, spaces and punctuation folded away)."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"[^0-9a-z#]+", "", folded)


def _build_index() -> dict[Kind, dict[str, str]]:
    index: dict[Kind, dict[str, str]] = {}
    for kind, table in ALIASES.items():
        idx: dict[str, str] = {}
        for fname in FIELDS[kind]:  # canonical names win over aliases
            idx[normalise_header(fname)] = fname
        for fname, aliases in table.items():
            for alias in aliases:
                idx.setdefault(normalise_header(alias), fname)
        index[kind] = idx
    return index


def _build_parts() -> dict[Kind, dict[str, tuple[str, int]]]:
    out: dict[Kind, dict[str, tuple[str, int]]] = {}
    for kind, table in PARTS.items():
        idx: dict[str, tuple[str, int]] = {}
        for fname, parts in table.items():
            for pos, aliases in enumerate(parts):
                for alias in aliases:
                    idx.setdefault(normalise_header(alias), (fname, pos))
        out[kind] = idx
    return out


_INDEX = _build_index()
_PARTS_INDEX = _build_parts()


@dataclass
class Mapping:
    """Which source columns fill which field.

    ``fields`` maps a field (canonical or ``custom:NAME``) to its source columns, in the
    order their values are joined. ``unknown_columns`` are columns nothing reads: show
    them to the user. ``ignored_columns`` were explicitly ignored with ``Column=``.
    """

    kind: Kind
    headers: list[str]
    fields: dict[str, list[str]] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def columns(self) -> dict[str, str]:
        """Source column -> field."""
        return {col: f for f, cols in self.fields.items() for col in cols}

    @property
    def mapped_fields(self) -> list[str]:
        """Fields the file provides (an upsert updates these and leaves the rest)."""
        return list(self.fields)

    @property
    def custom_fields(self) -> list[str]:
        """Names (without ``custom:``) of the custom fields the file fills."""
        return [f[len(CUSTOM_PREFIX) :] for f in self.fields if f.startswith(CUSTOM_PREFIX)]

    def missing_required(self) -> list[str]:
        """Required fields no column provides (``"name or email"`` for customers)."""
        if self.kind == "customers":
            return [] if {"name", "email"} & set(self.fields) else ["name or email"]
        return [f for f in REQUIRED[self.kind] if f not in self.fields]

    def describe(self) -> list[str]:
        """Human lines: ``Email Address -> email``, ``Notes -> (unknown, not imported)``."""
        cols = self.columns
        lines = []
        for h in self.headers:
            if h in cols:
                lines.append(f"{h} -> {cols[h]}")
            elif h in self.ignored_columns:
                lines.append(f"{h} -> (ignored)")
            else:
                lines.append(f"{h} -> (unknown, not imported)")
        return lines

    def with_overrides(self, overrides: list[Override]) -> Mapping:
        """A copy with ``overrides`` applied; :class:`UserError` naming a bad one."""
        fields = {f: list(c) for f, c in self.fields.items()}
        ignored = list(self.ignored_columns)
        overridden: set[str] = set()
        for ov in overrides:
            col = _find_header(self.headers, ov)
            target = ov.target
            if target != IGNORE:
                check_field(self.kind, target, ov.quoted)
            for cols in fields.values():  # a column feeds one field only
                if col in cols:
                    cols.remove(col)
            if col in ignored:
                ignored.remove(col)
            if target == IGNORE:
                ignored.append(col)
                continue
            if target not in overridden:  # an override replaces the detected columns
                overridden.add(target)
                fields[target] = []
            fields[target].append(col)
        fields = {f: c for f, c in fields.items() if c}
        used = {c for cols in fields.values() for c in cols} | set(ignored)
        unknown = [h for h in self.headers if h not in used]
        return Mapping(self.kind, list(self.headers), fields, unknown, ignored)


REQUIRED: dict[Kind, tuple[str, ...]] = {
    "customers": ("name", "email"),  # at least one of the two
    "invoices": ("number", "customer_email", "issued_on", "total"),
    "payments": ("invoice_number", "paid_on", "amount"),
}


@dataclass(frozen=True)
class Override:
    """``"Source Column=field"``; ``target`` is ``ignore`` for ``"Source Column="``.

    ``text`` is what the user wrote, ``source`` where (``--map``, or ``mapping`` in a
    sentence), so that a message about it can quote it."""

    column: str
    target: str
    text: str
    source: str = "--map"

    @property
    def quoted(self) -> str:
        return f"{self.source} {self.text!r}"


def check_kind(kind: str) -> Kind:
    for k in KINDS:
        if k == kind:
            return k
    raise UserError(f"Unknown import kind {kind!r}", suggestions=list(KINDS))


def check_field(kind: Kind, target: str, quoted: str | None = None) -> None:
    """:class:`UserError` unless ``target`` is a field of ``kind`` or ``custom:NAME``
    (``quoted``: what the user wrote, to start the message with)."""
    where = f"{quoted}: " if quoted else ""
    if target.startswith(CUSTOM_PREFIX):
        name = target[len(CUSTOM_PREFIX) :].strip()
        if not name or len(name) > 100 or any(ord(ch) < 32 for ch in name):
            raise UserError(f"{where}bad custom field name {name!r}")
        return
    if target not in FIELDS[kind]:
        options = [*FIELDS[kind], "custom:NAME"]
        raise UserError(
            f"{where}{target!r} is not a {kind} field (fields: {', '.join(options)})",
            suggestions=difflib.get_close_matches(target, FIELDS[kind], n=3),
        )


def _target(text: str) -> str:
    """An override's field as written: ``custom:NAME`` (the name as written),
    :data:`IGNORE` for ``""``, ``-`` or ``ignore``, else the field name folded."""
    if text.casefold().startswith(CUSTOM_PREFIX):
        return CUSTOM_PREFIX + text[len(CUSTOM_PREFIX) :].strip()
    if text in ("", "-") or text.casefold() == IGNORE:
        return IGNORE
    return text.casefold()


def parse_overrides(items: list[str], kind: str | None = None) -> list[Override]:
    """Parse ``--map "Source Column=field"`` strings (field empty = ignore the column)."""
    out: list[Override] = []
    for text in items:
        if "=" not in text:
            raise UserError(f'--map {text!r}: expected "Source Column=field"')
        col, _, target = text.rpartition("=")
        col, target = col.strip(), target.strip()
        if not col:
            raise UserError(f"--map {text!r}: the source column is empty")
        target = _target(target)
        if kind is not None and target != IGNORE:
            check_field(check_kind(kind), target, f"--map {text!r}")
        out.append(Override(col, target, text))
    return out


def sentence_overrides(pairs: Sequence[tuple[str, str]], kind: str) -> list[Override]:
    """The ``mapping COLUMN as FIELD, ...`` of an import sentence as overrides
    (field ``""``: leave the column out)."""
    out: list[Override] = []
    for col, target in pairs:
        text = f"{col} as {target or 'nothing'}"
        ov = Override(col, _target(target), text, "mapping")
        if ov.target != IGNORE:
            check_field(check_kind(kind), ov.target, ov.quoted)
        out.append(ov)
    return out


def _find_header(headers: list[str], ov: Override) -> str:
    if ov.column in headers:
        return ov.column
    folded = [h for h in headers if h.casefold() == ov.column.casefold()]
    if len(folded) == 1:
        return folded[0]
    key = normalise_header(ov.column)
    loose = [h for h in headers if normalise_header(h) == key]
    if len(loose) == 1:
        return loose[0]
    raise UserError(
        f"{ov.quoted}: the file has no column {ov.column!r} (columns: {', '.join(headers)})",
        suggestions=difflib.get_close_matches(ov.column, headers, n=3),
    )


def auto_map(kind: str, headers: list[str], overrides: list[Override] | None = None) -> Mapping:
    """Detect the mapping of ``headers`` for ``kind``; apply ``overrides`` last."""
    k = check_kind(kind)
    index = _INDEX[k]
    parts_index = _PARTS_INDEX.get(k, {})
    fields: dict[str, list[str]] = {}
    parts: dict[str, list[tuple[int, str]]] = {}
    unknown: list[str] = []
    for h in headers:
        if h.casefold().startswith(CUSTOM_PREFIX) and len(h) > len(CUSTOM_PREFIX):
            fields.setdefault(CUSTOM_PREFIX + h[len(CUSTOM_PREFIX) :].strip(), []).append(h)
            continue
        key = normalise_header(h)
        fname = index.get(key)
        if fname is not None and fname not in fields:
            fields[fname] = [h]
        elif fname is None and key in parts_index:
            whole, pos = parts_index[key]
            parts.setdefault(whole, []).append((pos, h))
        else:
            unknown.append(h)  # not recognised, or a second column for a taken field
    for whole, cols in parts.items():
        ordered = sorted(cols, key=lambda t: t[0])
        if whole not in fields:
            fields[whole] = [h for _, h in ordered]
        elif whole in WHOLE_STANDS_FOR:  # "Address" + "City" + "Zip": the street, then the rest
            fields[whole] += [h for pos, h in ordered if pos >= WHOLE_STANDS_FOR[whole]]
        # else: "ContactName" beats "FirstName" + "LastName" (the parts stay unknown)
    used = {c for cols in fields.values() for c in cols}
    unknown = [h for h in headers if h not in used]
    # keep ``fields`` in file order, so previews read naturally
    order = {h: i for i, h in enumerate(headers)}
    fields = dict(sorted(fields.items(), key=lambda kv: order[kv[1][0]]))
    mapping = Mapping(k, list(headers), fields, unknown, [])
    return mapping.with_overrides(overrides) if overrides else mapping


__all__ = [
    "ALIASES",
    "CUSTOM_PREFIX",
    "FIELDS",
    "KINDS",
    "PARTS",
    "REQUIRED",
    "Kind",
    "Mapping",
    "Override",
    "auto_map",
    "check_field",
    "normalise_header",
    "parse_overrides",
    "sentence_overrides",
]
