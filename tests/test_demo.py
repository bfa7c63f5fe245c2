"""The demo generator: reproducible, consistent, every segment populated."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import Engine, text

from store import query as q
from store.demo import generate
from store.engine import make_engine, read_tx

D = date(2026, 6, 30)


def _fingerprint(engine: Engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table, cols in [
            ("customers", "id, name, email, company, status, created_on"),
            ("invoices", "id, customer_id, number, issued_on, due_on, total_cents, status"),
            ("payments", "id, invoice_id, paid_on, amount_cents"),
            ("customer_tags", "customer_id, tag_id"),
            ("notes", "id, customer_id, kind, body"),
        ]:
            for row in conn.execute(text(f"SELECT {cols} FROM {table} ORDER BY 1, 2")):
                digest.update(repr(tuple(str(v) for v in row)).encode())
    return digest.hexdigest()


def test_demo_is_reproducible_consistent_and_covers_every_segment(engine: Engine) -> None:
    stats = generate(engine, customers=400, seed=5, as_of=D)
    assert stats.customers == 400 and stats.invoices > 2000 and stats.payments > 1000

    with read_tx(engine) as conn:
        counts = q.segment_counts(conn, D)
        assert all(counts[name] > 0 for name in q.BUILTIN_SEGMENTS), counts
        one = conn.execute
        # the per-invoice payment cache equals the payments themselves
        assert not one(
            text(
                "SELECT i.id FROM invoices i LEFT JOIN (SELECT invoice_id, SUM(amount_cents) s "
                "FROM payments GROUP BY invoice_id) p ON p.invoice_id = i.id "
                "WHERE i.paid_cents != COALESCE(p.s, 0)"
            )
        ).first()
        # people and companies, archived ones, tags, custom fields, both kinds of notes
        assert one(text("SELECT COUNT(*) FROM customers WHERE company IS NULL")).scalar_one()
        assert one(text("SELECT COUNT(*) FROM customers WHERE company IS NOT NULL")).scalar_one()
        assert one(text("SELECT COUNT(*) FROM customers WHERE status = 'archived'")).scalar_one()
        assert one(text("SELECT COUNT(*) FROM customer_tags")).scalar_one() > 100
        assert one(text("SELECT COUNT(*) FROM custom_field_values")).scalar_one() > 100
        kinds = {r[0] for r in one(text("SELECT DISTINCT kind FROM notes"))}
        assert kinds == {"internal", "customer"}
        states = {r[0] for r in one(text("SELECT DISTINCT status FROM invoices"))}
        assert states == {"draft", "sent", "void"}
        # late, partial and unpaid invoices all occur
        assert one(text("SELECT COUNT(*) FROM invoices WHERE settled_on > due_on")).scalar_one()
        assert one(
            text("SELECT COUNT(*) FROM invoices WHERE paid_cents > 0 AND paid_cents < total_cents")
        ).scalar_one()
        assert one(
            text("SELECT COUNT(*) FROM invoices WHERE status = 'sent' AND paid_cents = 0")
        ).scalar_one()
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1  # restored


def test_same_seed_same_data_other_seed_other_data(tmp_path: pytest.TempPathFactory) -> None:
    prints = []
    for name, seed in [("a", 11), ("b", 11), ("c", 12)]:
        eng = make_engine(f"sqlite:///{tmp_path}/{name}.db")
        generate(eng, customers=150, seed=seed, as_of=D)
        prints.append(_fingerprint(eng))
        eng.dispose()
    assert prints[0] == prints[1] != prints[2]


def test_refuses_a_database_with_customers(sqlite_engine: Engine) -> None:
    generate(sqlite_engine, customers=20, seed=1, as_of=D)
    with pytest.raises(ValueError, match="already has customers"):
        generate(sqlite_engine, customers=20, seed=1, as_of=D)
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM customers")).scalar_one() == 20


def test_parallel_figures_equal_the_serial_computation(sqlite_url: str) -> None:
    import sqlite3

    from store.engine import write_tx
    from store.figures import ensure_snapshot, invalidate_all

    eng = make_engine(sqlite_url)
    generate(eng, customers=300, seed=9, as_of=D)  # SQLite: figures computed in parallel
    path = sqlite_url.removeprefix("sqlite:///")

    def snapshot() -> list[tuple[object, ...]]:
        with sqlite3.connect(path) as raw:
            return raw.execute("SELECT * FROM customer_figures ORDER BY customer_id").fetchall()

    parallel = snapshot()
    with write_tx(eng) as conn:
        invalidate_all(conn)
        assert ensure_snapshot(conn, D)  # the one-statement INSERT ... SELECT
    serial = snapshot()
    eng.dispose()
    assert len(parallel) == 300
    assert parallel == serial
