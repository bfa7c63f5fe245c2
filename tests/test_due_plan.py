"""find_due (SQL over the covering indexes) against a plain Python reading of the rules.

A varied book on SQLite and PostgreSQL: customers opted out, paused, without
email or archived; drafts, voids, invoices issued after D, partial payments,
payments after D (the payment cache ahead of D); per-customer schedules and
summary mode; an outbox history with every status. The reference applies the
rules of ``commands/outbox_plan.py`` invoice by invoice, from all the rows.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from commands.email_templates import template_for_stage
from commands.executor import run
from commands.outbox import CATCH_UP_DAYS, DONE, InvoiceInfo, add_details, find_due, policy_for
from commands.outbox_plan import wording_stage
from commands.reminder_schedule import ReminderPolicy, due_stage, stage_offset, upcoming
from store.engine import read_tx, write_tx
from store.models import Customer, Invoice, Payment, Reminder
from store.writes import insert_customers, insert_invoices, insert_payments
from tests.reminders_support import NOON, D, workspace

DAYS_OVERDUE = [-5, -3, -1, 0, 1, 7, 10, 14, 20, 30, 35, 44, 50, 58, 72, 80, 100, 101, 103, 130]
#: per-customer settings, by customer index modulo 9
OVERRIDES = {
    0: 'set reminder offsets of {who} to "0 10"',
    4: "set reminder mode of {who} to summary",
}
HISTORY = [
    ("after-7", "sent", None),
    ("due", "sent", None),
    ("after-14", "skipped", None),
    ("after-30", "pending", NOON + timedelta(hours=1)),
    ("after-30", "pending", NOON - timedelta(hours=1)),
    ("after-7", "failed", None),
    ("before-3", "in_doubt", None),
    ("manual-2026-06-29", "sent", None),
    ("repeat-44", "claimed", None),
    ("after-10", "sent", None),
]
#: (status, next attempt) of a row for the stage due now
CURRENT = [
    ("sent", None),
    ("skipped", None),
    ("pending", NOON + timedelta(hours=1)),
    ("pending", NOON - timedelta(hours=1)),
    ("pending", NOON + timedelta(days=3)),
    ("failed", None),
    ("in_doubt", None),
    ("claimed", None),
]


def _book(
    engine: Engine, *, paid_after_d: bool, overrides: bool = True
) -> dict[int, ReminderPolicy]:
    """Fill the database; returns the customers with their own schedule."""
    rng = random.Random(5)
    people = []
    for n in range(45):
        people.append(
            {
                "name": f"P{n:03d}",
                "email": rng.choice([f"p{n}@example.test"] * 6 + [None, ""]),
                "company": rng.choice([None, f"Co {n}"]),
                "status": "archived" if n % 13 == 5 else "active",
                "reminders_opt_out": n % 10 == 3,
                "reminders_paused_until": rng.choice(
                    [None] * 6 + [D - timedelta(days=1), D, D + timedelta(days=4)]
                ),
                "created_on": D - timedelta(days=500),
            }
        )
    with write_tx(engine) as conn:
        cids = insert_customers(conn, people, D)
        invoices = []
        for n, cid in enumerate(cids):
            for k in range(rng.randint(1, 5)):
                days = rng.choice(DAYS_OVERDUE)
                invoices.append(
                    {
                        "customer_id": cid,
                        "number": f"N{n:03d}-{k}",
                        "issued_on": D + timedelta(days=1)
                        if rng.random() < 0.05
                        else D - timedelta(days=days + 30),
                        "due_on": D - timedelta(days=days),
                        "total_cents": 5_000 + 100 * k,
                        "currency": "USD",
                        "status": rng.choice(["sent"] * 8 + ["draft", "void"]),
                    }
                )
        iids = insert_invoices(conn, invoices)
        payments = []
        for iid in iids:
            roll = rng.random()
            if roll < 0.15:
                payments.append(
                    {"invoice_id": iid, "paid_on": D - timedelta(days=2), "amount_cents": 5_000}
                )
            elif roll < 0.3:
                payments.append(
                    {"invoice_id": iid, "paid_on": D - timedelta(days=1), "amount_cents": 1_000}
                )
            elif roll < 0.4 and paid_after_d:
                payments.append(
                    {"invoice_id": iid, "paid_on": D + timedelta(days=3), "amount_cents": 9_000}
                )
        insert_payments(conn, payments)
        history = []
        for iid, inv in zip(iids, invoices, strict=True):
            picked = {row[0]: row for row in rng.sample(HISTORY, rng.choice([0, 0, 1, 2]))}
            current = due_stage(inv["due_on"], D)
            if current is not None and rng.random() < 0.5:
                picked[current.key] = (current.key, *rng.choice(CURRENT))
            for stage, status, retry in picked.values():
                history.append(
                    {
                        "invoice_id": iid,
                        "customer_id": inv["customer_id"],
                        "stage": stage,
                        "send_on": D - timedelta(days=1),
                        "status": status,
                        "next_attempt_at": retry,
                        "attempts": 1,
                        "origin": "daemon",
                    }
                )
        conn.execute(insert(Reminder.__table__), history)
    ws = workspace(engine)
    policy = policy_for(ws)
    own: dict[int, ReminderPolicy] = {}
    for n, cid in enumerate(cids):
        sentence = OVERRIDES.get(n % 9) if overrides else None
        if sentence and people[n]["status"] == "active":
            run(ws, sentence.format(who=f"#{cid}"), confirmed=True)
            key = "offsets" if "offsets" in sentence else "mode"
            value: Any = "0 10" if key == "offsets" else "summary"
            own[cid] = policy.with_overrides({key: value})
    return own


def _rows(engine: Engine) -> tuple[dict[int, Any], list[Any], dict[int, int], dict[int, list[Any]]]:
    with read_tx(engine) as conn:
        people = {r.id: r for r in conn.execute(select(Customer.__table__))}
        invoices = list(conn.execute(select(Invoice.__table__).order_by(Invoice.id)))
        paid: dict[int, int] = {}
        for r in conn.execute(select(Payment.__table__).where(Payment.paid_on <= D)):
            paid[r.invoice_id] = paid.get(r.invoice_id, 0) + r.amount_cents
        history: dict[int, list[Any]] = {}
        for r in conn.execute(select(Reminder.__table__)):
            history.setdefault(r.invoice_id, []).append(r)
    return people, invoices, paid, history


def _remindable(person: Any) -> bool:
    paused = person.reminders_paused_until
    return (
        person.status == "active"
        and not person.reminders_opt_out
        and (paused is None or paused < D)
        and bool(person.email)
    )


def _owing(inv: Any, paid: dict[int, int]) -> bool:
    return inv.status == "sent" and inv.issued_on <= D and inv.total_cents - paid.get(inv.id, 0) > 0


def _ruled_out(rows: list[Any], key: str, now_utc: datetime) -> bool:
    done = [
        stage_offset(r.stage)
        for r in rows
        if r.status in DONE and not r.stage.startswith("manual-")
    ]
    if done and max(done) >= stage_offset(key):
        return True
    return any(
        r.stage == key
        and (
            r.status == "skipped" or (r.next_attempt_at is not None and r.next_attempt_at > now_utc)
        )
        for r in rows
    )


def _expected(
    engine: Engine, own: dict[int, ReminderPolicy], day: date, policy: ReminderPolicy
) -> list[tuple[int, str, list[tuple[int, str, date]]]]:
    """(customer, template, [(invoice, stage, send on)]) per email, by the rules."""
    people, invoices, paid, history = _rows(engine)
    now_utc = NOON + timedelta(days=(day - D).days)
    due: dict[int, list[tuple[date, int, str, date]]] = {}
    for inv in invoices:
        if not (_owing(inv, paid) and _remindable(people[inv.customer_id])):
            continue
        mine = own.get(inv.customer_id, policy)
        if day == D:
            stage = due_stage(inv.due_on, D, mine)
            if stage is None or stage.send_on < D - timedelta(days=CATCH_UP_DAYS):
                continue
        else:
            stage = upcoming(inv.due_on, day, mine)
            if stage is None:
                continue
        if _ruled_out(history.get(inv.id, []), stage.key, now_utc):
            continue
        due.setdefault(inv.customer_id, []).append((inv.due_on, inv.id, stage.key, stage.send_on))
    plans = []
    for cid in sorted(due):
        items = sorted(due[cid])
        if own.get(cid, policy).mode == "summary":
            plans.append((cid, "reminder-summary", [(i, k, s) for _, i, k, s in items]))
            continue
        for due_on, iid, key, send_on in items:
            template = template_for_stage(wording_stage(key, (day - due_on).days))
            plans.append((cid, template, [(iid, key, send_on)]))
    return plans


@pytest.mark.parametrize(
    ("paid_after_d", "overrides", "mode"),
    [
        (False, True, "invoice"),
        (True, True, "invoice"),
        (False, False, "invoice"),
        (True, False, "summary"),
    ],
    ids=["cache-at-d", "cache-ahead", "one-schedule", "all-summary"],
)
def test_find_due_matches_the_rules_invoice_by_invoice(
    engine: Engine, paid_after_d: bool, overrides: bool, mode: str
) -> None:
    own = _book(engine, paid_after_d=paid_after_d, overrides=overrides)
    policy = policy_for(workspace(engine, config={"reminders": {"mode": mode}}))
    checked = 0
    for day in (D, D + timedelta(days=1), D + timedelta(days=7), D + timedelta(days=14)):
        now_utc = NOON + timedelta(days=(day - D).days)
        with read_tx(engine) as conn:
            plans = find_due(conn, D, policy, now_utc, day=day)
        got = [
            (p.customer_id, p.template, [(it.invoice_id, it.stage, it.send_on) for it in p.items])
            for p in plans
        ]
        assert got == _expected(engine, own, day, policy), day
        checked += len(got)
    assert checked > 20


def test_details_read_at_send_time_match_the_book(engine: Engine) -> None:
    own = _book(engine, paid_after_d=True)
    people, invoices, paid, _ = _rows(engine)
    by_id = {i.id: i for i in invoices}
    with read_tx(engine) as conn:
        plans = find_due(conn, D, policy_for(workspace(engine)), NOON)
        assert plans and all(not p.invoices and not p.email for p in plans)
        add_details(conn, plans, D)
    summaries = 0
    for p in plans:
        person = people[p.customer_id]
        assert (p.name, p.email, p.company) == (person.name, person.email, person.company)
        assert [it.number for it in p.items] == [by_id[it.invoice_id].number for it in p.items]
        listed = {it.invoice_id for it in p.items}
        if p.template == "reminder-summary":
            summaries += 1
            assert own[p.customer_id].mode == "summary"
            listed |= {
                i.id
                for i in invoices
                if i.customer_id == p.customer_id and i.due_on < D and _owing(i, paid)
            }
        expected = sorted(
            (
                InvoiceInfo(
                    i.id,
                    i.customer_id,
                    i.number,
                    i.issued_on,
                    i.due_on,
                    i.total_cents,
                    paid.get(i.id, 0),
                )
                for i in (by_id[x] for x in listed)
            ),
            key=lambda x: (x.due_on, x.number),
        )
        assert sorted(p.invoices, key=lambda x: (x.due_on, x.number)) == expected
    assert summaries > 0
