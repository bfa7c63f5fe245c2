"""Issue 2 benchmarks: pages, search, filters, segment counts, at-risk list on 100k customers.

``python -m tests.bench.bench_store``. "ours" is the store query layer plus the
conversion to CustomerRow (what a front end gets); "floor" is the same query
written by hand in raw SQL on the same database through the sqlite3 module.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from commands.rows import customer_rows
from store import query as q
from store.engine import make_engine, read_tx
from tests.bench.common import AS_OF, HEADER, bench_db, row, timeit

D = AS_OF.isoformat()
#: the best hand-written shapes: figures drive a figure-ordered page, customers
#: drive a name-ordered page or a full-text search (CROSS JOIN fixes SQLite's order)
BASE = (
    "SELECT c.id, c.name, c.email, c.company, f.* FROM customer_figures f "
    "JOIN customers c ON c.id = f.customer_id WHERE f.as_of = ? AND f.archived = 0"
)
CBASE = (
    "SELECT c.id, c.name, c.email, c.company, f.* FROM customers c CROSS JOIN customer_figures f "
    "WHERE f.customer_id = c.id AND f.as_of = ? AND c.status = 'active'"
)


def main() -> None:
    path, built = bench_db()
    print(f"## Store (issue 2) on {path.name}")
    if built:
        print(f"demo database built in {built:.1f} s (goal < 30 s)")
    engine = make_engine(f"sqlite:///{path}")
    raw = sqlite3.connect(str(path))
    raw.execute("PRAGMA cache_size=-65536")
    print(HEADER)

    def ours(spec: q.ListSpec) -> Any:
        def go() -> Any:
            with read_tx(engine) as conn:
                rows = q.list_customers(conn, AS_OF, spec)
                return customer_rows(conn, rows, "USD")

        return go

    def floor(sql: str, *params: Any) -> Any:
        def go() -> Any:
            rows = raw.execute(sql, (D, *params)).fetchall()
            ids = [r[0] for r in rows]
            if ids:  # tags, as the page shows them
                marks = ",".join("?" * len(ids))
                raw.execute(
                    "SELECT ct.customer_id, t.name FROM customer_tags ct JOIN tags t ON "
                    f"t.id = ct.tag_id WHERE ct.customer_id IN ({marks})",
                    ids,
                ).fetchall()
            return rows

        return go

    for label, key, desc, order in [
        (
            "page of 50 by revenue",
            "revenue",
            True,
            f"{BASE} ORDER BY f.revenue DESC, f.customer_id DESC",
        ),
        ("page of 50 by name", "name", False, f"{CBASE} ORDER BY c.sort_name, c.id"),
        (
            "page of 50 by outstanding",
            "outstanding",
            True,
            f"{BASE} ORDER BY f.outstanding DESC, f.customer_id DESC",
        ),
    ]:
        spec = q.ListSpec(sort=((key, desc),), limit=50)
        print(row(label, timeit(ours(spec)), timeit(floor(f"{order} LIMIT 50")), "< 10 ms"))

    with read_tx(engine) as conn:
        search = q.ListSpec(where=q.matching(conn, "müller"), limit=50)
        tag_rev = q.ListSpec(
            where=q.all_of([q.tagged(conn, "vip"), q.figure_compare("revenue", ">", 500_000)]),
            sort=(("revenue", True),),
            limit=50,
        )
    print(
        row(
            "substring search 'müller', 50",
            timeit(ours(search)),
            timeit(
                floor(
                    f"{CBASE} AND c.id IN (SELECT rowid FROM customer_search WHERE customer_search "
                    "MATCH '\"muller\"') ORDER BY c.sort_name, c.id LIMIT 50"
                )
            ),
            "< 10 ms",
        )
    )
    print(
        row(
            "tag vip + revenue > 5k, 50",
            timeit(ours(tag_rev)),
            timeit(
                floor(
                    f"{BASE} AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag_id = "
                    "(SELECT id FROM tags WHERE name = 'vip')) AND f.revenue > 500000 "
                    "ORDER BY f.revenue DESC, f.customer_id DESC LIMIT 50"
                )
            ),
            "< 10 ms",
        )
    )

    # deep page: the row at position 99,800 by name, then keyset from it
    with read_tx(engine) as conn:
        ids = q.customer_ids(conn, AS_OF, q.ListSpec())
        anchor_id = ids[min(99_799, len(ids) - 1)]
        anchor = q.list_customers(conn, AS_OF, q.ListSpec(where=q.ids_in([anchor_id])))[0]
    deep = q.ListSpec(
        sort=(("name", False),), limit=50, after=(q.sort_value(anchor, "name"), anchor.id)
    )
    print(
        row(
            "deep page (row 99,800 on), keyset",
            timeit(ours(deep)),
            timeit(
                floor(
                    f"{CBASE} AND (c.sort_name, c.id) > (?, ?) ORDER BY c.sort_name, c.id LIMIT 50",
                    q.sort_value(anchor, "name"),
                    anchor.id,
                )
            ),
            "< 10 ms",
        )
    )
    offset = q.ListSpec(sort=(("name", False),), limit=50, offset=99_800)
    print(
        row(
            "deep page by OFFSET 99,800 (for comparison)",
            timeit(ours(offset), repeat=5),
            timeit(floor(f"{CBASE} ORDER BY c.sort_name, c.id LIMIT 50 OFFSET 99800"), repeat=5),
            "(not used for scrolling)",
        )
    )

    def counts() -> Any:
        with read_tx(engine) as conn:
            return q.segment_counts(conn, AS_OF)

    sums = (
        ", ".join(f"SUM(f.revenue_segment = '{s}')" for s in q.REVENUE_SEGMENTS)
        + ", "
        + ", ".join(f"SUM(f.activity_segment = '{s}')" for s in q.ACTIVITY_SEGMENTS)
        + ", "
        + ", ".join(f"SUM(f.{col})" for col in q.FLAG_SEGMENTS.values())
    )
    raw_counts = f"SELECT {sums} FROM customer_figures f WHERE f.as_of = ? AND f.archived = 0"
    print(
        row(
            "count of every segment (one scan)",
            timeit(counts, repeat=7),
            timeit(lambda: raw.execute(raw_counts, (D,)).fetchall(), repeat=7),
            "< 200 ms",
        )
    )
    for name in q.BUILTIN_SEGMENTS:
        spec = q.ListSpec(where=q.segment(name))

        def one(spec: q.ListSpec = spec) -> Any:
            with read_tx(engine) as conn:
                return q.count_customers(conn, AS_OF, spec)

        where = (
            f"f.revenue_segment = '{name}'"
            if name in q.REVENUE_SEGMENTS
            else f"f.activity_segment = '{name}'"
            if name in q.ACTIVITY_SEGMENTS
            else f"f.{q.FLAG_SEGMENTS[name]} = 1"
        )
        print(
            row(
                f"count {name}",
                timeit(one, repeat=5),
                timeit(
                    lambda where=where: raw.execute(
                        "SELECT count(*) FROM customer_figures f "
                        f"WHERE f.as_of = ? AND f.archived = 0 AND {where}",
                        (D,),
                    ).fetchall(),
                    repeat=5,
                ),
                "< 200 ms",
            )
        )
    at_risk = q.ListSpec(where=q.segment("at-risk"), sort=(("revenue", True),))
    at_risk_page = q.ListSpec(where=q.segment("at-risk"), sort=(("revenue", True),), limit=50)

    def page_and_count() -> Any:
        with read_tx(engine) as conn:
            total = q.count_customers(conn, AS_OF, at_risk_page)
            rows = customer_rows(conn, q.list_customers(conn, AS_OF, at_risk_page), "USD")
            return total, rows

    def raw_page_and_count() -> Any:
        total = raw.execute(
            "SELECT count(*) FROM customer_figures "
            "WHERE as_of = ? AND archived = 0 AND at_risk = 1",
            (D,),
        ).fetchone()
        sql = f"{BASE} AND f.at_risk = 1 ORDER BY f.revenue DESC, f.customer_id DESC LIMIT 50"
        return total, floor(sql)()

    print(
        row(
            "at-risk list with reasons: first 50 + total (what the app shows)",
            timeit(page_and_count),
            timeit(raw_page_and_count),
            "< 500 ms",
        )
    )
    print(
        row(
            "at-risk list with reasons: every row as CustomerRow (for comparison)",
            timeit(ours(at_risk), repeat=5),
            timeit(
                floor(f"{BASE} AND f.at_risk = 1 ORDER BY f.revenue DESC, f.customer_id DESC"),
                repeat=5,
            ),
            "(not what the app does: it pages)",
        )
    )
    engine.dispose()


if __name__ == "__main__":
    main()
