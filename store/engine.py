"""Engine setup: SQLite file by default, PostgreSQL by URL; migrations on first use.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and write
transactions start with ``BEGIN IMMEDIATE`` so that the app and the daemon
sharing one file wait for each other instead of failing with "database is
locked".
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from store.migrate import upgrade_if_needed

BUSY_TIMEOUT_S = 30.0


def default_url() -> str:
    """``OPENINVOICE_DB`` or a SQLite file under the user data directory."""
    env = os.environ.get("OPENINVOICE_DB")
    if env:
        return env
    directory = Path(platformdirs.user_data_dir("openinvoice"))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'openinvoice.db'}"


def normalize_url(url: str) -> str:
    """Accept a bare file path or ``postgresql://`` and pick our drivers."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


#: the SQLite page cache of every connection (KiB)
CACHE_KIB = 65_536


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """An engine for ``url`` (default: see ``default_url``), migrated to head."""
    url = normalize_url(url or default_url())
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
        )
        _install_sqlite_hooks(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if migrate:
        upgrade_if_needed(engine)
    return engine


@contextmanager
def write_tx(
    engine: Engine, *, check_references: bool = True, cache_kib: int | None = None
) -> Iterator[Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite): commit or roll back whole.

    For bulk loads on SQLite (other backends ignore both): ``check_references=False``
    skips the foreign key lookups of every row (a third of the cost of inserting tag
    links), for loads whose rows refer only to rows they created or looked up in the
    same transaction (their tests run ``PRAGMA foreign_key_check``); ``cache_kib``
    gives the connection a bigger page cache for the transaction. Both are restored
    after it.
    """
    with engine.connect() as conn:
        driver = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        if driver is not None:  # before BEGIN: foreign_keys is a no-op inside a transaction
            if not check_references:
                driver.execute("PRAGMA foreign_keys=OFF")
            if cache_kib is not None:
                driver.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        try:
            conn = conn.execution_options(write=True)
            with conn.begin():
                yield conn
        finally:
            if driver is not None:
                if not check_references:
                    driver.execute("PRAGMA foreign_keys=ON")
                if cache_kib is not None:
                    driver.execute(f"PRAGMA cache_size=-{CACHE_KIB}")


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read transaction: one consistent view of the data."""
    with engine.connect() as conn, conn.begin():
        yield conn


def is_sqlite(conn_or_engine: Connection | Engine) -> bool:
    """Whether this is a SQLite database."""
    return conn_or_engine.dialect.name == "sqlite"


def backup(engine: Engine, dest: Path) -> Path:
    """A consistent copy of the database at ``dest``.

    SQLite: the online backup API (safe while others write). PostgreSQL:
    ``pg_dump --format=custom``.
    """
    dest = dest.expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = engine.url
    if url.get_backend_name() == "sqlite":
        raw = engine.raw_connection()
        try:
            target = sqlite3.connect(str(dest))
            with target:
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
            target.close()
        finally:
            raw.close()
        return dest
    pg_dump = shutil.which("pg_dump")
    if not pg_dump:
        raise RuntimeError("pg_dump is not installed; install the PostgreSQL client tools")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = [pg_dump, "--format=custom", "--file", str(dest), "--dbname", str(url.database)]
    if url.host:
        args += ["--host", url.host]
    host_q = url.query.get("host")
    if host_q:
        args += ["--host", str(host_q)]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    subprocess.run(args, check=True, env=env, capture_output=True)
    return dest


def table_names(engine: Engine) -> list[str]:
    """Tables present (for diagnostics and tests)."""
    return inspect(engine).get_table_names()
