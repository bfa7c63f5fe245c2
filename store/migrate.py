"""Alembic, driven from code: no alembic.ini needed.

Alembic itself costs about 0.2 s to import, so the check every start-up
makes (is this database at head?) reads ``alembic_version`` with plain SQL
against ``HEAD``; Alembic is imported only when a migration has to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")

#: the newest migration; tests/test_migrations.py checks it against the scripts
HEAD = "0007"


def alembic_config() -> Config:
    """An Alembic config pointing at ``store/migrations``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    """The newest migration, as the scripts say."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for a new database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run migrations up to ``revision``."""
    from alembic import command

    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()


def upgrade_if_needed(engine: Engine) -> bool:
    """Migrate a new or older database to head; True if anything ran."""
    if current_revision(engine) == HEAD:
        return False
    upgrade(engine)
    return True
