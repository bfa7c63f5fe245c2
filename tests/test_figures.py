"""Every DOMAIN.md figure and segment on a hand-built data set, worked out by hand.

D = 2026-06-30, so: new window (2026-05-31, D], activity window
(2026-04-01, D], prior 90 days (2026-01-01, 2026-04-01], late window
(2025-06-30, D]. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

from store import query as q
from store.engine import read_tx, write_tx
from store.figures import ensure_snapshot
from store.writes import insert_customers, insert_invoices, insert_payments

D = date(2026, 6, 30)


def _d(s: str) -> date:
    return date.fromisoformat(s)


def build(engine: Engine) -> dict[str, int]:
    """The data set; returns customer ids by letter."""
    ids: dict[str, int] = {}
    with write_tx(engine) as conn:
        specs = {
            "A": ("Alpha", "2025-01-01", "active"),
            "B": ("Bravo", "2026-06-01", "active"),  # created D-29: new
            "C": ("Charlie", "2026-05-31", "active"),  # created exactly D-30: not new
            "D": ("Delta", "2024-01-01", "active"),
            "E": ("Echo", "2024-01-01", "active"),
            "F": ("Foxtrot", "2024-01-01", "active"),
            "G": ("Golf", "2024-01-01", "archived"),
            "H": ("Hotel", "2025-01-01", "active"),
        }
        rows = [
            {"name": n, "email": f"{k.lower()}@example.test", "created_on": _d(cr), "status": st}
            for k, (n, cr, st) in specs.items()
        ]
        for key, cid in zip(specs, insert_customers(conn, rows, D), strict=True):
            ids[key] = cid

        def invoice(
            cust: str, number: str, issued: str, due: str, total: int, status: str = "sent"
        ) -> int:
            return insert_invoices(
                conn,
                [
                    {
                        "customer_id": ids[cust],
                        "number": number,
                        "issued_on": _d(issued),
                        "due_on": _d(due),
                        "total_cents": total,
                        "currency": "USD",
                        "status": status,
                    }
                ],
            )[0]

        def pay(inv: int, on: str, amount: int) -> None:
            insert_payments(
                conn,
                [{"invoice_id": inv, "paid_on": _d(on), "amount_cents": amount, "method": "card"}],
            )

        a1 = invoice("A", "A1", "2026-01-10", "2026-02-09", 500_000)
        pay(a1, "2026-02-01", 300_000)
        pay(a1, "2026-02-20", 200_000)  # settles it 11 days late
        a2 = invoice("A", "A2", "2026-03-01", "2026-03-31", 400_000)
        pay(a2, "2026-03-15", 400_000)  # on time
        invoice("A", "A3", "2026-05-01", "2026-05-31", 999_900, status="draft")
        a4 = invoice("A", "A4", "2026-04-01", "2026-05-01", 100_000, status="void")
        pay(a4, "2026-04-05", 50_000)  # on a void invoice: never counts
        a5 = invoice("A", "A5", "2026-06-01", "2026-07-01", 100_000)
        pay(a5, "2026-06-10", 100_000)
        pay(a5, "2026-06-20", -100_000)  # refund: open again
        a6 = invoice("A", "A6", "2026-07-05", "2026-08-04", 200_000)  # issued after D
        pay(a6, "2026-07-06", 200_000)

        d1 = invoice("D", "D1", "2026-04-01", "2026-05-01", 1_000_000)  # exactly D-90
        pay(d1, "2026-04-01", 1_000_000)

        e1 = invoice("E", "E1", "2026-04-02", "2026-05-02", 150_000)  # D-89
        pay(e1, "2026-05-10", 100_000)  # partial, overdue

        f1 = invoice("F", "F1", "2025-06-01", "2025-06-30", 49_999)  # due exactly D-365
        pay(f1, "2025-07-15", 49_999)  # late, but its due date is outside the window
        f2 = invoice("F", "F2", "2025-06-05", "2025-07-01", 50_000)  # due D-364
        pay(f2, "2025-06-25", 50_000)  # on time

        h1 = invoice("H", "H1", "2026-05-01", "2026-05-31", 20_000)
        pay(h1, "2026-05-20", 15_000)
        pay(h1, "2026-06-05", 10_000)  # overpays; settled 5 days late
        h2 = invoice("H", "H2", "2026-06-15", "2026-07-15", 30_000)
        pay(h2, "2026-07-10", 30_000)  # dated after D
    return ids


def rows_by_name(engine: Engine, d: date = D, **spec: Any) -> dict[str, Any]:
    with write_tx(engine) as conn:
        ensure_snapshot(conn, d)
    with read_tx(engine) as conn:
        rows = q.list_customers(conn, d, q.ListSpec(include_archived=True, **spec))
    return {r.name: r for r in rows}


EXPECTED = {
    # name: revenue, invoiced, outstanding, count, avg value, last inv, last pay,
    #       frequency, avg days to pay, avg days late, on-time rate
    "Alpha": (
        900_000,
        1_000_000,
        100_000,
        3,
        333_333,
        "2026-06-01",
        "2026-06-20",
        71.0,
        27.5,
        5.5,
        0.5,
    ),
    "Bravo": (0, 0, 0, 0, 0, None, None, None, None, None, None),
    "Charlie": (0, 0, 0, 0, 0, None, None, None, None, None, None),
    "Delta": (
        1_000_000,
        1_000_000,
        0,
        1,
        1_000_000,
        "2026-04-01",
        "2026-04-01",
        None,
        0.0,
        0.0,
        1.0,
    ),
    "Echo": (
        100_000,
        150_000,
        50_000,
        1,
        150_000,
        "2026-04-02",
        "2026-05-10",
        None,
        None,
        None,
        None,
    ),
    "Foxtrot": (99_999, 99_999, 0, 2, 50_000, "2025-06-05", "2025-07-15", 4.0, 32.0, 7.5, 0.5),
    "Golf": (0, 0, 0, 0, 0, None, None, None, None, None, None),
    "Hotel": (25_000, 50_000, 30_000, 2, 25_000, "2026-06-15", "2026-06-05", 45.0, 35.0, 5.0, 0.0),
}

SEGMENTS = {
    # name: revenue segment, activity, late, partial, on-time, at-risk reasons
    "Alpha": ("medium-value", "active", True, False, False, {"late payments", "declining revenue"}),
    "Bravo": ("low-value", "new", False, False, False, set()),
    "Charlie": ("low-value", "inactive", False, False, False, set()),
    "Delta": ("high-value", "inactive", False, False, True, {"low activity", "declining revenue"}),
    "Echo": ("medium-value", "active", True, True, False, {"late payments"}),
    "Foxtrot": (
        "low-value",
        "inactive",
        False,
        False,
        True,
        {"low activity", "no recent invoices"},
    ),
    "Golf": ("low-value", "inactive", False, False, False, set()),
    "Hotel": ("low-value", "active", True, False, False, {"late payments"}),
}


def _opt(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def test_every_figure_matches_hand_computation(engine: Engine) -> None:
    build(engine)
    rows = rows_by_name(engine)
    assert set(rows) == set(EXPECTED)
    for name, exp in EXPECTED.items():
        r = rows[name]
        got = (
            r.revenue,
            r.invoiced,
            r.outstanding,
            r.invoice_count,
            r.average_invoice_value,
            r.last_invoice_on,
            r.last_payment_on,
            r.invoice_frequency_days,
            r.average_days_to_pay,
            r.average_days_late,
            r.on_time_rate,
        )
        want = (*exp[:5], _opt(exp[5]), _opt(exp[6]), *exp[7:])
        assert got == pytest.approx(want), name


def test_every_segment_and_reason(engine: Engine) -> None:
    build(engine)
    rows = rows_by_name(engine)
    reasons = {
        "late payments": "risk_late",
        "low activity": "risk_low_activity",
        "declining revenue": "risk_declining",
        "no recent invoices": "risk_no_recent",
    }
    for name, (rev, act, late, partial, on_time, why) in SEGMENTS.items():
        r = rows[name]
        assert (r.revenue_segment, r.activity_segment) == (rev, act), name
        assert (bool(r.late_payer), bool(r.partial_payer), bool(r.on_time_payer)) == (
            late,
            partial,
            on_time,
        ), name
        assert {label for label, col in reasons.items() if getattr(r, col)} == why, name
        assert bool(r.at_risk) == bool(why), name


def test_segment_filters_and_archived_excluded(engine: Engine) -> None:
    build(engine)
    with write_tx(engine) as conn:
        ensure_snapshot(conn, D)
        counts = q.segment_counts(conn, D)
        late = q.list_customers(conn, D, q.ListSpec(where=q.segment("late-payer")))
        archived = q.list_customers(
            conn, D, q.ListSpec(where=q.status_is("archived"), include_archived=True)
        )
    # Golf is archived: left out of every segment count
    assert counts == {
        "high-value": 1,
        "medium-value": 2,
        "low-value": 4,
        "new": 1,
        "active": 3,
        "inactive": 3,
        "late-payer": 3,
        "partial-payer": 1,
        "on-time-payer": 2,
        "at-risk": 5,
    }
    assert [r.name for r in late] == ["Alpha", "Echo", "Hotel"]
    assert [r.name for r in archived] == ["Golf"]


def test_any_reference_date(engine: Engine) -> None:
    """A later D sees H2's payment of 2026-07-10 and A6 issued on 2026-07-05."""
    build(engine)
    later = rows_by_name(engine, date(2026, 7, 20))
    assert later["Hotel"].revenue == 55_000
    assert later["Hotel"].outstanding == 0
    assert later["Alpha"].invoice_count == 4
    assert later["Alpha"].revenue == 1_100_000
    assert later["Alpha"].revenue_segment == "high-value"
    # and the first snapshot is still right
    assert rows_by_name(engine)["Hotel"].revenue == 25_000


def test_writes_keep_snapshot_in_step(engine: Engine) -> None:
    ids = build(engine)
    rows_by_name(engine)  # snapshot exists
    with write_tx(engine) as conn:
        inv = insert_invoices(
            conn,
            [
                {
                    "customer_id": ids["B"],
                    "number": "B1",
                    "issued_on": D,
                    "due_on": D,
                    "total_cents": 1_200_000,
                    "currency": "USD",
                }
            ],
        )[0]
        insert_payments(conn, [{"invoice_id": inv, "paid_on": D, "amount_cents": 1_200_000}])
    bravo = rows_by_name(engine)["Bravo"]
    assert (bravo.revenue, bravo.invoice_count, bravo.revenue_segment) == (
        1_200_000,
        1,
        "high-value",
    )
    assert bravo.on_time_payer


def test_sorting_and_keyset_paging(engine: Engine) -> None:
    build(engine)
    with write_tx(engine) as conn:
        ensure_snapshot(conn, D)
        spec = q.ListSpec(sort=(("revenue", True),), limit=3, include_archived=True)
        first = q.list_customers(conn, D, spec)
        last = first[-1]
        nxt = q.list_customers(
            conn,
            D,
            q.ListSpec(
                sort=(("revenue", True),),
                limit=3,
                include_archived=True,
                after=(q.sort_value(last, "revenue"), last.id),
            ),
        )
        everything = q.list_customers(
            conn, D, q.ListSpec(sort=(("revenue", True),), include_archived=True)
        )
    assert [r.name for r in first + nxt] == [r.name for r in everything][:6]
    assert [r.name for r in first] == ["Delta", "Alpha", "Echo"]


def test_search_folds_case_and_accents(engine: Engine) -> None:
    with write_tx(engine) as conn:
        insert_customers(
            conn,
            [
                {"name": "Jürgen Müller", "email": "jm@beispiel.test", "company": "Müller GmbH"},
                {"name": "Jane Doe", "email": "jane@acme.test", "company": "ACME"},
            ],
            D,
        )
        ensure_snapshot(conn, D)
        for text, expected in [
            ("muller", ["Jürgen Müller"]),
            ("MÜLL", ["Jürgen Müller"]),
            ("acme", ["Jane Doe"]),
            ("@", ["Jane Doe", "Jürgen Müller"]),
            ("e d", ["Jane Doe"]),
            ("zz", []),
        ]:
            rows = q.list_customers(conn, D, q.ListSpec(where=q.matching(conn, text)))
            assert [r.name for r in rows] == expected, text
