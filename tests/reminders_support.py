"""Helpers shared by the reminder, outbox, email and daemon tests (not a test module)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from commands.config import Config
from commands.workspace import Workspace
from store.engine import read_tx, write_tx
from store.models import Email, Reminder
from store.writes import insert_customers, insert_invoices

#: a Tuesday; 10:00 UTC is inside the default window (09:00-17:00 Mon-Fri)
D = date(2026, 6, 30)
NOON = datetime(2026, 6, 30, 10, 0)
MAIL_FROM = "Billing <billing@example.test>"
HEADER = "X-OpenInvoice-Reminders"


def mail_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, url: str | None) -> None:
    """Point the mailer at ``url`` (None: the Maildir outbox) and keep files in tmp."""
    monkeypatch.setenv("OPENINVOICE_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("OPENINVOICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENINVOICE_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("OPENINVOICE_MAIL_FROM", MAIL_FROM)
    monkeypatch.delenv("OPENINVOICE_AS_OF", raising=False)
    monkeypatch.delenv("OPENINVOICE_TIMEZONE", raising=False)
    if url:
        monkeypatch.setenv("OPENINVOICE_SMTP_URL", url)
    else:
        monkeypatch.delenv("OPENINVOICE_SMTP_URL", raising=False)


def workspace(
    engine: Engine,
    today: date = D,
    clock: datetime | None = NOON,
    config: dict[str, Any] | None = None,
) -> Workspace:
    return Workspace(
        engine=engine, config=Config(config or {}), as_of_override=today, clock_override=clock
    )


def seed(
    engine: Engine,
    *,
    customers: int,
    invoices_each: int = 1,
    days_overdue: int | list[int] = 7,
    refresh: bool = True,
    prefix: str = "C",
    **customer_extra: Any,
) -> tuple[list[int], list[int]]:
    """Customers ``C0001``... each with overdue invoices; returns (customer ids, invoice ids)."""
    overdue = days_overdue if isinstance(days_overdue, list) else [days_overdue]
    with write_tx(engine) as conn:
        cids = insert_customers(
            conn,
            [
                {
                    "name": f"{prefix}{n:04d} Ltd",
                    "email": f"{prefix.lower()}{n:04d}@example.test",
                    "created_on": D - timedelta(days=400),
                    **customer_extra,
                }
                for n in range(customers)
            ],
            D,
            refresh=refresh,
        )
        rows = []
        n = 0
        for cid in cids:
            for k in range(invoices_each):
                days = overdue[n % len(overdue)]
                n += 1
                rows.append(
                    {
                        "customer_id": cid,
                        "number": f"{prefix}-{cid}-{k}",
                        "issued_on": D - timedelta(days=days + 30),
                        "due_on": D - timedelta(days=days),
                        "total_cents": 10_000 + k,
                        "currency": "USD",
                    }
                )
        iids = insert_invoices(conn, rows, refresh=refresh)
    return cids, iids


def received_keys(messages: list[Any]) -> Counter[tuple[int, str]]:
    """(invoice id, stage) -> how many received messages covered it."""
    counts: Counter[tuple[int, str]] = Counter()
    for m in messages:
        header = m.message[HEADER]
        if not header:
            continue
        for part in str(header).split(","):
            iid, stage = part.strip().split(":", 1)
            counts[(int(iid), stage)] += 1
    return counts


def outbox(engine: Engine) -> list[Any]:
    with read_tx(engine) as conn:
        return list(conn.execute(select(Reminder.__table__)).all())


def emails(engine: Engine) -> list[Any]:
    with read_tx(engine) as conn:
        return list(conn.execute(select(Email.__table__).order_by(Email.id)).all())
