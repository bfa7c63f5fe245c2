"""The store's list queries: same answers whichever table drives, and the plans
SQLite picks for them (a name-ordered page must not sort every customer)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store import query as q
from store.demo import generate
from store.engine import make_engine, read_tx
from store.search import SEPARATOR, fold

D = date(2026, 6, 30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path: Path = tmp_path_factory.mktemp("shapes") / "demo.db"
    eng = make_engine(f"sqlite:///{path}")
    generate(eng, customers=600, seed=3, as_of=D)
    return eng


def _plan(engine: Engine, spec: q.ListSpec) -> str:
    stmt = q._base(D, spec, q.ROW_COLUMNS).order_by(*q._order(spec)).limit(50)
    compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return " / ".join(r[3] for r in rows)


def test_name_page_walks_the_name_index(demo: Engine) -> None:
    plan = _plan(demo, q.ListSpec(sort=(("name", False),), limit=50))
    assert "ix_customers_status_name" in plan
    assert "TEMP B-TREE" not in plan


def test_revenue_page_walks_the_revenue_index(demo: Engine) -> None:
    plan = _plan(demo, q.ListSpec(sort=(("revenue", True),), limit=50))
    assert plan.startswith("SEARCH customer_figures USING INDEX ix_figures_revenue")
    assert "TEMP B-TREE" not in plan


def test_search_starts_from_the_full_text_index(demo: Engine) -> None:
    with read_tx(demo) as conn:
        where = q.matching(conn, "müller")
    plan = _plan(demo, q.ListSpec(where=where, sort=(("revenue", True),), limit=50))
    assert plan.index("customer_search") < plan.index("SEARCH customer_figures")


@pytest.mark.parametrize(("key", "desc"), [("name", False), ("revenue", True), ("created", True)])
def test_keyset_pages_equal_one_big_list(demo: Engine, key: str, desc: bool) -> None:
    with read_tx(demo) as conn:
        everything = [r.id for r in q.list_customers(conn, D, q.ListSpec(sort=((key, desc),)))]
        paged: list[int] = []
        after = None
        while True:
            spec = q.ListSpec(sort=((key, desc),), limit=70, after=after)
            rows = q.list_customers(conn, D, spec)
            if not rows:
                break
            paged += [r.id for r in rows]
            after = (q.sort_value(rows[-1], key), rows[-1].id)
    assert paged == everything
    assert len(set(paged)) == len(paged) > 500


def test_name_order_and_search_agree_with_python(demo: Engine) -> None:
    with read_tx(demo) as conn:
        rows = q.list_customers(conn, D, q.ListSpec(sort=(("name", False),)))
        expected = sorted(rows, key=lambda r: (fold(r.name), r.id))
        assert [r.id for r in rows] == [r.id for r in expected]
        needle = "mul"
        found = q.list_customers(conn, D, q.ListSpec(where=q.matching(conn, needle)))
        by_python = [
            r.id
            for r in rows
            if needle in SEPARATOR.join(fold(x) for x in (r.name, r.email, r.company) if x)
        ]
        assert sorted(r.id for r in found) == sorted(by_python)
        assert found  # the demo has Müllers
        count = q.count_customers(conn, D, q.ListSpec(where=q.matching(conn, needle)))
        assert count == len(by_python)


@pytest.mark.parametrize(("key", "desc"), [("name", False), ("revenue", True), ("email", True)])
@pytest.mark.parametrize("archived", [False, True])
def test_search_pages_are_slices_of_the_whole_search(
    demo: Engine, key: str, desc: bool, archived: bool
) -> None:
    with read_tx(demo) as conn:
        where = q.matching(conn, "mul")
        whole = q.ListSpec(where=where, sort=((key, desc),), include_archived=archived)
        everything = [r.id for r in q.list_customers(conn, D, whole)]
        assert len(everything) > 14
        for offset in (0, 7, len(everything) - 3):
            spec = q.ListSpec(
                where=where, sort=((key, desc),), include_archived=archived, limit=7, offset=offset
            )
            page = q.list_customers(conn, D, spec)
            assert [r.id for r in page] == everything[offset : offset + 7]
            assert all(len(r) == len(q.ROW_COLUMNS) for r in page)  # whole rows
