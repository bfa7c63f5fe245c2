"""Big customer imports (past BULK_LOAD_ROWS): the search index and the indexes that
SQLite suspends during the load come back exactly, on success, on failure and on undo."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from commands import importing
from commands.errors import UserError
from commands.executor import run
from commands.results import MutationResult, QueryResult
from commands.workspace import Workspace
from store import bulk
from store.engine import CACHE_KIB, write_tx
from store.models import Customer, CustomerTag, Tag

c: Any = Customer.__table__
ct: Any = CustomerTag.__table__
HEADER = ["name", "email", "company", "tags"]


@pytest.fixture(autouse=True)
def small_bulk_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every import of more than two rows takes the bulk-load path."""
    monkeypatch.setattr(importing, "BULK_LOAD_ROWS", 2)


@pytest.fixture
def migrated(ws: Workspace) -> list[tuple[str, str]]:
    """The indexes and triggers as the migrations made them."""
    return schema(ws)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def people(prefix: str, n: int, start: int = 0) -> list[list[str]]:
    return [
        [f"{prefix} Person{i}", f"{prefix.lower()}{i}@example.com", f"{prefix} Works", "vip;b2b"]
        for i in range(start, start + n)
    ]


def load(ws: Workspace, path: Path) -> Any:
    return run(ws, f"import customers from {path}", confirmed=True)


def matching(ws: Workspace, text: str) -> int:
    found = run(ws, f"customers matching {text}")
    assert isinstance(found, QueryResult)
    return found.total


def schema(ws: Workspace) -> list[tuple[str, str]]:
    """SQLite: the indexes and triggers of the tables a bulk load suspends."""
    if ws.engine.dialect.name != "sqlite":
        return []
    with ws.read() as conn:
        return [
            (str(n), str(s))
            for n, s in conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
                " AND tbl_name IN ('customers', 'customer_tags') ORDER BY name"
            )
        ]


def assert_references_hold(ws: Workspace) -> None:
    """No row refers to a missing one, and every connection checks references again."""
    if ws.engine.dialect.name != "sqlite":
        return
    with ws.read() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    for _ in range(ws.engine.pool.size() + 1):  # type: ignore[attr-defined]
        with ws.read() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def assert_search_index_matches_customers(ws: Workspace) -> None:
    assert_references_hold(ws)
    if ws.engine.dialect.name != "sqlite":
        return
    with ws.read() as conn:  # raises when the FTS index and its content table differ
        conn.exec_driver_sql(
            "INSERT INTO customer_search(customer_search, rank) VALUES ('integrity-check', 1)"
        )


def counts(ws: Workspace) -> tuple[int, int]:
    with ws.read() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(c)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(ct)).scalar_one()),
        )


def test_big_import_indexes_new_customers_and_restores_the_schema(
    ws: Workspace, migrated: list[tuple[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(ws, write_csv(tmp_path / "a.csv", people("Alpha", 3)))
    assert schema(ws) == migrated
    result = load(ws, write_csv(tmp_path / "b.csv", people("Beta", 40)))
    assert isinstance(result, MutationResult) and result.affected == 40
    assert schema(ws) == migrated
    assert_search_index_matches_customers(ws)
    assert matching(ws, "alpha") == 3 and matching(ws, "beta") == 40
    assert matching(ws, "person17") == 1
    assert counts(ws) == (43, 86)
    # the triggers are back: a small (trigger-maintained) edit is searchable at once
    monkeypatch.setattr(importing, "BULK_LOAD_ROWS", 10_000)
    load(ws, write_csv(tmp_path / "c.csv", [["Gamma", "g@example.com", "", ""]]))
    assert matching(ws, "gamma") == 1
    assert_search_index_matches_customers(ws)


def test_big_import_that_updates_existing_customers_reindexes_them(
    ws: Workspace, tmp_path: Path
) -> None:
    load(ws, write_csv(tmp_path / "a.csv", people("Alpha", 5)))
    renamed = [[f"Omega Person{i}", f"alpha{i}@example.com", "", ""] for i in range(5)]
    result = load(ws, write_csv(tmp_path / "b.csv", [*renamed, *people("Beta", 4)]))
    assert isinstance(result, MutationResult)
    assert "4 new customers, 5 updated" in result.message
    assert_search_index_matches_customers(ws)
    assert matching(ws, "omega") == 5 and matching(ws, "alpha person") == 0
    assert matching(ws, "beta") == 4


def test_failed_big_import_leaves_customers_search_and_schema_as_they_were(
    ws: Workspace, migrated: list[tuple[str, str]], tmp_path: Path
) -> None:
    load(ws, write_csv(tmp_path / "a.csv", people("Alpha", 3)))
    rows = counts(ws)
    bad = [*people("Beta", 30), ["Bad", "not an email", "", ""]]
    with pytest.raises(UserError, match="row 32, column email"):
        load(ws, write_csv(tmp_path / "b.csv", bad))
    assert schema(ws) == migrated and counts(ws) == rows
    assert_search_index_matches_customers(ws)
    assert matching(ws, "beta") == 0 and matching(ws, "alpha") == 3


def test_undo_of_a_big_import_removes_it_from_the_search(ws: Workspace, tmp_path: Path) -> None:
    load(ws, write_csv(tmp_path / "a.csv", people("Alpha", 3)))
    load(ws, write_csv(tmp_path / "b.csv", people("Beta", 25)))
    undone = run(ws, "undo")
    assert isinstance(undone, MutationResult) and undone.action == "undo"
    assert counts(ws) == (3, 6)
    assert_search_index_matches_customers(ws)
    assert matching(ws, "beta") == 0 and matching(ws, "alpha") == 3


def test_rows_sharing_tag_lists_each_get_their_own_tags(ws: Workspace, tmp_path: Path) -> None:
    lists = ["vip;b2b", "b2b", "vip;b2b", "gold;vip", "", "b2b"]
    rows = [[f"P{i}", f"p{i}@example.com", "", tags] for i, tags in enumerate(lists)]
    load(ws, write_csv(tmp_path / "t.csv", rows))
    t: Any = Tag.__table__
    with ws.read() as conn:
        got = conn.execute(
            select(c.c.email, t.c.name)
            .join(ct, ct.c.customer_id == c.c.id)
            .join(t, t.c.id == ct.c.tag_id)
        ).all()
    by_email: dict[str, set[str]] = {}
    for email, name in got:
        by_email.setdefault(email, set()).add(name)
    expected = {f"p{i}@example.com": set(tags.split(";")) for i, tags in enumerate(lists) if tags}
    assert by_email == expected


def test_a_write_can_skip_reference_checks_and_they_come_back(ws: Workspace) -> None:
    dangling = insert(ct).values(customer_id=999_999, tag_id=999_999)
    with pytest.raises(IntegrityError), ws.write() as conn:
        conn.execute(dangling)
    if ws.engine.dialect.name == "sqlite":  # other backends always check
        with pytest.raises(RuntimeError, match="stop"), ws.write(check_references=False) as conn:
            conn.execute(dangling)  # not checked; rolled back below
            raise RuntimeError("stop")
    assert counts(ws) == (0, 0)
    assert_references_hold(ws)


def test_a_bulk_write_gets_a_bigger_page_cache_for_its_transaction_only(ws: Workspace) -> None:
    if ws.engine.dialect.name != "sqlite":
        return
    with write_tx(ws.engine, check_references=False, cache_kib=4096) as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -4096
    for _ in range(ws.engine.pool.size() + 1):  # type: ignore[attr-defined]
        with ws.read() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -CACHE_KIB
    assert_references_hold(ws)


def test_links_by_position_take_ids_in_a_run_or_not(ws: Workspace, tmp_path: Path) -> None:
    load(ws, write_csv(tmp_path / "a.csv", people("Alpha", 3)))
    t: Any = Tag.__table__
    with ws.read() as conn:
        ids = list(conn.execute(select(c.c.id).order_by(c.c.id)).scalars())
        tag = conn.execute(select(t.c.id).where(t.c.name == "vip")).scalar_one()
    with ws.write() as conn:
        conn.execute(ct.delete())
        link = ("customer_id", "tag_id")
        bulk.insert_links_at(conn, "customer_tags", link, ids[:2], "[1]", tag)  # a run
        bulk.insert_links_at(conn, "customer_tags", link, [ids[0], ids[2]], "[0, 1]", tag)
    with ws.read() as conn:
        got = sorted(conn.execute(select(ct.c.customer_id).where(ct.c.tag_id == tag)).scalars())
    assert got == [ids[0], ids[1], ids[2]]
