"""Customer imports: insert new emails, update (or skip) known ones, tags and custom fields."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, delete, select

from commands.custom_values import VALUE_COLUMNS, jsonable, stored_values, typed_custom
from commands.fileformats import CustomerRecord, RowError
from commands.fileformats.mapping import CUSTOM_PREFIX
from commands.import_core import Importer, c
from store import bulk
from store import query as q
from store.models import CustomerTag, CustomFieldValue
from store.search import SEPARATOR, fold, search_text

ct: Any = CustomerTag.__table__
cfv: Any = CustomFieldValue.__table__

TAG_RE = re.compile(r"^[\w][\w .:/+-]{0,99}$")
#: distinct tag lists and dates remembered (memory stays bounded)
MAX_CACHED_TAG_LISTS = 10_000
MAX_CACHED_DATES = 10_000
#: customers columns an import may set, in the order of the raw statements
CUSTOMER_COLUMNS = (
    "name",
    "email",
    "company",
    "phone",
    "address",
    "status",
    "created_on",
    "payment_terms_days",
)
#: the columns of a new customer's row (:class:`NewCustomerRows`), after its id
NEW_ROW_COLUMNS = (*CUSTOMER_COLUMNS, "reminders_opt_out", "search_text", "sort_name")
#: customers column -> record attribute
RECORD_ATTR = {"created_on": "created_at"}

Typed = dict[str, dict[str, Any]]
#: the typed custom values of a row without any (shared: never changed)
NOTHING_TYPED: Typed = {}


class Stored:
    """What the database holds for the known customers of one batch."""

    def __init__(self, conn: Connection, ids: list[int], tags: bool, custom: Sequence[str]):
        self.rows = {
            row.id: row
            for row in conn.execute(
                select(c.c.id, *[c.c[x] for x in CUSTOMER_COLUMNS]).where(c.c.id.in_(ids))
            )
        }
        self.tags = q.tags_for(conn, ids) if tags else {}
        self.custom = stored_values(conn, ids, custom) if custom else {}


def plain_tags(names: Sequence[str], good: set[str]) -> bool:
    """Whether every tag name is well formed (the good ones are remembered in ``good``)."""
    for t in names:
        if t not in good:
            if not TAG_RE.match(t):
                return False
            good.add(t)
    return True


class NewCustomerRows:
    """New customers' ``customers`` rows (without their ids) from their records, a chunk
    at a time (:meth:`columns`).

    Columns: :data:`NEW_ROW_COLUMNS`. Pure: the import pipeline's producer process builds
    these too. Dates are ISO text on SQLite (what SQLAlchemy's ``Date`` stores).
    """

    def __init__(self, today: date, sqlite: bool) -> None:
        self.today = today
        self.sqlite = sqlite
        #: date (None: today) -> its ISO text (few distinct dates, many rows)
        self._iso: dict[date | None, str] = {None: today.isoformat()}

    def day(self, created: date | None) -> date | str:
        """The stored form of a created date (None: today)."""
        if not self.sqlite:
            return created or self.today
        iso = self._iso.get(created)
        if iso is None:
            assert created is not None
            iso = created.isoformat()
            if len(self._iso) < MAX_CACHED_DATES:
                self._iso[created] = iso
        return iso

    #: the record fields :meth:`columns` reads
    FIELDS = (
        "name", "email", "company", "phone", "address", "status", "created_at",
        "payment_terms_days",
    )  # fmt: skip

    def columns(self, values: dict[str, list[Any]], n: int) -> list[list[Any]]:
        """The columns of the rows of ``n`` records given as columns (field -> one value
        per row). The name falls back to the email; search text and sort name are folded
        (ASCII text lower-cased for the whole chunk in one call)."""
        none: list[Any] = [None] * n

        def col(name: str) -> list[Any]:
            return values.get(name, none)

        emails, companies = col("email"), col("company")
        names = [a or b or "" for a, b in zip(col("name"), emails, strict=True)]
        join = SEPARATOR.join
        texts = [join(filter(None, t)) for t in zip(names, emails, companies, strict=True)]
        searchable = _lowered(texts)
        if searchable is None:
            searchable = [
                t.lower() if t.isascii() else search_text(*parts)
                for t, *parts in zip(texts, names, emails, companies, strict=True)
            ]
        created = col("created_at")
        if self.sqlite:
            iso, day = self._iso, self.day
            days: list[Any] = [iso.get(d) or day(d) for d in created]
        else:
            days = [d or self.today for d in created]
        return [
            names,
            emails,
            companies,
            col("phone"),
            col("address"),
            [s or "active" for s in col("status")],
            days,
            col("payment_terms_days"),
            [False] * n,
            searchable,
            _lowered(names) or [fold(a) for a in names],
        ]


#: joins a chunk's texts for one lower() (a text that holds it takes the slow path)
_BETWEEN_ROWS = "\x1f"


def _lowered(texts: list[str]) -> list[str] | None:
    """Every text lower-cased in one call, or None when any is not ASCII (or holds
    the separator)."""
    if not texts:
        return []
    joined = _BETWEEN_ROWS.join(texts)
    if not joined.isascii() or joined.count(_BETWEEN_ROWS) != len(texts) - 1:
        return None
    return joined.lower().split(_BETWEEN_ROWS)


@dataclass
class NewCustomers:
    """New, valid customers without custom fields, in file order: the columns of their
    rows (:data:`NEW_ROW_COLUMNS`, see :meth:`NewCustomerRows.columns`) and their tags,
    each distinct list of tag names as written with the positions of its rows as a JSON
    array (rows without tags are in none)."""

    columns: list[list[Any]]
    tags: dict[tuple[str, ...], str]

    def __len__(self) -> int:
        return len(self.columns[0])


class CustomerImporter(Importer):
    kind = "customers"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: tag names known to be well formed (few distinct names, many rows)
        self._good_tags: set[str] = set()
        #: tag name as written -> id
        self._tag_ids: dict[str, int] = {}
        #: a row's tag names -> their ids, sorted (few distinct lists, many rows)
        self._ids_of_tags: dict[tuple[str, ...], list[int]] = {}
        self._rows: NewCustomerRows | None = None

    def tag_ids(self, name: str) -> int:
        """The id of a tag as written (created when new)."""
        tid = self._tag_ids.get(name)
        if tid is None:
            tid = self.tag_id(name)
            assert tid is not None
            self._tag_ids[name] = tid
        return tid

    def tag_list_ids(self, names: Sequence[str]) -> list[int]:
        """The ids of a row's tags, sorted (created when new)."""
        key = tuple(names)
        tids = self._ids_of_tags.get(key)
        if tids is None:
            tids = sorted({self.tag_ids(name) for name in names})
            if len(self._ids_of_tags) < MAX_CACHED_TAG_LISTS:
                self._ids_of_tags[key] = tids
        return tids

    def check(self, r: CustomerRecord) -> tuple[Typed, list[RowError]]:
        """Typed custom values and the errors only the database can tell."""
        errs: list[RowError] = []
        typed: Typed = {}
        if not r.custom and not r.tags:
            return typed, errs
        for name, text in r.custom.items():
            _, ftype, choices = self.field_info(name)
            try:
                typed[name] = typed_custom(ftype, choices, text)
            except ValueError as exc:
                errs.append(
                    RowError(
                        r.line, self.col(CUSTOM_PREFIX + name), f"{name} is a {ftype} field; {exc}"
                    )
                )
        good = self._good_tags
        for t in r.tags or ():
            if t in good:
                continue
            if TAG_RE.match(t):
                good.add(t)
            else:
                errs.append(RowError(r.line, self.col("tags"), f"bad tag name {t!r}"))
        return typed, errs

    def process(self, batch: list[CustomerRecord]) -> None:
        emails = self.emails()
        new: list[tuple[CustomerRecord, Typed]] = []
        known: list[tuple[CustomerRecord, int, Typed]] = []
        good = self._good_tags
        no_errors: list[RowError] = []
        for r in batch:
            if r.custom or (r.tags and not good.issuperset(r.tags)):
                typed, errs = self.check(r)
            else:  # nothing only the database can tell
                typed, errs = NOTHING_TYPED, no_errors
            existing = emails.get(r.email.casefold()) if emails and r.email else None
            if existing is not None and self.on_conflict == "error":
                errs = [
                    *errs,
                    RowError(r.line, self.col("email"), f"customer {r.email} already exists"),
                ]
            if errs:
                for e in errs:
                    self.error(e)
                continue
            if existing is None:
                new.append((r, typed))
            elif self.on_conflict == "skip":
                self.counts.skipped += 1
            else:
                known.append((r, existing[0], typed))
        old: list[tuple[CustomerRecord, int, Typed, dict[str, Any]]] = []
        stored: Stored | None = None
        if known:
            stored = Stored(
                self.conn,
                [cid for _, cid, _ in known],
                "tags" in self.mapping.fields,
                self.mapping.custom_fields,
            )
            for r, cid, typed in known:
                merged = self.merged(r, stored.rows[cid])
                if self.changes(r, cid, typed, merged, stored):
                    old.append((r, cid, typed, merged))
                else:
                    self.counts.skipped += 1
        self.counts.inserted += len(new)
        self.counts.updated += len(old)
        if not self.writing:
            return
        self.insert(new)
        if stored is not None:
            self.update(old, stored)

    @staticmethod
    def merged(r: CustomerRecord, row: Any) -> dict[str, Any]:
        """The stored row with the file's non-empty values over it."""
        merged = {x: getattr(row, x) for x in CUSTOMER_COLUMNS}
        for x in CUSTOMER_COLUMNS:
            value = getattr(r, RECORD_ATTR.get(x, x))
            if value is not None:
                merged[x] = value
        if r.email and row.email and r.email.casefold() == str(row.email).casefold():
            merged["email"] = row.email  # the key: keep how it was written
        return merged

    @staticmethod
    def changes(
        r: CustomerRecord, cid: int, typed: Typed, merged: dict[str, Any], s: Stored
    ) -> bool:
        """Whether updating the customer from ``r`` would change anything."""
        row = s.rows[cid]
        if any(merged[x] != getattr(row, x) for x in CUSTOMER_COLUMNS):
            return True
        if r.tags is not None:
            have = {t.casefold() for t in s.tags.get(cid, ())}
            if have != {t.casefold() for t in r.tags}:
                return True
        before = s.custom.get(cid, {})
        for name, value in typed.items():
            old = before.get(name)
            if old is None or any(jsonable(value[k]) != old[k] for k in VALUE_COLUMNS):
                return True
        return False

    def insert(self, new: list[tuple[CustomerRecord, Typed]]) -> None:
        if not new:
            return
        if self._rows is None:
            self._rows = NewCustomerRows(self.ws.today, bulk.is_sqlite(self.conn))
        make = self._rows
        values = {f: [getattr(r, f) for r, _ in new] for f in make.FIELDS}
        ids = self.insert_columns(make.columns(values, len(new)), len(new))
        self.set_tags_and_custom(
            [(r.tags, cid, typed) for (r, typed), cid in zip(new, ids, strict=True)], fresh=True
        )

    def insert_columns(self, columns: Sequence[Sequence[Any]], n: int) -> list[int]:
        """Insert ``n`` rows given as the columns of :meth:`NewCustomerRows.columns` under
        new ids (returned, in order)."""
        ids = self._alloc.take(n)
        if not ids:
            return ids
        bulk.executemany(
            self.conn, "customers", ("id", *NEW_ROW_COLUMNS), list(zip(ids, *columns, strict=True))
        )
        self.new_ids.extend(ids)
        self.search.add(ids)
        self.search.index(self.conn)
        self.touch(*ids)
        return ids

    def feed_new(self, chunk: NewCustomers) -> None:
        """A chunk of new customers the producer has built rows for (see
        :mod:`commands.import_pipeline`), in file order after what came before."""
        self.flush()  # what is pending comes first in the file
        n = len(chunk)
        self.counts.rows += n
        self.counts.inserted += n
        if self.writing:
            ids = self.insert_columns(chunk.columns, n)
            self.link_tags(ids, chunk.tags)
        self.flush()

    def link_tags(self, ids: list[int], tags: dict[tuple[str, ...], str]) -> None:
        """Tag new customers ``ids`` as :attr:`NewCustomers.tags` says (positions in ids)."""
        for names, positions in tags.items():  # new tags in file order
            for tid in self.tag_list_ids(names):
                bulk.insert_links_at(
                    self.conn, "customer_tags", ("customer_id", "tag_id"), ids, positions, tid
                )

    def update(
        self, old: list[tuple[CustomerRecord, int, Typed, dict[str, Any]]], s: Stored
    ) -> None:
        if not old:
            return
        conn = self.conn
        custom_names = self.mapping.custom_fields
        params = []
        for _, cid, _, merged in old:
            row = s.rows[cid]
            self.befores[cid] = {
                "row": {x: jsonable(getattr(row, x)) for x in CUSTOMER_COLUMNS},
                "tags": s.tags.get(cid) if "tags" in self.mapping.fields else None,
                "custom": {n: s.custom.get(cid, {}).get(n) for n in custom_names},
            }
            params.append(
                (
                    *[
                        bulk.date_param(conn, merged[x]) if x == "created_on" else merged[x]
                        for x in CUSTOMER_COLUMNS
                    ],
                    search_text(merged["name"], merged["email"], merged["company"]),
                    fold(merged["name"]),
                    cid,
                )
            )
        bulk.update_many(
            conn, "customers", "id", (*CUSTOMER_COLUMNS, "search_text", "sort_name"), params
        )
        self.search.stale()
        self.touch(*(cid for _, cid, _, _ in old))
        self.set_tags_and_custom([(r.tags, cid, typed) for r, cid, typed, _ in old], fresh=False)

    def set_tags_and_custom(
        self, items: Sequence[tuple[Sequence[str] | None, int, Typed]], *, fresh: bool
    ) -> None:
        """Each item: (the row's tag names or None when not imported, customer id, typed custom
        values); ``fresh`` customers have none stored yet."""
        conn = self.conn
        tagged = [(cid, tags) for tags, cid, _ in items if tags is not None]
        if tagged:
            if not fresh:
                conn.execute(delete(ct).where(ct.c.customer_id.in_([cid for cid, _ in tagged])))
            keyed = [(cid, tuple(names)) for cid, names in sorted(tagged, key=itemgetter(0))]
            # each distinct list once (few lists, many rows), new tags in file order
            ids_of = {key: self.tag_list_ids(key) for key in dict.fromkeys(k for _, k in keyed)}
            pairs = [(cid, tid) for cid, key in keyed for tid in ids_of[key]]
            bulk.insert_links(conn, "customer_tags", ("customer_id", "tag_id"), pairs)
        by_field: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for _, cid, typed in items:
            if not typed:
                continue
            for name, value in typed.items():
                by_field.setdefault(name, []).append((cid, value))
        for name, values in by_field.items():
            fid = self.field_id(name)
            if not fresh:
                conn.execute(
                    delete(cfv).where(
                        cfv.c.field_id == fid, cfv.c.customer_id.in_([cid for cid, _ in values])
                    )
                )
            bulk.executemany(
                conn,
                "custom_field_values",
                (
                    "customer_id",
                    "field_id",
                    "text_value",
                    "number_value",
                    "date_value",
                    "bool_value",
                ),
                [
                    (
                        cid,
                        fid,
                        v["text_value"],
                        v["number_value"],
                        bulk.date_param(conn, v["date_value"]),
                        v["bool_value"],
                    )
                    for cid, v in values
                ],
            )


__all__ = [
    "CUSTOMER_COLUMNS",
    "CustomerImporter",
    "NewCustomerRows",
    "NewCustomers",
    "plain_tags",
]
