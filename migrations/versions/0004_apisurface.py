"""members' lists of accounts (Mastodon lists)

Revision ID: 0004_apisurface
Revises: 0003_follow_notify
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fedi.db

revision = "0004_apisurface"
down_revision = "0003_follow_notify"
branch_labels = None
depends_on = None

BIG_ID = (sa.BigInteger().with_variant(sa.BIGINT(), "postgresql")
          .with_variant(sa.INTEGER(), "sqlite"))


def upgrade() -> None:
    op.create_table(
        "account_lists",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("owner_id", BIG_ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("replies_policy", sa.String(length=16), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("created_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["actors.id"], ondelete="CASCADE",
                                name=op.f("fk_account_lists_owner_id_actors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_lists")),
    )
    op.create_index("ix_account_lists_owner_id", "account_lists", ["owner_id"], unique=False)
    op.create_table(
        "account_list_entries",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("list_id", BIG_ID, nullable=False),
        sa.Column("actor_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["account_lists.id"], ondelete="CASCADE",
                                name=op.f("fk_account_list_entries_list_id_account_lists")),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], ondelete="CASCADE",
                                name=op.f("fk_account_list_entries_actor_id_actors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_list_entries")),
        sa.UniqueConstraint("list_id", "actor_id",
                            name=op.f("uq_account_list_entries_list_id")),
    )
    op.create_index("ix_account_list_entries_actor_id", "account_list_entries", ["actor_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_account_list_entries_actor_id", table_name="account_list_entries")
    op.drop_table("account_list_entries")
    op.drop_index("ix_account_lists_owner_id", table_name="account_lists")
    op.drop_table("account_lists")
