"""customer_tags stored by its primary key (SQLite WITHOUT ROWID)

A tag link is two integers; as a rowid table SQLite kept each one twice, in
the table and in the index of its primary key. Stored by the key, each link is
written once: tagging a big import costs about a third less and the table half
the pages. PostgreSQL is unchanged.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = """CREATE TABLE customer_tags (
	customer_id INTEGER NOT NULL,
	tag_id INTEGER NOT NULL,
	CONSTRAINT pk_customer_tags PRIMARY KEY (customer_id, tag_id),
	CONSTRAINT fk_customer_tags_customer_id_customers FOREIGN KEY(customer_id)
		REFERENCES customers (id) ON DELETE CASCADE,
	CONSTRAINT fk_customer_tags_tag_id_tags FOREIGN KEY(tag_id)
		REFERENCES tags (id) ON DELETE CASCADE
){options}"""
INDEX = "CREATE INDEX ix_customer_tags_tag_customer ON customer_tags (tag_id, customer_id)"


def _rebuild(options: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ALTER TABLE customer_tags RENAME TO customer_tags_old")
    op.execute("DROP INDEX ix_customer_tags_tag_customer")
    op.execute(TABLE.format(options=options))
    op.execute(
        "INSERT INTO customer_tags (customer_id, tag_id)"
        " SELECT customer_id, tag_id FROM customer_tags_old ORDER BY customer_id, tag_id"
    )
    op.execute("DROP TABLE customer_tags_old")
    op.execute(INDEX)


def upgrade() -> None:
    _rebuild(" WITHOUT ROWID")


def downgrade() -> None:
    _rebuild("")
