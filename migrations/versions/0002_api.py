"""client API state: idempotency keys, markers, conversation states, user settings

Revision ID: 0002_api
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fedi.db

revision = "0002_api"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = (sa.BigInteger().with_variant(sa.BIGINT(), "postgresql")
          .with_variant(sa.INTEGER(), "sqlite"))
BIG_VALUE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_idempotency_keys",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("status_id", BIG_ID, nullable=False),
        sa.Column("created_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_api_idempotency_keys_user_id_users")),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE",
                                name=op.f("fk_api_idempotency_keys_status_id_statuses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_api_idempotency_keys_user_id")),
    )
    op.create_table(
        "api_markers",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("timeline", sa.String(length=32), nullable=False),
        sa.Column("last_read_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_api_markers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_markers")),
        sa.UniqueConstraint("user_id", "timeline", name=op.f("uq_api_markers_user_id")),
    )
    op.create_table(
        "api_conversation_states",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("owner_id", BIG_ID, nullable=False),
        sa.Column("root_id", BIG_VALUE, nullable=False),
        sa.Column("last_read_id", BIG_VALUE, nullable=False),
        sa.Column("hidden_before_id", BIG_VALUE, nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["actors.id"], ondelete="CASCADE",
                                name=op.f("fk_api_conversation_states_owner_id_actors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_conversation_states")),
        sa.UniqueConstraint("owner_id", "root_id",
                            name=op.f("uq_api_conversation_states_owner_id")),
    )
    op.create_table(
        "api_user_settings",
        sa.Column("user_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("note_source", sa.Text(), nullable=False),
        sa.Column("default_sensitive", sa.Boolean(), nullable=False),
        sa.Column("default_language", sa.String(length=16), nullable=True),
        sa.Column("updated_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_api_user_settings_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_api_user_settings")),
    )
    op.create_index("ix_statuses_visibility_id", "statuses", ["visibility", "id"], unique=False)
    op.create_index("ix_statuses_actor_deleted_id", "statuses", ["actor_id", "deleted_at", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_statuses_actor_deleted_id", table_name="statuses")
    op.drop_index("ix_statuses_visibility_id", table_name="statuses")
    op.drop_table("api_user_settings")
    op.drop_table("api_conversation_states")
    op.drop_table("api_markers")
    op.drop_table("api_idempotency_keys")
