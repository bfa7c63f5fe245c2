"""Workspaces on real databases for command tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine

from commands.config import Config
from commands.workspace import Workspace
from store.demo import generate

D = date(2026, 6, 30)


def make_ws(engine: Engine, today: date = D) -> Workspace:
    return Workspace(engine=engine, config=Config({}), as_of_override=today)


@pytest.fixture
def ws(engine: Engine) -> Iterator[Workspace]:
    """An empty workspace, once on SQLite and once on PostgreSQL."""
    yield make_ws(engine)


@pytest.fixture
def demo_ws(sqlite_engine: Engine) -> Iterator[Workspace]:
    """A SQLite workspace with 300 demo customers (seed 7, D = 2026-06-30)."""
    generate(sqlite_engine, customers=300, seed=7, as_of=D)
    yield make_ws(sqlite_engine)
