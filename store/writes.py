"""Writes that keep derived data (search text, figures) in step, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select, update

from store.figures import refresh_customers
from store.invoice_cache import refresh_invoice_cache
from store.models import Customer, Invoice, Payment
from store.search import fold, search_text

c: Any = Customer.__table__
inv: Any = Invoice.__table__
pay: Any = Payment.__table__

CUSTOMER_FIELDS = (
    "name",
    "email",
    "company",
    "phone",
    "address",
    "status",
    "created_on",
    "payment_terms_days",
    "billing_frequency",
    "preferred_payment_method",
    "stripe_customer_id",
    "reminders_paused_until",
    "reminders_opt_out",
)
INVOICE_STATUSES = ("draft", "sent", "void")


def customer_values(values: Mapping[str, Any], today: date) -> dict[str, Any]:
    """A complete customers row from user values: defaults and derived columns."""
    row = {k: values.get(k) for k in CUSTOMER_FIELDS}
    row["status"] = row["status"] or "active"
    row["created_on"] = row["created_on"] or today
    row["reminders_opt_out"] = bool(row["reminders_opt_out"])
    row["search_text"] = search_text(row["name"], row["email"], row["company"])
    row["sort_name"] = fold(row["name"])
    return row


def insert_customers(
    conn: Connection, rows: Sequence[Mapping[str, Any]], today: date, *, refresh: bool = True
) -> list[int]:
    """Insert customers (executemany) and return their ids in order."""
    if not rows:
        return []
    full = [customer_values(r, today) for r in rows]
    if len(full) == 1:
        key = conn.execute(insert(c).values(**full[0])).inserted_primary_key
        assert key is not None
        ids = [int(key[0])]
    else:
        result = conn.execute(insert(c).returning(c.c.id, sort_by_parameter_order=True), full)
        ids = [int(x) for x in result.scalars()]
    if refresh:
        refresh_customers(conn, ids)
    return ids


def update_customers(conn: Connection, ids: Sequence[int], values: Mapping[str, Any]) -> None:
    """Set columns on customers; search and sort text follow name/email/company."""
    values = dict(values)
    unknown = set(values) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValueError(f"not customer fields: {sorted(unknown)}")
    conn.execute(update(c).where(c.c.id.in_(list(ids))).values(**values))
    if {"name", "email", "company"} & set(values):
        rows = conn.execute(
            select(c.c.id, c.c.name, c.c.email, c.c.company).where(c.c.id.in_(list(ids)))
        ).all()
        for cid, name, email, company in rows:
            conn.execute(
                update(c)
                .where(c.c.id == cid)
                .values(search_text=search_text(name, email, company), sort_name=fold(name))
            )
    if {"created_on", "status"} & set(values):
        refresh_customers(conn, ids)


def insert_invoices(
    conn: Connection, rows: Sequence[Mapping[str, Any]], *, refresh: bool = True
) -> list[int]:
    """Insert invoices (dicts with customer_id, number, issued_on, due_on,
    total_cents, currency, status) and refresh their customers' figures."""
    if not rows:
        return []
    for r in rows:
        if r.get("status", "sent") not in INVOICE_STATUSES:
            raise ValueError(f"invoice status must be one of {INVOICE_STATUSES}")
    full = [{"status": "sent", **r} for r in rows]
    result = conn.execute(insert(inv).returning(inv.c.id, sort_by_parameter_order=True), full)
    ids = [int(x) for x in result.scalars()]
    if refresh:
        refresh_customers(conn, {int(r["customer_id"]) for r in rows})
    return ids


def insert_payments(
    conn: Connection, rows: Sequence[Mapping[str, Any]], *, refresh: bool = True
) -> list[int]:
    """Insert payments (dicts with invoice_id, paid_on, amount_cents, method);
    the customer is taken from the invoice."""
    if not rows:
        return []
    invoice_ids = {int(r["invoice_id"]) for r in rows}
    owners: dict[int, int] = dict(
        conn.execute(select(inv.c.id, inv.c.customer_id).where(inv.c.id.in_(invoice_ids))).all()
    )
    missing = invoice_ids - set(owners)
    if missing:
        raise ValueError(f"unknown invoice ids: {sorted(missing)}")
    full = [{**r, "customer_id": owners[int(r["invoice_id"])]} for r in rows]
    result = conn.execute(insert(pay).returning(pay.c.id, sort_by_parameter_order=True), full)
    ids = [int(x) for x in result.scalars()]
    refresh_invoice_cache(conn, invoice_ids)
    if refresh:
        refresh_customers(conn, set(owners.values()))
    return ids


def set_invoice_status(conn: Connection, invoice_id: int, status: str) -> None:
    """Change an invoice's stored status (draft, sent, void)."""
    if status not in INVOICE_STATUSES:
        raise ValueError(f"invoice status must be one of {INVOICE_STATUSES}")
    owner = conn.execute(
        update(inv).where(inv.c.id == invoice_id).values(status=status).returning(inv.c.customer_id)
    ).scalar_one()
    refresh_customers(conn, [owner])


def customers_of_invoices(conn: Connection, invoice_ids: Iterable[int]) -> set[int]:
    """The owners of some invoices."""
    ids = list(invoice_ids)
    return set(conn.execute(select(inv.c.customer_id).where(inv.c.id.in_(ids))).scalars())
