"""Realistic, reproducible demo data, loaded set-based for speed.

Revenue is skewed (a few big accounts, many small ones), payment
behaviour varies by customer (on time, late, partial, not paying), and
every segment of DOMAIN.md is populated. Same seed and D, same data.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Index, insert, select

from store.engine import write_tx
from store.figures import compute_all_in_parallel, ensure_snapshot, invalidate_all
from store.invoice_cache import settle
from store.models import (
    Customer,
    CustomField,
    Note,
    Tag,
    metadata,
)
from store.search import bulk_load, fold, search_text

#: the page cache of the load's connection (KiB): the indexes are built in it
LOAD_CACHE_KIB = 262_144

FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "Daniel",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Karin",
    "Lena",
    "Marco",
    "Nora",
    "Oskar",
    "Paula",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Ugo",
    "Vera",
    "Will",
    "Xenia",
    "Yusuf",
    "Zoë",
    "José",
    "Łukasz",
    "Søren",
    "Aurélie",
    "Björn",
    "Maëlle",
    "Jane",
    "John",
    "Maria",
    "Ahmed",
    "Mei",
    "Priya",
    "Kenji",
    "Olga",
]
LAST = [
    "Müller",
    "Schmidt",
    "Dubois",
    "García",
    "Rossi",
    "Nowak",
    "Jensen",
    "Smith",
    "Brown",
    "Tanaka",
    "Kowalski",
    "Lefèvre",
    "Andersson",
    "Novák",
    "Silva",
    "Doe",
    "Ivanova",
    "Öztürk",
    "Johansson",
    "Fernández",
    "Bianchi",
    "Kim",
    "Nguyen",
    "Haddad",
    "Petrović",
    "O'Brien",
    "Martín",
    "Lindqvist",
    "Horváth",
    "Costa",
]
WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Nordwind",
    "Alpen",
    "Blue",
    "River",
    "Summit",
    "Pioneer",
    "Atlas",
    "Nimbus",
    "Polar",
    "Cobalt",
    "Lumen",
    "Vertex",
    "Orbit",
    "Harbor",
    "Maple",
    "Cedar",
    "Quartz",
    "Falcon",
    "Aurora",
    "Zenith",
]
TAG_TABLE: Any = Tag.__table__
FIELD_TABLE: Any = CustomField.__table__
NOTE_TABLE: Any = Note.__table__
SUFFIX = ("GmbH", "Ltd", "Inc", "LLC", "SARL", "AB", "BV", "S.p.A.", "Co", "Group")
TAGS = (
    ("eu", 0.35),
    ("us", 0.30),
    ("newsletter", 0.25),
    ("trial", 0.08),
    ("vip", 0.03),
    ("key-account", 0.02),
    ("wholesale", 0.10),
    ("retail", 0.15),
    ("partner", 0.04),
    ("churned", 0.05),
)
INDUSTRIES = ("retail", "software", "manufacturing", "healthcare", "finance", "education")
PLANS = ("Bronze", "Silver", "Gold", "Gold Plus")
METHODS = ("card", "bank transfer", "sepa debit", "paypal")
FREQUENCIES = ("monthly", "quarterly", "yearly", "per project")


@dataclass
class DemoStats:
    customers: int
    invoices: int
    payments: int
    seconds: float


def _customer_rows(rng: random.Random, n: int, d: date) -> Iterator[dict[str, Any]]:
    start = d.toordinal() - 6 * 365
    for i in range(1, n + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        person = rng.random() < 0.35
        company = (
            None if person else f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIX)}"
        )
        name = f"{first} {last}" if person else str(company)
        email = f"{fold(first)}.{fold(last)}.{i}@example.test".replace("'", "").replace(" ", "")
        if rng.random() < 0.03:
            created = d.toordinal() - rng.randrange(0, 30)  # new customers
        else:
            created = start + int((rng.random() ** 0.7) * (d.toordinal() - start - 30))
        yield {
            "id": i,
            "name": name,
            "email": email,
            "company": company,
            "phone": f"+49 30 {rng.randrange(1000000, 9999999)}",
            "address": f"{rng.randrange(1, 200)} {rng.choice(WORDS)} Street",
            "status": "archived" if rng.random() < 0.02 else "active",
            "created_on": date.fromordinal(created),
            "payment_terms_days": rng.choice((14, 30, 30, 30, 45, 60)),
            "billing_frequency": rng.choice(FREQUENCIES),
            "preferred_payment_method": rng.choice(METHODS),
            "stripe_customer_id": None,
            "reminders_paused_until": None,
            "reminders_opt_out": rng.random() < 0.01,
            "search_text": search_text(name, email, company),
            "sort_name": fold(name),
        }


@dataclass
class Histories:
    """Invoice and payment columns (dates as day ordinals)."""

    invoices: dict[str, Any]
    payments: dict[str, Any]

    @property
    def invoice_count(self) -> int:
        return len(self.invoices["id"])

    @property
    def payment_count(self) -> int:
        return len(self.payments["id"])


def _histories(
    seed: int, customers: Sequence[dict[str, Any]], d: date, avg_invoices: float
) -> Histories:
    """Invoices and payments for every customer, generated column-wise with numpy."""
    import numpy as np

    g = np.random.default_rng(seed)
    today = d.toordinal()
    n = len(customers)
    created = np.fromiter((c["created_on"].toordinal() for c in customers), np.int64, n)
    terms = np.fromiter((c["payment_terms_days"] for c in customers), np.int64, n)
    cust_ids = np.fromiter((c["id"] for c in customers), np.int64, n)
    methods = np.array([c["preferred_payment_method"] for c in customers], dtype=object)
    counts = np.floor(g.exponential(avg_invoices, n)).astype(np.int64)
    size = (g.pareto(1.6, n) + 1.0) * 120.0  # typical invoice, major units: skewed revenue
    behaviour = g.random(n)  # < .6 on time, < .85 late, < .93 partial, else poor payer
    churned = g.random(n) < 0.3
    last = np.where(churned, today - g.integers(100, 900, n), today)
    last = np.maximum(created + 1, last)

    idx = np.repeat(np.arange(n), counts)
    m = len(idx)
    issued = created[idx] + np.floor(g.random(m) * (last[idx] - created[idx] + 1)).astype(np.int64)
    issued = np.minimum(issued, today)
    due = issued + terms[idx]
    total = np.maximum(500, (g.lognormal(0.0, 0.5, m) * size[idx] * 100).astype(np.int64))
    roll = g.random(m)
    status = np.where(roll < 0.015, "draft", np.where(roll < 0.025, "void", "sent"))
    inv_ids = np.arange(1, m + 1)
    b = behaviour[idx]
    sent = status == "sent"

    # first payment date and amount per invoice (-1: none)
    d1 = np.full(m, -1, np.int64)
    a1 = total.copy()
    on_time, late = b < 0.6, (b >= 0.6) & (b < 0.85)
    partial, poor = (b >= 0.85) & (b < 0.93), b >= 0.93
    d1[on_time] = (
        issued[on_time] + np.floor(g.random(m) * (terms[idx] + 1)).astype(np.int64)[on_time]
    )
    d1[late] = due[late] + g.integers(1, 60, m)[late]
    d1[partial] = issued[partial] + 5 + np.floor(g.random(m) * terms[idx]).astype(np.int64)[partial]
    a1[partial] = total[partial] * g.integers(30, 70, m)[partial] // 100
    pays_poor = poor & (g.random(m) < 0.4)
    d1[pays_poor] = due[pays_poor] + g.integers(30, 120, m)[pays_poor]
    d1[~sent | (poor & ~pays_poor) | (d1 > today)] = -1
    has1 = d1 >= 0
    # second instalment of partial payers
    d2 = np.where(partial & (g.random(m) < 0.5), due + g.integers(10, 90, m), -1)
    d2[(d2 > today) | ~has1] = -1
    has2 = d2 >= 0
    a2 = total - a1
    # a few refunds of half the first payment, ten days later
    dr = np.where(has1 & (g.random(m) < 0.004), d1 + 10, -1)
    dr[dr > today] = -1
    hasr = dr >= 0
    ar = -np.minimum(total, a1) // 2

    pay_inv = np.concatenate([inv_ids[has1], inv_ids[has2], inv_ids[hasr]])
    pay_idx = np.concatenate([idx[has1], idx[has2], idx[hasr]])
    pay_on = np.concatenate([d1[has1], d2[has2], dr[hasr]])
    pay_amt = np.concatenate([a1[has1], a2[has2], ar[hasr]])
    pay_method = methods[pay_idx]
    pay_method[len(pay_method) - int(hasr.sum()) :] = "refund"

    # the per-invoice cache (see store.invoice_cache); refunds fixed up exactly below
    paid = np.where(has1, a1, 0) + np.where(has2, a2, 0)
    last_on = np.where(has2, d2, np.where(has1, d1, -1))
    settled = np.where(has2, d2, np.where(has1 & (a1 >= total), d1, -1))
    for i in np.nonzero(hasr)[0]:
        made: list[tuple[Any, Any]] = [(d1[i], a1[i]), (dr[i], ar[i])]
        if has2[i]:
            made.append((d2[i], a2[i]))
        made.sort()
        p, s, lo = settle(int(total[i]), [(int(o), int(a)) for o, a in made])
        paid[i], settled[i], last_on[i] = p, (-1 if s is None else s), lo

    return Histories(
        invoices={
            "id": inv_ids,
            "customer_id": cust_ids[idx],
            "number": np.char.add("INV-", np.char.zfill(inv_ids.astype(str), 7)),
            "issued_on": issued,
            "due_on": due,
            "total_cents": total,
            "currency": np.full(m, "USD"),
            "status": status,
            "paid_cents": paid,
            "settled_on": settled,
            "last_paid_on": last_on,
        },
        payments={
            "id": np.arange(1, len(pay_inv) + 1),
            "invoice_id": pay_inv,
            "customer_id": cust_ids[pay_idx],
            "paid_on": pay_on,
            "amount_cents": pay_amt,
            "method": pay_method,
        },
    )


def _tags_and_fields(
    rng: random.Random, customers: Sequence[dict[str, Any]], now: datetime
) -> tuple[list[dict[str, Any]], list[tuple[int, int]], list[dict[str, Any]], list[dict[str, Any]]]:
    tags = [{"id": i, "name": name, "created_at": now} for i, (name, _) in enumerate(TAGS, 1)]
    links = []
    for cust in customers:
        for tid, (_, share) in enumerate(TAGS, 1):
            if rng.random() < share:
                links.append((cust["id"], tid))
    fields = [
        {"id": 1, "name": "industry", "type": "choice", "choices": list(INDUSTRIES)},
        {"id": 2, "name": "plan", "type": "text", "choices": None},
        {"id": 3, "name": "seats", "type": "number", "choices": None},
        {"id": 4, "name": "contract_end", "type": "date", "choices": None},
        {"id": 5, "name": "priority_support", "type": "yes/no", "choices": None},
    ]
    values = []
    for cust in customers:
        cid = cust["id"]
        values.append(
            {
                "customer_id": cid,
                "field_id": 1,
                "text_value": rng.choice(INDUSTRIES),
                "number_value": None,
                "date_value": None,
                "bool_value": None,
            }
        )
        values.append(
            {
                "customer_id": cid,
                "field_id": 2,
                "text_value": rng.choice(PLANS),
                "number_value": None,
                "date_value": None,
                "bool_value": None,
            }
        )
        if rng.random() < 0.6:
            values.append(
                {
                    "customer_id": cid,
                    "field_id": 3,
                    "text_value": None,
                    "number_value": float(rng.randrange(1, 500)),
                    "date_value": None,
                    "bool_value": None,
                }
            )
        if rng.random() < 0.2:
            values.append(
                {
                    "customer_id": cid,
                    "field_id": 5,
                    "text_value": None,
                    "number_value": None,
                    "date_value": None,
                    "bool_value": True,
                }
            )
    return tags, links, fields, values


def _notes(
    rng: random.Random, customers: Sequence[dict[str, Any]], d: date, now: datetime
) -> list[dict[str, Any]]:
    notes = []
    for cust in customers:
        roll = rng.random()
        if roll < 0.10:
            follow = d + timedelta(days=rng.randrange(-10, 20)) if rng.random() < 0.3 else None
            notes.append(
                {
                    "customer_id": cust["id"],
                    "kind": "internal",
                    "body": rng.choice(
                        (
                            "Called about the renewal, wants a quote.",
                            "Prefers email over phone.",
                            "Asked for a discount on the annual plan.",
                            "Complained about a late delivery.",
                        )
                    ),
                    "author": "demo",
                    "created_at": now,
                    "follow_up_on": follow,
                    "follow_up_done": False,
                }
            )
        elif roll < 0.15:
            notes.append(
                {
                    "customer_id": cust["id"],
                    "kind": "customer",
                    "body": f"Net {cust['payment_terms_days']} per contract.",
                    "author": "demo",
                    "created_at": now,
                    "follow_up_on": None,
                    "follow_up_done": False,
                }
            )
    return notes


def _secondary_indexes() -> list[Index]:
    names = ("invoices", "payments", "customer_tags", "custom_field_values", "notes")
    return [ix for name in names for ix in metadata.tables[name].indexes]


def generate(
    engine: Engine,
    customers: int = 2000,
    seed: int = 42,
    as_of: date | None = None,
    avg_invoices: float = 10.0,
    progress: Callable[[str], None] | None = None,
) -> DemoStats:
    """Fill an empty database with demo data; refuses a database with customers."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    d = as_of or date.today()
    rng = random.Random(seed)
    now = datetime(d.year, d.month, d.day, 9, 0)
    cust_rows = list(_customer_rows(rng, customers, d))
    say(f"customers made in {time.perf_counter() - started:.1f}s")
    hist = _histories(seed, cust_rows, d, avg_invoices)
    say(f"histories in {time.perf_counter() - started:.1f}s")
    tags, links, fields, values = _tags_and_fields(rng, cust_rows, now)
    notes = _notes(rng, cust_rows, d, now)
    say(
        f"generated {len(cust_rows)} customers, {hist.invoice_count} invoices, "
        f"{hist.payment_count} payments in {time.perf_counter() - started:.1f}s"
    )
    # references are not checked row by row: the generator makes consistent data, and a
    # test runs PRAGMA foreign_key_check; a bigger page cache while the indexes are built
    with write_tx(engine, check_references=False, cache_kib=LOAD_CACHE_KIB) as conn:
        if conn.execute(select(Customer.id).limit(1)).first():
            raise ValueError("the database already has customers; demo data needs an empty one")
        indexes = _secondary_indexes()
        for ix in indexes:
            ix.drop(conn, checkfirst=True)
        with bulk_load(conn):
            ccols = tuple(cust_rows[0]) if cust_rows else ()
            as_text = conn.dialect.name == "sqlite"
            _executemany(
                conn,
                "customers",
                ccols,
                [
                    tuple(
                        v.isoformat() if as_text and isinstance(v, date) else v for v in r.values()
                    )
                    for r in cust_rows
                ],
            )
            say(f"customers in {time.perf_counter() - started:.1f}s")
            _insert_columns(conn, "invoices", hist.invoices)
            say(f"invoices in {time.perf_counter() - started:.1f}s")
            _insert_columns(conn, "payments", hist.payments)
            say(f"payments in {time.perf_counter() - started:.1f}s")
            conn.execute(insert(TAG_TABLE), tags)
            _executemany(conn, "customer_tags", ("customer_id", "tag_id"), links)
            conn.execute(insert(FIELD_TABLE), fields)
            _executemany(
                conn, "custom_field_values", tuple(values[0]), [tuple(v.values()) for v in values]
            )
            if notes:
                conn.execute(insert(NOTE_TABLE), notes)
            say(f"the rest in {time.perf_counter() - started:.1f}s")
        say(f"loaded in {time.perf_counter() - started:.1f}s")
        for ix in indexes:
            ix.create(conn)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn)
        if conn.dialect.name == "sqlite":  # planner statistics before the big query
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
        say(f"indexed in {time.perf_counter() - started:.1f}s")
        invalidate_all(conn)
        if conn.dialect.name != "sqlite":
            ensure_snapshot(conn, d)
    if engine.dialect.name == "sqlite":  # committed: now several readers can share the work
        with engine.connect() as conn:  # readers find pages in the file, not the WAL's index
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        say(f"checkpointed in {time.perf_counter() - started:.1f}s")
        compute_all_in_parallel(engine, d)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
            raw.exec_driver_sql("ANALYZE")
    seconds = time.perf_counter() - started
    say(f"figures computed; done in {seconds:.1f}s")
    return DemoStats(len(cust_rows), hist.invoice_count, hist.payment_count, seconds)


DATE_COLUMNS = frozenset({"issued_on", "due_on", "settled_on", "last_paid_on", "paid_on"})


def _insert_columns(conn: Connection, table: str, columns: dict[str, Any]) -> None:
    """Insert numpy columns; date columns hold day ordinals (-1 for none)."""
    import numpy as np

    as_text = conn.dialect.name == "sqlite"  # SQLAlchemy stores Date as ISO text there
    lists = []
    for name, arr in columns.items():
        if name in DATE_COLUMNS:
            lists.append(_dates(arr, as_text))
        elif arr.dtype.kind == "U" and len(arr) > 1000:
            values, codes = np.unique(arr, return_inverse=True)
            if len(values) < 100:  # few distinct strings: share the objects
                lists.append(values.astype(object)[codes].tolist())
            else:
                lists.append(arr.tolist())
        else:
            lists.append(arr.tolist())
    _executemany(conn, table, tuple(columns), list(zip(*lists, strict=True)))


def _dates(ordinals: Any, as_text: bool) -> list[Any]:
    """Day ordinals -> dates (ISO text on SQLite), through a table of the days used."""
    import numpy as np

    present = ordinals[ordinals >= 0]
    if not len(present):
        return [None] * len(ordinals)
    low, high = int(present.min()), int(present.max())
    days = [date.fromordinal(o) for o in range(low, high + 1)]
    table = np.array([None, *(d.isoformat() if as_text else d for d in days)], dtype=object)
    return list(table[np.where(ordinals < 0, 0, ordinals - low + 1)].tolist())


def _executemany(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """executemany of plain tuples through the connection (no per-row dicts).

    SQLite stores SQLAlchemy ``Date`` as ISO text, so dates go in as text.
    """
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(columns)
    marks = ", ".join([mark] * len(columns))
    # table and column names are this module's constants, values are bound
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # straight to the driver: the same connection and transaction
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(sql, rows)
        cursor.close()
        return
    for i in range(0, len(rows), 50_000):
        conn.exec_driver_sql(sql, list(rows[i : i + 50_000]))


def _reset_sequences(conn: Connection) -> None:
    for table in ("customers", "invoices", "payments", "tags", "custom_fields", "notes"):
        # table names are the constants above
        max_id = f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1"  # noqa: S608
        seq = f"pg_get_serial_sequence('{table}', 'id')"
        conn.exec_driver_sql(f"SELECT setval({seq}, {max_id}, false)")
