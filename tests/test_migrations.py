"""Migrations build exactly the schema the models declare, and step down cleanly."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from store.engine import make_engine
from store.migrate import HEAD, alembic_config, current_revision, head_revision, upgrade
from store.models import Customer, metadata
from store.search import matches

c: Any = Customer.__table__

#: objects only the migrations know: the search index and its triggers/helpers
IGNORED_TABLES = {"customer_search", "alembic_version"}


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    if type_ == "table" and name in IGNORED_TABLES:
        return False
    if type_ == "table" and name and name.startswith("customer_search_"):
        return False  # FTS5 shadow tables
    # the pg_trgm index is owned by migration 0002
    return not (type_ == "index" and name and name.startswith("ix_customers_search"))


def downgrade(eng: Engine, revision: str) -> None:
    """Run the migrations down to ``revision``."""
    cfg = alembic_config()
    with eng.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        conn.commit()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": _include, "compare_type": True}
        )
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_head_has_the_figures_flag_and_reminder_indexes(engine: Engine) -> None:
    insp = inspect(engine)
    assert "archived" in {col["name"] for col in insp.get_columns("customer_figures")}
    invoice_indexes = {ix["name"] for ix in insp.get_indexes("invoices")}
    assert {"ix_invoices_open_due", "ix_invoices_last_paid"} <= invoice_indexes


def test_downgrade_to_base_and_back(db_url: str) -> None:
    eng = make_engine(db_url)
    downgrade(eng, "base")
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    assert current_revision(eng) is None
    upgrade(eng)
    assert current_revision(eng) == head_revision()
    assert "customer_figures" in inspect(eng).get_table_names()
    eng.dispose()


def test_head_constant_is_the_newest_script() -> None:
    assert head_revision() == HEAD


def test_0006_rewrites_search_text_and_the_index_both_ways(db_url: str) -> None:
    eng = make_engine(db_url, migrate=False)
    upgrade(eng, "0005")
    with eng.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (name, email, company, status, created_on,"
                " payment_terms_days, reminders_opt_out, search_text, sort_name)"
                " VALUES (:n, :e, :c, 'active', '2026-01-01', 30, false, :t, :s)"
            ),
            [
                {"n": "Zoë Müller", "e": "zoe@example.com", "c": "Acme", "t": "x", "s": "zoe"},
                {"n": "Bo", "e": None, "c": None, "t": "bo", "s": "bo"},
            ],
        )

    def stored() -> list[str]:
        with eng.connect() as conn:
            return list(conn.execute(select(c.c.search_text).order_by(c.c.id)).scalars())

    def found(query: str) -> list[str]:
        with eng.connect() as conn:
            if eng.dialect.name == "sqlite":  # raises when the index and customers differ
                conn.exec_driver_sql(
                    "INSERT INTO customer_search(customer_search, rank)"
                    " VALUES ('integrity-check', 1)"
                )
            names = select(c.c.name).where(matches(conn, query)).order_by(c.c.id)
            return list(conn.execute(names).scalars())

    upgrade(eng)
    assert stored() == ["zoe muller\nzoe@example.com\nacme", "bo"]
    assert found("muller") == ["Zoë Müller"] and found("r z") == []  # not across fields
    assert found("MÜLLER") == ["Zoë Müller"]  # queries are folded as the text is
    downgrade(eng, "0005")
    assert stored() == ["zoe muller | zoe@example.com | acme", "bo"]
    assert found("muller") == ["Zoë Müller"]
    eng.dispose()


def test_0007_keeps_every_tag_link_both_ways(db_url: str) -> None:
    eng = make_engine(db_url, migrate=False)
    upgrade(eng, "0006")
    with eng.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, name, status, created_on, reminders_opt_out,"
                " search_text, sort_name) VALUES (:i, 'C', 'active', '2026-01-01', false, 'c', 'c')"
            ),
            [{"i": i} for i in (1, 2, 3)],
        )
        conn.execute(
            text("INSERT INTO tags (id, name, created_at) VALUES (:i, :n, '2026-01-01')"),
            [{"i": 1, "n": "vip"}, {"i": 2, "n": "b2b"}],
        )
        conn.execute(
            text("INSERT INTO customer_tags (customer_id, tag_id) VALUES (:c, :t)"),
            [{"c": 3, "t": 1}, {"c": 1, "t": 2}, {"c": 1, "t": 1}],
        )

    def links() -> list[tuple[int, int]]:
        with eng.connect() as conn:
            if eng.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            rows = conn.execute(text("SELECT customer_id, tag_id FROM customer_tags"))
            return sorted((int(a), int(b)) for a, b in rows)

    def without_rowid() -> bool:
        with eng.connect() as conn:
            ddl = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'customer_tags'")
            ).scalar()
        return "WITHOUT ROWID" in str(ddl)

    upgrade(eng)
    assert links() == [(1, 1), (1, 2), (3, 1)]
    sqlite = eng.dialect.name == "sqlite"
    if sqlite:
        assert without_rowid()
    assert "ix_customer_tags_tag_customer" in {
        i["name"] for i in inspect(eng).get_indexes("customer_tags")
    }
    downgrade(eng, "0006")
    assert links() == [(1, 1), (1, 2), (3, 1)]
    if sqlite:
        assert not without_rowid()
    eng.dispose()
