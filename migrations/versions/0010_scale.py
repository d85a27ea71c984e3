"""The directory at scale: each actor's folded search document and sort key, so the
directory and account search filter, order and page in the database instead of folding
every profile in Python on every request; an index for hashtag search by prefix (issue 14).

Revision ID: 0010_scale
Revises: 0009_merge
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from fedi.folding import document, profile_parts, sort_key

revision = "0010_scale"
down_revision = "0009_merge"
branch_labels = None
depends_on = None

BATCH = 1000


def _fields(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("actors") as batch:
        batch.add_column(sa.Column("directory_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("directory_key", sa.String(255), nullable=True))
    conn = op.get_bind()
    actors = sa.table("actors", sa.column("id", sa.BigInteger), sa.column("display_name"),
                      sa.column("username"), sa.column("business_name"), sa.column("summary"),
                      sa.column("trade"), sa.column("postal_code"), sa.column("fields"),
                      sa.column("directory_text"), sa.column("directory_key"))
    rows = conn.execute(sa.select(actors.c.id, actors.c.display_name, actors.c.username,
                                  actors.c.business_name, actors.c.summary, actors.c.trade,
                                  actors.c.postal_code, actors.c.fields)).all()
    update = (actors.update().where(actors.c.id == sa.bindparam("actor_id"))
              .values(directory_text=sa.bindparam("text"), directory_key=sa.bindparam("key")))
    for i in range(0, len(rows), BATCH):
        conn.execute(update, [
            {"actor_id": r.id, "key": sort_key(r.display_name, r.username),
             "text": document(profile_parts(r.display_name, r.username, r.business_name,
                                            r.summary, r.trade, r.postal_code,
                                            _fields(r.fields)))}
            for r in rows[i:i + BATCH]])
    op.create_index("ix_actors_directory_key", "actors", ["local", "directory_key", "id"])
    # Account search's order (this hub first, by username): read in order, a page of a
    # common query stops early instead of sorting every actor that matches.
    op.create_index("ix_actors_search_order", "actors",
                    [sa.text("local DESC"), "username", "id"])
    # The rows written without the ORM (bulk loads), found at once: usually none.
    unfolded = sa.text("directory_text IS NULL")
    op.create_index("ix_actors_directory_unfolded", "actors", ["id"],
                    postgresql_where=unfolded, sqlite_where=unfolded)
    # Hashtag search by prefix (LIKE 'q%'): on PostgreSQL a btree answers it whatever the
    # database's collation only with text_pattern_ops; elsewhere a plain index.
    op.create_index("ix_status_tags_name_prefix", "status_tags", ["name"],
                    postgresql_ops={"name": "text_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_actors_search_order", table_name="actors")
    op.drop_index("ix_actors_directory_unfolded", table_name="actors")
    op.drop_index("ix_status_tags_name_prefix", table_name="status_tags")
    op.drop_index("ix_actors_directory_key", table_name="actors")
    with op.batch_alter_table("actors") as batch:
        batch.drop_column("directory_key")
        batch.drop_column("directory_text")
