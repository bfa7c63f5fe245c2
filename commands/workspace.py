"""The open database plus the settings every command needs (D, currency, selection)."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from commands.config import Config, load_config
from commands.errors import UserError
from store.engine import make_engine, read_tx, write_tx
from store.settings import get_settings


def parse_as_of(value: str | None) -> tuple[date | None, datetime | None]:
    """``--as-of``: a date, or a date and time (the clock for time-of-day rules)."""
    if not value:
        return None, None
    try:
        if "T" in value or " " in value.strip():
            moment = datetime.fromisoformat(value.strip())
            return moment.date(), moment
        return date.fromisoformat(value.strip()), None
    except ValueError:
        raise UserError(f"--as-of expects YYYY-MM-DD or YYYY-MM-DDTHH:MM, not '{value}'") from None


@dataclass
class Workspace:
    """One database and the reference date D that every figure is computed as of."""

    engine: Engine
    config: Config
    as_of_override: date | None = None
    clock_override: datetime | None = None
    actor: str = field(default_factory=lambda: os.environ.get("USER") or _user())
    _settings: dict[str, str] | None = None

    @classmethod
    def open(
        cls, db_url: str | None = None, as_of: str | None = None, config: Config | None = None
    ) -> Workspace:
        """Open (and migrate) the database; ``as_of`` falls back to ``OPENINVOICE_AS_OF``."""
        cfg = config or load_config()
        d, moment = parse_as_of(as_of or os.environ.get("OPENINVOICE_AS_OF"))
        engine = make_engine(db_url or cfg.get("db"))
        return cls(engine=engine, config=cfg, as_of_override=d, clock_override=moment)

    @property
    def today(self) -> date:
        """D: the reference date."""
        return self.as_of_override or self.now().date()

    def timezone(self) -> ZoneInfo:
        name = self.config.get("timezone") or self.settings.get("timezone") or "UTC"
        try:
            return ZoneInfo(str(name))
        except Exception:
            raise UserError(f"unknown time zone '{name}'") from None

    def now(self) -> datetime:
        """The clock, aware, in the account's time zone (``--as-of`` with a time sets it)."""
        tz = self.timezone()
        if self.clock_override is not None:
            return self.clock_override.replace(tzinfo=tz)
        if self.as_of_override is not None:
            real = datetime.now(tz)
            return datetime.combine(self.as_of_override, real.time(), tz)
        return datetime.now(tz)

    @property
    def settings(self) -> dict[str, str]:
        if self._settings is None:
            with read_tx(self.engine) as conn:
                self._settings = get_settings(conn)
        return self._settings

    def reload_settings(self) -> None:
        self._settings = None

    @property
    def currency(self) -> str:
        return self.settings["base_currency"]

    @property
    def confirm_threshold(self) -> int:
        return int(self.settings["bulk_confirm_threshold"])

    def write(self, *, check_references: bool = True) -> Any:
        """A write transaction (all or nothing); see :func:`store.engine.write_tx`."""
        return write_tx(self.engine, check_references=check_references)

    def read(self) -> Any:
        """A read transaction."""
        return read_tx(self.engine)

    def ensure_figures(self) -> None:
        """Make sure the figures of D exist (the first use of a D computes them)."""
        from store.figures import ensure_snapshot, has_snapshot

        with read_tx(self.engine) as conn:
            if has_snapshot(conn, self.today):
                return
        with write_tx(self.engine) as conn:
            ensure_snapshot(conn, self.today)

    def close(self) -> None:
        self.engine.dispose()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
