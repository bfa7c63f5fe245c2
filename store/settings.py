"""Per-database settings (thresholds, base currency) with DOMAIN.md defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, select

from store.models import Setting


@dataclass(frozen=True)
class Thresholds:
    """The segment thresholds of DOMAIN.md; amounts in minor units."""

    high_value_cents: int = 1_000_000
    medium_value_cents: int = 100_000
    activity_days: int = 90
    new_days: int = 30
    late_window_days: int = 365
    at_risk_min_gap_days: int = 30


DEFAULTS: dict[str, str] = {
    "base_currency": "USD",
    "bulk_confirm_threshold": "3",
    **{f.name: str(f.default) for f in fields(Thresholds)},
}


def get_settings(conn: Connection) -> dict[str, str]:
    """All settings, defaults filled in."""
    rows = conn.execute(select(Setting.key, Setting.value)).all()
    values = dict(DEFAULTS)
    values.update({k: v for k, v in rows})
    return values


def set_setting(conn: Connection, key: str, value: str) -> None:
    """Insert or replace one setting."""
    table: Any = Setting.__table__
    # the dialects load here, not at start-up (the PostgreSQL one costs ~25 ms to import)
    from sqlalchemy.dialects import postgresql, sqlite

    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table).values(key=key, value=value)
        conn.execute(pg.on_conflict_do_update(index_elements=["key"], set_={"value": value}))
    else:
        sq = sqlite.insert(table).values(key=key, value=value)
        conn.execute(sq.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def thresholds(conn: Connection) -> Thresholds:
    """The thresholds in force for this database."""
    values = get_settings(conn)
    return Thresholds(**{f.name: int(values[f.name]) for f in fields(Thresholds)})
