"""Portable SQL helpers compiled per dialect (day arithmetic)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class day_number(FunctionElement[float]):
    """A date as a day count, so that differences of two are days."""

    type = Float()
    name = "day_number"
    inherit_cache = True


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: day_number, compiler: Any, **kw: Any) -> str:
    return f"julianday({compiler.process(element.clauses, **kw)})"


@compiles(day_number, "postgresql")
def _day_number_pg(element: day_number, compiler: Any, **kw: Any) -> str:
    return f"(CAST({compiler.process(element.clauses, **kw)} AS DATE) - DATE '1970-01-01')"


def days_between(later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[float]:
    """``later - earlier`` in days."""
    return day_number(later) - day_number(earlier)
