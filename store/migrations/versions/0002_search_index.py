"""search index: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from store.search import SQLITE_TRIGGER_DDL, SQLITE_TRIGGERS

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE customer_search USING fts5("
            "search_text, content='customers', content_rowid='id', tokenize='trigram')"
        )
        for trigger in SQLITE_TRIGGER_DDL:
            op.execute(trigger)
        op.execute("INSERT INTO customer_search(customer_search) VALUES ('rebuild')")
    elif bind.dialect.name == "postgresql":
        available = bind.execute(
            text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        ).first()
        if available:
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            op.execute(
                "CREATE INDEX ix_customers_search_trgm ON customers "
                "USING gin (search_text gin_trgm_ops)"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS customer_search")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customers_search_trgm")
